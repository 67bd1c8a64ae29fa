#pragma once
// The one way tito (and its tests) starts other programs: posix_spawn with an argument vector
// (never a shell), stdin from /dev/null, output captured through pipes or left on the terminal,
// the child in its own process group (so a time limit kills it and everything it started), and a
// registry of the children started, so that an adopted orphan can be told apart (the grader is a
// subreaper). The grader's sandbox (grading/sandbox.hpp) adds limits and namespaces on top of the
// same pieces: Fd, read_available, c_strings and the registry.
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tito {

namespace fs = std::filesystem;

enum class Stdio {
  merged,       // stdout and stderr interleaved in `output`
  separate,     // stdout in `output`, stderr in `error`
  stdout_only,  // stdout in `output`, stderr discarded (for commands whose output is data)
  terminal,     // inherited: the program talks to the user (no capture, no own group)
};

struct ProcessOptions {
  std::chrono::seconds timeout{3600};
  fs::path cwd;                                          // empty = inherit
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing) ours
  std::size_t max_output = std::size_t{4} << 20;         // keep at most the last 4 MiB
  Stdio stdio = Stdio::merged;
};

struct ProcessResult {
  int exit_code = -1;   // when the child exited normally
  int term_signal = 0;  // when a signal ended it
  bool timed_out = false;
  std::string output;  // see Stdio; the tail only when it was longer than max_output
  std::string error;   // stderr with Stdio::separate
  double seconds = 0;

  [[nodiscard]] bool ok() const { return exit_code == 0 && term_signal == 0 && !timed_out; }
  /// "exited with status 2", "killed by SIGSEGV (Segmentation fault)", "timed out after 120 s".
  [[nodiscard]] std::string describe() const;
  /// The last `lines` lines of the output.
  [[nodiscard]] std::string tail(std::size_t lines) const;
};

/// Runs argv[0] (looked up in PATH) with the given arguments. Throws TitoError when it cannot
/// start.
[[nodiscard]] ProcessResult run_process(const std::vector<std::string>& argv,
                                        const ProcessOptions& options = {});

/// "NAME=value" pairs to ProcessOptions::env.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> env_pairs(
    const std::vector<std::string>& assignments);

/// `start` forks or spawns and returns the child's pid, which is registered before any other
/// thread can look at our children (so an orphan sweep never mistakes a new child for an orphan).
[[nodiscard]] int start_registered_child(const std::function<int()>& start);
void unregister_child(int pid);
/// Runs `visit` with the registered children while no child can start or be registered.
void with_registered_children(const std::function<void(const std::vector<int>&)>& visit);

/// "SIGSEGV (Segmentation fault)".
[[nodiscard]] std::string signal_name(int signal);

/// An owned file descriptor, closed on scope exit.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  [[nodiscard]] int get() const { return fd_; }
  void reset(int fd = -1);
  /// Gives up ownership.
  [[nodiscard]] int release();

 private:
  int fd_ = -1;
};

/// A pipe, both ends close-on-exec. Throws TitoError.
void make_pipe(Fd& read_end, Fd& write_end);

/// Appends what `fd` (non-blocking) has now to `out`, keeping its last `cap` bytes; false once
/// the other end is closed.
bool read_available(int fd, std::string& out, std::size_t cap);

/// argv/envp for exec: pointers into `strings`, null-terminated.
[[nodiscard]] std::vector<char*> c_strings(std::vector<std::string>& strings);

/// A private folder under the system temp dir, removed with everything in it on scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "tito");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const fs::path& path() const { return path_; }
  /// Keep the folder (e.g. for a test run with a KEEP variable set).
  void keep() { keep_ = true; }

 private:
  fs::path path_;
  bool keep_ = false;
};

}  // namespace tito
