#pragma once
// What a submission holds: where its modules are (a whole course, its modules/ folder, or loose
// files), and a module's student files read safely (no links out of the submission, no file over
// 4 MiB). Shared by the grader (one module at a time) and the leaderboard (the whole library).
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "core/course.hpp"
#include "grading/grades.hpp"

namespace tito::grading {

namespace fs = std::filesystem;

struct Located {
  std::string layout;     // "course" (has modules/), "modules" (is modules/), "files", "none"
  fs::path modules_root;  // for "course" and "modules"
};

[[nodiscard]] Located locate(const Course& course, const fs::path& dir);

struct StudentFiles {
  std::map<std::string, std::string> content;  // file name -> text
  std::optional<ModuleStatus> status;          // missing_files or rejected; none when usable
  std::string message;
};

[[nodiscard]] StudentFiles read_student_files(const Located& where, const fs::path& submission,
                                              const ModuleInfo& m);

/// Writes only when the content differs, so ninja sees an unchanged file as unchanged.
void write_if_different(const fs::path& file, const std::string& content);

}  // namespace tito::grading
