// `tito module list|status|start|test|export|complete|reset`: the student's path through the
// course.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "core/context.hpp"
#include "core/tasks.hpp"

namespace tito {

namespace {

using nlohmann::json;

/// locked (prerequisites not completed), available, started or completed.
std::string module_state(const ModuleInfo& m, const Progress& progress) {
  const ModuleProgress* p = progress.module(m.dir);
  if (p != nullptr && p->state == "completed") return "completed";
  if (!missing_prerequisites(m, progress).empty()) return "locked";
  return p != nullptr && p->state == "started" ? "started" : "available";
}

std::string next_action(const ModuleInfo& m, const Progress& progress) {
  const std::string state = module_state(m, progress);
  if (state == "locked") {
    return fmt::format("complete {} first", fmt::join(missing_prerequisites(m, progress), ", "));
  }
  if (state == "available") return "tito module start " + m.number_text();
  if (state == "started") return "tito module complete " + m.number_text();
  return "done";
}

Tone state_tone(const std::string& state) {
  if (state == "completed") return Tone::ok;
  if (state == "started") return Tone::accent;
  if (state == "available") return Tone::plain;
  return Tone::dim;
}

std::string shorten(const std::string& text, std::size_t width) {
  if (display_width(text) <= width) return text;
  std::string out = text.substr(0, width - 3);
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80) != 0) out.pop_back();
  return out + "...";
}

/// A path as the student types it from the course root.
std::string relative_to(const Course& course, const fs::path& path) {
  return path.lexically_relative(course.root()).string();
}

std::string hours_text(double hours) {
  return fmt::format("{:g} h", hours);
}

int list(Context& ctx) {
  const Course& course = ctx.course();
  if (ctx.ui().json()) {
    json modules = json::array();
    for (const auto& m : course.modules()) {
      modules.push_back({{"number", m.number},
                         {"dir", m.dir},
                         {"name", m.name},
                         {"title", m.title},
                         {"summary", m.summary},
                         {"estimated_hours", m.estimated_hours},
                         {"prerequisites", m.prerequisites},
                         {"checkpoint", m.checkpoint ? json(*m.checkpoint) : json(nullptr)},
                         {"files", m.files},
                         {"benchmark", m.benchmark.empty() ? json(nullptr) : json(m.benchmark)}});
    }
    ctx.emit({{"ok", true}, {"modules", modules}});
    return kExitOk;
  }
  Table table({"#", "name", "title", "hours", "summary"});
  for (const auto& m : course.modules()) {
    table.add_row({Cell(m.number_text(), Tone::bold), m.name, m.title,
                   hours_text(m.estimated_hours), shorten(m.summary, 70)});
  }
  table.print(ctx.ui());
  return kExitOk;
}

int status(Context& ctx) {
  const Course& course = ctx.course();
  const Progress progress = ctx.progress().load();
  std::size_t done = 0;
  for (const auto& m : course.modules()) done += progress.completed(m.dir) ? 1 : 0;
  if (ctx.ui().json()) {
    json modules = json::array();
    for (const auto& m : course.modules()) {
      const ModuleProgress* p = progress.module(m.dir);
      modules.push_back({{"number", m.number},
                         {"dir", m.dir},
                         {"state", module_state(m, progress)},
                         {"next", next_action(m, progress)},
                         {"started_at", p != nullptr ? json(p->started_at) : json(nullptr)},
                         {"completed_at", p != nullptr ? json(p->completed_at) : json(nullptr)},
                         {"exported", p != nullptr && p->exported}});
    }
    ctx.emit({{"ok", true},
              {"completed", done},
              {"total", course.modules().size()},
              {"modules", modules}});
    return kExitOk;
  }
  const Ui& ui = ctx.ui();
  ui.line(fmt::format("Progress {}", ui.progress_bar(done, course.modules().size())));
  ui.line();
  Table table({"#", "name", "state", "next"});
  for (const auto& m : course.modules()) {
    const std::string state = module_state(m, progress);
    table.add_row({Cell(m.number_text(), Tone::bold), m.name, Cell(state, state_tone(state)),
                   next_action(m, progress)});
  }
  table.print(ui);
  return kExitOk;
}

