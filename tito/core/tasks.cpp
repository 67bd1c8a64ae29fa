#include "core/tasks.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/build_log.hpp"

namespace tito {

namespace {

using nlohmann::json;

constexpr std::size_t kTailLines = 40;
constexpr std::size_t kFailureLines = 12;
constexpr std::size_t kWarningLines = 40;

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

BuildTree student_build(Context& ctx, bool asan) {
  const Course& course = ctx.course();
  const std::string preset = asan ? "student-asan" : "student";
  BuildTree tree(course.root(), course.root() / "build" / preset);
  if (!tree.configured()) {
    ctx.ui().line(fmt::format("Configuring the {} build ({}): cmake --preset {}",
                              asan ? "AddressSanitizer" : "student", relative(course, tree.dir()),
                              preset));
    check_step(tree.configure_preset(preset), "cmake --preset " + preset);
  }
  return tree;
}

namespace {

/// The student's files of every module, relative to the course root
/// ("modules/02_tensor/tensor.cpp").
std::set<std::string> student_file_set(const Course& course) {
  std::set<std::string> files;
  for (const auto& m : course.modules()) {
    for (const auto& f : m.files) files.insert("modules/" + m.dir + "/" + f);
  }
  return files;
}

/// A diagnostic is about the student's own code when its file is one the student writes.
bool in_student_file(const Course& course, const std::set<std::string>& files,
                     const Diagnostic& d) {
  if (d.module_dir.empty() || d.file.empty()) return false;
  const fs::path p = fs::path(d.file).is_absolute()
                         ? fs::path(d.file).lexically_relative(course.root())
                         : fs::path(d.file);
  return files.count(p.lexically_normal().string()) > 0;
}

/// Warnings the build printed about the student's files (GCC prints a file's warnings only when it
/// compiles it, so each shows once, on the build that compiled the file).
void show_student_warnings(Context& ctx, const std::string& output, const fs::path& log) {
  const Course& course = ctx.course();
  const auto files = student_file_set(course);
  std::vector<std::string> shown;
  std::size_t lines = 0;
  std::size_t count = 0;
  for (const auto& d : compiler_diagnostics(output)) {
    if (d.kind != Diagnostic::Kind::warning || !in_student_file(course, files, d)) continue;
    ++count;
    const auto n = static_cast<std::size_t>(std::count(d.text.begin(), d.text.end(), '\n') + 1);
    if (lines + n <= kWarningLines || shown.empty()) shown.push_back(d.text);
    lines += n;
  }
  if (count == 0) return;
  const Ui& ui = ctx.ui();
  ui.line(ui.paint(fmt::format("  {} warning{} in your code (they compile, but they are often the "
                               "bug a test finds next):",
                               count, count == 1 ? "" : "s"),
                   Tone::warn));
  for (const auto& text : shown) fmt::print(ui.stream(), "{}", indent(text, "    ", kWarningLines));
  if (shown.size() < count) {
    ui.line(fmt::format("    ... {} more in {}", count - shown.size(), relative(course, log)));
  }
}

/// Why a build failed, for the student: the modules whose files do not compile, named.
std::string broken_files_text(const Course& course, const std::string& output) {
  const auto files = student_file_set(course);
  std::set<std::string> broken;  // relative paths
  std::set<std::string> modules;
  for (const auto& d : compiler_diagnostics(output)) {
    if (d.kind != Diagnostic::Kind::error || !in_student_file(course, files, d)) continue;
    const fs::path p = fs::path(d.file).is_absolute()
                           ? fs::path(d.file).lexically_relative(course.root())
                           : fs::path(d.file);
    broken.insert(p.lexically_normal().string());
    modules.insert(d.module_dir);
  }
  if (broken.empty()) return "";
  std::vector<std::string> resets;
  for (const auto& m : modules) resets.push_back("tito module reset " + m.substr(0, 2));
  return fmt::format(
      "; your file{} {} do{} not compile (module{} {}): every module's tests link the whole "
      "library, so fix {} or put the stub back ({})",
      broken.size() == 1 ? "" : "s", fmt::join(broken, ", "), broken.size() == 1 ? "es" : "",
      modules.size() == 1 ? "" : "s", fmt::join(modules, ", "), broken.size() == 1 ? "it" : "them",
      fmt::join(resets, "; "));
}

}  // namespace

void build_targets(Context& ctx, const BuildTree& tree, const std::vector<std::string>& targets) {
  const Ui& ui = ctx.ui();
  ui.line(fmt::format("Building {} in {} ...", fmt::join(targets, ", "),
                      relative(ctx.course(), tree.dir())));
  const ProcessResult result = tree.build(targets);
  // The whole output is kept: the screen shows the first errors (the real ones; later errors
  // often follow from them) and the warnings about the student's files.
  const fs::path log = tree.dir() / "tito-build.log";
  {
    std::ofstream out(log, std::ios::binary | std::ios::trunc);
    out << result.output;
  }
  if (!result.ok()) {
    throw BuildError(
        fmt::format("building {} failed ({}){}. The full log: {}", fmt::join(targets, ", "),
                    result.describe(), broken_files_text(ctx.course(), result.output),
                    relative(ctx.course(), log)),
        first_errors(result.output, kTailLines));
  }
  ui.line(ui.paint(fmt::format("  built in {:.1f} s", result.seconds), Tone::dim));
  show_student_warnings(ctx, result.output, log);
}

namespace {

/// GoogleTest's failure texts made shorter for the screen and the JSON alike: paths relative to the
/// course, and no "unknown file" line on an exception (GoogleTest's way of saying "no line").
void tidy_failures(SuiteRun& run, const fs::path& root) {
  const std::string prefix = root.string() + "/";
  for (auto& t : run.tests) {
    for (auto& f : t.failures) {
      if (f.rfind("unknown file\n", 0) == 0) f.erase(0, std::string("unknown file\n").size());
      for (std::size_t at = f.find(prefix); at != std::string::npos; at = f.find(prefix, at)) {
        f.erase(at, prefix.size());
      }
    }
  }
}

const std::vector<std::pair<std::string, std::string>> kSanitizerEnv = {
    {"ASAN_OPTIONS", "detect_leaks=1:detect_stack_use_after_return=1"},
    {"UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"}};

void print_suite(const Ui& ui, const SuiteRun& run) {
  const Tone tone = run.ok() ? Tone::ok : Tone::fail;
  ui.line(fmt::format(
      "{}  {}/{} passed{}  ({:.2f} s)", ui.paint(fmt::format("{:<8}", run.label), Tone::bold),
      run.passed(), run.total(),
      run.skipped() > 0 ? fmt::format(", {} skipped", run.skipped()) : "", run.seconds));
  for (const auto& t : run.tests) {
    if (t.status == "skipped") {
      ui.line(fmt::format("  {}  {}: {}", ui.paint("SKIP", Tone::warn), t.full_name(),
                          t.skip_reason.empty() ? "(the test recorded no reason)" : t.skip_reason));
      continue;
    }
    if (t.status != "failed") continue;
    ui.line(fmt::format("  {}  {}", ui.paint("FAIL", Tone::fail), t.full_name()));
    for (const auto& f : t.failures) {
      fmt::print(ui.stream(), "{}",
                 indent(f, "        ", t.problem.empty() ? kFailureLines : kFailureLines + 20));
    }
  }
  if (!run.report_read && !run.problem.empty()) {
    ui.line(fmt::format("  {}  {} {}", ui.paint("FAIL", tone), run.executable.filename().string(),
                        run.problem));
    if (!run.list_output.empty()) {
      ui.line("        last output:");
      fmt::print(ui.stream(), "{}", indent(run.list_output, "        | ", 15));
    }
  }
}

}  // namespace

TestReport test_module(Context& ctx, const ModuleInfo& module, std::chrono::seconds per_test,
                       bool asan) {
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
  const BuildTree tree = student_build(ctx, asan);
  std::vector<std::string> targets;
  for (const auto& s : suites) targets.push_back(s.second);
  build_targets(ctx, tree, targets);
  TestReport report{module.dir, {}};
  report.asan = asan;
  for (const auto& [label, target] : suites) {
    ctx.ui().line(fmt::format("Running the {} tests ({}){} ...", label, target,
                              asan ? " under AddressSanitizer" : ""));
    report.suites.push_back(
        run_gtest(label, tree.dir() / "tests" / target, per_test, course.root(),
                  asan ? kSanitizerEnv : std::vector<std::pair<std::string, std::string>>{}));
    tidy_failures(report.suites.back(), course.root());
  }
  return report;
}

void print_test_report(const Ui& ui, const TestReport& report) {
  for (const auto& run : report.suites) print_suite(ui, run);
  const bool crashed =
      std::any_of(report.suites.begin(), report.suites.end(), [](const SuiteRun& s) {
        return std::any_of(s.tests.begin(), s.tests.end(),
                           [](const TestCase& t) { return t.problem.rfind("crashed", 0) == 0; });
      });
  if (crashed && !report.asan) {
    ui.line(ui.paint(fmt::format("A crash is often a memory error (an index past the end, a "
                                 "freed buffer): `tito module test {} --asan` names the line.",
                                 report.module.substr(0, 2)),
                     Tone::warn));
  }
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
  tidy_failures(report.run, ctx.course().root());
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
  const bool has_solutions = fs::is_directory(course.root() / "solutions");
  const BuildTree tree = has_solutions
                             ? BuildTree(course.root(), course.root() / "build" / "export")
                             : student_build(ctx);
  if (has_solutions) {
    // The instructor's copy: the modules not exported yet come from the solutions.
    const std::string list = fmt::format("{}", fmt::join(report.student_modules, ";"));
    ctx.ui().line(fmt::format("Configuring the export build (build/export) with your modules: {}",
                              fmt::join(report.student_modules, ", ")));
    check_step(tree.configure({"TINYTORCH_STUDENT_MODULES=" + list}), "configuring build/export");
  } else {
    report.student_modules.clear();
    for (const auto& m : course.modules()) report.student_modules.push_back(m.dir);
  }
  // The modules' own framework libraries (module 20's HTTP layer) are installed with it: the
  // milestones built against the export link them.
  std::vector<std::string> targets = {"tinytorch"};
  for (const auto& m : course.modules()) {
    if (!m.library.empty()) targets.push_back(m.library);
  }
  build_targets(ctx, tree, targets);
  check_step(tree.install(report.prefix), "cmake --install " + relative(course, tree.dir()));
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
