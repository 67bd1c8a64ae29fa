#include "core/course.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/errors.hpp"
#include "core/json_file.hpp"

namespace tito {

namespace {

using nlohmann::json;

bool is_course_root(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "CMakePresets.json", ec) &&
         fs::is_directory(dir / "modules", ec);
}

std::vector<std::string> string_list(const json& doc, const char* key) {
  if (!doc.contains(key)) return {};
  return doc.at(key).get<std::vector<std::string>>();
}

GradingSettings parse_grading(const json& grading) {
  GradingSettings s;
  if (!grading.is_object()) throw TitoError("\"grading\" must be an object");
  s.test_timeout_s = grading.value("test_timeout_s", s.test_timeout_s);
  s.suite_timeout_s = grading.value("suite_timeout_s", s.suite_timeout_s);
  s.memory_mb = grading.value("memory_mb", s.memory_mb);
  const json points = grading.value("points", json::object());
  if (!points.is_object()) {
    throw TitoError(
        "\"grading\": \"points\" must be an object: {\"default\": 1, \"tests\": {...}}");
  }
  s.default_points = points.value("default", s.default_points);
  // Named copies: items() of the temporary that value() returns would dangle (the range-for keeps
  // only the proxy alive; ASan: stack-use-after-scope in `tito grade`).
  const json tests = points.value("tests", json::object());
  const json suites = points.value("suites", json::object());
  for (const auto& [name, value] : tests.items()) s.test_points[name] = value.get<double>();
  for (const auto& [name, value] : suites.items()) s.suite_points[name] = value.get<double>();
  for (const double limit : {s.test_timeout_s, s.suite_timeout_s, s.memory_mb}) {
    if (!(limit > 0)) throw TitoError("\"grading\": limits must be positive numbers");
  }
  return s;
}

ModuleInfo parse_module(const fs::path& file, const std::string& dir) {
  const json doc = read_json_file(file);
  ModuleInfo m;
  m.dir = dir;
  try {
    m.number = int_field(doc, "number");
    m.name = doc.at("name").get<std::string>();
    m.title = doc.value("title", m.name);
    m.summary = doc.value("summary", "");
    m.prerequisites = string_list(doc, "prerequisites");
    if (doc.contains("checkpoint") && !doc.at("checkpoint").is_null()) {
      m.checkpoint = doc.at("checkpoint").get<std::string>();
    }
    m.estimated_hours = doc.value("estimated_hours", 0.0);
    m.files = string_list(doc, "files");
    m.headers = string_list(doc, "headers");
    m.framework_files = string_list(doc, "framework_files");
    if (doc.contains("library")) m.library = doc.at("library").at("target").get<std::string>();
    m.benchmark = doc.value("benchmark", "");
    m.grading = parse_grading(doc.value("grading", json::object()));
  } catch (const json::exception& e) {
    throw TitoError(fmt::format("{}: {}", file.string(), e.what()));
  } catch (const TitoError& e) {
    throw TitoError(fmt::format("{}: {}", file.string(), e.what()));
  } catch (const std::invalid_argument& e) {
    throw TitoError(fmt::format("{}: {}", file.string(), e.what()));
  }
  if (fmt::format("{:02}_{}", m.number, m.name) != dir) {
    throw TitoError(fmt::format("{}: number {} and name '{}' do not match the folder name '{}'",
                                file.string(), m.number, m.name, dir));
  }
  return m;
}

void check_prerequisites(const std::vector<ModuleInfo>& modules, const fs::path& root) {
  for (const auto& m : modules) {
    for (const auto& p : m.prerequisites) {
      const bool known = std::any_of(modules.begin(), modules.end(),
                                     [&](const ModuleInfo& other) { return other.dir == p; });
      if (!known) {
        throw TitoError(fmt::format("{}: prerequisite '{}' is not a module folder",
                                    (root / "modules" / m.dir / "module.json").string(), p));
      }
    }
  }
}

std::vector<fs::path> glob_cpp(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".cpp") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string ModuleInfo::number_text() const {
  return fmt::format("{:02}", number);
}

fs::path Course::find_root(const fs::path& start) {
  for (fs::path dir = fs::absolute(start);; dir = dir.parent_path()) {
    if (is_course_root(dir)) return dir;
    if (dir == dir.root_path() || dir.empty()) break;
  }
  throw TitoError(fmt::format(
      "no TinyTorch course found in {} or any folder above it (looked for a folder holding "
      "CMakePresets.json and modules/). Run tito inside the course, or pass --root DIR.",
      fs::absolute(start).string()));
}

fs::path Course::check_root(const fs::path& root) {
  const fs::path dir = fs::absolute(root).lexically_normal();
  if (!is_course_root(dir)) {
    throw TitoError(fmt::format(
        "--root {}: not a TinyTorch course (expected CMakePresets.json and modules/ there)",
        dir.string()));
  }
  return dir;
}

Course Course::load(const fs::path& root) {
  Course course;
  course.root_ = fs::absolute(root).lexically_normal();
  if (!course.root_.has_filename()) course.root_ = course.root_.parent_path();  // "dir/"
  static const std::regex folder_pattern("^[0-9][0-9]_.+$");
  std::vector<std::string> dirs;
  for (const auto& entry : fs::directory_iterator(course.root_ / "modules")) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(name, folder_pattern) &&
        fs::exists(entry.path() / "module.json")) {
      dirs.push_back(name);
    }
  }
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    course.modules_.push_back(parse_module(course.root_ / "modules" / dir / "module.json", dir));
  }
  if (course.modules_.empty()) {
    throw TitoError(
        fmt::format("{}: no modules found (expected folders NN_name/ with a module.json)",
                    (course.root_ / "modules").string()));
  }
  check_prerequisites(course.modules_, course.root_);
  course.load_checkpoints();
  return course;
}

