// `tito grade`: the instructor's grader. Builds each module of a submission in isolation against
// the reference solutions of the others, runs every hidden test in a sandboxed child process of its
// own, and scores it from a result channel the test cannot forge (core/grader.hpp).
#include <fmt/core.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "core/context.hpp"
#include "core/grader.hpp"

namespace tito {

namespace {

using nlohmann::json;

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
  bool quiet = false;
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

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

std::string text_report(const SubmissionGrade& g) {
  std::string out =
      fmt::format("Grades for {} ({}, layout: {})\n\n", g.student, g.dir.string(), g.layout);
  std::string rows;
  {
    // Plain aligned columns: this text may go to a file, so no colours.
    std::vector<std::vector<std::string>> cells = {
        {"module", "passed", "score", "status", "build s", "tests s"}};
    for (const auto& m : g.modules) {
      cells.push_back({m.module, fmt::format("{}/{}", m.passed(), m.tests.size()),
                       fmt::format("{:g}/{:g}", m.score(), m.max_score()), m.status,
                       fmt::format("{:.1f}", m.build_seconds),
                       fmt::format("{:.1f}", m.run_seconds)});
    }
    cells.push_back({"total", "", fmt::format("{:g}/{:g}", g.score(), g.max_score()), "", "",
                     fmt::format("{:.1f}", g.seconds)});
    std::vector<std::size_t> width(cells.front().size(), 0);
    for (const auto& row : cells) {
      for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    for (const auto& row : cells) {
      std::string line = " ";
      for (std::size_t c = 0; c < row.size(); ++c) {
        line += " " + row[c] + std::string(width[c] - row[c].size() + 1, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      rows += line + "\n";
    }
  }
  out += rows;
  for (const auto& m : g.modules) {
    if (m.status != "graded") {
      out += fmt::format("\n{} ({}): {}\n", m.module, m.status, m.message);
      continue;
    }
    bool header = false;
    for (const auto& t : m.tests) {
      if (t.status == "passed") continue;
      if (!header) out += fmt::format("\n{}: tests that earned no points\n", m.module);
      header = true;
      out += fmt::format("  {:<8} {}  {}\n", t.status, t.name, first_line(t.message));
    }
  }
  return out;
}

std::string batch_text(const std::vector<SubmissionGrade>& grades) {
  std::string out;
  for (const auto& g : grades) {
    std::string notes;
    for (const auto& m : g.modules) {
      if (m.status != "graded") notes += (notes.empty() ? "" : ", ") + m.module + " " + m.status;
    }
    out += fmt::format("{:<24} {:>8}/{:<8} {}\n", g.student, fmt::format("{:g}", g.score()),
                       fmt::format("{:g}", g.max_score()), notes);
  }
  return out;
}

int grade(Context& ctx, const GradeArgs& args) {
  const Course& course = ctx.course();
  if (args.submission.empty() == args.submissions.empty()) {
    throw UsageError(
        "give exactly one of --submission DIR (one student) or --submissions DIR "
        "(a folder with one subfolder per student)");
  }
  const bool batch = !args.submissions.empty();
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
  } else {
    const fs::path dir = fs::absolute(args.submission).lexically_normal();
    if (!fs::is_directory(dir)) {
      throw UsageError(fmt::format("--submission {}: not a folder", args.submission));
    }
    const std::string name =
        dir.has_filename() ? dir.filename().string() : dir.parent_path().filename().string();
    subs.push_back({name, dir});
  }
  const std::vector<SubmissionGrade> grades = grade_submissions(course, subs, options);

  if (!args.details.empty()) {
    for (const auto& g : grades) {
      write_output((fs::path(args.details) / (g.student + ".json")).string(),
                   grade_to_json(g).dump(2) + "\n");
    }
  }
  std::string text;
  if (format == "json") {
    if (batch) {
      json all = json::array();
      for (const auto& g : grades) all.push_back(grade_to_json(g));
      text = json({{"ok", true}, {"submissions", all}}).dump(2);
    } else {
      json doc = grade_to_json(grades.front());
      doc["ok"] = true;
      text = doc.dump(2);
    }
    text += "\n";
  } else if (format == "gradescope") {
    text = grade_to_gradescope(grades.front(), args.visibility).dump(2) + "\n";
  } else if (format == "csv") {
    text = gradebook_csv(grades);
  } else {
    text = batch ? batch_text(grades) : text_report(grades.front());
  }
  write_output(args.out, text);
  if (!args.out.empty() && args.out != "-" && !args.quiet) {
    fmt::print(stderr, "grade: wrote {}\n", args.out);
  }
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
  cmd->add_flag("--quiet,-q", args->quiet, "No progress lines on stderr");
  commands.add(cmd, [args](Context& ctx) { return grade(ctx, *args); });
}

const bool registered = register_group({60, install});

}  // namespace

}  // namespace tito
