// `tito system info` and `tito system doctor`: what this machine is, and whether it can build the
// course.
#include <fmt/core.h>
#include <sys/utsname.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "core/context.hpp"
#include "core/datasets.hpp"
#include "core/json_file.hpp"
#include "core/runner.hpp"

namespace tito {

namespace {

using nlohmann::json;

struct Check {
  std::string name;
  Tone level;          // ok, warn or fail
  std::string detail;  // what was found
  std::string fix;     // what to do (empty when ok)
};

/// First line of a tool's output, or nullopt when it is missing or fails.
std::optional<std::string> tool_output(const std::vector<std::string>& argv) {
  try {
    ProcessOptions options;
    options.timeout = std::chrono::seconds(30);
    const ProcessResult r = run_process(argv, options);
    if (!r.ok()) return std::nullopt;
    return r.output;
  } catch (const TitoError&) {
    return std::nullopt;  // not in PATH
  }
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

/// {major, minor} of the first "N.N" in the text.
std::optional<std::pair<int, int>> version_of(const std::string& text) {
  static const std::regex pattern(R"((\d+)\.(\d+))");
  std::smatch m;
  if (!std::regex_search(text, m, pattern)) return std::nullopt;
  return std::pair{std::stoi(m[1].str()), std::stoi(m[2].str())};
}

std::string os_name() {
  std::ifstream release("/etc/os-release");
  for (std::string line; std::getline(release, line);) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string value = line.substr(12);
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
      return value;
    }
  }
  return "unknown";
}

std::string kernel_name() {
  utsname u{};
  if (::uname(&u) != 0) return "unknown";
  return fmt::format("{} {} {}", u.sysname, u.release, u.machine);
}

int cores() {
  return std::max(1u, std::thread::hardware_concurrency());
}

Check tool_check(const std::string& name, const std::vector<std::string>& argv, int major,
                 int minor, const std::string& install) {
  const auto out = tool_output(argv);
  if (!out) return {name, Tone::fail, fmt::format("{} not found in PATH", argv.front()), install};
  const auto v = version_of(*out);
  const std::string found = first_line(*out);
  if (major == 0) return {name, Tone::ok, found, ""};
  if (!v || *v < std::pair{major, minor}) {
    return {name, Tone::fail, fmt::format("{} (need >= {}.{})", found, major, minor), install};
  }
  return {name, Tone::ok, fmt::format("{} (need >= {}.{})", found, major, minor), ""};
}

/// The compiler's #include <...> search path.
std::vector<fs::path> include_dirs() {
  try {
    ProcessOptions options;
    options.timeout = std::chrono::seconds(30);
    const ProcessResult r = run_process({"g++", "-E", "-x", "c++", "-v", "/dev/null"}, options);
    std::vector<fs::path> dirs;
    std::istringstream lines(r.output);
    bool inside = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("#include <...>", 0) == 0)
        inside = true;
      else if (line.rfind("End of search list", 0) == 0)
        inside = false;
      else if (inside && !line.empty())
        dirs.emplace_back(line.substr(line.find_first_not_of(' ')));
    }
    return dirs;
  } catch (const TitoError&) {
    return {};
  }
}

/// Asks CMake itself which packages find_package() finds: the same search the course build does.
// Found through pkg-config, as CMakeLists.txt finds them (Debian ships no CMake config for them).
const std::map<std::string, std::string> kPkgConfigModules = {{"LAPACKE", "lapacke"},
                                                              {"HTTPLIB", "cpp-httplib"}};

