#include "grading/submission_files.hpp"

#include <fmt/core.h>

#include <vector>

#include "core/progress.hpp"

namespace tito::grading {

namespace {
constexpr std::uintmax_t kMaxStudentFile = std::uintmax_t{4} << 20;
}  // namespace

Located locate(const Course& course, const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir / "modules", ec)) return {"course", dir / "modules"};
  for (const auto& m : course.modules()) {
    if (fs::is_directory(dir / m.dir, ec)) return {"modules", dir};
  }
  for (const auto& m : course.modules()) {
    for (const auto& f : m.files) {
      if (fs::is_regular_file(dir / f, ec)) return {"files", dir};
    }
  }
  return {"none", dir};
}

StudentFiles read_student_files(const Located& where, const fs::path& submission,
                                const ModuleInfo& m) {
  StudentFiles out;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(submission, ec);
  std::vector<std::string> missing;
  for (const auto& f : m.files) {
    const fs::path file =
        where.layout == "files" ? where.modules_root / f : where.modules_root / m.dir / f;
    const std::string shown = (fs::path("modules") / m.dir / f).string();
    if (where.layout == "none" || !fs::exists(file, ec)) {
      missing.push_back(shown);
      continue;
    }
    const fs::path real = fs::weakly_canonical(file, ec);
    const auto rel = real.lexically_relative(root);
    if (ec || fs::is_symlink(fs::symlink_status(file, ec)) || rel.empty() || *rel.begin() == "..") {
      out.status = ModuleStatus::rejected;
      out.message = fmt::format(
          "{} is a link (or lies outside the submission): submit the file itself", shown);
      return out;
    }
    if (!fs::is_regular_file(real, ec) || fs::file_size(real, ec) > kMaxStudentFile) {
      out.status = ModuleStatus::rejected;
      out.message = fmt::format("{} is not a regular file of at most 4 MiB", shown);
      return out;
    }
    out.content[f] = read_file_text(real);
  }
  if (!missing.empty()) {
    out.status = ModuleStatus::missing_files;
    std::string list;
    for (const auto& f : missing) list += (list.empty() ? "" : ", ") + f;
    out.message = fmt::format("missing from the submission: {}", list);
  }
  return out;
}

void write_if_different(const fs::path& file, const std::string& content) {
  std::error_code ec;
  if (fs::exists(file, ec) && fs::file_size(file, ec) == content.size() &&
      read_file_text(file) == content) {
    return;
  }
  fs::create_directories(file.parent_path());
  write_file_atomically(file, content);
}

}  // namespace tito::grading
