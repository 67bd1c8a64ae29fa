#pragma once
// Steps shared by several commands: build the student's library, run a module's suites, export,
// run and record a checkpoint. Each step prints what it does and returns what really happened.
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/context.hpp"
#include "core/runner.hpp"

namespace tito {

/// A configure, build or install step that failed; carries the tail of the tool's output.
class BuildError : public TitoError {
 public:
  BuildError(const std::string& message, std::string output_tail)
      : TitoError(message), output_tail_(std::move(output_tail)) {}
  [[nodiscard]] const std::string& output_tail() const { return output_tail_; }

 private:
  std::string output_tail_;
};

struct TestReport {
  std::string module;
  std::vector<SuiteRun> suites;

  [[nodiscard]] int passed() const;
  [[nodiscard]] int failed() const;
  [[nodiscard]] int skipped() const;
  [[nodiscard]] int total() const;
  [[nodiscard]] bool ok() const;
  [[nodiscard]] nlohmann::json to_json() const;
};

struct CheckpointReport {
  CheckpointInfo checkpoint;
  SuiteRun run;
  [[nodiscard]] nlohmann::json to_json() const;
};

struct ExportReport {
  std::string module;
  std::vector<std::string> student_modules;  // the modules built from the student's files
  fs::path prefix;
  std::optional<CheckpointReport> checkpoint;
  std::string checkpoint_note;  // why no checkpoint ran, when none did

  [[nodiscard]] bool ok() const { return !checkpoint || checkpoint->run.ok(); }
  [[nodiscard]] nlohmann::json to_json() const;
};

inline constexpr std::chrono::seconds kSuiteTimeout{120};
inline constexpr std::chrono::seconds kCheckpointTimeout{300};

/// build/student, configured with `cmake --preset student` when it has not been yet.
[[nodiscard]] BuildTree student_build(Context& ctx);
/// Builds `targets`; throws BuildError with the compiler output's tail when that fails.
void build_targets(Context& ctx, const BuildTree& tree, const std::vector<std::string>& targets);

/// Builds and runs the module's visible suite and, where tests/NN_name/ exists, its hidden suite.
[[nodiscard]] TestReport test_module(Context& ctx, const ModuleInfo& module,
                                     std::chrono::seconds timeout);
void print_test_report(const Ui& ui, const TestReport& report);

/// Builds checkpoint_<id> in `tree`, runs it and records the result in the progress store.
[[nodiscard]] CheckpointReport run_checkpoint(Context& ctx, const BuildTree& tree,
                                              const CheckpointInfo& checkpoint,
                                              std::chrono::seconds timeout);
void print_checkpoint_report(const Ui& ui, const CheckpointReport& report);

/// Builds the export library (every exported module plus `module` from the student's files),
/// installs it into .tito/install, records the export and runs the module's checkpoint.
[[nodiscard]] ExportReport export_module(Context& ctx, const ModuleInfo& module,
                                         std::chrono::seconds timeout);

/// Prerequisites of `module` not completed yet.
[[nodiscard]] std::vector<std::string> missing_prerequisites(const ModuleInfo& module,
                                                             const Progress& progress);

}  // namespace tito
