#pragma once
// Helpers for the grading tests: temporary folders, files, and running programs (the real tito).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace grading_test {

namespace fs = std::filesystem;

/// A private folder under the system temp dir, removed at the end (kept with GRADING_TEST_KEEP).
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

struct Output {
  int status = -1;  // exit status; 128 + signal when killed
  std::string out;
  std::string err;
  double seconds = 0;
};

/// Runs a program (no shell) in `cwd`; `env` is "NAME=value" pairs added to ours.
[[nodiscard]] Output run(const fs::path& cwd, const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {});
/// Runs the real tito binary.
[[nodiscard]] Output tito(const fs::path& cwd, const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {});

/// `tito --root <course> grade --cache <the tests' grading cache> ARGS...`: every grading test
/// shares one cache, so the reference suites are built once.
[[nodiscard]] Output tito_grade(const fs::path& cwd, const std::vector<std::string>& args);

[[nodiscard]] std::string read_file(const fs::path& file);
void write_file(const fs::path& file, const std::string& content);
[[nodiscard]] nlohmann::json read_json(const fs::path& file);

[[nodiscard]] fs::path course_root();
[[nodiscard]] fs::path grading_cache();

}  // namespace grading_test