/// Module order (the order of the folders), whatever the order of checkpoints.json: a listing
/// follows the course, and an entry added at the end of the file cannot put 13 before 11. A
/// checkpoint no module names comes last, in file order.
void Course::sort_by_module(std::vector<CheckpointInfo>& checkpoints) const {
  const auto rank = [&](const CheckpointInfo& c) {
    const ModuleInfo* m = c.module ? find_module(*c.module) : nullptr;
    return m != nullptr ? m->number : std::numeric_limits<int>::max();
  };
  std::stable_sort(
      checkpoints.begin(), checkpoints.end(),
      [&](const CheckpointInfo& a, const CheckpointInfo& b) { return rank(a) < rank(b); });
}

void Course::load_checkpoints() {
  const fs::path file = checkpoints_file();
  if (!fs::exists(file)) {
    checkpoints_error_ =
        fmt::format("{} does not exist yet: this course defines no checkpoints", file.string());
    return;
  }
  try {
    const json doc = read_json_file(file);
    const int schema = int_field(doc, "schema_version", 1);
    if (schema != 1) {
      throw TitoError(fmt::format("{}: schema_version {} is not supported (this tito reads 1)",
                                  file.string(), schema));
    }
    for (const auto& entry : doc.at("checkpoints")) {
      CheckpointInfo c;
      c.id = entry.at("id").get<std::string>();
      c.title = entry.value("title", c.id);
      c.question = entry.value("question", "");
      c.test = entry.at("test").get<std::string>();
      for (const auto& m : modules_) {
        if (m.checkpoint == c.id) c.module = m.dir;
      }
      checkpoints_.push_back(std::move(c));
    }
    sort_by_module(checkpoints_);
  } catch (const json::exception& e) {
    checkpoints_error_ = fmt::format("{}: {}", file.string(), e.what());
  } catch (const std::invalid_argument& e) {
    checkpoints_error_ = fmt::format("{}: {}", file.string(), e.what());
  } catch (const TitoError& e) {
    checkpoints_error_ = e.what();
  }
}

const ModuleInfo& Course::resolve_module(std::string_view text) const {
  static const std::regex number_pattern("^[0-9]{1,3}$");
  const std::string arg(text);
  const ModuleInfo* found = nullptr;
  if (std::regex_match(arg, number_pattern)) {
    const int number = std::stoi(arg);
    for (const auto& m : modules_) {
      if (m.number == number) found = &m;
    }
  } else {
    found = find_module(arg);
    for (const auto& m : modules_) {
      if (found == nullptr && m.name == arg) found = &m;  // "tensor", as module.json names it
    }
  }
  if (found == nullptr) {
    throw UsageError(
        fmt::format("'{}' is not a module. Valid modules (number, name or folder name): {}", arg,
                    valid_modules_text()));
  }
  return *found;
}

const ModuleInfo* Course::find_module(std::string_view dir) const {
  const auto it = std::find_if(modules_.begin(), modules_.end(),
                               [&](const ModuleInfo& m) { return m.dir == dir; });
  return it == modules_.end() ? nullptr : &*it;
}

std::string Course::valid_modules_text() const {
  std::vector<std::string> names;
  for (const auto& m : modules_) names.push_back(fmt::format("{} ({})", m.number_text(), m.dir));
  return fmt::format("{}", fmt::join(names, ", "));
}

std::vector<fs::path> Course::visible_test_sources(const ModuleInfo& m) const {
  return glob_cpp(module_dir(m) / "tests");
}

std::vector<fs::path> Course::hidden_test_sources(const ModuleInfo& m) const {
  return glob_cpp(root_ / "tests" / m.dir);
}

const std::vector<CheckpointInfo>& Course::checkpoints() const {
  if (checkpoints_error_) throw TitoError(*checkpoints_error_);
  return checkpoints_;
}

const CheckpointInfo* Course::find_checkpoint(std::string_view id) const {
  const auto it = std::find_if(checkpoints_.begin(), checkpoints_.end(),
                               [&](const CheckpointInfo& c) { return c.id == id; });
  return it == checkpoints_.end() ? nullptr : &*it;
}

const CheckpointInfo& Course::resolve_checkpoint(std::string_view text) const {
  const auto& all = checkpoints();
  if (const CheckpointInfo* by_id = find_checkpoint(text)) return *by_id;
  const ModuleInfo* module = nullptr;
  try {
    module = &resolve_module(text);
  } catch (const UsageError&) {
    std::vector<std::string> ids;
    for (const auto& c : all) ids.push_back(c.id);
    throw UsageError(fmt::format("'{}' is neither a checkpoint id ({}) nor a module ({})", text,
                                 fmt::join(ids, ", "), valid_modules_text()));
  }
  if (!module->checkpoint) {
    throw UsageError(fmt::format("module {} names no checkpoint in its module.json", module->dir));
  }
  const CheckpointInfo* c = find_checkpoint(*module->checkpoint);
  if (c == nullptr) {
    throw TitoError(fmt::format("module {} names checkpoint '{}', which {} does not define",
                                module->dir, *module->checkpoint, checkpoints_file().string()));
  }
  return *c;
}

double GradingSettings::points_for(const std::string& test) const {
  if (const auto it = test_points.find(test); it != test_points.end()) return it->second;
  const std::string suite = test.substr(0, test.find('.'));
  if (const auto it = suite_points.find(suite); it != suite_points.end()) return it->second;
  return default_points;
}

}  // namespace tito
