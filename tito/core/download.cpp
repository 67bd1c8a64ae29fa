#include "core/download.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace tito {

namespace {

using Clock = std::chrono::steady_clock;

/// curl_global_init once per process, before any handle (libcurl requires it up front).
void init_curl() {
  static const bool done = [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw TitoError("libcurl could not be initialised");
    }
    return true;
  }();
  (void)done;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

void fsync_folder(const fs::path& dir) {
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());  // best effort: makes the rename itself durable
}

/// What one transfer writes into: the part file, never more bytes than the pinned size.
struct Sink {
  int fd = -1;
  std::uint64_t written = 0;
  std::uint64_t limit = 0;
  bool too_long = false;
  int write_errno = 0;
  // progress
  std::uint64_t offset = 0;
  std::uint64_t total = 0;
  Clock::time_point start = Clock::now();
  Clock::time_point last_report{};
  const DownloadObserver* observer = nullptr;
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink->offset + sink->written + n > sink->limit) {
    sink->too_long = true;
    return 0;  // aborts the transfer: this is not the file we pinned
  }
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(sink->fd, data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      sink->write_errno = errno;
      return 0;
    }
    done += static_cast<std::size_t>(w);
  }
  sink->written += n;
  return n;
}

int on_progress(void* user, curl_off_t /*dltotal*/, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* sink = static_cast<Sink*>(user);
  const auto now = Clock::now();
  if (!sink->observer->progress || now - sink->last_report < std::chrono::milliseconds(200)) {
    return 0;
  }
  sink->last_report = now;
  const double seconds = std::chrono::duration<double>(now - sink->start).count();
  const double rate = seconds > 0 ? static_cast<double>(dlnow) / seconds : 0.0;
  sink->observer->progress(sink->offset + static_cast<std::uint64_t>(dlnow), sink->total, rate);
  return 0;
}

/// Errors that mean the source could not be contacted at all.
bool unreachable_code(CURLcode code) {
  return code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY ||
         code == CURLE_COULDNT_CONNECT || code == CURLE_OPERATION_TIMEDOUT;
}

struct Attempt {
  CURLcode code = CURLE_OK;
  std::string error;     // empty on success
  bool restart = false;  // retry this URL from byte 0
  bool unreachable = false;
};

std::uint64_t size_or_zero(const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  return ec ? 0 : static_cast<std::uint64_t>(size);
}

/// One transfer from `url` into `part`, resuming from its current size when `resume`.
Attempt transfer(const std::string& url, const fs::path& part, const RemoteFile& remote,
                 bool resume, const DownloadObserver& observer) {
  Attempt attempt;
  if (!resume) fs::remove(part);
  const std::uint64_t offset = size_or_zero(part);
  const Fd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) {
    throw TitoError(fmt::format("cannot write {}: {}", part.string(), std::strerror(errno)));
  }
  if (offset > 0 && observer.note) {
    observer.note(fmt::format("resuming {} at byte {} of {}", remote.name, offset, remote.bytes));
  }
  Sink sink;
  sink.fd = fd.get();
  sink.limit = remote.bytes;
  sink.offset = offset;
  sink.total = remote.bytes;
  sink.observer = &observer;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw TitoError("libcurl could not create a transfer");
  std::array<char, CURL_ERROR_SIZE> error{};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error.data());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);  // an HTTP error page is not the data
  curl_easy_setopt(h, CURLOPT_USERAGENT, "tito (TinyTorch C++ course tool)");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 20L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);  // < 1 KiB/s for 60 s: give up on it
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &sink);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  if (offset > 0) curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
  attempt.code = curl_easy_perform(h);
  if (observer.end_progress) observer.end_progress();
  if (::fsync(fd.get()) != 0) {
    throw TitoError(fmt::format("cannot sync {}: {}", part.string(), std::strerror(errno)));
  }
  if (attempt.code == CURLE_OK) return attempt;
  attempt.unreachable = unreachable_code(attempt.code) && sink.written == 0 && offset == 0;
  if (sink.too_long) {
    attempt.error = fmt::format("it sent more than the pinned {} bytes", remote.bytes);
    attempt.restart = offset > 0;
    return attempt;
  }
  if (sink.write_errno != 0) {
    throw TitoError(
        fmt::format("cannot write {}: {}", part.string(), std::strerror(sink.write_errno)));
  }
  attempt.error = error[0] != '\0' ? std::string(error.data()) : curl_easy_strerror(attempt.code);
  // The server cannot resume (or says the range is wrong): start this URL again from zero.
  attempt.restart = offset > 0 && (attempt.code == CURLE_RANGE_ERROR ||
                                   attempt.code == CURLE_BAD_DOWNLOAD_RESUME ||
                                   attempt.code == CURLE_HTTP_RETURNED_ERROR);
  return attempt;
}

/// Checks the finished part file; on success renames it into place, durably.
std::string finish(const fs::path& part, const fs::path& target, const RemoteFile& remote) {
  const std::uint64_t size = size_or_zero(part);
  if (size != remote.bytes) {
    return fmt::format("it sent {} bytes, {} pinned", size, remote.bytes);
  }
  const std::string sum = sha256_file(part);
  if (sum != remote.sha256) {
    return fmt::format("its SHA-256 is {}, not the pinned {}", sum, remote.sha256);
  }
  fs::rename(part, target);
  fsync_folder(target.parent_path());
  return "";
}

}  // namespace

fs::path part_path(const fs::path& target) {
  return target.parent_path() / fmt::format(".{}.part", target.filename().string());
}

void download(const RemoteFile& remote, const fs::path& target, const DownloadObserver& observer) {
  init_curl();
  fs::create_directories(target.parent_path());
  const fs::path part = part_path(target);
  // A part file as long as the whole may be a finished download that was never renamed.
  if (size_or_zero(part) >= remote.bytes && finish(part, target, remote).empty()) return;
  if (size_or_zero(part) >= remote.bytes) fs::remove(part);
  std::vector<std::string> failures;
  bool all_unreachable = true;
  for (const auto& url : remote.urls) {
    bool resume = true;
    for (int round = 0; round < 2; ++round) {  // round 1: a clean restart after a failed resume
      const bool resumed = resume && size_or_zero(part) > 0;
      const Attempt attempt = transfer(url, part, remote, resume, observer);
      all_unreachable = all_unreachable && attempt.unreachable;
      std::string problem = attempt.error;
      if (attempt.code == CURLE_OK) {
        problem = finish(part, target, remote);
        if (problem.empty()) return;
        if (!resumed) fs::remove(part);  // bad bytes from a fresh start: keep nothing of them
      }
      if (resumed && (attempt.restart || attempt.code == CURLE_OK)) {
        if (observer.note) {
          observer.note(
              fmt::format("{}: the resumed download failed ({}); starting again from "
                          "zero",
                          url, problem));
        }
        resume = false;
        continue;
      }
      failures.push_back(fmt::format("{}: {}", url, problem));
      if (observer.note && !attempt.unreachable) observer.note(failures.back());
      break;
    }
  }
  if (fs::exists(part) && size_or_zero(part) == 0) fs::remove(part);  // nothing to resume from
  std::string message = fmt::format("could not download {}:", remote.name);
  for (const auto& f : failures) message += "\n  " + f;
  throw DownloadError(message, all_unreachable);
}

}  // namespace tito
