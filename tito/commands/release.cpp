// `tito release --out DIR`: the student repository (core/release.hpp), then the leak check that
// proves no solution text is in it. `tito release --check DIR` checks an existing release.
#include <fmt/core.h>

#include <memory>

#include "core/context.hpp"
#include "core/release.hpp"

namespace tito {

namespace {

using nlohmann::json;

struct ReleaseArgs {
  std::string out;
  std::string check;
  bool force = false;
};

json leaks_json(const std::vector<Leak>& leaks) {
  json out = json::array();
  for (const auto& l : leaks) {
    out.push_back({{"solution", l.solution},
                   {"released", l.released},
                   {"why", l.why},
                   {"lines", l.lines},
                   {"allowed", l.allowed.empty() ? json(nullptr) : json(l.allowed)}});
  }
  return out;
}

void print_leaks(const Ui& ui, const std::vector<Leak>& leaks) {
  for (const auto& l : leaks) {
    if (!l.allowed.empty()) {
      ui.check(Tone::warn, fmt::format("{} -> {}: allowed by grading/release-allow.json: {}",
                                       l.solution, l.released, l.allowed));
      continue;
    }
    ui.check(Tone::fail, fmt::format("{}: {} -> {}", l.solution, l.why, l.released));
    for (std::size_t i = 0; i < l.lines.size() && i < 5; ++i) {
      ui.line(fmt::format("          {}", l.lines[i]));
    }
  }
}

int release(Context& ctx, const ReleaseArgs& args) {
  const Course& course = ctx.course();
  const Ui& ui = ctx.ui();
  if (args.out.empty() == args.check.empty()) {
    throw UsageError("give --out DIR (make a release) or --check DIR (check an existing one)");
  }
  json doc = {{"ok", false}};
  fs::path target;
  if (!args.out.empty()) {
    const ReleaseReport report = make_release(course.root(), args.out, args.force);
    target = report.out;
    doc["out"] = report.out.string();
    doc["files"] = report.files.size();
    doc["left_out"] = report.skipped;
    if (!ui.json()) {
      ui.line(fmt::format("Wrote the student release to {}: {} files.", report.out.string(),
                          report.files.size()));
      std::string left;
      for (const auto& s : report.skipped) left += (left.empty() ? "" : ", ") + s;
      ui.line(fmt::format("Left out (instructor only): {}", left));
    }
  } else {
    target = fs::absolute(args.check);
    doc["out"] = target.string();
  }
  const std::vector<Leak> found = check_release(course.root(), target);
  std::vector<Leak> leaks;
  for (const auto& l : found) {
    if (l.allowed.empty()) leaks.push_back(l);
  }
  doc["leaks"] = leaks_json(found);
  doc["ok"] = leaks.empty();
  if (ui.json()) {
    ctx.emit(doc);
  } else {
    print_leaks(ui, found);
    if (leaks.empty()) {
      ui.check(Tone::ok, "leak check: no solution body and no hidden suite in the release");
    }
  }
  if (!leaks.empty()) {
    ui.error(fmt::format(
        "{} leak(s) of solution text in {}: do NOT publish it; fix the files named above and "
        "run the release again",
        leaks.size(), target.string()));
    return kExitFailure;
  }
  return kExitOk;
}

void install(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<ReleaseArgs>();
  CLI::App* cmd = app.add_subcommand(
      "release", "Instructor: write the student repository (no solutions, no hidden suites)");
  cmd->add_option("--out", args->out, "Folder to write the release into (absent or empty)");
  cmd->add_option("--check", args->check, "Only run the leak check on an existing release");
  cmd->add_flag("--force", args->force, "Replace an earlier release in --out");
  commands.add(cmd, [args](Context& ctx) { return release(ctx, *args); });
}

const bool registered = register_group({70, install});

}  // namespace

}  // namespace tito
