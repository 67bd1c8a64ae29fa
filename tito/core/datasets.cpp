#include "core/datasets.hpp"

#include <fmt/core.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/errors.hpp"

namespace tito {

namespace {

using nlohmann::json;
using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

/// Incremental SHA-256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      throw TitoError("OpenSSL could not start a SHA-256 digest");
    }
  }
  void update(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  [[nodiscard]] std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest.data(), &length);
    std::string out;
    for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  DigestContext ctx_;
};

// ---- parsing -------------------------------------------------------------------------------

/// Parse errors carry the JSON path of the field at fault ("datasets[1].files[0].sha256").
struct Where {
  const std::string& origin;
  std::string path;

  [[nodiscard]] Where operator/(const std::string& key) const {
    return {origin, path.empty() ? key : path + "." + key};
  }
  [[nodiscard]] Where at(std::size_t i) const { return {origin, fmt::format("{}[{}]", path, i)}; }
  [[noreturn]] void fail(const std::string& problem) const {
    throw TitoError(fmt::format("{}: {}: {}", origin, path, problem));
  }
};

const json& field(const json& object, const std::string& key, const Where& where) {
  if (!object.is_object()) where.fail("must be an object");
  if (!object.contains(key)) (where / key).fail("is missing");
  return object.at(key);
}

std::string text(const json& object, const std::string& key, const Where& where,
                 bool required = true) {
  if (!required && (!object.contains(key) || object.at(key).is_null())) return "";
  const json& value = field(object, key, where);
  if (!value.is_string()) (where / key).fail("must be a string");
  return value.get<std::string>();
}

std::uint64_t byte_count(const json& object, const Where& where) {
  const json& value = field(object, "bytes", where);
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0) {
    (where / "bytes").fail("must be a positive whole number of bytes");
  }
  return value.get<std::uint64_t>();
}

std::string checksum(const json& object, const Where& where) {
  const std::string value = text(object, "sha256", where);
  const bool hex = value.size() == 64 && std::all_of(value.begin(), value.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (!hex) (where / "sha256").fail(fmt::format("'{}' is not 64 lower-case hex digits", value));
  return value;
}

/// A single path component: a name from the registry must never reach outside its folder.
std::string plain_name(const json& object, const std::string& key, const Where& where) {
  const std::string value = text(object, key, where);
  if (value.empty() || value == "." || value == ".." ||
      value.find_first_of("/\\") != std::string::npos || value.find('\0') != std::string::npos) {
    (where / key)
        .fail(fmt::format("'{}' must be a plain file or folder name (no '/', not '..')", value));
  }
  return value;
}

RemoteFile remote_file(const json& object, const Where& where, bool archive) {
  RemoteFile file;
  file.name = plain_name(object, "name", where);
  file.bytes = byte_count(object, where);
  file.sha256 = checksum(object, where);
  const json& urls = field(object, "urls", where);
  if (!urls.is_array() || urls.empty()) (where / "urls").fail("must be a non-empty list");
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const Where at = (where / "urls").at(i);
    if (!urls[i].is_string()) at.fail("must be a string");
    const auto url = urls[i].get<std::string>();
    if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0 &&
        url.rfind("file://", 0) != 0) {
      at.fail(fmt::format("'{}' is not an http://, https:// or file:// URL", url));
    }
    file.urls.push_back(url);
  }
  if (archive) file.inside = text(object, "inside", where, /*required=*/false);
  return file;
}

DataFile data_file(const json& object, const Where& where, bool from_archive) {
  DataFile file;
  file.name = plain_name(object, "name", where);
  file.bytes = byte_count(object, where);
  if (object.contains("sha256") && !object.at("sha256").is_null()) {
    file.sha256 = checksum(object, where);
  }
  if (object.contains("download")) {
    file.download = remote_file(object.at("download"), where / "download", false);
  }
  if (object.contains("known_copies")) {
    const json& copies = object.at("known_copies");
    if (!copies.is_array()) (where / "known_copies").fail("must be a list");
    for (std::size_t i = 0; i < copies.size(); ++i) {
      const Where at = (where / "known_copies").at(i);
      file.known_copies.push_back({checksum(copies[i], at), text(copies[i], "verdict", at)});
    }
  }
  if (!file.sha256 && file.known_copies.empty() && !file.download && !from_archive) {
    where.fail(
        "names no sha256, no known copy, no download and no archive: nothing could verify it");
  }
  return file;
}

