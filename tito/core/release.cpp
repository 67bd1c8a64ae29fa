#include "core/release.hpp"

#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/errors.hpp"
#include "core/progress.hpp"
#include "core/runner.hpp"

namespace tito {

namespace {

using nlohmann::json;

constexpr const char* kMarker = ".tinytorch-release";

// Top-level entries that ship. Everything else stays with the instructor.
const std::set<std::string> kShippedDirs = {"modules", "tito",    "checkpoints", "milestones",
                                            "kernels", "core",    "bench",       "cmake",
                                            "scripts", "datasets"};
const std::set<std::string> kShippedFiles = {"CMakeLists.txt", "CMakePresets.json", "README.md",
                                             ".clang-format",  ".clang-tidy",       ".gitignore"};
// Instructor-only scripts: they need solutions/ or the hidden suites.
const std::set<std::string> kInstructorScripts = {"scripts/test-all", "scripts/check-hidden-suites",
                                                  "scripts/quickstart", "scripts/mutants",
                                                  "scripts/readme-commands"};
// tito's instructor wing (grading, release): a student's tito is built without it (its CMake
// condition is this folder), which makes the student's first build shorter.
const std::set<std::string> kInstructorTito = {"tito/commands/grade.cpp",
                                               "tito/commands/release.cpp", "tito/core/release.cpp",
                                               "tito/core/release.hpp"};
// The release's README.md: written for students (install, build, the module loop, milestones,
// help); scripts/checks.d/release runs its commands. The course's README.md is the instructor's.
constexpr const char* kStudentReadme = "grading/student-README.md";

void write_text(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw TitoError(fmt::format("cannot write {}", file.string()));
}

bool is_hidden_suite_dir(const std::string& name) {
  return name.size() > 3 && std::isdigit(static_cast<unsigned char>(name[0])) &&
         std::isdigit(static_cast<unsigned char>(name[1])) && name[2] == '_';
}

/// The course's files, relative to the root: git's view (tracked plus untracked-not-ignored) when
/// the course is a git work tree, else a walk that skips build output and state.
std::vector<std::string> course_files(const fs::path& root, const fs::path& out) {
  std::vector<std::string> files;
  ProcessOptions po;
  po.cwd = root;
  po.stdio = Stdio::stdout_only;
  po.timeout = std::chrono::seconds(120);
  bool from_git = false;
  if (fs::exists(root / ".git")) {
    try {
      const ProcessResult r =
          run_process({"git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"}, po);
      if (r.ok()) {
        from_git = true;
        std::size_t begin = 0;
        for (std::size_t end; (end = r.output.find('\0', begin)) != std::string::npos;
             begin = end + 1) {
          files.push_back(r.output.substr(begin, end - begin));
        }
      }
    } catch (const TitoError&) {
      // no git: walk instead
    }
  }
  if (!from_git) {
    const std::set<std::string> skip = {".git", "build", ".tito", "release", "out"};
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      const std::string name = it->path().filename().string();
      if (it->is_directory() && (skip.count(name) > 0 || name.rfind("build-", 0) == 0 ||
                                 name.rfind("cmake-build", 0) == 0 || it->path() == out)) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) files.push_back(it->path().lexically_relative(root).string());
    }
  }
  std::error_code ec;
  files.erase(std::remove_if(files.begin(), files.end(),
                             [&](const std::string& f) {
                               return !fs::is_regular_file(root / f, ec) ||
                                      fs::path(root / f).lexically_normal().string().rfind(
                                          out.string() + "/", 0) == 0;
                             }),
              files.end());
  std::sort(files.begin(), files.end());
  return files;
}

bool ships(const std::string& rel) {
  const fs::path p(rel);
  const std::string first = p.begin()->string();
  if (p.has_parent_path()) {
    if (kShippedDirs.count(first) == 0) return false;
    if (kInstructorScripts.count(rel) > 0 || kInstructorTito.count(rel) > 0) return false;
    if (rel.rfind("tito/grading/", 0) == 0) return false;
    if (rel.rfind("scripts/checks.d/", 0) == 0) return false;
    return true;
  }
  return kShippedFiles.count(rel) > 0;
}

