#pragma once
// What grading produces: a grade per test, per module, per submission. Statuses are enums; their
// spelling in every output format comes from to_string/parse below, one place.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tito::grading {

namespace fs = std::filesystem;

enum class TestStatus { passed, failed, skipped, crashed, timeout, exited, invalid, not_run };

// graded: built and run; compile_error, missing_files: scored 0 with the reason; rejected: the
// screen refused the submission's file (a link, a forbidden include, a symbol, inline assembly).
enum class ModuleStatus { graded, compile_error, missing_files, rejected };

[[nodiscard]] std::string_view to_string(TestStatus status);
[[nodiscard]] std::string_view to_string(ModuleStatus status);
[[nodiscard]] std::optional<TestStatus> parse_test_status(std::string_view text);
[[nodiscard]] std::optional<ModuleStatus> parse_module_status(std::string_view text);

struct TestGrade {
  std::string name;  // "Suite.Name"
  double points = 0;
  double max_points = 0;
  TestStatus status = TestStatus::not_run;
  std::string message;
  std::string output;  // tail of the test's stdout/stderr when it did not pass (instructor only)
  double seconds = 0;
};

struct ModuleGrade {
  std::string module;
  ModuleStatus status = ModuleStatus::graded;
  std::string message;
  std::string isolation;            // "bwrap" or "process"; empty when no test ran
  std::vector<std::string> review;  // reasons a person should look at this result
  std::vector<TestGrade> tests;
  double build_seconds = 0;
  double run_seconds = 0;

  [[nodiscard]] double score() const;
  [[nodiscard]] double max_score() const;
  [[nodiscard]] int passed() const;
};

struct SubmissionGrade {
  std::string student;
  fs::path dir;
  std::string layout;  // "course" (has modules/), "modules" (is modules/), "files", "none"
  std::vector<ModuleGrade> modules;
  double seconds = 0;

  [[nodiscard]] double score() const;
  [[nodiscard]] double max_score() const;
  [[nodiscard]] bool needs_review() const;
};

}  // namespace tito::grading
