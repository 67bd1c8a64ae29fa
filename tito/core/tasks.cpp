#include "core/tasks.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <sstream>

namespace tito {

namespace {

using nlohmann::json;

constexpr std::size_t kTailLines = 40;
constexpr std::size_t kFailureLines = 12;

std::string relative(const Course& course, const fs::path& path) {
  return path.lexically_relative(course.root()).string();
}

void check_step(const ProcessResult& result, const std::string& what) {
  if (result.ok()) return;
  throw BuildError(fmt::format("{} failed ({})", what, result.describe()), result.tail(kTailLines));
}

std::string indent(const std::string& text, const std::string& prefix, std::size_t max_lines) {
  std::istringstream lines(text);
  std::string out;
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    if (n == max_lines) return out + prefix + "...\n";
    out += prefix + line + "\n";
  }
  return out;
}

template <typename F>
int sum(const std::vector<SuiteRun>& suites, F f) {
  int total = 0;
  for (const auto& s : suites) total += f(s);
  return total;
}

void record_checkpoint(Context& ctx, const CheckpointReport& report) {
  (void)ctx.progress().update([&](Progress& p) {
    CheckpointResult& r = p.checkpoints[report.checkpoint.id];
    const bool was_passing = r.passed && !r.achieved_at.empty();
    r.passed = report.run.ok();
    r.at = utc_timestamp();
    r.achieved_at = r.passed ? (was_passing ? r.achieved_at : r.at) : "";
    r.tests_passed = report.run.passed();
    r.tests_total = report.run.total();
  });
}

std::vector<std::string> exported_with(const Course& course, const Progress& progress,
                                       const ModuleInfo& module) {
  std::vector<std::string> out;
  for (const auto& m : course.modules()) {
    const ModuleProgress* p = progress.module(m.dir);
    if (m.dir == module.dir || (p != nullptr && p->exported)) out.push_back(m.dir);
  }
  return out;
}

}  // namespace

int TestReport::passed() const {
  return sum(suites, [](const SuiteRun& s) { return s.passed(); });
}
int TestReport::failed() const {
  return sum(suites, [](const SuiteRun& s) { return s.failed(); });
}
int TestReport::skipped() const {
  return sum(suites, [](const SuiteRun& s) { return s.skipped(); });
}
int TestReport::total() const {
  return sum(suites, [](const SuiteRun& s) { return s.total(); });
}

bool TestReport::ok() const {
  return !suites.empty() &&
         std::all_of(suites.begin(), suites.end(), [](const SuiteRun& s) { return s.ok(); });
}

json TestReport::to_json() const {
  json runs = json::array();
  for (const auto& s : suites) runs.push_back(s.to_json());
  return {{"module", module},     {"ok", ok()},       {"passed", passed()}, {"failed", failed()},
          {"skipped", skipped()}, {"total", total()}, {"suites", runs}};
}

json CheckpointReport::to_json() const {
  return {{"id", checkpoint.id},
          {"question", checkpoint.question},
          {"module", checkpoint.module ? json(*checkpoint.module) : json(nullptr)},
          {"passed", run.ok()},
          {"run", run.to_json()}};
}

json ExportReport::to_json() const {
  json doc = {{"module", module},
              {"ok", ok()},
              {"student_modules", student_modules},
              {"install_prefix", prefix.string()}};
  doc["checkpoint"] = checkpoint ? checkpoint->to_json() : json(nullptr);
  if (!checkpoint_note.empty()) doc["checkpoint_note"] = checkpoint_note;
  return doc;
}

BuildTree student_build(Context& ctx) {
  const Course& course = ctx.course();
  BuildTree tree(course.root(), course.root() / "build" / "student");
  if (!tree.configured()) {
    ctx.ui().line(fmt::format("Configuring the student build ({}): cmake --preset student",
                              relative(course, tree.dir())));
    check_step(tree.configure_preset("student"), "cmake --preset student");
  }
  return tree;
}

void build_targets(Context& ctx, const BuildTree& tree, const std::vector<std::string>& targets) {
  const Ui& ui = ctx.ui();
  ui.line(fmt::format("Building {} in {} ...", fmt::join(targets, ", "),
                      relative(ctx.course(), tree.dir())));
  const ProcessResult result = tree.build(targets);
  check_step(result, fmt::format("building {}", fmt::join(targets, ", ")));
  ui.line(ui.paint(fmt::format("  built in {:.1f} s", result.seconds), Tone::dim));
}

TestReport test_module(Context& ctx, const ModuleInfo& module, std::chrono::seconds timeout) {
  const Course& course = ctx.course();
  std::vector<std::pair<std::string, std::string>> suites;  // label, target
  if (!course.visible_test_sources(module).empty())
    suites.emplace_back("visible", "visible_" + module.dir);
  if (!course.hidden_test_sources(module).empty())
    suites.emplace_back("hidden", "hidden_" + module.dir);
  if (suites.empty()) {
    throw TitoError(
        fmt::format("module {} has no tests yet: neither modules/{}/tests/*.cpp nor "
                    "tests/{}/*.cpp exists",
                    module.dir, module.dir, module.dir));
  }
  const BuildTree tree = student_build(ctx);
  std::vector<std::string> targets;
  for (const auto& s : suites) targets.push_back(s.second);
  build_targets(ctx, tree, targets);
  TestReport report{module.dir, {}};
  for (const auto& [label, target] : suites) {
    ctx.ui().line(fmt::format("Running the {} tests ({}) ...", label, target));
    report.suites.push_back(
        run_gtest(label, tree.dir() / "tests" / target, timeout, course.root()));
  }
  return report;
}