DatasetInfo dataset(const json& object, const Where& where) {
  DatasetInfo d;
  d.id = plain_name(object, "id", where);
  d.folder = plain_name(object, "folder", where);
  d.title = text(object, "title", where);
  d.credit = text(object, "credit", where, false);
  d.licence = text(object, "licence", where, false);
  d.homepage = text(object, "homepage", where, false);
  d.note = text(object, "note", where, false);
  d.embedded = text(object, "embedded", where, false);
  if (d.embedded.find("..") != std::string::npos || (!d.embedded.empty() && d.embedded[0] == '/')) {
    (where / "embedded").fail("must be a path inside the course, relative to its root");
  }
  if (object.contains("archive"))
    d.archive = remote_file(object.at("archive"), where / "archive", true);
  const json& files = field(object, "files", where);
  if (!files.is_array() || files.empty()) (where / "files").fail("must be a non-empty list");
  std::set<std::string> names;
  for (std::size_t i = 0; i < files.size(); ++i) {
    d.files.push_back(data_file(files[i], (where / "files").at(i), d.archive.has_value()));
    if (!names.insert(d.files.back().name).second) {
      (where / "files").at(i).fail(fmt::format("'{}' is listed twice", d.files.back().name));
    }
  }
  return d;
}

// ---- verification --------------------------------------------------------------------------

struct Content {
  std::uint64_t bytes = 0;
  std::string sha256;
  bool ends_early = false;  // the gzip stream stopped before its end
  std::string error;
};

/// SHA-256 and size of a file's uncompressed content (zlib reads plain files unchanged).
Content content_of(const fs::path& path) {
  Content c;
  std::unique_ptr<gzFile_s, decltype(&gzclose)> file(gzopen(path.c_str(), "rb"), &gzclose);
  if (!file) {
    c.error = "cannot be opened";
    return c;
  }
  gzbuffer(file.get(), 1 << 17);
  Sha256 digest;
  std::vector<char> chunk(1 << 20);
  for (;;) {
    const int n = gzread(file.get(), chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(file.get(), &code);
      // zlib says "unexpected end of file" when a gzip file was cut short.
      c.ends_early = message.find("unexpected end") != std::string::npos;
      c.error = "corrupt gzip data (" + message + ")";
      return c;
    }
    if (n == 0) break;
    digest.update(chunk.data(), static_cast<std::size_t>(n));
    c.bytes += static_cast<std::uint64_t>(n);
  }
  c.sha256 = digest.hex();
  return c;
}

/// 47040016 -> "47,040,016".
std::string thousands(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

FileCheck check_file(const DataFile& file, const fs::path& folder) {
  FileCheck check;
  check.name = file.name;
  check.path = folder / file.name;
  if (!fs::exists(check.path) && fs::exists(folder / (file.name + ".gz"))) {
    check.path = folder / (file.name + ".gz");
  }
  for (const auto& candidate : {file.name, file.name + ".gz"}) {
    if (fs::exists(folder / fmt::format(".{}.part", candidate))) check.partial_download = true;
  }
  if (file.download && fs::exists(folder / fmt::format(".{}.part", file.download->name))) {
    check.partial_download = true;
  }
  if (!fs::exists(check.path)) {
    check.state = FileState::missing;
    check.detail = fmt::format("missing: neither {} nor {}.gz is in {}", file.name, file.name,
                               folder.string());
    return check;
  }
  const Content c = content_of(check.path);
  check.bytes = c.bytes;
  if (!c.error.empty()) {
    check.state = c.ends_early ? FileState::truncated : FileState::different;
    check.detail = fmt::format("{}: {}", check.path.string(), c.error);
    return check;
  }
  if (c.bytes < file.bytes) {
    check.state = FileState::truncated;
    check.detail = fmt::format("truncated: {} holds {} bytes, {} expected", check.path.string(),
                               thousands(c.bytes), thousands(file.bytes));
    return check;
  }
  if (c.bytes > file.bytes) {
    check.state = FileState::different;
    check.detail = fmt::format("different: {} holds {} bytes, {} expected", check.path.string(),
                               thousands(c.bytes), thousands(file.bytes));
    return check;
  }
  if (file.sha256 && c.sha256 == *file.sha256) {
    check.state = FileState::ok;
    check.detail = "matches the pinned SHA-256";
    return check;
  }
  for (const auto& copy : file.known_copies) {
    if (c.sha256 == copy.sha256) {
      check.state = FileState::known_copy;
      check.detail = fmt::format("{} is {}", check.path.string(), copy.verdict);
      return check;
    }
  }
  if (!file.sha256) {
    check.state = FileState::unpinned;
    check.detail = fmt::format(
        "{}: right size, but no official SHA-256 is pinned for it and it is no known copy (SHA-256 "
        "{})",
        check.path.string(), c.sha256);
    return check;
  }
  check.state = FileState::different;
  check.detail = fmt::format("different: {} has the right size but SHA-256 {}, not the pinned {}",
                             check.path.string(), c.sha256, *file.sha256);
  return check;
}

}  // namespace

