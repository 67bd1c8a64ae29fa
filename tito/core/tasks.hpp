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

/// A configure, build or install step that failed; carries the part of the tool's output to show
/// (a build's first errors, else the output's tail).
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
  bool asan = false;  // built and run under AddressSanitizer + UBSan (build/student-asan)

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

/// Per test: each test runs in a process of its own, so a hang costs this and names the test.
inline constexpr std::chrono::seconds kTestTimeout{30};
inline constexpr std::chrono::seconds kCheckpointTimeout{300};

/// build/student (or build/student-asan), configured with `cmake --preset student` (or
/// `student-asan`) when it has not been yet.
[[nodiscard]] BuildTree student_build(Context& ctx, bool asan = false);
/// Builds `targets`, keeping the whole output in <tree>/tito-build.log and showing the warnings
/// about the student's files; throws BuildError with the first errors, the student files that do
/// not compile and the log's path when that fails.
void build_targets(Context& ctx, const BuildTree& tree, const std::vector<std::string>& targets);

/// Builds and runs the module's visible suite and, where tests/NN_name/ exists, its hidden suite.
[[nodiscard]] TestReport test_module(Context& ctx, const ModuleInfo& module,
                                     std::chrono::seconds per_test, bool asan = false);
void print_test_report(const Ui& ui, const TestReport& report);

/// Builds checkpoint_<id> in `tree`, runs it and records the result in the progress store.
[[nodiscard]] CheckpointReport run_checkpoint(Context& ctx, const BuildTree& tree,
                                              const CheckpointInfo& checkpoint,
                                              std::chrono::seconds timeout);
void print_checkpoint_report(const Ui& ui, const CheckpointReport& report);

/// Builds the export library (every exported module plus `module` from the student's files),
/// installs it into .tito/install, records the export and runs the module's checkpoint. In a
/// student release (no solutions/) that library is the student build's own (every module comes
/// from modules/ either way), so build/student is installed instead of building a second copy.
[[nodiscard]] ExportReport export_module(Context& ctx, const ModuleInfo& module,
                                         std::chrono::seconds timeout);

/// Prerequisites of `module` not completed yet.
[[nodiscard]] std::vector<std::string> missing_prerequisites(const ModuleInfo& module,
                                                             const Progress& progress);

}  // namespace tito
