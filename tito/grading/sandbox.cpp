#include "grading/sandbox.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <grp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>

#include "core/errors.hpp"
#include "core/process.hpp"

extern char** environ;  // NOLINT: POSIX

namespace tito::grading {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kChannelFd = 3;  // where the test finds the result channel
constexpr int kSuiteFd = 4;    // where bwrap finds the suite to copy in
constexpr uid_t kNobody = 65534;
constexpr const char* kBwrap = "/usr/bin/bwrap";

/// Moves `fd` to exactly `target`, inherited across exec.
void place_fd(int fd, int target) {
  if (fd == target) {
    ::fcntl(fd, F_SETFD, 0);
  } else {
    ::dup2(fd, target);  // dup2 clears close-on-exec on the copy
  }
}

struct ChildPlan {
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = "";
  const char* program = "";  // execve path (bwrap), or empty for fexecve of the suite
  int out_fd = -1;
  int channel_fd = -1;
  int exec_fd = -1;
  const char* suite_path = "";  // /proc/self/fd/<exec_fd>, for a fresh description
  bool drop_to_nobody = false;
  const SandboxLimits* limits = nullptr;
  int cpu_seconds = 1;
};

/// Everything the child does between fork and exec: only async-signal-safe calls (the parent may
/// be multi-threaded).
[[noreturn]] void child_exec(const ChildPlan& plan) {
  ::setpgid(0, 0);
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  // Lift the descriptors we keep above the ones they must end up at, then put them in place.
  const int channel = plan.channel_fd >= 0 ? ::fcntl(plan.channel_fd, F_DUPFD_CLOEXEC, 10) : -1;
  const bool bwrap = plan.program[0] != '\0';
  // bwrap reads the suite from its descriptor's current offset: give it a description of its
  // own (the sealed copy is shared by tests running at once), opened at the start.
  const int suite = !bwrap ? ::fcntl(plan.exec_fd, F_DUPFD_CLOEXEC, 10)
                           : ::open(plan.suite_path, O_RDONLY | O_CLOEXEC);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(plan.out_fd, STDOUT_FILENO);
  ::dup2(plan.out_fd, STDERR_FILENO);
  if (channel >= 0) place_fd(channel, kChannelFd);
  if (bwrap && suite >= 0) place_fd(suite, kSuiteFd);
  if (plan.cwd[0] != '\0' && ::chdir(plan.cwd) != 0) ::_exit(126);
  rlimit limit{};
  const SandboxLimits& limits = *plan.limits;
  if (limits.memory_bytes > 0) {
    limit.rlim_cur = limit.rlim_max = limits.memory_bytes;
    ::setrlimit(RLIMIT_AS, &limit);
  }
  limit.rlim_cur = static_cast<rlim_t>(plan.cpu_seconds);
  limit.rlim_max = static_cast<rlim_t>(plan.cpu_seconds) + 1;
  ::setrlimit(RLIMIT_CPU, &limit);
  limit.rlim_cur = limit.rlim_max = limits.file_size_bytes;
  ::setrlimit(RLIMIT_FSIZE, &limit);
  limit.rlim_cur = limit.rlim_max = 0;
  ::setrlimit(RLIMIT_CORE, &limit);
  if (plan.drop_to_nobody) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) {
      ::_exit(126);
    }
  }
  if (bwrap) {
    ::execve(plan.program, plan.argv, plan.envp);
  } else {
    ::fexecve(suite, plan.argv, plan.envp);
  }
  ::_exit(127);
}

