#pragma once
// The build/test runner: child processes (cmake, ninja, test executables) run through posix_spawn
// with an argument vector (never a shell), their output captured through a pipe, under a time limit
// that kills the whole process group. Test results are read from GoogleTest's JSON report, never
// from stdout. Each test runs in a process of its own (--gtest_filter): a crash or a hang costs
// that one test, is reported under its name, and the rest of the suite still runs and counts.
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/process.hpp"

namespace tito {

namespace fs = std::filesystem;

struct TestCase {
  std::string suite;
  std::string name;
  std::string status;  // "passed", "failed" or "skipped"
  std::vector<std::string> failures;
  std::string skip_reason;  // a skipped test's "skip_reason" property (RecordProperty), if any
  std::string problem;      // "crashed: killed by SIGSEGV ...", "timed out after 30 s", else empty
  double seconds = 0;

  [[nodiscard]] std::string full_name() const { return suite + "." + name; }
};

/// Parses a GoogleTest --gtest_output=json report. Throws std::invalid_argument on a malformed one.
[[nodiscard]] std::vector<TestCase> parse_gtest_report(const nlohmann::json& report);

/// One test executable's run.
struct SuiteRun {
  std::string label;  // "visible", "hidden", "checkpoint tensor"
  fs::path executable;
  double seconds = 0;           // all of its test processes together
  std::vector<TestCase> tests;  // one per listed test, each from its own run's report
  bool report_read = false;     // the test list was read (else nothing ran)
  int tests_listed = 0;         // from --gtest_list_tests
  std::string problem;  // the tests that crashed or hung, or why nothing ran; empty when neither
  std::string list_output;  // the executable's output when listing its tests failed

  [[nodiscard]] int passed() const;
  [[nodiscard]] int failed() const;  // failed tests, or every listed test when the run crashed
  [[nodiscard]] int skipped() const;
  [[nodiscard]] int total() const;
  /// Every test ran and passed: a skipped test proves nothing, so a run with one is not a pass.
  [[nodiscard]] bool ok() const {
    return problem.empty() && failed() == 0 && skipped() == 0 && passed() > 0;
  }
  [[nodiscard]] nlohmann::json to_json() const;
};

/// "Suite.Name" of every test `--gtest_list_tests` prints (parameterised ones included).
[[nodiscard]] std::vector<std::string> parse_gtest_list(const std::string& listing);

/// Runs every test of a GoogleTest executable, each in its own process under `per_test` and with
/// a JSON report in a private temporary folder; `env` is added to the environment.
[[nodiscard]] SuiteRun run_gtest(std::string label, const fs::path& executable,
                                 std::chrono::seconds per_test, const fs::path& cwd,
                                 const std::vector<std::pair<std::string, std::string>>& env = {});

/// A CMake build tree (build/student, build/export) of the course at `source`.
class BuildTree {
 public:
  BuildTree(fs::path source, fs::path binary)
      : source_(std::move(source)), binary_(std::move(binary)) {}

  [[nodiscard]] const fs::path& dir() const { return binary_; }
  /// True when a previous configure finished (cache and build system present).
  [[nodiscard]] bool configured() const;
  [[nodiscard]] ProcessResult configure_preset(const std::string& preset) const;
  /// `cmake -S source -B binary [-G Ninja] -D...` (the generator only for a fresh tree).
  [[nodiscard]] ProcessResult configure(const std::vector<std::string>& definitions) const;
  [[nodiscard]] ProcessResult build(const std::vector<std::string>& targets) const;
  [[nodiscard]] ProcessResult install(const fs::path& prefix) const;

 private:
  fs::path source_;
  fs::path binary_;
};

}  // namespace tito
