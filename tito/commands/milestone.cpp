// `tito milestone list|info|run|status`: the student's own framework trains real models. The
// milestones are the entries of milestones/milestones.json; each is a program under milestones/
// that trains, computes its gate itself and writes .tito/milestones/<id>.json.
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>

#include "core/context.hpp"
#include "core/datasets.hpp"
#include "core/json_file.hpp"
#include "core/milestones.hpp"
#include "core/tasks.hpp"

extern char** environ;  // NOLINT: POSIX

namespace tito {

namespace {

using nlohmann::json;

const Milestone& resolve(const std::vector<Milestone>& list, const std::string& id) {
  for (const auto& m : list) {
    if (m.id == id) return m;
  }
  std::string valid;
  for (const auto& m : list) valid += (valid.empty() ? "" : ", ") + m.id;
  throw UsageError(fmt::format("'{}' is not a milestone; valid: {}", id, valid));
}

fs::path result_file(const Course& course, const Milestone& m) {
  return course.state_dir() / "milestones" / (m.id + ".json");
}

std::vector<std::string> missing_of(const std::vector<std::string>& required,
                                    const Progress& progress) {
  std::vector<std::string> missing;
  for (const auto& dir : required) {
    if (!progress.completed(dir)) missing.push_back(dir);
  }
  return missing;
}

std::vector<std::string> missing_modules(const Milestone& m, const Progress& progress) {
  return missing_of(m.requires_modules, progress);
}

/// A student release has no solutions/: there, --reference is never suggested.
bool has_reference(const Course& course) {
  return fs::exists(course.root() / "solutions");
}

/// "01 and 07" -> the commands that complete them.
std::string complete_commands(const std::vector<std::string>& dirs) {
  std::vector<std::string> steps;
  for (const auto& dir : dirs) steps.push_back("tito module complete " + dir.substr(0, 2));
  return fmt::format("{}", fmt::join(steps, "; "));
}

/// The parts whose modules are all complete, in order.
std::vector<const MilestonePart*> unlocked_parts(const Milestone& m, const Progress& progress) {
  std::vector<const MilestonePart*> parts;
  for (const auto& part : m.parts) {
    if (missing_of(part.requires_modules, progress).empty()) parts.push_back(&part);
  }
  return parts;
}

/// "part 2 (autograd: ...) needs 07_autograd: tito module complete 07", one per locked part.
std::vector<std::string> waiting_parts_text(const Milestone& m, const Progress& progress) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < m.parts.size(); ++i) {
    const auto missing = missing_of(m.parts[i].requires_modules, progress);
    if (missing.empty()) continue;
    lines.push_back(fmt::format("part {} of {} ({}: {}) needs {}: {}, then `tito milestone run {}`",
                                i + 1, m.parts.size(), m.parts[i].id, m.parts[i].title,
                                fmt::join(missing, ", "), complete_commands(missing), m.id));
  }
  return lines;
}

/// A path as the student types it from the course root (".tito/milestones/x.svg"), else absolute.
std::string relative_to_root(const Course& course, const fs::path& path) {
  const fs::path relative = path.lexically_relative(course.root());
  return relative.empty() || *relative.begin() == ".." ? path.string() : relative.string();
}

json milestone_json(const Course& course, const Milestone& m, const Progress& progress) {
  const MilestoneResult result = read_milestone_result(result_file(course, m));
  json doc = {{"id", m.id},
              {"title", m.title},
              {"year", m.year},
              {"after", m.after},
              {"gate", m.gate},
              {"dataset", m.dataset.empty() ? json(nullptr) : json(m.dataset)},
              {"requires", m.requires_modules},
              {"missing_modules", missing_modules(m, progress)},
              {"info", m.info}};
  if (!m.parts.empty()) {
    json parts = json::array();
    for (const auto& part : m.parts) {
      parts.push_back({{"id", part.id},
                       {"title", part.title},
                       {"requires", part.requires_modules},
                       {"missing_modules", missing_of(part.requires_modules, progress)}});
    }
    doc["parts"] = parts;
  }
  switch (result.state) {
    case MilestoneResult::State::never_run:
      doc["last_run"] = nullptr;
      break;
    case MilestoneResult::State::unreadable:
      doc["last_run"] = {{"unreadable", result_file(course, m).string()},
                         {"problem", result.problem}};
      break;
    case MilestoneResult::State::ok:
      doc["last_run"] = {{"passed", result.passed},           {"finished_at", result.finished_at},
                         {"library", result.library},         {"wall_seconds", result.wall_seconds},
                         {"interrupted", result.interrupted}, {"final", result.final_metrics}};
      if (!result.parts.empty()) doc["last_run"]["parts"] = result.parts;
      // A milestone in parts is passed once one run has passed every part, not part 1 alone.
      doc["last_run"]["parts_missing"] = json::array();
      for (const auto& part : m.parts) {
        if (std::find(result.parts.begin(), result.parts.end(), part.id) == result.parts.end()) {
          doc["last_run"]["parts_missing"].push_back(part.id);
        }
      }
      doc["last_run"]["complete"] = result.passed && doc["last_run"]["parts_missing"].empty();
      doc["last_run"]["charts"] = json::array();
      for (const fs::path& chart : result.charts) {
        doc["last_run"]["charts"].push_back(relative_to_root(course, chart));
      }
      break;
  }
  return doc;
}