static void print_suite(const Ui& ui, const SuiteRun& run) {
  const Tone tone = run.ok() ? Tone::ok : Tone::fail;
  ui.line(fmt::format(
      "{}  {}/{} passed{}  ({:.2f} s)", ui.paint(fmt::format("{:<8}", run.label), Tone::bold),
      run.passed(), run.total(),
      run.skipped() > 0 ? fmt::format(", {} skipped", run.skipped()) : "", run.process.seconds));
  for (const auto& t : run.tests) {
    if (t.status == "skipped") {
      ui.line(fmt::format("  {}  {}: {}", ui.paint("SKIP", Tone::warn), t.full_name(),
                          t.skip_reason.empty() ? "(the test recorded no reason)" : t.skip_reason));
      continue;
    }
    if (t.status != "failed") continue;
    ui.line(fmt::format("  {}  {}", ui.paint("FAIL", Tone::fail), t.full_name()));
    for (const auto& f : t.failures)
      fmt::print(ui.stream(), "{}", indent(f, "        ", kFailureLines));
  }
  if (!run.problem.empty()) {
    ui.line(fmt::format("  {}  {} {}", ui.paint("FAIL", tone), run.executable.filename().string(),
                        run.problem));
    if (!run.report_read && run.tests_listed > 0) {
      ui.line(fmt::format("        all {} of its tests count as failed", run.tests_listed));
    }
    if (!run.process.output.empty()) {
      ui.line("        last output:");
      fmt::print(ui.stream(), "{}", indent(run.process.tail(15), "        | ", 15));
    }
  }
}

void print_test_report(const Ui& ui, const TestReport& report) {
  for (const auto& run : report.suites) print_suite(ui, run);
  const std::string summary = fmt::format(
      "{}: {}/{} tests passed, {} failed{}", report.module, report.passed(), report.total(),
      report.failed(), report.skipped() > 0 ? fmt::format(", {} skipped", report.skipped()) : "");
  ui.line(ui.paint(summary, report.ok() ? Tone::ok : Tone::fail));
}

CheckpointReport run_checkpoint(Context& ctx, const BuildTree& tree,
                                const CheckpointInfo& checkpoint, std::chrono::seconds timeout) {
  const std::string target = "checkpoint_" + checkpoint.id;
  build_targets(ctx, tree, {target});
  ctx.ui().line(fmt::format("Running checkpoint {}: {}", checkpoint.id, checkpoint.question));
  CheckpointReport report{
      checkpoint, run_gtest("checkpoint " + checkpoint.id, tree.dir() / "checkpoints" / target,
                            timeout, ctx.course().root())};
  record_checkpoint(ctx, report);
  return report;
}

void print_checkpoint_report(const Ui& ui, const CheckpointReport& report) {
  print_suite(ui, report.run);
  if (report.run.ok()) {
    ui.line(ui.paint(fmt::format("Checkpoint achieved: {} Yes.", report.checkpoint.question),
                     Tone::ok));
  } else if (report.run.skipped() > 0 && report.run.failed() == 0 && report.run.problem.empty()) {
    ui.line(ui.paint(fmt::format("Checkpoint {} not achieved: {} of its tests were skipped (listed "
                                 "above with the reason), and a skipped test proves nothing.",
                                 report.checkpoint.id, report.run.skipped()),
                     Tone::fail));
  } else {
    ui.line(
        ui.paint(fmt::format("Checkpoint {} not achieved yet.", report.checkpoint.id), Tone::fail));
  }
}

ExportReport export_module(Context& ctx, const ModuleInfo& module, std::chrono::seconds timeout) {
  const Course& course = ctx.course();
  ExportReport report;
  report.module = module.dir;
  report.student_modules = exported_with(course, ctx.progress().load(), module);
  report.prefix = course.state_dir() / "install";
  const BuildTree tree(course.root(), course.root() / "build" / "export");
  const std::string list = fmt::format("{}", fmt::join(report.student_modules, ";"));
  ctx.ui().line(fmt::format("Configuring the export build (build/export) with your modules: {}",
                            fmt::join(report.student_modules, ", ")));
  check_step(tree.configure({"TINYTORCH_STUDENT_MODULES=" + list}), "configuring build/export");
  build_targets(ctx, tree, {"tinytorch"});
  check_step(tree.install(report.prefix), "cmake --install build/export");
  ctx.ui().line(
      fmt::format("Installed the library into {} (find_package(TinyTorch) -> "
                  "TinyTorch::tinytorch)",
                  relative(course, report.prefix)));
  (void)ctx.progress().update([&](Progress& p) {
    ModuleProgress& m = p.modules[module.dir];
    if (m.state.empty()) m.state = "available";
    m.exported = true;
    m.exported_at = utc_timestamp();
  });
  if (!module.checkpoint) {
    report.checkpoint_note = fmt::format("{}/module.json names no checkpoint", module.dir);
  } else if (!course.has_checkpoints()) {
    try {
      (void)course.checkpoints();
    } catch (const TitoError& e) {
      report.checkpoint_note = e.what();
    }
  } else if (const CheckpointInfo* c = course.find_checkpoint(*module.checkpoint)) {
    report.checkpoint = run_checkpoint(ctx, tree, *c, std::max(timeout, kCheckpointTimeout));
  } else {
    report.checkpoint_note =
        fmt::format("checkpoint '{}' (named by {}/module.json) is not in {}", *module.checkpoint,
                    module.dir, course.checkpoints_file().string());
  }
  return report;
}

std::vector<std::string> missing_prerequisites(const ModuleInfo& module, const Progress& progress) {
  std::vector<std::string> missing;
  for (const auto& p : module.prerequisites) {
    if (!progress.completed(p)) missing.push_back(p);
  }
  return missing;
}

}  // namespace tito
