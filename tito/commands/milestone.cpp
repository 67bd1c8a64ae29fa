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
#include "core/tasks.hpp"

extern char** environ;  // NOLINT: POSIX

namespace tito {

namespace {

using nlohmann::json;

struct Milestone {
  std::string id;
  std::string title;
  int year = 0;
  std::string after;
  std::vector<std::string> requires_modules;
  std::string dataset;  // empty: none
  std::string gate;
  std::string program;
  std::string info;
};

fs::path registry_file(const Course& course) {
  return course.root() / "milestones" / "milestones.json";
}

std::vector<Milestone> load_milestones(const Course& course) {
  const fs::path file = registry_file(course);
  std::ifstream in(file);
  if (!in) throw TitoError(fmt::format("{}: cannot read the milestone registry", file.string()));
  std::vector<Milestone> list;
  try {
    const json doc = json::parse(in);
    for (const json& m : doc.at("milestones")) {
      Milestone milestone{m.at("id").get<std::string>(),
                          m.at("title").get<std::string>(),
                          m.at("year").get<int>(),
                          m.value("after", ""),
                          m.at("requires").get<std::vector<std::string>>(),
                          m.at("dataset").is_null() ? "" : m.at("dataset").get<std::string>(),
                          m.at("gate").get<std::string>(),
                          m.at("program").get<std::string>(),
                          m.value("info", "")};
      for (const auto& dir : milestone.requires_modules) {
        if (course.find_module(dir) == nullptr) {
          throw TitoError(fmt::format("{}: milestone '{}' requires '{}', which is not a module",
                                      file.string(), milestone.id, dir));
        }
      }
      list.push_back(std::move(milestone));
    }
  } catch (const json::exception& e) {
    throw TitoError(fmt::format("{}: malformed milestone registry ({})", file.string(), e.what()));
  }
  return list;
}

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

/// The last result, or null when the milestone never ran (an unreadable file is reported as such).
json last_result(const Course& course, const Milestone& m) {
  std::ifstream in(result_file(course, m));
  if (!in) return nullptr;
  try {
    return json::parse(in);
  } catch (const json::exception&) {
    return {{"unreadable", result_file(course, m).string()}};
  }
}

std::vector<std::string> missing_modules(const Milestone& m, const Progress& progress) {
  std::vector<std::string> missing;
  for (const auto& dir : m.requires_modules) {
    if (!progress.completed(dir)) missing.push_back(dir);
  }
  return missing;
}

json milestone_json(const Course& course, const Milestone& m, const Progress& progress) {
  const json result = last_result(course, m);
  json doc = {{"id", m.id},
              {"title", m.title},
              {"year", m.year},
              {"after", m.after},
              {"gate", m.gate},
              {"dataset", m.dataset.empty() ? json(nullptr) : json(m.dataset)},
              {"requires", m.requires_modules},
              {"missing_modules", missing_modules(m, progress)},
              {"info", m.info}};
  if (result.is_null()) {
    doc["last_run"] = nullptr;
  } else if (result.contains("unreadable")) {
    doc["last_run"] = result;
  } else {
    doc["last_run"] = {{"passed", result.at("gate").at("passed")},
                       {"finished_at", result.value("finished_at", "")},
                       {"library", result.value("library", "unknown")},
                       {"wall_seconds", result.value("wall_seconds", 0.0)},
                       {"interrupted", result.value("interrupted", false)},
                       {"final", result.value("final", json::object())}};
  }
  return doc;
}

std::string last_run_text(const json& last) {
  if (last.is_null()) return "not run";
  if (last.contains("unreadable")) return "unreadable result file";
  std::string text = last.at("passed").get<bool>() ? "PASSED" : "not passed";
  if (last.value("interrupted", false)) text = "interrupted";
  return fmt::format("{} ({} library, {:.0f} s, {})", text, last.value("library", "?"),
                     last.value("wall_seconds", 0.0), last.value("finished_at", ""));
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
  for (const auto& d : docs) {
    const bool ready = d["missing_modules"].empty();
    table.add_row(
        {Cell(d["id"].get<std::string>(), Tone::bold), std::to_string(d["year"].get<int>()),
         d["title"].get<std::string>(), d["gate"].get<std::string>(),
         Cell(ready ? "yes" : fmt::format("needs {} modules", d["missing_modules"].size()),
              ready ? Tone::ok : Tone::dim),
         last_run_text(d["last_run"])});
  }
  table.print(ui);
  ui.line();
  ui.line(
      "Run one with `tito milestone run ID` (your library) or add --reference (the solutions).");
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
int run_in_terminal(const std::vector<std::string>& argv, const fs::path& cwd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: POSIX API
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &previous);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attributes, &defaults);  // the child gets Ctrl-C back
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
  std::fflush(nullptr);  // our own lines first, then the program's
  pid_t pid = 0;
  const int error = posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  int status = 0;
  if (error == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  sigaction(SIGINT, &previous, nullptr);
  if (error != 0)
    throw TitoError(fmt::format("cannot start {}: {}", argv[0], std::strerror(error)));
  if (WIFSIGNALED(status)) {
    throw TitoError(fmt::format("the milestone program was {}", signal_name(WTERMSIG(status))));
  }
  return WEXITSTATUS(status);
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
      tree.configure({"-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_PREFIX_PATH=" + prefix.string()});
  if (!configured.ok()) {
    throw BuildError(
        "configuring the milestones against your library failed (" + configured.describe() + ")",
        configured.tail(40));
  }
  build_targets(ctx, tree, {target});
  return tree.dir() / "bin" / target;
}

/// Adds which library trained the model to the program's result file (atomically).
void stamp_library(const fs::path& file, bool reference) {
  std::ifstream in(file);
  if (!in) return;
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception&) {
    return;
  }
  doc["library"] = reference ? "reference" : "student";
  const fs::path temp = file.string() + ".tmp";
  std::ofstream(temp) << doc.dump(2) << '\n';
  fs::rename(temp, file);
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
};

int run(Context& ctx, const RunOptions& options, const std::vector<std::string>& extra) {
  const Course& course = ctx.course();
  const auto milestones = load_milestones(course);
  const Milestone& m = resolve(milestones, options.id);
  if (!options.reference) {
    const auto missing = missing_modules(m, ctx.progress().load());
    if (!missing.empty()) {
      throw TitoError(fmt::format(
          "milestone '{}' needs these modules completed first: {}. Complete them with `tito module "
          "complete NN`, or add --reference to run it on the reference solutions.",
          m.id, fmt::join(missing, ", ")));
    }
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
  if (options.epochs > 0) argv.insert(argv.end(), {"--epochs", std::to_string(options.epochs)});
  if (options.seed >= 0) argv.insert(argv.end(), {"--seed", std::to_string(options.seed)});
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (ctx.ui().json()) argv.emplace_back("--quiet");
  if (!generating) fs::remove(out);  // a stale result must never pass for this run's
  ctx.ui().line(fmt::format("Running {} on the {} library ...", m.id,
                            options.reference ? "reference" : "student's"));
  const int status = run_in_terminal(argv, course.root());
  if (!generating) stamp_library(out, options.reference);
  if (ctx.ui().json()) {
    json doc = {{"ok", status == 0}, {"milestone", m.id}, {"exit_status", status}};
    doc["result"] = last_result(course, m);
    ctx.emit(doc);
  }
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
    passed += !last.is_null() && last.contains("passed") && last["passed"].get<bool>() ? 1 : 0;
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
  run_leaf->allow_extras();  // passed to the program, e.g. tinygpt's --generate "PROMPT"
  commands.add(run_leaf,
               [options, run_leaf](Context& c) { return run(c, *options, run_leaf->remaining()); });
}

const bool registered = register_group({40, install});

}  // namespace

}  // namespace tito
