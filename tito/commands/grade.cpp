// `tito grade`: the instructor's grader. Builds each module of a submission in isolation against
// the reference solutions of the others, runs every hidden test in a sandboxed child process of its
// own, and scores it from a result channel the test cannot forge (grading/grader.hpp). `tito grade
// merge` joins the JSON parts of a sharded run (--shard K/N) into one gradebook.
#include <fmt/core.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "core/context.hpp"
#include "grading/formats.hpp"
#include "grading/grader.hpp"
#include "grading/leaderboard.hpp"

namespace tito {

namespace {

using nlohmann::json;
using namespace grading;  // NOLINT(google-build-using-namespace): the grader's own types

struct GradeArgs {
  std::string submission;
  std::string submissions;
  std::vector<std::string> modules;
  std::string format;
  std::string out;
  std::string details;
  std::string cache;
  std::string visibility = "visible";
  int jobs = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  int build_trees = 1;
  double test_timeout = 0;
  double suite_timeout = 0;
  double memory_mb = 0;
  double build_timeout = 900;
  std::string isolation = "auto";
  std::string shard;
  std::string leaderboard;
  std::vector<std::string> milestone_args;
  bool quiet = false;
};

struct MergeArgs {
  std::vector<std::string> parts;
  std::string format = "csv";
  std::string out;
  std::string details;
  std::string visibility = "visible";
};

void write_output(const std::string& out, const std::string& text) {
  if (out.empty() || out == "-") {
    std::cout << text;
    std::cout.flush();
    return;
  }
  const fs::path file = fs::absolute(out);
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  const fs::path temp = file.string() + ".tmp";
  {
    std::ofstream stream(temp, std::ios::binary | std::ios::trunc);
    stream << text;
    if (!stream.flush()) throw TitoError(fmt::format("cannot write {}", temp.string()));
  }
  fs::rename(temp, file);
}

/// The result document in `format` for these grades (`batch`: more than one submission).
std::string render(const std::vector<SubmissionGrade>& grades, const std::string& format,
                   bool batch, const std::string& visibility) {
  if (format == "json") {
    if (batch) {
      json all = json::array();
      for (const auto& g : grades) all.push_back(grade_to_json(g));
      return dump_json({{"ok", true}, {"submissions", all}}) + "\n";
    }
    json doc = grade_to_json(grades.front());
    doc["ok"] = true;
    return dump_json(doc) + "\n";
  }
  if (format == "gradescope")
    return dump_json(grade_to_gradescope(grades.front(), visibility)) + "\n";
  if (format == "csv") return gradebook_csv(grades);
  return batch ? batch_text(grades) : text_report(grades.front());
}

void write_details(const std::string& folder, const std::vector<SubmissionGrade>& grades) {
  if (folder.empty()) return;
  for (const auto& g : grades) {
    write_output((fs::path(folder) / (g.student + ".json")).string(),
                 dump_json(grade_to_json(g)) + "\n");
  }
}

/// `--leaderboard MILESTONE`: the milestone on each submission's whole library, one CSV row each.
int leaderboard(Context& ctx, const GradeArgs& args, const std::vector<Submission>& subs,
                const GradeOptions& grade_options) {
  if (!args.modules.empty() || (!args.format.empty() && args.format != "csv")) {
    throw UsageError(
        "--leaderboard writes a CSV of the milestone's figures: leave out --module "
        "and --format");
  }
  LeaderboardOptions options;
  options.milestone = args.leaderboard;
  options.grade = grade_options;
  options.extra_args = args.milestone_args;
  if (args.test_timeout > 0) options.run_timeout_s = args.test_timeout;
  if (args.memory_mb > 0) options.memory_mb = args.memory_mb;
  if (const auto data = ctx.data_dir()) options.data_dir = fs::absolute(*data);
  const auto rows = run_leaderboard(ctx.course(), subs, options);
  write_output(args.out, leaderboard_csv(rows));
  if (!args.out.empty() && args.out != "-" && !args.quiet) {
    fmt::print(stderr, "grade: wrote the {} leaderboard to {}\n", args.leaderboard, args.out);
  }
  return kExitOk;
}

int grade(Context& ctx, const GradeArgs& args) {
  const Course& course = ctx.course();
  if (args.submission.empty() == args.submissions.empty()) {
    throw UsageError(
        "give exactly one of --submission DIR (one student) or --submissions DIR "
        "(a folder with one subfolder per student)");
  }
  const bool batch = !args.submissions.empty();
  if (!args.shard.empty() && !batch) {
    throw UsageError("--shard splits a batch: use it with --submissions");
  }
  const std::optional<Shard> shard =
      args.shard.empty() ? std::nullopt : std::optional<Shard>(parse_shard(args.shard));
  std::string format = args.format;
  if (format.empty()) format = ctx.options.json ? "json" : batch ? "csv" : "text";
  if (batch && format == "gradescope") {
    throw UsageError(
        "--format gradescope describes one submission: use it with --submission "
        "(Gradescope grades one submission per run)");
  }
  GradeOptions options;
  for (const auto& m : args.modules) options.modules.push_back(course.resolve_module(m).dir);
  options.jobs = std::max(1, args.jobs);
  options.build_trees = std::max(1, args.build_trees);
  if (args.test_timeout > 0) options.test_timeout_s = args.test_timeout;
  if (args.suite_timeout > 0) options.suite_timeout_s = args.suite_timeout;
  if (args.memory_mb > 0) options.memory_mb = args.memory_mb;
  options.build_timeout_s = args.build_timeout;
  options.isolation = args.isolation == "bwrap"     ? IsolationChoice::bwrap
                      : args.isolation == "process" ? IsolationChoice::process
                                                    : IsolationChoice::automatic;
  if (!args.cache.empty()) options.cache_dir = fs::absolute(args.cache);
  if (!args.quiet) {
    options.log = [](const std::string& line) { fmt::print(stderr, "grade: {}\n", line); };
  }

  std::vector<Submission> subs;
  if (batch) {
    subs = list_submissions(fs::absolute(args.submissions));
    if (subs.empty()) {
      throw UsageError(
          fmt::format("--submissions {}: holds no subfolders (one per student)", args.submissions));
    }
    if (shard) {
      subs = select_shard(subs, *shard);
      if (!args.quiet) {
        fmt::print(stderr, "grade: shard {}/{}: {} submission(s)\n", shard->index, shard->count,
                   subs.size());
      }
    }
  } else {
    const fs::path dir = fs::absolute(args.submission).lexically_normal();
    if (!fs::is_directory(dir)) {
      throw UsageError(fmt::format("--submission {}: not a folder", args.submission));
    }
    const std::string name =
        dir.has_filename() ? dir.filename().string() : dir.parent_path().filename().string();
    subs.push_back({name, dir});
  }
  if (!args.leaderboard.empty()) return leaderboard(ctx, args, subs, options);
  std::vector<SubmissionGrade> grades;
  if (!subs.empty()) grades = grade_submissions(course, subs, options);  // a shard may be empty
  write_details(args.details, grades);
  const std::string text = render(grades, format, batch, args.visibility);
  write_output(args.out, text);
  if (!args.out.empty() && args.out != "-" && !args.quiet) {
    fmt::print(stderr, "grade: wrote {}\n", args.out);
  }
  return kExitOk;
}

int merge(const MergeArgs& args) {
  std::vector<SubmissionGrade> grades;
  for (const auto& part : args.parts) {
    std::ifstream in(part, std::ios::binary);
    if (!in) throw UsageError(fmt::format("tito grade merge: cannot read {}", part));
    json doc;
    try {
      doc = json::parse(in);
    } catch (const json::exception& e) {
      throw UsageError(fmt::format("tito grade merge: {} is not JSON: {}", part, e.what()));
    }
    // A part is what `tito grade --submissions DIR --format json` writes: {"submissions": [...]},
    // or one submission's document.
    const json list = doc.contains("submissions") ? doc.at("submissions") : json::array({doc});
    for (const auto& g : list) grades.push_back(grade_from_json(g, part));
  }
  std::sort(grades.begin(), grades.end(), [](const SubmissionGrade& a, const SubmissionGrade& b) {
    return a.student < b.student;
  });
  for (std::size_t i = 1; i < grades.size(); ++i) {
    if (grades[i].student == grades[i - 1].student) {
      throw UsageError(
          fmt::format("tito grade merge: {} is graded in more than one part: give each shard once",
                      grades[i].student));
    }
  }
  if (args.format == "gradescope" && grades.size() != 1) {
    throw UsageError("--format gradescope describes one submission");
  }
  write_details(args.details, grades);
  write_output(args.out, render(grades, args.format, grades.size() != 1, args.visibility));
  return kExitOk;
}

void install(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<GradeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "grade", "Instructor: grade submissions with the hidden suites, module by module");
  cmd->add_option("--submission", args->submission,
                  "One submission: a student's copy of the course, or its modules/ folder");
  cmd->add_option("--submissions", args->submissions,
                  "A folder with one subfolder per student; writes a CSV gradebook");
  cmd->add_option("--module", args->modules,
                  "Grade only these modules (repeatable; default: every module with a hidden "
                  "suite)");
  cmd->add_option("--format", args->format,
                  "text, json, gradescope (results.json) or csv (gradebook); default text, csv "
                  "with --submissions")
      ->check(CLI::IsMember({"text", "json", "gradescope", "csv"}));
  cmd->add_option("--out", args->out, "Write the result to FILE instead of stdout");
  cmd->add_option("--details", args->details,
                  "Also write <student>.json with every test's result into this folder");
  cmd->add_option("--jobs,-j", args->jobs, "Test processes running at once")->capture_default_str();
  cmd->add_option("--build-trees", args->build_trees,
                  "Scratch build trees building submissions in parallel (each compiles the "
                  "whole library once)")
      ->capture_default_str();
  cmd->add_option("--test-timeout", args->test_timeout,
                  "Seconds one test may run (default: module.json grading.test_timeout_s, "
                  "else 20)");
  cmd->add_option("--suite-timeout", args->suite_timeout,
                  "Seconds one module's tests may run together (default: module.json "
                  "grading.suite_timeout_s, else 300)");
  cmd->add_option("--memory-mb", args->memory_mb,
                  "Address-space limit of each test process in MiB (default: module.json "
                  "grading.memory_mb, else 2048)");
  cmd->add_option("--build-timeout", args->build_timeout,
                  "Seconds one build of a submission's module may take")
      ->capture_default_str();
  cmd->add_option("--cache", args->cache,
                  "Folder of the reusable scratch build trees (default: <course>/build/grade)");
  cmd->add_option("--visibility", args->visibility,
                  "Gradescope visibility of the tests: visible, hidden, after_due_date, "
                  "after_published")
      ->check(CLI::IsMember({"visible", "hidden", "after_due_date", "after_published"}))
      ->capture_default_str();
  cmd->add_option("--isolation", args->isolation,
                  "How each test is isolated: auto (bubblewrap where it runs, else process), "
                  "bwrap (required), process (limits only; every result flagged for review)")
      ->check(CLI::IsMember({"auto", "bwrap", "process"}))
      ->capture_default_str();
  cmd->add_option("--shard", args->shard,
                  "Grade only shard K/N of --submissions (sorted by name, every N-th from the "
                  "K-th); join the parts with `tito grade merge`");
  cmd->add_option("--leaderboard", args->leaderboard,
                  "Instead of grading: run this milestone (production) on each submission's "
                  "whole library and saved model, and write a CSV (student, passed, accuracy, "
                  "p99_ms, throughput_rps, model_bytes, note) to --out; --test-timeout and "
                  "--memory-mb limit each run");
  cmd->add_option("--milestone-arg", args->milestone_args,
                  "With --leaderboard: one more argument for the milestone program (repeatable, "
                  "e.g. --milestone-arg=--images --milestone-arg=2000)");
  cmd->add_flag("--quiet,-q", args->quiet, "No progress lines on stderr");
  commands.add(cmd, [args](Context& ctx) { return grade(ctx, *args); });

  auto margs = std::make_shared<MergeArgs>();
  CLI::App* mcmd = cmd->add_subcommand(
      "merge", "Join the JSON parts of a sharded grading run into one gradebook");
  mcmd->add_option("parts", margs->parts,
                   "JSON files written by `tito grade --submissions DIR --shard K/N --format json`")
      ->required()
      ->check(CLI::ExistingFile);
  mcmd->add_option("--format", margs->format, "csv (gradebook), json, text or gradescope")
      ->check(CLI::IsMember({"text", "json", "gradescope", "csv"}))
      ->capture_default_str();
  mcmd->add_option("--out", margs->out, "Write the result to FILE instead of stdout");
  mcmd->add_option("--details", margs->details,
                   "Also write <student>.json with every test's result into this folder");
  mcmd->add_option("--visibility", margs->visibility, "Gradescope visibility of the tests")
      ->check(CLI::IsMember({"visible", "hidden", "after_due_date", "after_published"}))
      ->capture_default_str();
  commands.add(mcmd, [margs](Context& /*ctx*/) { return merge(*margs); });
}

const bool registered = register_group({60, install});

}  // namespace

}  // namespace tito
