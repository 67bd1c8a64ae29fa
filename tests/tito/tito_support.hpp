#pragma once
// Helpers for tito's tests: a temporary copy of the course, and running the real tito binary in it.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tito_test {

namespace fs = std::filesystem;

/// A private folder under the system temp dir, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// A copy of the course (CMakeLists.txt, CMakePresets.json, cmake/, core/, kernels/, modules/,
/// solutions/, checkpoints/ and the hidden suites tests/NN_name/) in a temporary folder.
class TempCourse {
 public:
  TempCourse();
  [[nodiscard]] const fs::path& root() const { return dir_.path(); }
  [[nodiscard]] fs::path progress_file() const { return root() / ".tito" / "progress.json"; }
  /// Makes the copy a git repository with one commit (the source of pristine stubs for reset).
  void git_init() const;

 private:
  TempDir dir_;
};

struct Output {
  int status = -1;  // exit status; 128 + signal when killed
  std::string out;
  std::string err;
  /// stdout parsed as JSON (fails the test, returning null, when it does not parse).
  [[nodiscard]] nlohmann::json json() const;
};

/// Runs the real tito binary with `args` in `cwd`; `env` is "NAME=value" pairs added to ours.
[[nodiscard]] Output tito(const fs::path& cwd, const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {});
/// Runs a program (not through a shell) and returns its status and output.
[[nodiscard]] Output run(const fs::path& cwd, const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {});

[[nodiscard]] std::string read_file(const fs::path& file);
void write_file(const fs::path& file, const std::string& content);

}  // namespace tito_test