std::string last_run_text(const json& last) {
  if (last.is_null()) return "not run";
  if (last.contains("unreadable")) return "unreadable result file";
  std::string text = last.at("passed").get<bool>() ? "PASSED" : "not passed";
  if (last.value("interrupted", false)) text = "interrupted";
  if (last.contains("parts")) text += fmt::format(" [{}]", fmt::join(last["parts"], ", "));
  if (last.contains("parts_missing") && !last["parts_missing"].empty()) {
    text += fmt::format(", not yet run: {}", fmt::join(last["parts_missing"], ", "));
  }
  return fmt::format("{} ({} library, {:.0f} s, {})", text, last.value("library", "?"),
                     last.value("wall_seconds", 0.0), local_time(last.value("finished_at", "")));
}

int list(Context& ctx) {
  const Course& course = ctx.course();
  const auto milestones = load_milestones(course);
  const Progress progress = ctx.progress().load();
  json docs = json::array();
  for (const auto& m : milestones) docs.push_back(milestone_json(course, m, progress));
  if (ctx.ui().json()) {
    ctx.emit({{"ok", true}, {"milestones", docs}});
    return kExitOk;
  }
  const Ui& ui = ctx.ui();
  Table table({"id", "year", "title", "gate", "ready", "last run"});
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const json& d = docs[i];
    const bool ready = d["missing_modules"].empty();
    std::string ready_text =
        ready ? "yes" : fmt::format("needs {} modules", d["missing_modules"].size());
    if (const auto& parts = milestones[i].parts; ready && !parts.empty()) {
      const std::size_t open = unlocked_parts(milestones[i], progress).size();
      if (open < parts.size()) ready_text = fmt::format("part 1 of {}", parts.size());
    }
    table.add_row({Cell(d["id"].get<std::string>(), Tone::bold),
                   std::to_string(d["year"].get<int>()), d["title"].get<std::string>(),
                   d["gate"].get<std::string>(), Cell(ready_text, ready ? Tone::ok : Tone::dim),
                   last_run_text(d["last_run"])});
  }
  table.print(ui);
  ui.line();
  ui.line(has_reference(course)
              ? "Run one with `tito milestone run ID` (your library) or add --reference (the "
                "solutions)."
              : "Run one with `tito milestone run ID`: it trains with your own library "
                "(`tito milestone info ID` says what it needs).");
  return kExitOk;
}

int info(Context& ctx, const std::string& id) {
  const Course& course = ctx.course();
  const auto milestones = load_milestones(course);
  const Milestone& m = resolve(milestones, id);
  const json doc = milestone_json(course, m, ctx.progress().load());
  if (ctx.ui().json()) {
    ctx.emit({{"ok", true}, {"milestone", doc}});
    return kExitOk;
  }
  const Ui& ui = ctx.ui();
  ui.heading(fmt::format("{} ({}): {}", m.title, m.year, m.id));
  ui.line(m.after);
  ui.line();
  ui.line(fmt::format("gate      {}", m.gate));
  ui.line(fmt::format("data set  {}",
                      m.dataset.empty() ? "none (generated by the program)" : m.dataset));
  ui.line(fmt::format("requires  {}", fmt::join(m.requires_modules, ", ")));
  for (std::size_t i = 0; i < m.parts.size(); ++i) {
    ui.line(fmt::format("part {}    {}: {} (needs {})", i + 1, m.parts[i].id, m.parts[i].title,
                        m.parts[i].requires_modules.back()));
  }
  const auto missing = doc["missing_modules"].get<std::vector<std::string>>();
  ui.line(fmt::format("missing   {}", missing.empty()
                                          ? "nothing: ready to run"
                                          : fmt::format("{}", fmt::join(missing, ", "))));
  ui.line(fmt::format("program   milestones/{}/main.cpp", m.program));
  ui.line(fmt::format("last run  {}", last_run_text(doc["last_run"])));
  ui.line();
  ui.line(m.info);
  return kExitOk;
}

