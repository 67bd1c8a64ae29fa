#pragma once
// Running untrusted test code: one child process per test, in its own process group, with a
// wall-time limit (the whole group is killed with SIGKILL when it passes), CPU, address-space and
// file-size limits (setrlimit), stdin from /dev/null, and a private working folder. Its stdout and
// stderr are captured (the tail only) and never interpreted; results arrive on a separate pipe
// whose records must carry a per-run secret (see grading/grading_main.cpp).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tito {

namespace fs = std::filesystem;

struct SandboxLimits {
  std::chrono::milliseconds wall{20000};
  std::uint64_t memory_bytes = std::uint64_t{2} << 30;       // RLIMIT_AS; 0 = unlimited
  int cpu_seconds = 0;                                       // RLIMIT_CPU; 0 = wall time + 1 s
  std::uint64_t file_size_bytes = std::uint64_t{256} << 20;  // RLIMIT_FSIZE
  std::size_t max_output = std::size_t{64} << 10;            // keep the last 64 KiB
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

/// A secret for one run: 32 hex digits from std::random_device.
[[nodiscard]] std::string make_nonce();

/// Runs `argv` (argv[0] an absolute path, no PATH lookup; or, with `exec_fd`, the program behind
/// that descriptor, argv[0] then only its name) in `cwd` under `limits`. `env` entries
/// are "NAME=value" and form the child's whole environment. With `channel`, the child gets a pipe's
/// write end; its number is put in the environment as TINYTORCH_GRADING_FD and the returned
/// `records` hold what arrived on it. Throws TitoError when the child cannot be started.
[[nodiscard]] SandboxResult run_sandboxed(const std::vector<std::string>& argv, const fs::path& cwd,
                                          std::vector<std::string> env, const SandboxLimits& limits,
                                          bool channel, int exec_fd = -1);

/// A sealed in-memory copy of an executable (memfd, no write, grow or shrink possible, by anyone):
/// pass it as `exec_fd`, and the program the tests run cannot be replaced by an earlier test.
/// The caller closes the descriptor. Throws TitoError.
[[nodiscard]] int sealed_executable(const fs::path& file);

/// Our environment without the variables that would change what a test program does
/// (GTEST_*, TINYTORCH_GRADING_*), plus `extra` ("NAME=value").
[[nodiscard]] std::vector<std::string> clean_environment(const std::vector<std::string>& extra);

}  // namespace tito