std::map<std::string, std::string> cmake_packages(const std::vector<std::string>& packages) {
  std::map<std::string, std::string> found;
  std::string pattern = (fs::temp_directory_path() / "tito-doctor-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return found;
  const fs::path dir = pattern;
  {
    std::ofstream lists(dir / "CMakeLists.txt");
    lists << "cmake_minimum_required(VERSION 3.25)\nproject(tito_doctor LANGUAGES CXX)\n"
          << "find_package(PkgConfig QUIET)\n";
    for (const auto& p : packages) {
      if (const auto module = kPkgConfigModules.find(p); module != kPkgConfigModules.end()) {
        lists << "if(PkgConfig_FOUND)\n  pkg_check_modules(" << p << " QUIET " << module->second
              << ")\nendif()\nmessage(STATUS \"TITO|" << p << "|${" << p << "_FOUND}|pkg-config "
              << module->second << " ${" << p << "_VERSION}\")\n";
        continue;
      }
      // FindZLIB.cmake and FindCURL.cmake (Debian's libcurl ships no config file); the others do.
      const bool module_mode = p == "ZLIB" || p == "CURL";
      lists << "find_package(" << p << (module_mode ? " QUIET)\n" : " CONFIG QUIET)\n")
            << "message(STATUS \"TITO|" << p << "|${" << p << "_FOUND}|"
            << (module_mode ? "${" + p + "_INCLUDE_DIRS}" : "${" + p + "_DIR}") << "\")\n";
    }
  }
  ProcessOptions options;
  options.timeout = std::chrono::seconds(120);
  try {
    const ProcessResult r =
        run_process({"cmake", "-S", dir.string(), "-B", (dir / "build").string()}, options);
    static const std::regex line(R"(-- TITO\|([^|]+)\|(1|TRUE|ON)\|(.*))");
    std::istringstream lines(r.output);
    for (std::string l; std::getline(lines, l);) {
      std::smatch m;
      if (std::regex_search(l, m, line)) found[m[1].str()] = m[3].str();
    }
  } catch (const TitoError&) {
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return found;
}

std::vector<Check> dependency_checks() {
  struct Dependency {
    std::string package, header, apt;
  };
  const std::vector<Dependency> deps = {
      {"CLI11", "CLI/CLI.hpp", "libcli11-dev"},
      {"fmt", "fmt/core.h", "libfmt-dev"},
      {"nlohmann_json", "nlohmann/json.hpp", "nlohmann-json3-dev"},
      {"GTest", "gtest/gtest.h", "libgtest-dev"},
      {"OpenBLAS", "cblas.h", "libopenblas-dev"},
      {"ZLIB", "zlib.h", "zlib1g-dev"},
      {"CURL", "curl/curl.h", "libcurl4-openssl-dev"},
      {"LAPACKE", "lapacke.h", "liblapacke-dev"},       // module 18's low-rank factorisation
      {"HTTPLIB", "httplib.h", "libcpp-httplib-dev"}};  // module 20's HTTP layer
  std::vector<std::string> names;
  for (const auto& d : deps) names.push_back(d.package);
  const auto packages = cmake_packages(names);
  const auto dirs = include_dirs();
  std::vector<Check> checks;
  for (const auto& d : deps) {
    const auto header = std::find_if(
        dirs.begin(), dirs.end(), [&](const fs::path& dir) { return fs::exists(dir / d.header); });
    const auto package = packages.find(d.package);
    const std::string fix = fmt::format("apt-get install {}", d.apt);
    if (package == packages.end()) {
      checks.push_back(
          {d.package, Tone::fail, "CMake does not find it (find_package or pkg-config)", fix});
    } else if (header == dirs.end()) {
      checks.push_back({d.package, Tone::fail,
                        fmt::format("<{}> not in the compiler's include path", d.header), fix});
    } else {
      checks.push_back(
          {d.package, Tone::ok,
           fmt::format("{} (package: {})", (*header / d.header).string(), package->second), ""});
    }
  }
  return checks;
}

Check threads_check() {
  for (const char* var : {"TINYTORCH_NUM_THREADS", "OPENBLAS_NUM_THREADS"}) {
    const char* value = std::getenv(var);
    if (value == nullptr || *value == '\0') continue;
    char* end = nullptr;
    const long n = std::strtol(value, &end, 10);
    if (*end != '\0' || n < 1) {
      return {"threads", Tone::fail, fmt::format("{}={} is not a positive integer", var, value),
              fmt::format("unset {} or set it to a number from 1 to {}", var, cores())};
    }
    if (n > cores()) {
      return {"threads", Tone::warn,
              fmt::format("{}={} but this machine has {} cores", var, n, cores()),
              fmt::format("set {} to at most {}", var, cores())};
    }
    return {"threads", Tone::ok, fmt::format("{} BLAS/framework threads (from {})", n, var), ""};
  }
  return {"threads", Tone::ok,
          fmt::format("{} BLAS/framework threads (one per core; set "
                      "TINYTORCH_NUM_THREADS to change)",
                      cores()),
          ""};
}

/// One check per data set of the registry (datasets/datasets.json), as `tito data verify` sees it.
Check dataset_check(const DatasetInfo& d, const DatasetCheck& check) {
  const std::string name = "data: " + d.id;
  const int n = static_cast<int>(check.files.size());
  const std::string fetch = fmt::format("tito data fetch {}", d.id);
  if (check.official()) {
    return {name, Tone::ok, fmt::format("{}/{} files match the pinned SHA-256", n, n), ""};
  }
  if (check.count(FileState::missing) == n) {
    return {name, Tone::warn, fmt::format("not in {}", check.folder.string()), fetch};
  }
  for (const auto& f : check.files) {
    if (!check.usable() && (f.state == FileState::missing || f.state == FileState::truncated ||
                            f.state == FileState::different)) {
      return {name, Tone::fail, f.detail, fetch + " (or replace the file by hand)"};
    }
  }
  for (const auto& f : check.files) {
    if (f.state == FileState::known_copy) {
      return {name, Tone::warn, "usable, but NOT the official files: " + f.detail,
              fetch + " where a network allows (tito data verify says more)"};
    }
  }
  return {name, Tone::warn, "usable, but not verifiable: no official SHA-256 pinned for its files",
          "tito data verify " + d.id};
}

std::vector<Check> data_checks(Context& ctx) {
  const Course* course = ctx.try_course();
  if (course == nullptr) return {};  // the registry is part of the course
  DatasetRegistry registry;
  try {
    registry = load_dataset_registry(registry_path(course->root()));
  } catch (const TitoError& e) {
    return {{"data sets", Tone::fail, e.what(), "restore datasets/datasets.json from the course"}};
  }
  const auto dir = ctx.data_dir();
  std::vector<Check> checks;
  if (!dir) {
    checks.push_back({"data", Tone::warn, "no data folder (TINYTORCH_DATA unset, no <root>/data)",
                      "tito data fetch, or set TINYTORCH_DATA / --data-dir (see tito data path)"});
  } else if (!fs::is_directory(*dir)) {
    checks.push_back({"data", Tone::fail, fmt::format("{} is not a directory", dir->string()),
                      "create it or point TINYTORCH_DATA / --data-dir at your data sets"});
  } else {
    checks.push_back({"data", Tone::ok, dir->string(), ""});
  }
  for (const auto& d : registry.datasets) {
    if (d.embedded.empty() && (!dir || !fs::is_directory(*dir))) continue;
    checks.push_back(
        dataset_check(d, verify_dataset(d, dataset_folder(d, dir.value_or(""), course->root()))));
  }
  return checks;
}

std::vector<Check> course_checks(Context& ctx) {
  if (const Course* course = ctx.try_course()) {
    std::vector<Check> checks = {
        {"course", Tone::ok,
         fmt::format("{} ({} modules)", course->root().string(), course->modules().size()), ""}};
    if (!course->has_checkpoints()) {
      try {
        (void)course->checkpoints();
      } catch (const TitoError& e) {
        checks.push_back(
            {"checkpoints", Tone::warn, e.what(), "checkpoint commands are unavailable"});
      }
    }
    return checks;
  }
  try {
    (void)ctx.course();
  } catch (const TitoError& e) {
    return {{"course", Tone::warn, e.what(), "run tito inside the course or pass --root DIR"}};
  }
  return {};
}

/// The student's own module 01 report, as the environment checkpoint (a program linked against
/// their library) left it in .tito/system_report.json; nullopt before that has run.
struct StudentReport {
  std::string report;                 // format_system_info(system_info())
  std::vector<std::string> problems;  // environment_problems(system_info())
  std::string written_at;
};

std::optional<StudentReport> student_report(Context& ctx) {
  const Course* course = ctx.try_course();
  if (course == nullptr) return std::nullopt;
  const fs::path file = course->state_dir() / "system_report.json";
  if (!fs::exists(file)) return std::nullopt;
  try {
    const json doc = read_json_file(file);
    StudentReport r{doc.at("report").get<std::string>(),
                    doc.at("problems").get<std::vector<std::string>>(), ""};
    const auto written = fs::last_write_time(file);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::file_clock::to_sys(written).time_since_epoch());
    const std::time_t when = seconds.count();
    std::tm local{};
    char text[64] = "";
    if (localtime_r(&when, &local) != nullptr) {
      r.written_at =
          std::string(text, std::strftime(text, sizeof text, "%Y-%m-%d %H:%M %Z", &local));
    }
    return r;
  } catch (const std::exception& e) {
    ctx.ui().warning(
        fmt::format("{}: not a report written by the environment checkpoint ({}); "
                    "`tito checkpoint test environment` writes it again",
                    file.string(), e.what()));
    return std::nullopt;
  }
}

/// Where the report comes from, for the line that says it is not there yet.
std::string report_hint(Context& ctx) {
  const Course* course = ctx.try_course();
  const CheckpointInfo* c = course != nullptr && course->has_checkpoints()
                                ? course->find_checkpoint("environment")
                                : nullptr;
  if (c == nullptr || !c->module) return "";
  return fmt::format(
      "`tito module complete {}` runs the environment checkpoint, linked against your "
      "library",
      c->module->substr(0, 2));
}

std::vector<Check> student_report_checks(Context& ctx) {
  const auto r = student_report(ctx);
  if (!r) return {};
  if (r->problems.empty()) {
    return {{"your library", Tone::ok,
             "your environment_problems() finds nothing (" + r->written_at + ")", ""}};
  }
  std::vector<Check> checks;
  for (const auto& problem : r->problems) {
    checks.push_back({"your library", Tone::fail, problem,
                      "your environment_problems() says so (" + r->written_at + ")"});
  }
  return checks;
}

int doctor(Context& ctx) {
  std::vector<Check> checks = {
      tool_check("g++", {"g++", "-dumpfullversion"}, 12, 0,
                 "apt-get install g++ (GCC 12 or newer)"),
      tool_check("cmake", {"cmake", "--version"}, 3, 25, "apt-get install cmake (3.25 or newer)"),
      tool_check("ninja", {"ninja", "--version"}, 0, 0, "apt-get install ninja-build")};
  for (auto&& group : {dependency_checks(), std::vector<Check>{threads_check()}, course_checks(ctx),
                       data_checks(ctx), student_report_checks(ctx)}) {
    checks.insert(checks.end(), group.begin(), group.end());
  }
  const auto failures = std::count_if(checks.begin(), checks.end(),
                                      [](const Check& c) { return c.level == Tone::fail; });
  const Ui& ui = ctx.ui();
  if (ui.json()) {
    json list = json::array();
    for (const auto& c : checks) {
      const char* level = c.level == Tone::ok ? "ok" : c.level == Tone::warn ? "warn" : "fail";
      list.push_back({{"name", c.name}, {"status", level}, {"detail", c.detail}, {"fix", c.fix}});
    }
    ctx.emit({{"ok", failures == 0}, {"failures", failures}, {"checks", list}});
  } else {
    ui.heading("tito system doctor");
    for (const auto& c : checks) {
      ui.check(c.level,
               fmt::format("{:<16} {}{}", c.name, c.detail, c.fix.empty() ? "" : " -> " + c.fix));
    }
    ui.line(failures == 0 ? ui.paint("All required checks passed.", Tone::ok)
                          : ui.paint(fmt::format("{} check(s) failed.", failures), Tone::fail));
  }
  return failures == 0 ? kExitOk : kExitFailure;
}

int info(Context& ctx) {
  const auto compiler = tool_output({"g++", "--version"});
  const auto cmake = tool_output({"cmake", "--version"});
  const Course* course = ctx.try_course();
  const auto data = ctx.data_dir();
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"tito", TITO_VERSION},
      {"compiler", compiler ? first_line(*compiler) : "g++ not found in PATH"},
      {"cmake", cmake ? first_line(*cmake) : "cmake not found in PATH"},
      {"os", os_name()},
      {"kernel", kernel_name()},
      {"cores", std::to_string(cores())},
      {"course root", course != nullptr ? course->root().string() : "(not inside a course)"},
      {"data dir", data ? data->string() : "(none: set TINYTORCH_DATA or --data-dir)"}};
  if (ctx.ui().json()) {
    json doc = json::object();
    for (const auto& [key, value] : rows) doc[key] = value;
    doc["cores"] = cores();
    doc["course root"] = course != nullptr ? json(course->root().string()) : json(nullptr);
    doc["data dir"] = data ? json(data->string()) : json(nullptr);
    const auto mine = student_report(ctx);
    doc["your report"] = mine ? json{{"report", mine->report},
                                     {"problems", mine->problems},
                                     {"written_at", mine->written_at}}
                              : json(nullptr);
    ctx.emit(doc);
    return kExitOk;
  }
  const Ui& ui = ctx.ui();
  Table table({"", ""});
  for (const auto& [key, value] : rows) table.add_row({Cell(key, Tone::bold), value});
  table.print(ui);
  ui.line();
  if (const auto mine = student_report(ctx)) {
    ui.heading(fmt::format("Your library's report: format_system_info(system_info()), {}",
                           mine->written_at));
    std::istringstream lines(mine->report);
    for (std::string line; std::getline(lines, line);) ui.line("  " + line);
    for (const auto& problem : mine->problems) ui.check(Tone::fail, problem);
  } else if (const std::string hint = report_hint(ctx); !hint.empty()) {
    ui.line(
        ui.paint(fmt::format("Your own format_system_info() report appears here once {}.", hint),
                 Tone::dim));
  }
  return kExitOk;
}