/// Runs the milestone program with the terminal as its own (live progress), ignoring Ctrl-C in
/// tito while it runs so that the program can stop cleanly and still write its partial result.
int run_in_terminal(const std::vector<std::string>& argv, const fs::path& cwd,
                    const std::vector<std::pair<std::string, std::string>>& env) {
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &previous);
  std::fflush(nullptr);  // our own lines first, then the program's
  ProcessOptions options;
  options.cwd = cwd;
  options.stdio = Stdio::terminal;  // live progress; the program gets Ctrl-C back
  options.env = env;
  options.timeout = std::chrono::hours(24 * 7);
  ProcessResult r;
  try {
    r = run_process(argv, options);
  } catch (...) {
    sigaction(SIGINT, &previous, nullptr);
    throw;
  }
  sigaction(SIGINT, &previous, nullptr);
  if (r.term_signal != 0) {
    throw TitoError(fmt::format("the milestone program was {}", signal_name(r.term_signal)));
  }
  return r.exit_code;
}

fs::path build_program(Context& ctx, const Milestone& m, bool reference) {
  const Course& course = ctx.course();
  const std::string target = "milestone_" + m.id;
  if (reference) {
    if (!fs::exists(course.root() / "solutions")) {
      throw TitoError(
          "--reference needs the reference solutions (solutions/), which a student release does "
          "not "
          "have: run the milestone on your own library (without --reference)");
    }
    BuildTree tree(course.root(), course.root() / "build" / "reference");
    if (!tree.configured()) {
      ctx.ui().line("Configuring the reference build: cmake --preset reference");
      const ProcessResult r = tree.configure_preset("reference");
      if (!r.ok())
        throw BuildError("cmake --preset reference failed (" + r.describe() + ")", r.tail(40));
    }
    build_targets(ctx, tree, {target});
    return tree.dir() / "bin" / target;
  }
  const fs::path prefix = course.state_dir() / "install";
  if (!fs::exists(prefix / "lib" / "cmake" / "TinyTorch" / "TinyTorchConfig.cmake")) {
    throw TitoError(
        fmt::format("your library has not been exported yet ({} is missing): `tito module complete "
                    "NN` exports it",
                    (prefix / "lib" / "cmake" / "TinyTorch").string()));
  }
  // The milestones as a project of their own, linked against the student's exported library.
  BuildTree tree(course.root() / "milestones", course.root() / "build" / "milestones");
  const ProcessResult configured =
      tree.configure({"CMAKE_BUILD_TYPE=Release", "CMAKE_PREFIX_PATH=" + prefix.string()});
  if (!configured.ok()) {
    throw BuildError(
        "configuring the milestones against your library failed (" + configured.describe() + ")",
        configured.tail(40));
  }
  build_targets(ctx, tree, {target});
  return tree.dir() / "bin" / target;
}

/// Adds which library trained the model to the program's result file (atomically: a full disk or
/// a kill leaves the program's own file, never half of it).
void stamp_library(const fs::path& file, bool reference, const std::string& kernels) {
  if (!fs::exists(file)) return;
  json doc;
  try {
    doc = read_json_file(file);
  } catch (const TitoError&) {
    return;  // unreadable: `tito milestone status` says so
  }
  if (!doc.is_object()) return;
  doc["library"] = reference ? "reference" : "student";
  doc["kernels"] = kernels;
  write_file_atomically(file, doc.dump(2) + "\n");
}

/// The result file as the program wrote it, for --json (or why it cannot be read).
json raw_result(const fs::path& file) {
  if (!fs::exists(file)) return nullptr;
  try {
    return read_json_file(file);
  } catch (const TitoError& e) {
    return {{"unreadable", file.string()}, {"problem", e.what()}};
  }
}

