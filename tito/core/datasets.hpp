#pragma once
// The data set registry, datasets/datasets.json: where each data set is published and the SHA-256
// of every file it must hold. `tito data fetch`, `tito data verify` and `tito system doctor` read
// this one file. A file's `sha256` is that of its uncompressed content, so NAME and NAME.gz verify
// alike (the readers accept both); a download's `sha256` is that of the bytes as downloaded.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tito {

namespace fs = std::filesystem;

/// Something to download: tried from each URL in turn (official source first, then mirrors).
struct RemoteFile {
  std::string name;  // the file name it is saved under
  std::uint64_t bytes = 0;
  std::string sha256;
  std::vector<std::string> urls;
  std::string inside;  // archives only: the folder inside the archive that holds the files
};

/// A copy that is known and not official (e.g. the JPEG-decoded CIFAR-10): recognised, and named.
struct KnownCopy {
  std::string sha256;
  std::string verdict;
};

struct DataFile {
  std::string name;                   // under the data set's folder, without ".gz"
  std::uint64_t bytes = 0;            // uncompressed
  std::optional<std::string> sha256;  // uncompressed content; absent where no official sum is known
  std::optional<RemoteFile> download;
  std::vector<KnownCopy> known_copies;
};

struct DatasetInfo {
  std::string id;
  std::string folder;  // under the data folder
  std::string title;
  std::string credit;
  std::string licence;
  std::string homepage;
  std::string note;
  std::string embedded;  // relative to the course root when the data set ships with the course
  std::optional<RemoteFile> archive;
  std::vector<DataFile> files;
};

struct DatasetRegistry {
  std::vector<DatasetInfo> datasets;

  [[nodiscard]] const DatasetInfo* find(std::string_view id) const;
  /// The data set with that id; throws UsageError listing the valid ids.
  [[nodiscard]] const DatasetInfo& resolve(std::string_view id) const;
};

/// Parses a registry from its bytes; `origin` (a path) names it in errors. Throws TitoError naming
/// the field at fault on malformed JSON, a missing or ill-typed field, a bad checksum, or a file or
/// folder name that would leave the data folder.
[[nodiscard]] DatasetRegistry parse_dataset_registry(std::string_view bytes,
                                                     const std::string& origin);
/// Reads and parses a registry file; throws TitoError naming the file when it cannot be read.
[[nodiscard]] DatasetRegistry load_dataset_registry(const fs::path& file);

/// Lower-case hex SHA-256 of a file's bytes (OpenSSL EVP). Throws TitoError naming the file.
[[nodiscard]] std::string sha256_file(const fs::path& file);

/// What `tito data verify` found for one file.
enum class FileState {
  ok,          // matches the pinned official sum
  known_copy,  // matches a known copy that is not the official file (see the verdict)
  unpinned,    // right size, but no official sum is pinned and it is no known copy
  missing,
  truncated,  // shorter than it must be, or its gzip stream ends early
  different,  // the wrong size, or the right size with other content
};

[[nodiscard]] const char* to_string(FileState state);

struct FileCheck {
  std::string name;
  fs::path path;  // the file found (NAME or NAME.gz), or where it was looked for
  FileState state = FileState::missing;
  std::uint64_t bytes = 0;        // uncompressed bytes read
  std::string detail;             // a sentence for the user
  bool partial_download = false;  // a .part file of an interrupted `tito data fetch` lies beside
};

struct DatasetCheck {
  std::string id;
  fs::path folder;
  std::vector<FileCheck> files;

  [[nodiscard]] int count(FileState state) const;
  /// Every file present and whole: the milestones can run on it (official or a known copy).
  [[nodiscard]] bool usable() const;
  /// Every file matches its pinned official sum.
  [[nodiscard]] bool official() const;
};

/// Checks each file of the data set under `folder` (NAME first, then NAME.gz, as the readers do).
[[nodiscard]] DatasetCheck verify_dataset(const DatasetInfo& dataset, const fs::path& folder);

/// The folder a data set lives in: the course's own for an embedded one, else data_dir/folder.
[[nodiscard]] fs::path dataset_folder(const DatasetInfo& dataset, const fs::path& data_dir,
                                      const fs::path& course_root);

/// The registry of the course at `root` (datasets/datasets.json).
[[nodiscard]] fs::path registry_path(const fs::path& course_root);

}  // namespace tito