const DatasetInfo* DatasetRegistry::find(std::string_view id) const {
  for (const auto& d : datasets) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

const DatasetInfo& DatasetRegistry::resolve(std::string_view id) const {
  if (const DatasetInfo* d = find(id)) return *d;
  std::string valid;
  for (const auto& d : datasets) valid += (valid.empty() ? "" : ", ") + d.id;
  throw UsageError(fmt::format("'{}' is not a data set; valid: {}, all", id, valid));
}

DatasetRegistry parse_dataset_registry(std::string_view bytes, const std::string& origin) {
  const json doc = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw TitoError(fmt::format("{}: not valid JSON", origin));
  const Where root{origin, ""};
  if (!doc.is_object()) throw TitoError(fmt::format("{}: must be a JSON object", origin));
  const json& version = field(doc, "schema_version", root);
  if (!version.is_number_integer() || version.get<long long>() != 1) {
    throw TitoError(fmt::format("{}: schema_version {} is not 1 (this tito reads version 1)",
                                origin, version.dump()));
  }
  const json& list = field(doc, "datasets", root);
  if (!list.is_array()) (root / "datasets").fail("must be a list");
  DatasetRegistry registry;
  for (std::size_t i = 0; i < list.size(); ++i) {
    registry.datasets.push_back(dataset(list[i], (root / "datasets").at(i)));
    if (std::count_if(registry.datasets.begin(), registry.datasets.end(),
                      [&](const auto& d) { return d.id == registry.datasets.back().id; }) > 1) {
      (root / "datasets")
          .at(i)
          .fail(fmt::format("id '{}' is used twice", registry.datasets.back().id));
    }
  }
  return registry;
}

DatasetRegistry load_dataset_registry(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw TitoError(fmt::format(
        "{}: cannot read the data set registry (is this a TinyTorch course?)", file.string()));
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  return parse_dataset_registry(bytes.str(), file.string());
}

std::string sha256_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TitoError(fmt::format("{}: cannot be read", file.string()));
  Sha256 digest;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) digest.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw TitoError(fmt::format("{}: read error", file.string()));
  return digest.hex();
}

const char* to_string(FileState state) {
  switch (state) {
    case FileState::ok:
      return "ok";
    case FileState::known_copy:
      return "not official";
    case FileState::unpinned:
      return "unverified";
    case FileState::missing:
      return "missing";
    case FileState::truncated:
      return "truncated";
    case FileState::different:
      return "different";
  }
  return "?";
}

int DatasetCheck::count(FileState state) const {
  return static_cast<int>(std::count_if(files.begin(), files.end(),
                                        [&](const FileCheck& f) { return f.state == state; }));
}

bool DatasetCheck::usable() const {
  return count(FileState::missing) + count(FileState::truncated) + count(FileState::different) == 0;
}

bool DatasetCheck::official() const {
  return count(FileState::ok) == static_cast<int>(files.size());
}

DatasetCheck verify_dataset(const DatasetInfo& dataset, const fs::path& folder) {
  DatasetCheck check{dataset.id, folder, {}};
  for (const auto& file : dataset.files) check.files.push_back(check_file(file, folder));
  return check;
}

fs::path dataset_folder(const DatasetInfo& dataset, const fs::path& data_dir,
                        const fs::path& course_root) {
  return dataset.embedded.empty() ? data_dir / dataset.folder : course_root / dataset.embedded;
}

fs::path registry_path(const fs::path& course_root) {
  return course_root / "datasets" / "datasets.json";
}

}  // namespace tito