/// The folder to pass as --data-dir when the milestone's data set ships with the course
/// (datasets/datasets.json marks it "embedded"): the folder holding it, e.g. <root>/datasets.
std::optional<fs::path> embedded_data_dir(const Course& course, const std::string& dataset) {
  if (dataset.empty()) return std::nullopt;
  const DatasetRegistry registry = load_dataset_registry(registry_path(course.root()));
  for (const auto& d : registry.datasets) {
    if (d.folder == dataset && !d.embedded.empty()) {
      return (course.root() / d.embedded).parent_path();
    }
  }
  return std::nullopt;
}

struct RunOptions {
  std::string id;
  bool reference = false;
  int epochs = 0;
  long long seed = -1;
  std::string kernels =
      "framework";  // whose GEMM and im2col run: "framework", "student" or "naive"
};

int run(Context& ctx, const RunOptions& options, const std::vector<std::string>& extra) {
  const Course& course = ctx.course();
  const auto milestones = load_milestones(course);
  const Milestone& m = resolve(milestones, options.id);
  const Progress progress = ctx.progress().load();
  std::vector<std::string> parts_run;  // empty: the program's default (every part)
  std::vector<std::string> waiting;    // the parts still locked, as sentences
  if (!options.reference) {
    const auto missing = missing_modules(m, progress);
    if (!missing.empty()) {
      throw TitoError(fmt::format("milestone '{}' needs these modules completed first: {} ({}){}",
                                  m.id, fmt::join(missing, ", "), complete_commands(missing),
                                  has_reference(course)
                                      ? ", or add --reference to run it on the reference solutions"
                                      : ""));
    }
    for (const MilestonePart* part : unlocked_parts(m, progress)) parts_run.push_back(part->id);
    waiting = waiting_parts_text(m, progress);
  }
  if (!waiting.empty()) {
    ctx.ui().line(fmt::format("{}: running part{} {} of {}; {}.", m.id,
                              parts_run.size() == 1 ? "" : "s", fmt::join(parts_run, ", "),
                              m.parts.size(), fmt::join(waiting, "; ")));
  }
  const fs::path program = build_program(ctx, m, options.reference);
  const fs::path out = result_file(course, m);
  std::vector<std::string> argv{program.string(), "--out", out.string()};
  // `--generate` samples from the model a previous run saved: no data, and the result stays.
  const bool generating = std::find(extra.begin(), extra.end(), "--generate") != extra.end();
  if (const auto embedded = embedded_data_dir(course, m.dataset); embedded && !generating) {
    argv.insert(argv.end(), {"--data-dir", embedded->string()});
  } else if (!m.dataset.empty() && !generating) {
    const auto data = ctx.data_dir();
    if (!data) {
      throw TitoError(fmt::format(
          "milestone '{}' needs the {} data set: set TINYTORCH_DATA (or --data-dir) to the folder "
          "holding {}/, or run `tito data fetch` (`tito data path` shows where tito looks)",
          m.id, m.dataset, m.dataset));
    }
    argv.insert(argv.end(), {"--data-dir", data->string()});
  }
  if (!waiting.empty())
    argv.insert(argv.end(), {"--parts", fmt::format("{}", fmt::join(parts_run, ","))});
  if (options.epochs > 0) argv.insert(argv.end(), {"--epochs", std::to_string(options.epochs)});
  if (options.seed >= 0) argv.insert(argv.end(), {"--seed", std::to_string(options.seed)});
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (ctx.ui().json()) argv.emplace_back("--quiet");
  if (!generating) fs::remove(out);  // a stale result must never pass for this run's
  ctx.ui().line(fmt::format("Running {}{} on the {} library, {} kernels ...", m.id,
                            waiting.empty() ? "" : fmt::format(" ({})", fmt::join(parts_run, ", ")),
                            options.reference ? "reference" : "student's",
                            options.kernels == "student" ? "module 15's (yours)"
                            : options.kernels == "naive" ? "module 15's naive (rung 1)"
                                                         : "the framework's"));
  // The one switch of kernels/include/tinytorch/kernels/dispatch.hpp, set for the program only.
  const int status = run_in_terminal(argv, course.root(), {{"TINYTORCH_KERNELS", options.kernels}});
  if (!generating) stamp_library(out, options.reference, options.kernels);
  if (ctx.ui().json()) {
    json doc = {{"ok", status == 0}, {"milestone", m.id}, {"exit_status", status}};
    if (!m.parts.empty() && !options.reference) {
      doc["parts_run"] = parts_run;
      doc["parts_waiting"] = waiting;
    }
    doc["result"] = raw_result(out);
    ctx.emit(doc);
  }
  for (const auto& line : waiting) ctx.ui().line(fmt::format("Next: {}.", line));
  return status == 0 ? kExitOk : kExitFailure;
}

