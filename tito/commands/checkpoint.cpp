// `tito checkpoint status|timeline|test`: the capabilities the student has proven, one question
// each.
#include <fmt/core.h>

#include <algorithm>
#include <memory>

#include "core/context.hpp"
#include "core/tasks.hpp"

namespace tito {

namespace {

using nlohmann::json;

std::string module_number(const Course& course, const CheckpointInfo& c) {
  const ModuleInfo* m = c.module ? course.find_module(*c.module) : nullptr;
  return m != nullptr ? m->number_text() : "--";
}

json checkpoint_json(const Course& course, const CheckpointInfo& c, const Progress& progress) {
  const auto it = progress.checkpoints.find(c.id);
  const bool achieved = it != progress.checkpoints.end() && it->second.passed;
  json doc = {{"id", c.id},
              {"title", c.title},
              {"question", c.question},
              {"module", c.module ? json(*c.module) : json(nullptr)},
              {"module_number", module_number(course, c)},
              {"achieved", achieved}};
  if (it != progress.checkpoints.end()) {
    doc["achieved_at"] = achieved ? json(it->second.achieved_at) : json(nullptr);
    doc["last_run"] = {{"passed", it->second.passed},
                       {"at", it->second.at},
                       {"tests_passed", it->second.tests_passed},
                       {"tests_total", it->second.tests_total}};
  }
  return doc;
}

int status(Context& ctx) {
  const Course& course = ctx.course();
  const auto& checkpoints = course.checkpoints();
  const Progress progress = ctx.progress().load();
  json list = json::array();
  std::size_t achieved = 0;
  for (const auto& c : checkpoints) {
    list.push_back(checkpoint_json(course, c, progress));
    achieved += list.back()["achieved"].get<bool>() ? 1 : 0;
  }
  if (ctx.ui().json()) {
    ctx.emit({{"ok", true},
              {"achieved", achieved},
              {"total", checkpoints.size()},
              {"checkpoints", list}});
    return kExitOk;
  }
  const Ui& ui = ctx.ui();
  ui.line(fmt::format("Checkpoints {}", ui.progress_bar(achieved, checkpoints.size())));
  ui.line();
  Table table({"id", "module", "question", "achieved"});
  for (const auto& c : list) {
    const bool yes = c["achieved"].get<bool>();
    std::string when = yes ? local_time(c["achieved_at"].get<std::string>()) : "not yet";
    if (!yes && c.contains("last_run")) {
      when = fmt::format(
          "not yet (last run {}: {}/{} passed)", local_time(c["last_run"]["at"].get<std::string>()),
          c["last_run"]["tests_passed"].get<int>(), c["last_run"]["tests_total"].get<int>());
    }
    table.add_row({Cell(c["id"].get<std::string>(), Tone::bold),
                   c["module_number"].get<std::string>(), c["question"].get<std::string>(),
                   Cell(when, yes ? Tone::ok : Tone::dim)});
  }
  table.print(ui);
  return kExitOk;
}

int timeline(Context& ctx) {
  const Course& course = ctx.course();
  const auto& checkpoints = course.checkpoints();
  const Progress progress = ctx.progress().load();
  std::vector<std::pair<std::string, const CheckpointInfo*>> events;  // achieved_at, checkpoint
  for (const auto& c : checkpoints) {
    const auto it = progress.checkpoints.find(c.id);
    if (it != progress.checkpoints.end() && it->second.passed) {
      events.emplace_back(it->second.achieved_at.empty() ? it->second.at : it->second.achieved_at,
                          &c);
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  if (ctx.ui().json()) {
    json list = json::array();
    for (const auto& [at, c] : events) {
      list.push_back({{"at", at},
                      {"id", c->id},
                      {"question", c->question},
                      {"module", c->module ? json(*c->module) : json(nullptr)}});
    }
    ctx.emit({{"ok", true},
              {"achieved", events.size()},
              {"total", checkpoints.size()},
              {"timeline", list}});
    return kExitOk;
  }
  const Ui& ui = ctx.ui();
  if (events.empty()) {
    ui.line("No checkpoint achieved yet. Complete a module (tito module complete NN) to earn one.");
    return kExitOk;
  }
  for (const auto& [at, c] : events) {
    ui.line(fmt::format("{}  {}  {}", ui.paint(local_time(at), Tone::dim),
                        ui.paint(c->id, Tone::ok), c->question));
  }
  ui.line(fmt::format("{} of {} checkpoints achieved.", events.size(), checkpoints.size()));
  return kExitOk;
}

int test(Context& ctx, const std::string& arg, int timeout) {
  const Course& course = ctx.course();
  const CheckpointInfo& c = course.resolve_checkpoint(arg);
  const BuildTree tree = student_build(ctx);
  const CheckpointReport report = run_checkpoint(ctx, tree, c, std::chrono::seconds(timeout));
  if (ctx.ui().json()) {
    json doc = report.to_json();
    doc["ok"] = report.run.ok();
    ctx.emit(doc);
  } else {
    print_checkpoint_report(ctx.ui(), report);
  }
  return report.run.ok() ? kExitOk : kExitFailure;
}

void install(CLI::App& app, Commands& commands) {
  CLI::App* group =
      app.add_subcommand("checkpoint", "Capabilities you have proven, one question each");
  group->require_subcommand(1);
  commands.add(
      group->add_subcommand("status", "Each checkpoint: question, module, achieved or not, when"),
      status);
  commands.add(group->add_subcommand("timeline", "Your achievements in the order you reached them"),
               timeline);
  auto arg = std::make_shared<std::string>();
  auto timeout = std::make_shared<int>(static_cast<int>(kCheckpointTimeout.count()));
  CLI::App* leaf = group->add_subcommand(
      "test", "Build and run a checkpoint's test against your library (build/student)");
  leaf->add_option("checkpoint", *arg, "A checkpoint id, or a module (2, 02, 02_tensor)")
      ->required();
  leaf->add_option("--timeout", *timeout, "Seconds the test executable may run")
      ->capture_default_str();
  commands.add(leaf, [arg, timeout](Context& c) { return test(c, *arg, *timeout); });
}

const bool registered = register_group({30, install});

}  // namespace

}  // namespace tito