/// Refuses (TitoError) when a prerequisite is not completed.
void require_unlocked(const ModuleInfo& m, const Progress& progress) {
  const auto missing = missing_prerequisites(m, progress);
  if (missing.empty()) return;
  std::vector<std::string> steps;
  for (const auto& dir : missing) steps.push_back("tito module complete " + dir.substr(0, 2));
  throw TitoError(fmt::format("module {} is locked: complete its prerequisites first: {} ({})",
                              m.dir, fmt::join(missing, ", "), fmt::join(steps, "; ")));
}

/// The student's files, relative to the course root.
std::vector<std::string> student_files(const ModuleInfo& m) {
  std::vector<std::string> files;
  for (const auto& f : m.files) files.push_back(("modules" / fs::path(m.dir) / f).string());
  return files;
}

/// .tito/stubs/NN_name/<file>: the pristine stubs, cached from git when first needed.
fs::path stub_cache(const Course& course, const ModuleInfo& m, const std::string& file) {
  return course.state_dir() / "stubs" / m.dir / file;
}

std::optional<std::string> stub_from_git(const Course& course, const ModuleInfo& m,
                                         const std::string& file) {
  ProcessOptions options;
  options.timeout = std::chrono::seconds(60);
  options.cwd = course.root();
  options.stdio = Stdio::stdout_only;
  try {
    const ProcessResult r =
        run_process({"git", "show", fmt::format("HEAD:./modules/{}/{}", m.dir, file)}, options);
    if (r.ok()) return r.output;
  } catch (const TitoError&) {
    // git is not installed: the caller reports that no pristine copy exists
  }
  return std::nullopt;
}