/// Presets without "reference" (a release has no solutions/: such a preset would build the stubs
/// under a name that promises the answers) and without anything that refers to it: presets that
/// inherit it (asan, tsan, fuzz), directly or not, and the build and test presets of any of those.
std::string student_presets(const std::string& text) {
  json doc = json::parse(text);
  std::set<std::string> dropped = {"reference"};
  const auto refers = [&](const json& preset) {
    const json inherits = preset.value("inherits", json());
    const auto names_dropped = [&](const json& name) {
      return name.is_string() && dropped.count(name.get<std::string>()) > 0;
    };
    return names_dropped(preset.value("name", json())) ||
           names_dropped(preset.value("configurePreset", json())) || names_dropped(inherits) ||
           (inherits.is_array() && std::any_of(inherits.begin(), inherits.end(), names_dropped));
  };
  if (doc.contains("configurePresets")) {  // to a fixed point: a preset may come before its parent
    for (std::size_t before = 0; before != dropped.size();) {
      before = dropped.size();
      for (const auto& preset : doc["configurePresets"]) {
        if (refers(preset)) dropped.insert(preset.value("name", ""));
      }
    }
  }
  for (const char* kind :
       {"configurePresets", "buildPresets", "testPresets", "packagePresets", "workflowPresets"}) {
    if (!doc.contains(kind)) continue;
    json kept = json::array();
    for (const auto& preset : doc[kind]) {
      if (!refers(preset)) kept.push_back(preset);
    }
    doc[kind] = kept;
  }
  return doc.dump(2) + "\n";
}

/// The README without its instructor sections ("## Instructor ..." up to the next "## ") and
/// without lines about instructor-only folders.
std::string student_readme(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  std::string line;
  bool dropping = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      dropping = line.find("Instructor") != std::string::npos ||
                 line.find("instructor") != std::string::npos;
    }
    if (dropping) continue;
    if (line.find("instructor copy only") != std::string::npos) continue;
    out += line + "\n";
  }
  return out;
}

// ---- the leak check -------------------------------------------------------------------------

/// The code of a C++ text with comments removed (string and character literals kept intact).
std::string strip_comments(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  enum { code, line_comment, block_comment, string_lit, char_lit } state = code;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    switch (state) {
      case code:
        if (c == '/' && next == '/') {
          state = line_comment;
          ++i;
        } else if (c == '/' && next == '*') {
          state = block_comment;
          ++i;
          out += ' ';
        } else {
          if (c == '"') state = string_lit;
          if (c == '\'' && !(i > 0 && std::isxdigit(static_cast<unsigned char>(text[i - 1])))) {
            state = char_lit;  // not a digit separator (1'000)
          }
          out += c;
        }
        break;
      case line_comment:
        if (c == '\n') {
          state = code;
          out += c;
        }
        break;
      case block_comment:
        if (c == '*' && next == '/') {
          state = code;
          ++i;
        } else if (c == '\n') {
          out += c;  // keep line numbers
        }
        break;
      case string_lit:
      case char_lit:
        out += c;
        if (c == '\\' && next != '\0') {
          out += next;
          ++i;
        } else if ((state == string_lit && c == '"') || (state == char_lit && c == '\'') ||
                   c == '\n') {
          state = code;
        }
        break;
    }
  }
  return out;
}

