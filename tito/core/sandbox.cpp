#include "core/sandbox.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <random>

#include "core/errors.hpp"
#include "core/runner.hpp"

extern char** environ;  // NOLINT: POSIX

namespace tito {

namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

void make_pipe(Fd& read_end, Fd& write_end) {
  std::array<int, 2> fds{-1, -1};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw TitoError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  }
  read_end.fd = fds[0];
  write_end.fd = fds[1];
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// Everything the child does between fork and exec: only async-signal-safe calls (the parent may
/// be multi-threaded).
[[noreturn]] void child_exec(char* const* argv, char* const* envp, const char* cwd, int out_fd,
                             int channel_fd, const SandboxLimits& limits, int cpu_seconds,
                             int exec_fd) {
  ::setpgid(0, 0);
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(out_fd, STDERR_FILENO);
  if (channel_fd >= 0) ::fcntl(channel_fd, F_SETFD, 0);  // the one descriptor exec keeps
  if (cwd[0] != '\0' && ::chdir(cwd) != 0) ::_exit(126);
  rlimit limit{};
  if (limits.memory_bytes > 0) {
    limit.rlim_cur = limit.rlim_max = limits.memory_bytes;
    ::setrlimit(RLIMIT_AS, &limit);
  }
  limit.rlim_cur = static_cast<rlim_t>(cpu_seconds);
  limit.rlim_max = static_cast<rlim_t>(cpu_seconds) + 1;
  ::setrlimit(RLIMIT_CPU, &limit);
  limit.rlim_cur = limit.rlim_max = limits.file_size_bytes;
  ::setrlimit(RLIMIT_FSIZE, &limit);
  limit.rlim_cur = limit.rlim_max = 0;
  ::setrlimit(RLIMIT_CORE, &limit);
  if (exec_fd >= 0) {
    ::fexecve(exec_fd, argv, envp);
  } else {
    ::execve(argv[0], argv, envp);
  }
  ::_exit(127);
}

void append_capped(std::string& out, const char* data, std::size_t n, std::size_t cap) {
  out.append(data, n);
  if (out.size() > cap) out.erase(0, out.size() - cap);
}

/// Reads what is there without blocking; returns false once the pipe is at end of file.
bool drain(int fd, std::string& out, std::size_t cap) {
  std::array<char, 16384> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      append_capped(out, buffer.data(), static_cast<std::size_t>(n), cap);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

}  // namespace

std::string SandboxResult::describe() const {
  if (timed_out) return fmt::format("timed out after {:.3g} s and was killed", seconds);
  if (term_signal != 0) return "killed by " + signal_name(term_signal);
  return fmt::format("exited with status {}", exit_code);
}

std::string make_nonce() {
  std::random_device device;
  std::string nonce;
  for (int i = 0; i < 4; ++i) nonce += fmt::format("{:08x}", device());
  return nonce;
}

std::vector<std::string> clean_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    if (entry.rfind("GTEST_", 0) == 0 || entry.rfind("TINYTORCH_GRADING_", 0) == 0) continue;
    env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

SandboxResult run_sandboxed(const std::vector<std::string>& argv, const fs::path& cwd,
                            std::vector<std::string> env, const SandboxLimits& limits, bool channel,
                            int exec_fd) {
  if (argv.empty() || (exec_fd < 0 && !fs::path(argv.front()).is_absolute())) {
    throw TitoError("run_sandboxed: argv[0] must be an absolute path");
  }
  Fd out_read;
  Fd out_write;
  make_pipe(out_read, out_write);
  Fd chan_read;
  Fd chan_write;
  if (channel) {
    make_pipe(chan_read, chan_write);
    env.push_back(fmt::format("TINYTORCH_GRADING_FD={}", chan_write.fd));
  }
  std::vector<std::string> args = argv;
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  const std::string cwd_text = cwd.string();
  const auto wall_s = std::chrono::duration<double>(limits.wall).count();
  const int cpu_seconds =
      limits.cpu_seconds > 0 ? limits.cpu_seconds : static_cast<int>(wall_s) + 1;

  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw TitoError(fmt::format("cannot fork: {}", std::strerror(errno)));
  if (pid == 0) {
    child_exec(c_args.data(), c_env.data(), cwd_text.c_str(), out_write.fd, chan_write.fd, limits,
               cpu_seconds, exec_fd);
  }
  ::setpgid(pid, pid);  // also in the parent: no window in which a kill(-pid) would miss
  out_write.reset();
  chan_write.reset();
  ::fcntl(out_read.fd, F_SETFL, O_NONBLOCK);
  if (channel) ::fcntl(chan_read.fd, F_SETFL, O_NONBLOCK);

  SandboxResult result;
  std::string channel_bytes;
  const std::size_t channel_cap = std::size_t{1} << 20;
  const auto deadline = start + limits.wall;
  bool out_open = true;
  bool chan_open = channel;
  int status = 0;
  bool exited = false;
  while (!exited) {
    const auto now = Clock::now();
    if (now >= deadline) {
      ::kill(-pid, SIGKILL);
      result.timed_out = true;
      ::waitpid(pid, &status, 0);
      break;
    }
    std::array<pollfd, 2> fds{};
    nfds_t n = 0;
    if (out_open) fds[n++] = {out_read.fd, POLLIN, 0};
    if (chan_open) fds[n++] = {chan_read.fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    const int wait_ms = static_cast<int>(std::min<long long>(left + 1, 50));
    if (n > 0) {
      ::poll(fds.data(), n, wait_ms);
    } else {
      ::usleep(static_cast<useconds_t>(wait_ms) * 1000);
    }
    if (out_open) out_open = drain(out_read.fd, result.output, limits.max_output);
    if (chan_open) chan_open = drain(chan_read.fd, channel_bytes, channel_cap);
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) exited = true;
  }
  // Whatever the test started and left behind in its group goes too.
  ::kill(-pid, SIGKILL);
  if (out_open) drain(out_read.fd, result.output, limits.max_output);
  if (chan_open) drain(chan_read.fd, channel_bytes, channel_cap);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!result.timed_out) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  } else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
    result.term_signal = WTERMSIG(status);
  }
  std::size_t begin = 0;
  for (std::size_t end; (end = channel_bytes.find('\n', begin)) != std::string::npos;
       begin = end + 1) {
    result.records.push_back(channel_bytes.substr(begin, end - begin));
  }
  if (begin < channel_bytes.size()) result.records.push_back(channel_bytes.substr(begin));
  return result;
}

int sealed_executable(const fs::path& file) {
  Fd owned(::memfd_create("tinytorch-suite", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (owned.fd < 0) throw TitoError(fmt::format("memfd_create: {}", std::strerror(errno)));
  const Fd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) {
    throw TitoError(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
  }
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::read(in.fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw TitoError(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(owned.fd, buffer.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw TitoError(fmt::format("memfd write: {}", std::strerror(errno)));
      done += w;
    }
  }
  if (::fcntl(owned.fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    throw TitoError(fmt::format("cannot seal the test program: {}", std::strerror(errno)));
  }
  const int fd = owned.fd;
  owned.fd = -1;  // the caller owns it now
  return fd;
}

}  // namespace tito
