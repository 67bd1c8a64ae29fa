#include "core/process.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "core/errors.hpp"

extern char** environ;  // NOLINT: POSIX

namespace tito {

namespace {

using Clock = std::chrono::steady_clock;

class SpawnActions {
 public:
  SpawnActions() { ::posix_spawn_file_actions_init(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  ~SpawnActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  [[nodiscard]] posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_{};
};

class SpawnAttributes {
 public:
  SpawnAttributes() { ::posix_spawnattr_init(&attr_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  ~SpawnAttributes() { ::posix_spawnattr_destroy(&attr_); }
  [[nodiscard]] posix_spawnattr_t* get() { return &attr_; }

 private:
  posix_spawnattr_t attr_{};
};

/// Our environment with `overrides` applied: an override replaces the inherited variable of the
/// same name (appending would let the inherited one win, since getenv returns the first match).
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    const bool replaced = std::any_of(overrides.begin(), overrides.end(),
                                      [&](const auto& kv) { return kv.first == key; });
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [key, value] : overrides) env.push_back(key + "=" + value);
  return env;
}

struct Pipes {
  Fd out_read, out_write, err_read, err_write;
};

pid_t spawn(const std::vector<std::string>& argv, const ProcessOptions& options, Pipes& pipes) {
  SpawnActions actions;
  ::posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (options.stdio != Stdio::terminal) {
    ::posix_spawn_file_actions_adddup2(actions.get(), pipes.out_write.get(), STDOUT_FILENO);
    if (options.stdio == Stdio::stdout_only) {
      ::posix_spawn_file_actions_addopen(actions.get(), STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    } else {
      const int err =
          options.stdio == Stdio::separate ? pipes.err_write.get() : pipes.out_write.get();
      ::posix_spawn_file_actions_adddup2(actions.get(), err, STDERR_FILENO);
    }
  }
  if (!options.cwd.empty()) {
    ::posix_spawn_file_actions_addchdir_np(actions.get(), options.cwd.c_str());
  }
  SpawnAttributes attributes;
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);  // a program on the terminal gets Ctrl-C back
  ::posix_spawnattr_setsigdefault(attributes.get(), &defaults);
  short flags = POSIX_SPAWN_SETSIGDEF;
  if (options.stdio != Stdio::terminal) {
    // Own process group, so a timeout can kill the program and everything it started. A
    // program on the terminal stays in ours, so Ctrl-C reaches it.
    ::posix_spawnattr_setpgroup(attributes.get(), 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  ::posix_spawnattr_setflags(attributes.get(), flags);

  std::vector<std::string> args = argv;
  std::vector<std::string> env = child_environment(options.env);
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv.front().c_str(), actions.get(), attributes.get(),
                                c_args.data(), c_env.data());
  if (rc != 0) {
    throw TitoError(fmt::format("cannot run {}: {}", argv.front(), std::strerror(rc)));
  }
  return pid;
}

std::mutex& children_mutex() {
  static std::mutex m;
  return m;
}

std::set<int>& children() {
  static std::set<int> pids;
  return pids;
}

void record_status(int status, ProcessResult& result) {
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
}

/// Collects output until the child exits (grandchildren that keep a pipe open do not hold us)
/// or the deadline passes (then the whole group is killed).
void supervise(pid_t pid, Pipes& pipes, const ProcessOptions& options, ProcessResult& result) {
  const bool capture = options.stdio != Stdio::terminal;
  bool out_open = capture;
  bool err_open = options.stdio == Stdio::separate;
  if (out_open) ::fcntl(pipes.out_read.get(), F_SETFL, O_NONBLOCK);
  if (err_open) ::fcntl(pipes.err_read.get(), F_SETFL, O_NONBLOCK);
  const auto drain_all = [&] {
    if (out_open)
      out_open = read_available(pipes.out_read.get(), result.output, options.max_output);
    if (err_open) err_open = read_available(pipes.err_read.get(), result.error, options.max_output);
  };
  const auto deadline = Clock::now() + options.timeout;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      drain_all();
      record_status(status, result);
      return;
    }
    if (done < 0 && errno != EINTR) return;  // not ours any more: nothing to wait for
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(capture ? -pid : pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      drain_all();
      record_status(status, result);
      return;
    }
    if (out_open || err_open) {
      std::array<pollfd, 2> fds{};
      nfds_t n = 0;
      if (out_open) fds[n++] = {pipes.out_read.get(), POLLIN, 0};
      if (err_open) fds[n++] = {pipes.err_read.get(), POLLIN, 0};
      ::poll(fds.data(), n, 50);
      drain_all();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

int Fd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void make_pipe(Fd& read_end, Fd& write_end) {
  std::array<int, 2> fds{-1, -1};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw TitoError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  }
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
}

bool read_available(int fd, std::string& out, std::size_t cap) {
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      out.append(buffer.data(), static_cast<std::size_t>(n));
      if (out.size() > cap) out.erase(0, out.size() - cap);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw TitoError(fmt::format("cannot create a temporary folder: {}", std::strerror(errno)));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<std::pair<std::string, std::string>> env_pairs(
    const std::vector<std::string>& assignments) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& a : assignments) {
    const std::size_t eq = a.find('=');
    out.emplace_back(a.substr(0, eq), eq == std::string::npos ? "" : a.substr(eq + 1));
  }
  return out;
}

std::string signal_name(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  const char* description = ::strsignal(signal);
  return abbrev == nullptr ? fmt::format("signal {}", signal)
                           : fmt::format("SIG{} ({})", abbrev, description);
}

std::string ProcessResult::describe() const {
  if (timed_out) return fmt::format("timed out after {:.0f} s and was killed", seconds);
  if (term_signal != 0) return fmt::format("killed by {}", signal_name(term_signal));
  return fmt::format("exited with status {}", exit_code);
}

std::string ProcessResult::tail(std::size_t lines) const {
  std::size_t pos = output.size();
  if (pos > 0 && output[pos - 1] == '\n') --pos;
  for (std::size_t seen = 0; pos > 0; --pos) {
    if (output[pos - 1] == '\n' && ++seen == lines) break;
  }
  return output.substr(pos);
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) throw TitoError("run_process: empty command");
  const auto start = Clock::now();
  Pipes pipes;
  if (options.stdio != Stdio::terminal) make_pipe(pipes.out_read, pipes.out_write);
  if (options.stdio == Stdio::separate) make_pipe(pipes.err_read, pipes.err_write);
  const pid_t pid = start_registered_child([&] { return spawn(argv, options, pipes); });
  // Only the child writes now; EOF arrives when it (and its children) finish.
  pipes.out_write.reset();
  pipes.err_write.reset();
  ProcessResult result;
  supervise(pid, pipes, options, result);
  unregister_child(pid);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

int start_registered_child(const std::function<int()>& start) {
  const std::lock_guard lock(children_mutex());
  const int pid = start();
  if (pid > 0) children().insert(pid);
  return pid;
}

void unregister_child(int pid) {
  const std::lock_guard lock(children_mutex());
  children().erase(pid);
}

void with_registered_children(const std::function<void(const std::vector<int>&)>& visit) {
  const std::lock_guard lock(children_mutex());
  visit({children().begin(), children().end()});
}

}  // namespace tito
