#include "core/datasets.hpp"

#include <fmt/core.h>
#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <regex>

#include "core/errors.hpp"

namespace tito {

namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string to_hex(const unsigned char* bytes, unsigned int n) {
  std::string out;
  for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", bytes[i]);
  return out;
}

std::string dataset_of(const std::string& relative_path) {
  const auto slash = relative_path.find('/');
  return slash == std::string::npos ? relative_path : relative_path.substr(0, slash);
}

}  // namespace

std::string sha256_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TitoError(fmt::format("{}: cannot be read", file.string()));
  DigestContext ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw TitoError("OpenSSL could not start a SHA-256 digest");
  }
  std::array<char, 1 << 16> buffer{};
  while (in) {
    in.read(buffer.data(), buffer.size());
    if (in.gcount() > 0) {
      EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(in.gcount()));
    }
  }
  if (in.bad()) throw TitoError(fmt::format("{}: read error", file.string()));
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &length);
  return to_hex(digest.data(), length);
}

std::vector<DatasetStatus> verify_datasets(const fs::path& dir) {
  const fs::path sums = dir / "SHA256SUMS";
  std::ifstream in(sums);
  if (!in) throw TitoError(fmt::format("{}: cannot be read", sums.string()));
  static const std::regex line_pattern(R"(^([0-9a-fA-F]{64}) [ *](.+)$)");
  std::map<std::string, DatasetStatus> sets;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    std::smatch m;
    if (!std::regex_match(line, m, line_pattern)) {
      throw TitoError(
          fmt::format("{}:{}: not a sha256sum line: '{}'", sums.string(), line_number, line));
    }
    const std::string path = m[2].str();
    DatasetStatus& set = sets[dataset_of(path)];
    set.name = dataset_of(path);
    ++set.files;
    std::string expected = m[1].str();
    for (auto& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!fs::exists(dir / path)) {
      set.missing.push_back(path);
    } else if (sha256_file(dir / path) == expected) {
      ++set.verified;
    } else {
      set.mismatched.push_back(path);
    }
  }
  std::vector<DatasetStatus> out;
  for (auto& [name, set] : sets) out.push_back(std::move(set));
  return out;
}

}  // namespace tito
