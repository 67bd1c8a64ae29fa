#pragma once
// `tito grade`: grades submissions against the hidden suites, one module at a time in isolation.
//
// For module M of a submission, the library is built from the submission's files for M (only the
// "files" its module.json lists; headers and framework files always come from the course) and the
// reference solutions of every other module, in a scratch build tree outside the submission. The
// tree is kept (under --cache, default <course>/build/grade) and reused: its sources live in a
// staging folder whose files are rewritten only when their content changes, so ninja recompiles
// just the student's file. Every hidden test then runs in a child process of its own (see
// core/sandbox.hpp) and its result is read from the grading main's private channel
// (grading/grading_main.cpp), never from the test's output. The list of tests comes from the same
// suite built with the solutions only, so a test that never reports still counts, as zero.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/course.hpp"

namespace tito {

namespace fs = std::filesystem;

struct GradeOptions {
  std::vector<std::string>
      modules;          // module folders to grade; empty = every one with a hidden suite
  int jobs = 1;         // test processes running at once
  int build_trees = 1;  // scratch build trees (each builds the whole library once)
  std::optional<double> test_timeout_s;         // overrides module.json "grading"
  std::optional<double> suite_timeout_s;        // overrides module.json "grading"
  std::optional<double> memory_mb;              // overrides module.json "grading"
  double build_timeout_s = 900;                 // one build of a submission's module
  fs::path cache_dir;                           // empty = <course>/build/grade
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

struct TestGrade {
  std::string name;  // "Suite.Name"
  double points = 0;
  double max_points = 0;
  // passed, failed, skipped, crashed, timeout, exited, invalid, not_run
  std::string status = "not_run";
  std::string message;
  std::string output;  // tail of the test's stdout/stderr when it did not pass
  double seconds = 0;
};

struct ModuleGrade {
  std::string module;
  std::string status;  // graded, compile_error, missing_files, rejected
  std::string message;
  std::vector<TestGrade> tests;
  double build_seconds = 0;
  double run_seconds = 0;

  [[nodiscard]] double score() const;
  [[nodiscard]] double max_score() const;
  [[nodiscard]] int passed() const;
};

struct Submission {
  std::string student;  // the folder's name
  fs::path dir;
};

struct SubmissionGrade {
  std::string student;
  fs::path dir;
  std::string layout;  // "course" (has modules/), "modules" (is modules/), "files", "none"
  std::vector<ModuleGrade> modules;
  double seconds = 0;

  [[nodiscard]] double score() const;
  [[nodiscard]] double max_score() const;
};

/// Every subfolder of `dir` (not starting with '.'), sorted by name: one per student.
[[nodiscard]] std::vector<Submission> list_submissions(const fs::path& dir);

/// The module folders `tito grade` grades by default: those with a hidden suite (tests/NN_name/).
[[nodiscard]] std::vector<std::string> gradable_modules(const Course& course);

/// Grades every submission, in the order given. A broken submission scores zero where it is
/// broken; only a course that cannot build its own reference suites throws (TitoError).
[[nodiscard]] std::vector<SubmissionGrade> grade_submissions(const Course& course,
                                                             const std::vector<Submission>& subs,
                                                             const GradeOptions& options);

[[nodiscard]] nlohmann::json grade_to_json(const SubmissionGrade& grade);
/// Gradescope's results.json: score, execution_time, output, tests[{name, score, max_score,
/// status, output, visibility}].
[[nodiscard]] nlohmann::json grade_to_gradescope(const SubmissionGrade& grade,
                                                 const std::string& visibility);
/// student, one column per module, total, max_total, notes.
[[nodiscard]] std::string gradebook_csv(const std::vector<SubmissionGrade>& grades);

}  // namespace tito
