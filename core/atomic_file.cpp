#include "tinytorch/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tinytorch {

void write_file_atomically(const std::filesystem::path& file, std::string_view content,
                           std::string_view what) {
  // The process id keeps two writers of the same file from sharing a temporary file.
  const std::filesystem::path temp = file.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0;
  for (std::size_t done = 0; ok && done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    done += ok ? static_cast<std::size_t>(n) : 0;
  }
  int error = ok ? 0 : errno;
  if (ok && ::fsync(fd) != 0) {
    ok = false;
    error = errno;
  }
  if (fd >= 0 && ::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  std::error_code ec;
  if (ok) {
    std::filesystem::rename(temp, file, ec);
    if (!ec) return;
  }
  const std::string why = ec ? ec.message() : std::strerror(error != 0 ? error : EIO);
  std::filesystem::remove(temp, ec);
  throw std::runtime_error(file.string() + ": cannot write " + std::string(what) + " (" + why +
                           "); the previous file is unchanged");
}

}  // namespace tinytorch
