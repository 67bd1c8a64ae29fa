#pragma once
// The course registry: modules are the folders modules/NN_name/ holding a module.json; checkpoints
// are the entries of checkpoints/checkpoints.json; a module's checkpoint is named by its
// module.json. Nothing here names a module: tito never keeps a second table that could drift from
// these files.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tito {

namespace fs = std::filesystem;

/// module.json's "grading" block, read in one place (Course) with one meaning:
/// {"test_timeout_s": 20, "suite_timeout_s": 300, "memory_mb": 2048,
///  "points": {"default": 1, "tests": {"Suite.Name": 3}, "suites": {"Suite": 2}}}
/// A test's points: its own entry in "tests", else its suite's in "suites", else "default".
struct GradingSettings {
  double test_timeout_s = 20;
  double suite_timeout_s = 300;
  double memory_mb = 2048;
  double default_points = 1;
  std::map<std::string, double> test_points;   // "Suite.Name" -> points
  std::map<std::string, double> suite_points;  // "Suite" -> points for each of its tests

  [[nodiscard]] double points_for(const std::string& test) const;
};

struct ModuleInfo {
  std::string dir;  // folder name, "02_tensor": the module's identity everywhere
  int number = 0;
  std::string name;
  std::string title;
  std::string summary;
  std::vector<std::string> prerequisites;  // folder names
  std::optional<std::string> checkpoint;   // checkpoint id
  double estimated_hours = 0;
  std::vector<std::string> files;  // the student's .cpp files
  std::vector<std::string> headers;
  std::vector<std::string> framework_files;
  std::string library;    // the CMake target of the module's own framework library; empty: none
  std::string benchmark;  // the CMake target of the module's benchmark program; empty: none
  GradingSettings grading;

  /// "02": the number as the student types it.
  [[nodiscard]] std::string number_text() const;
};

struct CheckpointInfo {
  std::string id;
  std::string title;
  std::string question;
  std::string test;                   // file name under checkpoints/
  std::optional<std::string> module;  // the module whose module.json names this checkpoint
};

class Course {
 public:
  /// Walks up from `start` to the first folder holding CMakePresets.json and modules/.
  [[nodiscard]] static fs::path find_root(const fs::path& start);
  /// Validates a --root argument.
  [[nodiscard]] static fs::path check_root(const fs::path& root);
  /// Reads every module.json and checkpoints.json; throws TitoError naming the file at fault.
  [[nodiscard]] static Course load(const fs::path& root);

  [[nodiscard]] const fs::path& root() const { return root_; }
  [[nodiscard]] fs::path state_dir() const { return root_ / ".tito"; }
  [[nodiscard]] fs::path module_dir(const ModuleInfo& m) const { return root_ / "modules" / m.dir; }
  [[nodiscard]] const std::vector<ModuleInfo>& modules() const { return modules_; }

  /// Accepts "2", "02", "tensor" or "02_tensor"; throws UsageError listing the valid modules
  /// otherwise.
  [[nodiscard]] const ModuleInfo& resolve_module(std::string_view text) const;
  [[nodiscard]] const ModuleInfo* find_module(std::string_view dir) const;
  /// "01 (01_setup), 02 (02_tensor)".
  [[nodiscard]] std::string valid_modules_text() const;

  /// The visible suite's sources (modules/NN_name/tests/*.cpp) and the hidden one's
  /// (tests/NN_name/*.cpp, instructor copy only); the same globs CMake uses to create the targets.
  [[nodiscard]] std::vector<fs::path> visible_test_sources(const ModuleInfo& m) const;
  [[nodiscard]] std::vector<fs::path> hidden_test_sources(const ModuleInfo& m) const;

  [[nodiscard]] fs::path checkpoints_file() const {
    return root_ / "checkpoints" / "checkpoints.json";
  }
  /// Throws TitoError saying why checkpoints are unavailable (file missing or malformed).
  [[nodiscard]] const std::vector<CheckpointInfo>& checkpoints() const;
  [[nodiscard]] bool has_checkpoints() const { return !checkpoints_error_.has_value(); }
  [[nodiscard]] const CheckpointInfo* find_checkpoint(std::string_view id) const;
  /// A checkpoint id, or a module number/name whose module.json names a checkpoint.
  [[nodiscard]] const CheckpointInfo& resolve_checkpoint(std::string_view text) const;

 private:
  void load_checkpoints();
  void sort_by_module(std::vector<CheckpointInfo>& checkpoints) const;

  fs::path root_;
  std::vector<ModuleInfo> modules_;
  std::vector<CheckpointInfo> checkpoints_;
  std::optional<std::string> checkpoints_error_;
};

}  // namespace tito