std::string normalise(const std::string& line) {
  std::string out;
  bool space = false;
  for (const char c : line) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

/// Long enough to be someone's answer rather than shared boilerplate.
bool non_trivial(const std::string& line) {
  if (line.size() < 16 || line[0] == '#') return false;
  return std::any_of(line.begin(), line.end(),
                     [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

struct Body {
  std::string where;                               // "solutions/01_setup/setup.cpp:52"
  std::vector<std::pair<int, std::string>> lines;  // line number, normalised non-trivial code
};

/// The bodies of a file's functions (and of any other braces not belonging to a namespace):
/// each top-level such block with its inner lines.
std::vector<Body> bodies(const std::string& rel, const std::string& text) {
  const std::string code = strip_comments(text);
  std::vector<Body> out;
  std::vector<bool> stack;  // true: a namespace / extern block
  std::string statement;    // text since the last ; { or } at this level
  int line = 1;
  std::string current;
  int body_depth = -1;  // stack size when the current body opened
  Body body;
  auto flush_line = [&] {
    if (body_depth >= 0) {
      const std::string n = normalise(current);
      if (non_trivial(n)) body.lines.emplace_back(line, n);
    }
    current.clear();
  };
  for (std::size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c == '\n') {
      flush_line();
      ++line;
      statement += ' ';
      continue;
    }
    if (c == '{') {
      const std::string head = normalise(statement);
      const bool ns =
          body_depth < 0 &&
          (head.rfind("namespace", 0) == 0 || head.find(" namespace") != std::string::npos ||
           head.rfind("extern", 0) == 0 || (head.empty() && stack.empty()));
      if (body_depth < 0 && !ns) {
        body = Body{};
        body.where = fmt::format("{}:{} ({})", rel, line, head.substr(0, 60));
        body_depth = static_cast<int>(stack.size());
      }
      stack.push_back(ns);
      statement.clear();
      if (body_depth >= 0 && static_cast<int>(stack.size()) > body_depth + 1) current += c;
      continue;
    }
    if (c == '}') {
      if (!stack.empty()) stack.pop_back();
      if (body_depth >= 0 && static_cast<int>(stack.size()) == body_depth) {
        flush_line();
        if (!body.lines.empty()) out.push_back(body);
        body_depth = -1;
      } else if (body_depth >= 0) {
        current += c;
      }
      statement.clear();
      continue;
    }
    if (c == ';')
      statement.clear();
    else
      statement += c;
    if (body_depth >= 0) current += c;
  }
  return out;
}

bool looks_binary(const std::string& text) {
  return text.find('\0') != std::string::npos;
}

/// Every released line, as code, as comment text, and (in Markdown) every inline code span.
std::map<std::string, std::set<std::string>> release_index(const fs::path& out,
                                                           const std::vector<std::string>& files) {
  std::map<std::string, std::set<std::string>> index;  // normalised line -> released files
  for (const auto& rel : files) {
    const std::string text = read_file_text(out / rel);
    if (looks_binary(text)) continue;
    std::istringstream in(text);
    std::string raw;
    while (std::getline(in, raw)) {
      std::vector<std::string> variants = {normalise(raw), normalise(strip_comments(raw))};
      std::string t = normalise(raw);
      for (const std::string marker : {"///", "//", "/*", "*", "#", ">", "-"}) {
        if (t.rfind(marker, 0) == 0) t = normalise(t.substr(marker.size()));
      }
      variants.push_back(t);
      const std::size_t comment = raw.find("//");
      if (comment != std::string::npos) variants.push_back(normalise(raw.substr(comment + 2)));
      for (std::size_t a = raw.find('`'); a != std::string::npos; a = raw.find('`', a + 1)) {
        const std::size_t b = raw.find('`', a + 1);
        if (b == std::string::npos) break;
        variants.push_back(normalise(raw.substr(a + 1, b - a - 1)));
        a = b;
      }
      for (const auto& v : variants) {
        if (non_trivial(v)) index[v].insert(rel);
      }
    }
  }
  return index;
}

struct Allowed {
  std::string solution;
  std::string released;
  std::string reason;
};

/// grading/release-allow.json: {"allow": [{"solution", "released", "reason"}]}: overlaps an
/// instructor reviewed and accepted (framework code that must ship and resembles an answer).
std::vector<Allowed> read_allow_list(const fs::path& root) {
  std::vector<Allowed> out;
  const fs::path file = root / "grading" / "release-allow.json";
  if (!fs::exists(file)) return out;
  try {
    const json doc = json::parse(read_file_text(file));
    for (const auto& a : doc.at("allow")) {
      out.push_back({a.at("solution").get<std::string>(), a.at("released").get<std::string>(),
                     a.at("reason").get<std::string>()});
      if (out.back().reason.empty()) throw TitoError("an entry has an empty reason");
    }
  } catch (const std::exception& e) {
    throw TitoError(fmt::format("{}: {}", file.string(), e.what()));
  }
  return out;
}

std::vector<std::string> released_files(const fs::path& out) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (entry.is_regular_file()) files.push_back(entry.path().lexically_relative(out).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// A hidden folder beside `out` for this process: ".<name>.tito-<what>-<pid>".
fs::path sibling(const fs::path& out, const std::string& what) {
  return out.parent_path() /
         fmt::format(".{}.tito-{}-{}", out.filename().string(), what, ::getpid());
}

/// Copies the shipped files among `files` into `dir` (the presets and README rewritten for
/// students).
ReleaseReport write_release_files(const fs::path& root, const std::vector<std::string>& files,
                                  const fs::path& dir) {
  ReleaseReport report;
  std::set<std::string> skipped;
  for (const auto& rel : files) {
    if (!ships(rel)) {
      const std::string first = fs::path(rel).begin()->string();
      skipped.insert(rel.rfind("tito/grading/", 0) == 0 ? "tito/grading/"
                     : kShippedDirs.count(first) > 0    ? rel
                                                        : first);
      continue;
    }
    const fs::path target = dir / rel;
    fs::create_directories(target.parent_path());
    if (rel == "CMakePresets.json") {
      write_text(target, student_presets(read_file_text(root / rel)));
    } else if (rel == "README.md") {
      write_text(target, fs::exists(root / kStudentReadme)
                             ? read_file_text(root / kStudentReadme)
                             : student_readme(read_file_text(root / rel)));
    } else {
      fs::copy_file(root / rel, target, fs::copy_options::overwrite_existing);
    }
    report.files.push_back(rel);
  }
  // GitHub Classroom runs the visible tests on every push (grading/github-classroom/).
  const fs::path classroom = root / "grading" / "github-classroom" / "classroom.yml";
  if (fs::exists(classroom)) {
    const std::string rel = ".github/workflows/classroom.yml";
    fs::create_directories((dir / rel).parent_path());
    fs::copy_file(classroom, dir / rel, fs::copy_options::overwrite_existing);
    report.files.push_back(rel);
  }
  write_text(dir / kMarker,
             "A student release of the TinyTorch C++ course, made by `tito release`.\n"
             "It holds no solutions and no hidden grading suites.\n");
  report.skipped.assign(skipped.begin(), skipped.end());
  return report;
}

}  // namespace

ReleaseReport make_release(const fs::path& course_root, const fs::path& out_arg, bool force) {
  const fs::path root = fs::absolute(course_root).lexically_normal();
  const fs::path out = fs::absolute(out_arg).lexically_normal();
  if (root == out || root.string().rfind(out.string() + "/", 0) == 0) {
    throw UsageError(fmt::format("--out {} would contain the course itself", out.string()));
  }
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_empty(out, ec)) {
    if (!fs::exists(out / kMarker, ec)) {
      throw TitoError(fmt::format(
          "--out {} exists and is not an earlier release (no {}): choose an empty folder",
          out.string(), kMarker));
    }
    if (!force) {
      throw TitoError(fmt::format("--out {} holds an earlier release: add --force to replace it",
                                  out.string()));
    }
  }
  // Written into a staging folder beside --out and swapped in only when complete: a full disk or a
  // kill half-way leaves the previous release as it was, never half of each.
  const std::vector<std::string> files = course_files(root, out);
  const fs::path staging = sibling(out, "staging");
  ReleaseReport report;
  try {
    fs::remove_all(staging);
    fs::create_directories(staging);
    report = write_release_files(root, files, staging);
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw TitoError(
        fmt::format("the release was not written ({} is unchanged): {}", out.string(), e.what()));
  }
  if (fs::exists(out)) {
    const fs::path old = sibling(out, "old");
    fs::rename(out, old);
    fs::rename(staging, out);
    fs::remove_all(old);
  } else {
    fs::create_directories(out.parent_path());
    fs::rename(staging, out);
  }
  report.out = out;
  return report;
}

std::vector<Leak> check_release(const fs::path& course_root, const fs::path& out_arg) {
  const fs::path root = fs::absolute(course_root).lexically_normal();
  const fs::path out = fs::absolute(out_arg).lexically_normal();
  if (!fs::is_directory(out)) throw UsageError(fmt::format("{}: not a folder", out.string()));
  std::vector<Leak> leaks;
  const std::vector<std::string> files = released_files(out);

  // 1. Folders that must not exist at all.
  for (const auto& rel : files) {
    const fs::path p(rel);
    const std::string first = p.begin()->string();
    const std::string second =
        std::next(p.begin()) != p.end() ? std::next(p.begin())->string() : "";
    if (first == "solutions" || (first == "tests" && is_hidden_suite_dir(second))) {
      leaks.push_back({rel, rel, {}, "an instructor-only folder is in the release", {}});
    }
  }

  // 2. Files identical to a solution or to a hidden suite file.
  std::map<std::string, std::string> secret_files;  // content -> course path
  std::vector<std::string> solution_files;
  for (const char* dir : {"solutions", "tests"}) {
    if (!fs::is_directory(root / dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string rel = entry.path().lexically_relative(root).string();
      const fs::path p(rel);
      if (std::string(dir) == "tests" && !is_hidden_suite_dir(std::next(p.begin())->string())) {
        continue;
      }
      secret_files.emplace(read_file_text(entry.path()), rel);
      if (std::string(dir) == "solutions") solution_files.push_back(rel);
    }
  }
  for (const auto& rel : files) {
    const auto it = secret_files.find(read_file_text(out / rel));
    if (it != secret_files.end()) {
      leaks.push_back({it->second, rel, {}, "the released file is a copy of " + it->second, {}});
    }
  }

  // 3. Solution function bodies, line by line, against each released file.
  const auto index = release_index(out, files);
  const auto allowed = read_allow_list(root);
  std::sort(solution_files.begin(), solution_files.end());
  for (const auto& rel : solution_files) {
    const std::string ext = fs::path(rel).extension().string();
    if (ext != ".cpp" && ext != ".hpp" && ext != ".h" && ext != ".cc") continue;
    const std::string module_dir = "modules/" + std::next(fs::path(rel).begin())->string() + "/";
    for (const auto& body : bodies(rel, read_file_text(root / rel))) {
      std::set<std::string> distinct;
      for (const auto& [n, text] : body.lines) distinct.insert(text);
      std::map<std::string, std::vector<std::string>> per_file;  // released file -> its lines
      for (const auto& text : distinct) {
        const auto it = index.find(text);
        if (it == index.end()) continue;
        for (const auto& file : it->second) per_file[file].push_back(text);
      }
      const std::size_t n = distinct.size();
      for (const auto& [file, found] : per_file) {
        const std::size_t m = found.size();
        // The module's own folder (stub, lesson, visible tests) must not hold any of a short
        // body, nor half of a longer one. Elsewhere a short helper may coincide with framework
        // code; half a body of three or more lines in one file may not.
        const bool own = file.rfind(module_dir, 0) == 0;
        const bool leak =
            own ? (n <= 2 ? m == n : (m >= 2 && 2 * m >= n)) : (n >= 3 && m >= 3 && 2 * m >= n);
        if (!leak) continue;
        Leak l{body.where,
               file,
               found,
               fmt::format("{} of its {} non-trivial lines are in the release", m, n),
               {}};
        for (const auto& a : allowed) {
          if (a.solution == rel && a.released == file) l.allowed = a.reason;
        }
        leaks.push_back(std::move(l));
      }
    }
  }
  return leaks;
}

}  // namespace tito
