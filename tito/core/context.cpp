#include "core/context.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace tito {

namespace {

std::vector<CommandGroup>& group_list() {
  static std::vector<CommandGroup> groups;  // function-local: safe from static-initialisation order
  return groups;
}

bool no_color_env() {
  const char* value = std::getenv("NO_COLOR");
  return value != nullptr && *value != '\0';  // no-color.org: present and not empty
}

/// TERM=dumb (Emacs shells, some CI consoles) draws escape codes as text.
bool dumb_terminal() {
  const char* term = std::getenv("TERM");
  return term != nullptr && std::string_view(term) == "dumb";
}

}  // namespace

const Course& Context::course() {
  if (const Course* found = try_course()) return *found;
  throw TitoError(*course_error_);
}

const Course* Context::try_course() {
  if (course_) return &*course_;
  if (course_error_) return nullptr;
  try {
    const auto root = options.root.empty() ? Course::find_root(fs::current_path())
                                           : Course::check_root(fs::path(options.root));
    course_.emplace(Course::load(root));
    // Programs tito starts (checkpoints, milestones) may hand results back through .tito/, e.g. the
    // environment checkpoint's system_report.json.
    ::setenv("TITO_STATE_DIR", course_->state_dir().c_str(), 1);
    return &*course_;
  } catch (const TitoError& e) {
    course_error_ = e.what();
    return nullptr;
  }
}

const Ui& Context::ui() {
  if (!ui_) ui_.emplace(!options.no_color && !no_color_env() && !dumb_terminal(), options.json);
  return *ui_;
}

ProgressStore Context::progress() {
  return ProgressStore(course().state_dir());
}

std::optional<fs::path> Context::data_dir() {
  if (!options.data_dir.empty()) return fs::absolute(options.data_dir);
  if (const char* env = std::getenv("TINYTORCH_DATA"); env != nullptr && *env != '\0') {
    return fs::absolute(env);
  }
  if (const Course* c = try_course()) {
    if (fs::is_directory(c->root() / "data")) return c->root() / "data";
  }
  return std::nullopt;
}

void Context::emit(const nlohmann::json& document) {
  fmt::print("{}\n", document.dump(2));
  std::fflush(stdout);
  emitted_ = true;
}

const Action* Commands::find(CLI::App* leaf) const {
  const auto it = actions_.find(leaf);
  return it == actions_.end() ? nullptr : &it->second;
}

bool register_group(CommandGroup group) {
  auto& groups = group_list();
  groups.push_back(std::move(group));
  std::stable_sort(groups.begin(), groups.end(),
                   [](const CommandGroup& a, const CommandGroup& b) { return a.order < b.order; });
  return true;
}

const std::vector<CommandGroup>& command_groups() {
  return group_list();
}

}  // namespace tito
