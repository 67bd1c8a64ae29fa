// tito: the TinyTorch C++ course tool. Command groups live in commands/*.cpp and register
// themselves (core/context.hpp); main adds the global options to every command, parses, and runs
// the chosen leaf.
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string_view>

#include "core/context.hpp"
#include "core/tasks.hpp"

namespace {

using tito::Context;

/// --json, --no-color, --root and --data-dir on every command, so they work before or after it.
void add_global_options(CLI::App& app, tito::GlobalOptions& options) {
  app.add_flag("--json", options.json, "Machine-readable output: one JSON document on stdout");
  app.add_flag("--no-color", options.no_color,
               "No colours (also: the NO_COLOR environment variable)");
  app.add_option("--root", options.root,
                 "The course folder (default: the first folder above the working directory holding "
                 "CMakePresets.json and modules/)");
  app.add_option("--data-dir", options.data_dir,
                 "Data sets folder (default: $TINYTORCH_DATA, else <root>/data)");
  for (CLI::App* sub : app.get_subcommands({})) add_global_options(*sub, options);
}

/// The deepest subcommand that was parsed: `tito module test 02` -> the `test` app.
CLI::App* parsed_leaf(CLI::App& app) {
  CLI::App* leaf = &app;
  for (bool descended = true; descended;) {
    descended = false;
    for (CLI::App* sub : leaf->get_subcommands()) {
      leaf = sub;
      descended = true;
      break;
    }
  }
  return leaf;
}

/// --json anywhere on the command line, even when the line does not parse.
bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--json") return true;
  }
  return false;
}

/// CLI11's own message and status (help and --version are "errors" that exit 0); with --json, the
/// one JSON document a script expects, and the message on stderr as well.
int report_parse_error(CLI::App& app, const CLI::ParseError& e, bool json) {
  const bool is_help = e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success);
  if (!json || is_help) return app.exit(e);
  const int status = e.get_exit_code();  // the status app.exit(e) would return
  fmt::print("{}\n",
             nlohmann::json{{"ok", false}, {"error", e.what()}, {"exit_status", status}}.dump(2));
  std::fflush(stdout);
  fmt::print(stderr, "error: {}\nRun with --help for more information.\n", e.what());
  return status;
}

int report_error(Context& ctx, const std::exception& e, int status) {
  const auto* build = dynamic_cast<const tito::BuildError*>(&e);
  if (ctx.options.json && !ctx.emitted()) {
    nlohmann::json doc = {{"ok", false}, {"error", e.what()}, {"exit_status", status}};
    if (build != nullptr) doc["output_tail"] = build->output_tail();
    ctx.emit(doc);
  }
  if (build != nullptr && !build->output_tail().empty()) {
    fmt::print(stderr, "---- what the tools said (the first errors) ----\n{}----\n",
               build->output_tail());
  }
  ctx.ui().error(e.what());
  return status;
}

int run(int argc, char** argv) {
  CLI::App app("tito: the TinyTorch C++ course tool", "tito");
  app.set_version_flag("--version", std::string("tito ") + TITO_VERSION);
  app.require_subcommand(1);
  tito::Commands commands;
  for (const auto& group : tito::command_groups()) group.install(app, commands);
  Context ctx;
  add_global_options(app, ctx.options);
  if (argc == 1) {  // `tito` alone: what can I type? (as git and cargo answer)
    fmt::print("{}", app.help());
    return tito::kExitOk;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e, wants_json(argc, argv));
  }
  CLI::App* leaf = parsed_leaf(app);
  const tito::Action* action = commands.find(leaf);
  if (action == nullptr) {  // a group without its command, e.g. `tito module`: its help
    std::fflush(stdout);
    fmt::print(stderr, "{}", leaf->help());
    return tito::kExitUsage;
  }
  try {
    return (*action)(ctx);
  } catch (const tito::UsageError& e) {
    return report_error(ctx, e, tito::kExitUsage);
  } catch (const std::exception& e) {
    return report_error(ctx, e, tito::kExitFailure);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered stdout, so that piped into one file (`tito ... 2>&1 | tee log`, CI logs) our
  // lines and the errors on stderr keep the order in which they were said.
  std::setvbuf(stdout, nullptr, _IOLBF, BUFSIZ);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tito: internal error: %s\n", e.what());
    return tito::kExitFailure;
  }
}