/// The pristine stub's content, from the cache or else from git (and then cached).
std::optional<std::string> pristine_stub(const Course& course, const ModuleInfo& m,
                                         const std::string& file) {
  const fs::path cached = stub_cache(course, m, file);
  if (fs::exists(cached)) {
    std::ifstream in(cached, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  auto content = stub_from_git(course, m, file);
  if (content) {
    fs::create_directories(cached.parent_path());
    write_file_atomically(cached, *content);
  }
  return content;
}

json module_paths(const Course& course, const ModuleInfo& m) {
  return {{"lesson", ("modules" / fs::path(m.dir) / "README.md").string()},
          {"files", student_files(m)},
          {"root", course.root().string()}};
}

int start(Context& ctx, const std::string& arg) {
  const Course& course = ctx.course();
  const ModuleInfo& m = course.resolve_module(arg);
  std::string previous;
  const Progress progress = ctx.progress().update([&](Progress& p) {
    require_unlocked(m, p);
    ModuleProgress& entry = p.modules[m.dir];
    previous = entry.state;
    if (entry.state != "completed" && entry.state != "started") {
      entry.state = "started";
      entry.started_at = utc_timestamp();
    }
  });
  for (const auto& f : m.files) (void)pristine_stub(course, m, f);  // cache while still pristine
  const ModuleProgress& entry = progress.modules.at(m.dir);
  if (ctx.ui().json()) {
    json doc = {
        {"ok", true}, {"module", m.dir}, {"state", entry.state}, {"started_at", entry.started_at}};
    doc.update(module_paths(course, m));
    ctx.emit(doc);
    return kExitOk;
  }
  const Ui& ui = ctx.ui();
  if (previous == "completed") {
    ui.line(fmt::format("Module {} is already completed.", m.dir));
  } else if (previous == "started") {
    ui.line(
        fmt::format("Module {} was already started ({}).", m.dir, local_time(entry.started_at)));
  } else {
    ui.line(ui.paint(fmt::format("Started module {}: {}", m.dir, m.title), Tone::ok));
  }
  ui.line(fmt::format("  lesson:     modules/{}/README.md", m.dir));
  ui.line(fmt::format("  your files: {}", fmt::join(student_files(m), ", ")));
  ui.line(fmt::format("  when ready: tito module test {}", m.number_text()));
  return kExitOk;
}

/// The module named on the command line, else the one the student is on: the first started module,
/// else the first available one (said aloud, so that a surprise is visible).
const ModuleInfo& chosen_module(Context& ctx, const std::string& arg) {
  const Course& course = ctx.course();
  if (!arg.empty()) return course.resolve_module(arg);
  const Progress progress = ctx.progress().load();
  const ModuleInfo* current = nullptr;
  for (const char* wanted : {"started", "available"}) {
    for (const auto& m : course.modules()) {
      if (current == nullptr && module_state(m, progress) == wanted) current = &m;
    }
  }
  if (current == nullptr) {
    throw UsageError("every module is complete: name one, e.g. `tito module test 01`");
  }
  ctx.ui().line(ctx.ui().paint(
      fmt::format("Module {}: the one you are on (to pick another, give its number)", current->dir),
      Tone::dim));
  return *current;
}

/// --filter: GoogleTest reads GTEST_FILTER in every test program tito starts (the run and its
/// listing alike), so one pattern selects the same tests everywhere.
void select_tests(const std::string& filter) {
  if (!filter.empty()) ::setenv("GTEST_FILTER", filter.c_str(), 1);
}

/// With --filter, a suite none of whose tests match ran nothing, which is no failure; with no
/// match at all the pattern is wrong.
void drop_unmatched_suites(TestReport& report, const ModuleInfo& m, const std::string& filter) {
  if (filter.empty()) return;
  std::erase_if(report.suites, [](const SuiteRun& s) { return s.report_read && s.tests.empty(); });
  if (report.suites.empty()) {
    throw UsageError(fmt::format(
        "--filter '{}' matches no test of module {}. Tests are named Suite.Name (e.g. "
        "'Tensor.*' or '*Broadcast*'); `tito module test {}` shows the names of those that fail",
        filter, m.dir, m.number_text()));
  }
}

int test(Context& ctx, const std::string& arg, int timeout, const std::string& filter, bool asan) {
  const ModuleInfo& m = chosen_module(ctx, arg);
  select_tests(filter);
  TestReport report = test_module(ctx, m, std::chrono::seconds(timeout), asan);
  drop_unmatched_suites(report, m, filter);
  if (ctx.ui().json()) {
    ctx.emit(report.to_json());
  } else {
    print_test_report(ctx.ui(), report);
  }
  return report.ok() ? kExitOk : kExitFailure;
}

void print_export(const Ui& ui, const ExportReport& report) {
  if (report.checkpoint) {
    print_checkpoint_report(ui, *report.checkpoint);
  } else {
    ui.warning(fmt::format("no checkpoint ran: {}", report.checkpoint_note));
  }
}

int export_cmd(Context& ctx, const std::string& arg, int timeout) {
  const ModuleInfo& m = ctx.course().resolve_module(arg);
  const ExportReport report = export_module(ctx, m, std::chrono::seconds(timeout));
  if (ctx.ui().json()) {
    ctx.emit(report.to_json());
  } else {
    print_export(ctx.ui(), report);
  }
  return report.ok() ? kExitOk : kExitFailure;
}

std::string next_step(const Course& course, const Progress& progress) {
  for (const auto& m : course.modules()) {
    if (module_state(m, progress) == "available" || module_state(m, progress) == "started") {
      return fmt::format("tito module start {}  ({})", m.number_text(), m.title);
    }
  }
  if (fs::exists(course.root() / "milestones" / "milestones.json")) {
    return "every module is complete: run a milestone (tito milestone list)";
  }
  return "every module is complete";
}

std::optional<fs::file_time_type> modified_at(const fs::path& file) {
  std::error_code ec;
  const auto when = fs::last_write_time(file, ec);
  return ec ? std::nullopt : std::optional(when);
}

/// The report the environment checkpoint's program (linked against the student's library) just
/// wrote: their format_system_info() and environment_problems(), shown as the module's payoff.
void show_system_report(const Ui& ui, const fs::path& file) {
  json doc;
  try {
    doc = json::parse(read_file_text(file));
    ui.heading("Your library reports (format_system_info; again any time: tito system info):");
    std::istringstream lines(doc.at("report").get<std::string>());
    for (std::string line; std::getline(lines, line);) ui.line("  " + line);
    for (const auto& problem : doc.at("problems")) ui.check(Tone::fail, problem.get<std::string>());
  } catch (const std::exception& e) {
    ui.warning(fmt::format("{}: unreadable report ({})", file.string(), e.what()));
  }
}

int complete(Context& ctx, const std::string& arg, int timeout) {
  const Course& course = ctx.course();
  const ModuleInfo& m = chosen_module(ctx, arg);
  require_unlocked(m, ctx.progress().load());
  const Ui& ui = ctx.ui();
  const fs::path report_file = course.state_dir() / "system_report.json";
  const auto report_before = modified_at(report_file);
  const TestReport tests = test_module(ctx, m, std::chrono::seconds(timeout));
  if (!ui.json()) print_test_report(ui, tests);
  json doc = {{"module", m.dir}, {"tests", tests.to_json()}, {"completed", false}};
  auto finish = [&](bool ok, const std::string& message) {
    doc["ok"] = ok;
    doc["message"] = message;
    if (ui.json()) ctx.emit(doc);
    if (!ok) ui.error(message);
    return ok ? kExitOk : kExitFailure;
  };
  if (!tests.ok()) {
    return finish(false, fmt::format("module {} is not complete: {} of {} tests failed", m.dir,
                                     tests.failed(), tests.total()));
  }
  const ExportReport exported = export_module(ctx, m, std::chrono::seconds(timeout));
  doc["export"] = exported.to_json();
  if (!ui.json()) print_export(ui, exported);
  if (!exported.ok()) {
    return finish(false, fmt::format("module {} is not complete: checkpoint {} failed", m.dir,
                                     exported.checkpoint->checkpoint.id));
  }
  const Progress progress = ctx.progress().update([&](Progress& p) {
    ModuleProgress& entry = p.modules[m.dir];
    if (entry.started_at.empty()) entry.started_at = utc_timestamp();
    entry.state = "completed";
    entry.completed_at = utc_timestamp();
  });
  doc["completed"] = true;
  doc["next"] = next_step(course, progress);
  if (!ui.json()) {
    if (modified_at(report_file) != report_before) show_system_report(ui, report_file);
    ui.line(ui.paint(fmt::format("Module {} completed.", m.dir), Tone::ok));
    ui.line(fmt::format("Next: {}", next_step(course, progress)));
  }
  return finish(true, fmt::format("module {} completed", m.dir));
}

int reset(Context& ctx, const std::string& arg) {
  const Course& course = ctx.course();
  const ModuleInfo& m = course.resolve_module(arg);
  std::vector<std::pair<std::string, std::string>> stubs;  // file, pristine content
  for (const auto& f : m.files) {
    auto content = pristine_stub(course, m, f);
    if (!content) {
      throw TitoError(fmt::format(
          "cannot reset {}: no pristine copy of {} (neither {} nor `git show HEAD:modules/{}/{}` "
          "in {}). "
          "Nothing was changed.",
          m.dir, f, stub_cache(course, m, f).string(), m.dir, f, course.root().string()));
    }
    stubs.emplace_back(f, std::move(*content));
  }
  const std::string stamp = utc_file_stamp();
  json backups = json::array();
  std::vector<std::string> untouched;  // already the stub: nothing of the student's to keep
  for (const auto& [file, content] : stubs) {
    const fs::path current = course.module_dir(m) / file;
    if (fs::exists(current) && read_file_text(current) == content) {
      untouched.push_back(file);
      continue;
    }
    if (fs::exists(current)) {
      fs::path backup = course.state_dir() / "backups" / m.dir / (file + "." + stamp);
      for (int i = 1; fs::exists(backup); ++i) {
        backup = course.state_dir() / "backups" / m.dir / fmt::format("{}.{}-{}", file, stamp, i);
      }
      fs::create_directories(backup.parent_path());
      fs::copy_file(current, backup);
      backups.push_back({{"file", current.string()}, {"backup", backup.string()}});
    }
    write_file_atomically(current, content);
  }
  const Progress progress = ctx.progress().update([&](Progress& p) {
    const auto it = p.modules.find(m.dir);
    if (it == p.modules.end()) return;
    it->second.state = it->second.started_at.empty() ? "available" : "started";
    it->second.completed_at.clear();
    it->second.exported = false;
    it->second.exported_at.clear();
    // The module's checkpoint was earned with the code just replaced: it is not achieved any more
    // (earn it again with `tito module complete`), so checkpoint status agrees with module status.
    if (m.checkpoint) p.checkpoints.erase(*m.checkpoint);
  });
  const std::string state = module_state(m, progress);
  if (ctx.ui().json()) {
    ctx.emit({{"ok", true},
              {"module", m.dir},
              {"state", state},
              {"backups", backups},
              {"untouched", untouched}});
    return kExitOk;
  }
  const Ui& ui = ctx.ui();
  for (const auto& file : untouched) {
    ui.line(fmt::format("modules/{}/{} is still the stub: nothing to back up", m.dir, file));
  }
  for (const auto& b : backups) {
    const fs::path file(b["file"].get<std::string>());
    const fs::path backup(b["backup"].get<std::string>());
    ui.line(
        fmt::format("Backed up {} -> {}", relative_to(course, file), relative_to(course, backup)));
    ui.line(fmt::format("  to get your version back: cp {} {}", relative_to(course, backup),
                        relative_to(course, file)));
  }
  ui.line(ui.paint(fmt::format("Restored the stub{} of module {}; its state is now {}.",
                               stubs.size() == 1 ? "" : "s", m.dir, state),
                   Tone::ok));
  return kExitOk;
}

constexpr const char* kModuleHelp = "Module: 2, 02, tensor or 02_tensor";

/// The modules whose module.json names a benchmark, as "15 (15_acceleration)".
std::string modules_with_benchmarks(const Course& course) {
  std::vector<std::string> names;
  for (const auto& m : course.modules()) {
    if (!m.benchmark.empty()) names.push_back(fmt::format("{} ({})", m.number_text(), m.dir));
  }
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

/// Builds the program module.json names in "benchmark" (a CMake target) in the student's build,
/// or the reference build with --reference, and runs it on the terminal with `args`.
int bench(Context& ctx, const std::string& arg, bool reference,
          const std::vector<std::string>& args) {
  const Course& course = ctx.course();
  const ModuleInfo& m = course.resolve_module(arg);
  if (m.benchmark.empty()) {
    throw TitoError(fmt::format(
        "module {} has no benchmark: its module.json names none (a \"benchmark\" field holding a "
        "CMake target). Modules with one: {}",
        m.dir, modules_with_benchmarks(course)));
  }
  std::optional<BuildTree> tree;
  if (reference) {
    if (!fs::exists(course.root() / "solutions")) {
      throw TitoError(
          "--reference needs the reference solutions (solutions/), which a student release does "
          "not have: benchmark your own code (without --reference)");
    }
    tree.emplace(course.root(), course.root() / "build" / "reference");
    if (!tree->configured()) {
      ctx.ui().line("Configuring the reference build: cmake --preset reference");
      const ProcessResult r = tree->configure_preset("reference");
      if (!r.ok()) {
        throw BuildError("cmake --preset reference failed (" + r.describe() + ")", r.tail(40));
      }
    }
  } else {
    tree.emplace(student_build(ctx));
  }
  build_targets(ctx, *tree, {m.benchmark});
  const fs::path program = tree->dir() / "bin" / m.benchmark;
  if (!fs::exists(program)) {
    throw TitoError(fmt::format("module {}'s benchmark target '{}' built no program {}", m.dir,
                                m.benchmark, program.string()));
  }
  std::vector<std::string> argv{program.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  if (ctx.ui().json() && std::find(args.begin(), args.end(), "--json") == args.end()) {
    argv.emplace_back("--json");  // the program's own JSON lines, not tito's table
  }
  ctx.ui().line(
      fmt::format("Running {} on the {} code ...", m.benchmark, reference ? "reference" : "your"));
  std::fflush(nullptr);
  ProcessOptions options;
  options.cwd = course.root();
  options.stdio = Stdio::terminal;  // the benchmark prints its own table as it goes
  options.timeout = std::chrono::hours(2);
  const ProcessResult r = run_process(argv, options);
  if (!r.ok()) {
    throw TitoError(fmt::format("the benchmark {} {}", program.string(), r.describe()));
  }
  return kExitOk;
}

/// Adds a leaf taking one module argument.
CLI::App* module_leaf(CLI::App& parent, const char* name, const char* help,
                      const std::shared_ptr<std::string>& arg) {
  CLI::App* leaf = parent.add_subcommand(name, help);
  leaf->add_option("module", *arg, kModuleHelp)->required();
  return leaf;
}

void install(CLI::App& app, Commands& commands) {
  CLI::App* group = app.add_subcommand("module", "Work through the modules: start, test, complete");
  group->require_subcommand(1);
  commands.add(group->add_subcommand("list", "Every module: number, name, title, hours, summary"),
               list);
  commands.add(group->add_subcommand("status", "Your progress: state and next action per module"),
               status);
  auto arg = std::make_shared<std::string>();
  auto timeout = std::make_shared<int>(static_cast<int>(kTestTimeout.count()));
  auto asan = std::make_shared<bool>(false);
  auto with_timeout = [&](CLI::App* leaf) {
    leaf->add_option("--timeout", *timeout, "Seconds each test may run (a test past it fails)")
        ->capture_default_str();
    return leaf;
  };
  commands.add(
      module_leaf(*group, "start", "Unlock a module and show where its lesson and files are", arg),
      [arg](Context& c) { return start(c, *arg); });
  auto filter = std::make_shared<std::string>();
  CLI::App* test_leaf = group->add_subcommand("test", "Build and run the module's tests");
  test_leaf->add_option("module", *arg,
                        kModuleHelp + std::string(" (default: the one you are on)"));
  test_leaf->add_option("--filter", *filter,
                        "Only the tests whose Suite.Name matches this GoogleTest pattern, e.g. "
                        "'Tensor.Matmul*' (':' separates patterns, '-' excludes)");
  test_leaf->add_flag("--asan", *asan,
                      "Build (build/student-asan) and run them under AddressSanitizer + UBSan: "
                      "a memory error names its line");
  commands.add(with_timeout(test_leaf), [arg, timeout, filter, asan](Context& c) {
    return test(c, *arg, *timeout, *filter, *asan);
  });
  commands.add(
      with_timeout(module_leaf(*group, "export",
                               "Build and install your library, run the module's checkpoint", arg)),
      [arg, timeout](Context& c) { return export_cmd(c, *arg, *timeout); });
  CLI::App* complete_leaf =
      group->add_subcommand("complete", "Test, export and mark the module completed");
  complete_leaf->add_option("module", *arg,
                            kModuleHelp + std::string(" (default: the one you are on)"));
  commands.add(with_timeout(complete_leaf),
               [arg, timeout](Context& c) { return complete(c, *arg, *timeout); });
  commands.add(
      module_leaf(*group, "reset", "Back up your files and restore the module's stubs", arg),
      [arg](Context& c) { return reset(c, *arg); });
  auto reference = std::make_shared<bool>(false);
  CLI::App* bench_leaf = module_leaf(
      *group, "bench",
      "Build and run the module's benchmark (module.json \"benchmark\"); extra arguments go to it",
      arg);
  bench_leaf->add_flag("--reference", *reference,
                       "Benchmark the reference solutions instead of your code (instructor copy)");
  bench_leaf->allow_extras();  // e.g. tito module bench 15 --sizes 512 --threads 1
  commands.add(bench_leaf, [arg, reference, bench_leaf](Context& c) {
    return bench(c, *arg, *reference, bench_leaf->remaining());
  });
}

const bool registered = register_group({20, install});

}  // namespace

}  // namespace tito
