#pragma once
// `tito grade --leaderboard production FILE.csv`: runs a milestone on each submission's whole
// library (the student's files for every module the milestone requires, the reference for the
// rest) and its own saved model, and writes one CSV row per student: accuracy, p99 latency,
// throughput, model bytes, so a class can compete on the same machine. A submission whose build,
// model or run fails gets a row saying why, never a crash of the whole board.
//
// The milestone runs sandboxed (sandbox.hpp) with read-only access to the submission's model
// folder, the data and the server it starts; its figures are measured by the milestone's own load
// generator, but in a process that also runs the student's code: a leaderboard, not a grade.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/course.hpp"
#include "grading/grader.hpp"

namespace tito::grading {

struct LeaderboardRow {
  std::string student;
  bool passed = false;                   // the milestone's own gate
  std::optional<double> accuracy;        // through the server
  std::optional<double> p99_ms;          // latency with dynamic batching
  std::optional<double> throughput_rps;  // answers per second with dynamic batching
  std::optional<std::uintmax_t> model_bytes;
  std::string note;  // why a row is empty or did not pass; "" when it passed
};

struct LeaderboardOptions {
  std::string milestone = "production";
  fs::path model_subdir = fs::path(".tito") / "milestones" / "cifar10";  // inside a submission
  fs::path data_dir;                    // handed to the milestone as --data-dir
  double run_timeout_s = 1800;          // one milestone run
  double memory_mb = 4096;              // per process of the run
  std::vector<std::string> extra_args;  // passed to the milestone program (e.g. --images 500)
  GradeOptions grade;                   // build timeout, cache, isolation, log
};

/// The row of a milestone's result file (what milestones::Run::finish wrote).
[[nodiscard]] LeaderboardRow leaderboard_row(const std::string& student,
                                             const nlohmann::json& result);

/// student,passed,accuracy,p99_ms,throughput_rps,model_bytes,note; empty cells where a figure
/// is missing; fields quoted as RFC 4180 says.
[[nodiscard]] std::string leaderboard_csv(const std::vector<LeaderboardRow>& rows);

/// Runs the milestone on every submission, in order. Throws only when the course itself cannot
/// run it (no such milestone, no data folder); a broken submission is a row.
[[nodiscard]] std::vector<LeaderboardRow> run_leaderboard(const Course& course,
                                                          const std::vector<Submission>& subs,
                                                          const LeaderboardOptions& options);

}  // namespace tito::grading