/// Every command path ("data fetch", "module test", ...) under `app`, from CLI11's own tree.
void command_paths(const CLI::App& app, const std::string& prefix, std::vector<std::string>& out) {
  for (const CLI::App* sub : app.get_subcommands({})) {
    const std::string path = prefix.empty() ? sub->get_name() : prefix + " " + sub->get_name();
    out.push_back(path);
    command_paths(*sub, path, out);
  }
}

int list_commands(Context& ctx, const CLI::App& root) {
  std::vector<std::string> paths;
  command_paths(root, "", paths);
  if (ctx.ui().json()) {
    ctx.emit({{"ok", true}, {"commands", paths}});
  } else {
    for (const auto& p : paths) ctx.ui().line("tito " + p);
  }
  return kExitOk;
}

void install(CLI::App& app, Commands& commands) {
  CLI::App* system = app.add_subcommand("system", "This machine: toolchain, dependencies, data");
  system->require_subcommand(1);
  commands.add(system->add_subcommand("info", "Compiler, CMake, OS, cores, course root, data dir"),
               info);
  commands.add(system->add_subcommand(
                   "doctor", "Check everything the course needs; exit 1 if any check fails"),
               doctor);
  const CLI::App* root = &app;
  commands.add(system->add_subcommand(
                   "commands", "Every tito command, one a line (for scripts and shell completion)"),
               [root](Context& c) { return list_commands(c, *root); });
}

const bool registered = register_group({10, install});

}  // namespace

}  // namespace tito