int status(Context& ctx) {
  const Course& course = ctx.course();
  const auto milestones = load_milestones(course);
  const Progress progress = ctx.progress().load();
  json docs = json::array();
  std::size_t passed = 0;
  for (const auto& m : milestones) {
    docs.push_back(milestone_json(course, m, progress));
    const json& last = docs.back()["last_run"];
    passed += !last.is_null() && last.value("complete", false) ? 1 : 0;
  }
  if (ctx.ui().json()) {
    ctx.emit(
        {{"ok", true}, {"passed", passed}, {"total", milestones.size()}, {"milestones", docs}});
    return kExitOk;
  }
  const Ui& ui = ctx.ui();
  ui.line(fmt::format("Milestones {}", ui.progress_bar(passed, milestones.size())));
  ui.line();
  Table table({"id", "year", "last run", "final metrics"});
  for (const auto& d : docs) {
    std::string metrics;
    if (!d["last_run"].is_null() && d["last_run"].contains("final")) {
      for (const auto& [key, value] : d["last_run"]["final"].items()) {
        metrics += fmt::format(
            "{}{} {}", metrics.empty() ? "" : ", ", key,
            value.is_number_float() ? fmt::format("{:.4f}", value.get<double>()) : value.dump());
      }
    }
    table.add_row({Cell(d["id"].get<std::string>(), Tone::bold),
                   std::to_string(d["year"].get<int>()), last_run_text(d["last_run"]), metrics});
  }
  table.print(ui);
  // The pictures of the last runs, which a browser opens: training curves, speed-ups, latencies.
  bool heading = false;
  for (const auto& d : docs) {
    if (d["last_run"].is_null() || !d["last_run"].contains("charts")) continue;
    for (const auto& chart : d["last_run"]["charts"]) {
      if (!heading) {
        ui.line();
        ui.line("Charts (SVG, open in a browser):");
        heading = true;
      }
      ui.line(fmt::format("  {:<12} {}", d["id"].get<std::string>(), chart.get<std::string>()));
    }
  }
  return kExitOk;
}

void install(CLI::App& app, Commands& commands) {
  CLI::App* group = app.add_subcommand("milestone", "Train real models with your own framework");
  commands.add(
      group->add_subcommand("list", "Every milestone, its gate, and whether you can run it"), list);
  commands.add(
      group->add_subcommand("status", "Which milestones you have passed, with their metrics"),
      status);
  auto id = std::make_shared<std::string>();
  CLI::App* info_leaf =
      group->add_subcommand("info", "What a milestone trains, its gate and its settings");
  info_leaf->add_option("id", *id, "Milestone id (see `tito milestone list`)")->required();
  commands.add(info_leaf, [id](Context& c) { return info(c, *id); });

  auto options = std::make_shared<RunOptions>();
  CLI::App* run_leaf = group->add_subcommand(
      "run", "Build the milestone against your exported library (or --reference) and train");
  run_leaf->add_option("id", options->id, "Milestone id (see `tito milestone list`)")->required();
  run_leaf->add_flag("--reference", options->reference,
                     "Use the reference solutions instead of your library (instructor copy)");
  run_leaf->add_option("--epochs", options->epochs, "Override the number of epochs")
      ->check(CLI::PositiveNumber);
  run_leaf->add_option("--seed", options->seed, "Random seed")->check(CLI::NonNegativeNumber);
  run_leaf
      ->add_option("--kernels", options->kernels,
                   "Whose GEMM, im2col and col2im every layer runs: the framework's, module 15's "
                   "(student), or module 15's rung-1 loops (naive, the slow baseline); sets "
                   "TINYTORCH_KERNELS for the program")
      ->check(CLI::IsMember({"framework", "student", "naive"}))
      ->capture_default_str();
  run_leaf->allow_extras();  // passed to the program, e.g. tinygpt's --generate "PROMPT"
  commands.add(run_leaf,
               [options, run_leaf](Context& c) { return run(c, *options, run_leaf->remaining()); });
}

const bool registered = register_group({40, install});

}  // namespace

}  // namespace tito
