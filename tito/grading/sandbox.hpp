#pragma once
// Running untrusted test code: one child process per test, in its own process group, with a
// wall-time limit (the whole group is killed with SIGKILL when it passes), CPU, address-space and
// file-size limits (setrlimit), stdin from /dev/null, a private working folder and an environment
// with nothing of the grader's in it. Its stdout and stderr are captured (the tail only) and never
// interpreted; results arrive on a separate Unix socket (see grading/grading_main.cpp).
//
// Two isolations, and every result records which one it ran under:
//   - bwrap (Debian's bubblewrap, where namespaces are available): the test sees /usr read-only,
//     its own folder as /work, a private /tmp, no /proc, no network, no other process (its own PID
//     namespace: nothing it starts outlives it), no course, no build tree, no submissions. The
//     suite runs from a read-only copy.
//   - process (no namespaces, e.g. some containers): limits and process group only; when the
//     grader runs as root the test runs as the unprivileged user nobody, so it cannot write the
//     course or the build trees. It can still read files the grader can read, which is why a
//     module graded this way is flagged for review.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tito::grading {

namespace fs = std::filesystem;

enum class Isolation { bwrap, process };

[[nodiscard]] const char* to_string(Isolation isolation);

/// bwrap when it runs here (probed once), else process.
[[nodiscard]] Isolation detect_isolation();

struct SandboxLimits {
  std::chrono::milliseconds wall{20000};
  std::uint64_t memory_bytes = std::uint64_t{2} << 30;       // RLIMIT_AS; 0 = unlimited
  int cpu_seconds = 0;                                       // RLIMIT_CPU; 0 = wall time + 1 s
  std::uint64_t file_size_bytes = std::uint64_t{256} << 20;  // RLIMIT_FSIZE
  std::size_t max_output = std::size_t{64} << 10;            // keep the last 64 KiB
};

struct SandboxRun {
  std::string program_name;       // argv[0] as the test sees it ("hidden_02_tensor")
  int exec_fd = -1;               // the sealed suite (sealed_executable)
  std::vector<std::string> args;  // after argv[0]
  fs::path cwd;                   // the test's private folder (created by the caller)
  Isolation isolation = Isolation::process;
  bool channel = false;  // hand over a result channel (--tinytorch_grading_fd=3)
  // Files or folders the program may read (a milestone's model, the server it starts): with bwrap
  // bound read-only at the same path; with process isolation readable as they are.
  std::vector<fs::path> read_only;
  SandboxLimits limits;
};

struct SandboxResult {
  int exit_code = -1;   // when the child exited normally
  int term_signal = 0;  // when a signal ended it
  bool timed_out = false;
  double seconds = 0;
  std::string output;                // stdout and stderr interleaved (tail)
  std::vector<std::string> records;  // lines received on the result channel, as sent

  /// "exited with status 1", "killed by SIGSEGV (Segmentation fault)", "timed out after 3 s".
  [[nodiscard]] std::string describe() const;
};

/// Runs one sandboxed test program. Throws TitoError when the child cannot be started.
[[nodiscard]] SandboxResult run_sandboxed(const SandboxRun& run);

/// A sealed in-memory copy of an executable (memfd, no write, grow or shrink possible, by anyone):
/// the program the tests run cannot be replaced by an earlier test. The caller closes it.
[[nodiscard]] int sealed_executable(const fs::path& file);

/// The test's whole environment: a fixed PATH, HOME and TMPDIR, a UTF-8 locale, and only those of
/// the grader's variables that change how the framework computes, not what it can reach
/// (TINYTORCH_NUM_THREADS, OMP_NUM_THREADS, OPENBLAS_*).
[[nodiscard]] std::vector<std::string> test_environment(const std::string& home);

/// Makes tito the reaper of every orphan it leaves (PR_SET_CHILD_SUBREAPER), so a process that
/// escapes its group (double fork, setsid) is still tito's to find and kill.
void become_subreaper();

/// Kills (SIGKILL) and reaps every child of this process that tito did not start itself (and
/// register): what is left of finished work, such as a compiler that outlived the build that
/// started it, or a process that left its test's group.
void kill_orphans();

}  // namespace tito::grading
