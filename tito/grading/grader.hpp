#pragma once
// `tito grade`: grades submissions against the hidden suites, one module at a time in isolation.
//
// For module M of a submission, the library is built from the submission's files for M (only the
// "files" its module.json lists; headers and framework files always come from the course) and the
// reference solutions of every other module, in a scratch build tree outside the submission. The
// tree is kept (under --cache, default <course>/build/grade) and reused: its sources live in a
// staging folder whose files are rewritten only when their content changes, so ninja recompiles
// just the student's file. The trees are built for a portable baseline (TINYTORCH_NATIVE=OFF: no
// -march=native), so a cache warmed on one CPU runs on any x86-64 machine.
//
// Before anything of the submission runs, what the compiler made of it is screened
// (compile_screen.hpp: the real include list, no inline assembly; object_screen.hpp: no code
// before main, no definitions outside namespace tinytorch, no reach for descriptors, processes or
// raw system calls). Then every hidden test runs in a sandboxed process of its own (sandbox.hpp)
// and is judged from the result channel (verdict.hpp), never from its output. The list of tests
// comes from the same suite built with the solutions only, so a test that never reports still
// counts, as zero.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/course.hpp"
#include "grading/grades.hpp"

namespace tito::grading {

namespace fs = std::filesystem;

enum class IsolationChoice { automatic, bwrap, process };

struct Shard {
  int index = 1;  // 1-based: K of K/N
  int count = 1;  // N
};

struct GradeOptions {
  std::vector<std::string> modules;      // module folders to grade; empty = every one with a suite
  int jobs = 1;                          // test processes running at once
  int build_trees = 1;                   // scratch build trees (each builds the whole library once)
  std::optional<double> test_timeout_s;  // override module.json "grading"
  std::optional<double> suite_timeout_s;
  std::optional<double> memory_mb;
  double build_timeout_s = 900;  // one build of a submission's module
  IsolationChoice isolation = IsolationChoice::automatic;
  fs::path cache_dir;                           // empty = <course>/build/grade
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

struct Submission {
  std::string student;  // the folder's name
  fs::path dir;
};

/// Every subfolder of `dir` (not starting with '.'), sorted by name: one per student.
[[nodiscard]] std::vector<Submission> list_submissions(const fs::path& dir);

/// "K/N" -> Shard; throws UsageError unless 1 <= K <= N.
[[nodiscard]] Shard parse_shard(const std::string& text);

/// The submissions of shard K/N: those at positions K-1, K-1+N, ... of the sorted list, so every
/// submission is in exactly one shard whatever N, and the same one on every machine.
[[nodiscard]] std::vector<Submission> select_shard(const std::vector<Submission>& subs,
                                                   const Shard& shard);

/// The module folders `tito grade` grades by default: those with a hidden suite (tests/NN_name/).
[[nodiscard]] std::vector<std::string> gradable_modules(const Course& course);

/// Grades every submission, in the order given. A broken submission scores zero where it is
/// broken; only a course that cannot build its own reference suites throws (TitoError).
[[nodiscard]] std::vector<SubmissionGrade> grade_submissions(const Course& course,
                                                             const std::vector<Submission>& subs,
                                                             const GradeOptions& options);

}  // namespace tito::grading
