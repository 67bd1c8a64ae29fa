#pragma once
// Downloads through libcurl, written so that a partial file never looks complete: the bytes go to
// ".NAME.part" beside the target, which is checked against its pinned size and SHA-256, fsynced,
// and only then renamed to NAME (and the folder fsynced). An interrupted download leaves the .part
// file; the next try resumes it (HTTP range request), or restarts from zero when the server cannot
// resume or the resumed bytes do not verify.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/datasets.hpp"
#include "core/errors.hpp"

namespace tito {

namespace fs = std::filesystem;

/// Every source failed. `unreachable` is true when none could even be contacted (no network).
class DownloadError : public TitoError {
 public:
  DownloadError(const std::string& message, bool unreachable)
      : TitoError(message), unreachable_(unreachable) {}
  [[nodiscard]] bool unreachable() const { return unreachable_; }

 private:
  bool unreachable_;
};

/// What the download reports as it goes: a line of text, and progress (bytes so far, bytes in
/// all, bytes per second).
struct DownloadObserver {
  std::function<void(const std::string&)> note;
  std::function<void(std::uint64_t done, std::uint64_t total, double rate)> progress;
  std::function<void()> end_progress;
};

/// The part file a download of `target` writes to.
[[nodiscard]] fs::path part_path(const fs::path& target);

/// Downloads `remote` to `target` (tried URL by URL), verifying its size and SHA-256; throws
/// DownloadError naming each URL and why it failed.
void download(const RemoteFile& remote, const fs::path& target, const DownloadObserver& observer);

}  // namespace tito
