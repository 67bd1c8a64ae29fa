#pragma once
// What every command shares: the global options, the lazily discovered course, the UI, the error
// types that map to exit statuses, and the registry through which each command group installs
// itself.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/course.hpp"
#include "core/errors.hpp"
#include "core/progress.hpp"
#include "core/ui.hpp"

namespace tito {

namespace fs = std::filesystem;

struct GlobalOptions {
  bool json = false;
  bool no_color = false;
  std::string root;      // --root DIR; empty = walk up from the working directory
  std::string data_dir;  // --data-dir DIR; empty = TINYTORCH_DATA, else <root>/data
};

class Context {
 public:
  GlobalOptions options;

  /// The course, found on first use; throws TitoError naming where it looked.
  [[nodiscard]] const Course& course();
  /// The course if one can be found, else nullopt (for commands useful outside a course).
  [[nodiscard]] const Course* try_course();
  [[nodiscard]] const Ui& ui();
  [[nodiscard]] ProgressStore progress();
  /// --data-dir, else TINYTORCH_DATA, else <root>/data when it exists.
  [[nodiscard]] std::optional<fs::path> data_dir();

  /// Prints the command's one JSON document (--json mode).
  void emit(const nlohmann::json& document);
  [[nodiscard]] bool emitted() const { return emitted_; }

 private:
  std::optional<Course> course_;
  std::optional<std::string> course_error_;
  std::optional<Ui> ui_;
  bool emitted_ = false;
};

/// A leaf command: returns the process exit status.
using Action = std::function<int(Context&)>;

/// Binds leaf subcommands to their actions; main runs the action of the leaf that was parsed.
class Commands {
 public:
  void add(CLI::App* leaf, Action action) { actions_[leaf] = std::move(action); }
  [[nodiscard]] const Action* find(CLI::App* leaf) const;

 private:
  std::map<CLI::App*, Action> actions_;
};

/// One command group (`system`, `module`, ...). `order` sorts the groups in --help.
struct CommandGroup {
  int order;
  std::function<void(CLI::App& app, Commands& commands)> install;
};

/// Called from a static initialiser in each commands/*.cpp: `const bool registered =
/// register_group(...)`.
bool register_group(CommandGroup group);
[[nodiscard]] const std::vector<CommandGroup>& command_groups();

/// Process exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace tito