/// bwrap's arguments: /usr read-only, the test's folder as /work, a private /tmp, no /proc, every
/// namespace unshared, no capabilities, and the suite copied in read-only from descriptor 4.
std::vector<std::string> bwrap_argv(const SandboxRun& run) {
  std::vector<std::string> argv = {"bwrap",
                                   "--unshare-all",
                                   "--die-with-parent",
                                   "--new-session",
                                   "--cap-drop",
                                   "ALL",
                                   "--ro-bind",
                                   "/usr",
                                   "/usr",
                                   "--symlink",
                                   "usr/lib",
                                   "/lib",
                                   "--symlink",
                                   "usr/lib64",
                                   "/lib64",
                                   "--symlink",
                                   "usr/bin",
                                   "/bin",
                                   "--ro-bind",
                                   "/etc/ld.so.cache",
                                   "/etc/ld.so.cache",
                                   "--dev",
                                   "/dev",
                                   "--tmpfs",
                                   "/tmp",
                                   "--bind",
                                   run.cwd.string(),
                                   "/work",
                                   "--chdir",
                                   "/work"};
  std::error_code ec;
  for (const char* optional :
       {"/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/sys/devices/system/cpu"}) {
    if (fs::exists(optional, ec)) {
      for (const std::string& a :
           {std::string("--ro-bind"), std::string(optional), std::string(optional)}) {
        argv.push_back(a);
      }
    }
  }
  if (const char* data = std::getenv("TINYTORCH_DATA");
      data != nullptr && fs::path(data).is_absolute() && fs::is_directory(data, ec)) {
    for (const std::string& a : {std::string("--ro-bind"), std::string(data), std::string(data)}) {
      argv.push_back(a);
    }
  }
  for (const auto& path : run.read_only) {
    for (const std::string& a : {std::string("--ro-bind"), path.string(), path.string()}) {
      argv.push_back(a);
    }
  }
  const std::string suite = "/suite/" + run.program_name;
  for (const std::string& a :
       {std::string("--perms"), std::string("0555"), std::string("--ro-bind-data"),
        std::to_string(kSuiteFd), suite, suite}) {
    argv.push_back(a);
  }
  argv.insert(argv.end(), run.args.begin(), run.args.end());
  return argv;
}

}  // namespace

const char* to_string(Isolation isolation) {
  return isolation == Isolation::bwrap ? "bwrap" : "process";
}

Isolation detect_isolation() {
  static std::once_flag once;
  static Isolation found = Isolation::process;
  std::call_once(once, [] {
    std::error_code ec;
    if (!fs::exists(kBwrap, ec)) return;
    ProcessOptions options;
    options.timeout = std::chrono::seconds(20);
    const ProcessResult probe = run_process({kBwrap,          "--unshare-all", "--die-with-parent",
                                             "--new-session", "--cap-drop",    "ALL",
                                             "--ro-bind",     "/usr",          "/usr",
                                             "--symlink",     "usr/lib",       "/lib",
                                             "--symlink",     "usr/lib64",     "/lib64",
                                             "--symlink",     "usr/bin",       "/bin",
                                             "--dev",         "/dev",          "/usr/bin/true"},
                                            options);
    if (probe.ok()) found = Isolation::bwrap;
  });
  return found;
}

std::string SandboxResult::describe() const {
  if (timed_out) return fmt::format("timed out after {:.3g} s and was killed", seconds);
  if (term_signal != 0) return "killed by " + signal_name(term_signal);
  return fmt::format("exited with status {}", exit_code);
}

std::vector<std::string> test_environment(const std::string& home) {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=" + home, "TMPDIR=/tmp",
                                  "LANG=C.UTF-8", "LC_ALL=C.UTF-8"};
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    for (const char* kept :
         {"TINYTORCH_NUM_THREADS=", "OMP_NUM_THREADS=", "OPENBLAS_", "TINYTORCH_DATA="}) {
      if (entry.rfind(kept, 0) == 0) env.push_back(entry);
    }
  }
  return env;
}

