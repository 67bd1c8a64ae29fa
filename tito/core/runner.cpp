#include "core/runner.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/errors.hpp"

extern char** environ;  // NOLINT: POSIX

namespace tito {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_.data(), O_CLOEXEC) != 0) {
      throw TitoError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    close_read();
    close_write();
  }
  [[nodiscard]] int read_end() const { return fds_[0]; }
  [[nodiscard]] int write_end() const { return fds_[1]; }
  void close_read() { close_fd(0); }
  void close_write() { close_fd(1); }

 private:
  void close_fd(int i) {
    if (fds_[i] >= 0) ::close(fds_[i]);
    fds_[i] = -1;
  }
  std::array<int, 2> fds_{-1, -1};
};

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

/// A private folder under the system temp dir, removed with everything in it on scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tito-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw TitoError(fmt::format("cannot create a temporary folder: {}", std::strerror(errno)));
    }
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// Our environment with `overrides` applied, as the strings posix_spawn wants.
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

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn(const std::vector<std::string>& argv, const ProcessOptions& options, Pipe& pipe) {
  SpawnActions actions;
  ::posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(actions.get(), pipe.write_end(), STDOUT_FILENO);
  if (options.discard_stderr) {
    ::posix_spawn_file_actions_addopen(actions.get(), STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  } else {
    ::posix_spawn_file_actions_adddup2(actions.get(), pipe.write_end(), STDERR_FILENO);
  }
  if (!options.cwd.empty()) {
    ::posix_spawn_file_actions_addchdir_np(actions.get(), options.cwd.c_str());
  }
  SpawnAttributes attributes;
  // Own process group, so a timeout can kill the test and everything it started.
  ::posix_spawnattr_setpgroup(attributes.get(), 0);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  ::posix_spawnattr_setsigdefault(attributes.get(), &defaults);
  ::posix_spawnattr_setflags(attributes.get(), POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);

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

void append_capped(std::string& out, const char* data, std::size_t n, std::size_t cap) {
  out.append(data, n);
  if (out.size() > cap) out.erase(0, out.size() - cap);
}

/// Reads what is available without blocking; returns false at end of file.
bool drain(int fd, std::string& out, std::size_t cap) {
  std::array<char, 65536> buffer{};
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

void record_status(int status, ProcessResult& result) {
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
}

/// Collects output until the child exits (grandchildren that keep the pipe open do not hold us)
/// or the deadline passes (then the whole group is killed).
void supervise(pid_t pid, Pipe& pipe, const ProcessOptions& options, ProcessResult& result) {
  ::fcntl(pipe.read_end(), F_SETFL, O_NONBLOCK);
  const auto deadline = Clock::now() + options.timeout;
  bool open = true;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (open) drain(pipe.read_end(), result.output, options.max_output);
      record_status(status, result);
      return;
    }
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      if (open) drain(pipe.read_end(), result.output, options.max_output);
      record_status(status, result);
      return;
    }
    if (open) {
      pollfd p{pipe.read_end(), POLLIN, 0};
      ::poll(&p, 1, 50);
      open = drain(pipe.read_end(), result.output, options.max_output);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int count_listed_tests(const fs::path& executable, const fs::path& cwd) {
  ProcessOptions options;
  options.timeout = std::chrono::seconds(30);
  options.cwd = cwd;
  const ProcessResult listing = run_process({executable.string(), "--gtest_list_tests"}, options);
  if (!listing.ok()) return 0;
  int count = 0;
  std::istringstream lines(listing.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  ", 0) == 0) ++count;  // "Suite." then "  Test" per test
  }
  return count;
}

std::string missing_report_problem(const ProcessResult& process) {
  if (process.timed_out) return fmt::format("{}; no results were written", process.describe());
  if (process.term_signal != 0) {
    return fmt::format("crashed: {} before writing its test report", process.describe());
  }
  return fmt::format(
      "{} without writing its test report (did a test call exit() or abort the program?)",
      process.describe());
}

}  // namespace

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
  Pipe pipe;
  const pid_t pid = start_registered_child([&] { return spawn(argv, options, pipe); });
  pipe.close_write();  // only the child writes now; EOF arrives when it (and its children) finish
  ProcessResult result;
  supervise(pid, pipe, options, result);
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

std::vector<TestCase> parse_gtest_report(const json& report) {
  std::vector<TestCase> tests;
  try {
    for (const auto& suite : report.at("testsuites")) {
      for (const auto& t : suite.at("testsuite")) {
        if (t.value("status", "RUN") == "NOTRUN") continue;  // disabled tests did not run
        TestCase test;
        test.suite = suite.at("name").get<std::string>();
        test.name = t.at("name").get<std::string>();
        for (const auto& f : t.value("failures", json::array())) {
          test.failures.push_back(f.value("failure", "(no message)"));
        }
        const std::string result = t.value("result", "COMPLETED");
        test.status = !test.failures.empty() ? "failed"
                      : result == "SKIPPED"  ? "skipped"
                                             : "passed";
        // GoogleTest's JSON carries no skip message; tests record theirs as a property.
        if (test.status == "skipped") test.skip_reason = t.value("skip_reason", "");
        const std::string time = t.value("time", "0s");
        test.seconds = std::strtod(time.c_str(), nullptr);
        tests.push_back(std::move(test));
      }
    }
  } catch (const json::exception& e) {
    throw std::invalid_argument(fmt::format("unexpected report layout: {}", e.what()));
  }
  return tests;
}

int SuiteRun::passed() const {
  return static_cast<int>(std::count_if(tests.begin(), tests.end(),
                                        [](const TestCase& t) { return t.status == "passed"; }));
}

int SuiteRun::failed() const {
  if (!report_read) return std::max(tests_listed, 1);
  return static_cast<int>(std::count_if(tests.begin(), tests.end(),
                                        [](const TestCase& t) { return t.status == "failed"; }));
}

int SuiteRun::skipped() const {
  return static_cast<int>(std::count_if(tests.begin(), tests.end(),
                                        [](const TestCase& t) { return t.status == "skipped"; }));
}

int SuiteRun::total() const {
  return report_read ? static_cast<int>(tests.size()) : failed();
}

json SuiteRun::to_json() const {
  json cases = json::array();
  for (const auto& t : tests) {
    cases.push_back({{"suite", t.suite},
                     {"name", t.name},
                     {"status", t.status},
                     {"failures", t.failures},
                     {"skip_reason", t.status == "skipped" ? json(t.skip_reason) : json(nullptr)},
                     {"seconds", t.seconds}});
  }
  json doc = {{"label", label},
              {"executable", executable.string()},
              {"ok", ok()},
              {"passed", passed()},
              {"failed", failed()},
              {"skipped", skipped()},
              {"total", total()},
              {"seconds", process.seconds},
              {"report_read", report_read},
              {"tests", cases}};
  doc["problem"] = problem.empty() ? json(nullptr) : json(problem);
  if (process.term_signal != 0) doc["signal"] = signal_name(process.term_signal);
  return doc;
}

SuiteRun run_gtest(std::string label, const fs::path& executable, std::chrono::seconds timeout,
                   const fs::path& cwd) {
  SuiteRun run;
  run.label = std::move(label);
  run.executable = executable;
  if (!fs::exists(executable)) {
    run.problem = fmt::format("{} was not built", executable.string());
    return run;
  }
  const TempDir temp;
  const fs::path report = temp.path() / "report.json";
  ProcessOptions options;
  options.timeout = timeout;
  options.cwd = cwd;
  options.env = {{"GTEST_COLOR", "no"}};
  run.process =
      run_process({executable.string(), "--gtest_output=json:" + report.string()}, options);
  if (!fs::exists(report) || run.process.timed_out || run.process.term_signal != 0) {
    run.problem = missing_report_problem(run.process);
    run.tests_listed = count_listed_tests(executable, cwd);
    return run;
  }
  try {
    run.tests = parse_gtest_report(json::parse(read_file(report)));
    run.report_read = true;
  } catch (const std::exception& e) {
    run.problem =
        fmt::format("its test report {} could not be read: {}", report.string(), e.what());
    run.tests_listed = count_listed_tests(executable, cwd);
    return run;
  }
  if (run.tests.empty()) run.problem = "it ran no tests";
  return run;
}

bool BuildTree::configured() const {
  return fs::exists(binary_ / "CMakeCache.txt") &&
         (fs::exists(binary_ / "build.ninja") || fs::exists(binary_ / "Makefile"));
}

ProcessResult BuildTree::configure_preset(const std::string& preset) const {
  ProcessOptions options;
  options.cwd = source_;
  return run_process({"cmake", "--preset", preset}, options);
}

ProcessResult BuildTree::configure(const std::vector<std::string>& definitions) const {
  std::vector<std::string> argv = {"cmake", "-S", source_.string(), "-B", binary_.string()};
  if (!fs::exists(binary_ / "CMakeCache.txt")) {
    argv.insert(argv.end(), {"-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"});
  }
  for (const auto& d : definitions) argv.push_back("-D" + d);
  ProcessOptions options;
  options.cwd = source_;
  return run_process(argv, options);
}

ProcessResult BuildTree::build(const std::vector<std::string>& targets) const {
  std::vector<std::string> argv = {"cmake", "--build", binary_.string(), "--target"};
  argv.insert(argv.end(), targets.begin(), targets.end());
  ProcessOptions options;
  options.cwd = source_;
  return run_process(argv, options);
}

ProcessResult BuildTree::install(const fs::path& prefix) const {
  ProcessOptions options;
  options.cwd = source_;
  return run_process({"cmake", "--install", binary_.string(), "--prefix", prefix.string()},
                     options);
}

}  // namespace tito
