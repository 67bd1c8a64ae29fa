#include "core/datasets.hpp"

#include <fmt/core.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "core/errors.hpp"

namespace tito {

namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string to_hex(const unsigned char* bytes, unsigned int n) {
  std::string out;
  for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", bytes[i]);
  return out;
}

/// The hex digest and the path of one "<64 hex>  <path>" (or " *<path>") line; nullopt when the
/// line is not one. Parsed by hand: std::regex recurses once per character and overflows the stack
/// on a long line.
std::optional<std::pair<std::string, std::string>> parse_sum_line(const std::string& line) {
  constexpr std::size_t kHex = 64;
  if (line.size() < kHex + 3 || line[kHex] != ' ' ||
      (line[kHex + 1] != ' ' && line[kHex + 1] != '*')) {
    return std::nullopt;
  }
  std::string digest = line.substr(0, kHex);
  for (char& c : digest) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return std::make_pair(std::move(digest), line.substr(kHex + 2));
}

/// A listed path must stay inside the data folder: relative, without "..".
bool inside_folder(const std::string& path) {
  const fs::path p(path);
  if (p.is_absolute() || p.has_root_name()) return false;
  return std::none_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; });
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
  std::map<std::string, DatasetStatus> sets;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const auto entry = parse_sum_line(line);
    if (!entry) {
      throw TitoError(fmt::format("{}:{}: not a sha256sum line (\"<64 hex digits>  <path>\"): '{}'",
                                  sums.string(), line_number, line.substr(0, 200)));
    }
    const auto& [expected, path] = *entry;
    if (!inside_folder(path)) {
      throw TitoError(fmt::format("{}:{}: '{}' is not a path inside the data folder", sums.string(),
                                  line_number, path.substr(0, 200)));
    }
    DatasetStatus& set = sets[dataset_of(path)];
    set.name = dataset_of(path);
    ++set.files;
    std::error_code error;
    if (!fs::is_regular_file(dir / path, error)) {
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