SandboxResult run_sandboxed(const SandboxRun& run) {
  if (run.exec_fd < 0) throw TitoError("run_sandboxed: no program to run");
  Fd out_read;
  Fd out_write;
  make_pipe(out_read, out_write);
  Fd chan_read;
  Fd chan_write;
  std::vector<std::string> args;
  if (run.isolation == Isolation::bwrap) {
    args = bwrap_argv(run);
  } else {
    args.push_back(run.program_name);
    args.insert(args.end(), run.args.begin(), run.args.end());
  }
  if (run.channel) {
    // A socket, not a pipe: it cannot be reopened by path through /proc/self/fd or /dev/fd.
    std::array<int, 2> pair{-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) != 0) {
      throw TitoError(fmt::format("cannot create the result channel: {}", std::strerror(errno)));
    }
    chan_read.reset(pair[0]);
    chan_write.reset(pair[1]);
    ::shutdown(chan_write.get(), SHUT_RD);
    ::shutdown(chan_read.get(), SHUT_WR);
    args.push_back(fmt::format("--tinytorch_grading_fd={}", kChannelFd));
  }
  const bool as_root = ::geteuid() == 0;
  const std::string home = run.isolation == Isolation::bwrap ? "/work" : run.cwd.string();
  std::vector<std::string> env = test_environment(home);
  if (run.isolation == Isolation::process && as_root) {
    std::error_code ec;
    fs::permissions(run.cwd, fs::perms::all, ec);  // nobody works in its own folder
  }
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  const std::string cwd_text = run.isolation == Isolation::bwrap ? "" : run.cwd.string();
  const auto wall_s = std::chrono::duration<double>(run.limits.wall).count();
  ChildPlan plan;
  plan.argv = c_args.data();
  plan.envp = c_env.data();
  plan.cwd = cwd_text.c_str();
  plan.program = run.isolation == Isolation::bwrap ? kBwrap : "";
  plan.out_fd = out_write.get();
  plan.channel_fd = chan_write.get();
  plan.exec_fd = run.exec_fd;
  const std::string suite_path = fmt::format("/proc/self/fd/{}", run.exec_fd);
  plan.suite_path = suite_path.c_str();
  plan.drop_to_nobody = run.isolation == Isolation::process && as_root;
  plan.limits = &run.limits;
  plan.cpu_seconds =
      run.limits.cpu_seconds > 0 ? run.limits.cpu_seconds : static_cast<int>(wall_s) + 1;

  const auto start = Clock::now();
  const pid_t pid = start_registered_child([&] {
    const pid_t child = ::fork();
    if (child == 0) child_exec(plan);
    return child;
  });
  if (pid < 0) throw TitoError(fmt::format("cannot fork: {}", std::strerror(errno)));
  ::setpgid(pid, pid);  // also in the parent: no window in which a kill(-pid) would miss
  out_write.reset();
  chan_write.reset();
  ::fcntl(out_read.get(), F_SETFL, O_NONBLOCK);
  if (run.channel) ::fcntl(chan_read.get(), F_SETFL, O_NONBLOCK);

  SandboxResult result;
  std::string channel_bytes;
  const std::size_t channel_cap = std::size_t{1} << 20;
  const auto deadline = start + run.limits.wall;
  bool out_open = true;
  bool chan_open = run.channel;
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
    if (out_open) fds[n++] = {out_read.get(), POLLIN, 0};
    if (chan_open) fds[n++] = {chan_read.get(), POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    const int wait_ms = static_cast<int>(std::min<long long>(left + 1, 50));
    if (n > 0) {
      ::poll(fds.data(), n, wait_ms);
    } else {
      ::usleep(static_cast<useconds_t>(wait_ms) * 1000);
    }
    if (out_open) out_open = read_available(out_read.get(), result.output, run.limits.max_output);
    if (chan_open) chan_open = read_available(chan_read.get(), channel_bytes, channel_cap);
    if (::waitpid(pid, &status, WNOHANG) == pid) exited = true;
  }
  // Whatever the test started and left behind in its group goes too.
  ::kill(-pid, SIGKILL);
  unregister_child(pid);
  if (out_open) read_available(out_read.get(), result.output, run.limits.max_output);
  if (chan_open) read_available(chan_read.get(), channel_bytes, channel_cap);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!result.timed_out) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
    // bwrap reports a test killed by signal S as its own exit status 128 + S.
    if (run.isolation == Isolation::bwrap && result.exit_code > 128 &&
        result.exit_code < 128 + 65) {
      result.term_signal = result.exit_code - 128;
      result.exit_code = -1;
    }
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
  if (owned.get() < 0) throw TitoError(fmt::format("memfd_create: {}", std::strerror(errno)));
  const Fd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    throw TitoError(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
  }
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw TitoError(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w =
          ::write(owned.get(), buffer.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw TitoError(fmt::format("memfd write: {}", std::strerror(errno)));
      done += w;
    }
  }
  if (::fcntl(owned.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    throw TitoError(fmt::format("cannot seal the test program: {}", std::strerror(errno)));
  }
  return owned.release();  // the caller owns it now
}

void become_subreaper() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

void kill_orphans() {
  with_registered_children([](const std::vector<int>& known) {
    // Our children, thread by thread (a child belongs to the thread that started it; an adopted
    // orphan to one of ours).
    std::error_code ec;
    std::vector<int> found;
    for (const auto& task : fs::directory_iterator("/proc/self/task", ec)) {
      std::ifstream in(task.path() / "children");
      for (int pid = 0; in >> pid;) found.push_back(pid);
    }
    for (const int pid : found) {
      if (std::find(known.begin(), known.end(), pid) != known.end()) continue;
      ::kill(-pid, SIGKILL);  // its group, if it leads one
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  });
}

}  // namespace tito::grading
