#include "core/grader.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/errors.hpp"
#include "core/runner.hpp"
#include "core/sandbox.hpp"

namespace tito {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr double kDefaultTestTimeout = 20;
constexpr double kDefaultSuiteTimeout = 300;
constexpr double kDefaultMemoryMb = 2048;
constexpr std::uintmax_t kMaxStudentFile = std::uintmax_t{4} << 20;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TitoError(fmt::format("cannot read {}", file.string()));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Writes only when the content differs, so ninja sees an unchanged file as unchanged.
void write_if_different(const fs::path& file, const std::string& content) {
  std::error_code ec;
  if (fs::exists(file, ec) && fs::file_size(file, ec) == content.size() &&
      read_text(file) == content) {
    return;
  }
  fs::create_directories(file.parent_path());
  const fs::path temp = file.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) throw TitoError(fmt::format("cannot write {}", temp.string()));
  }
  fs::rename(temp, file);
}

std::string last_lines(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n')) --pos;
  std::size_t count = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++count == lines) break;
    --pos;
  }
  return text.substr(pos);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// ---- module settings from module.json ------------------------------------------------------

struct ModuleSettings {
  double test_timeout_s = kDefaultTestTimeout;
  double suite_timeout_s = kDefaultSuiteTimeout;
  double memory_mb = kDefaultMemoryMb;
  double default_points = 1;
  std::map<std::string, double> test_points;
};

/// module.json "grading": {"test_timeout_s", "suite_timeout_s", "memory_mb",
/// "points": {"default": 1, "tests": {"Suite.Name": 3}}}. A top-level "points" object of the same
/// shape is read too.
ModuleSettings read_settings(const fs::path& module_json, const GradeOptions& options) {
  ModuleSettings s;
  json doc;
  try {
    doc = json::parse(read_text(module_json));
  } catch (const json::exception& e) {
    throw TitoError(fmt::format("{}: not valid JSON: {}", module_json.string(), e.what()));
  }
  try {
    const json grading = doc.value("grading", json::object());
    s.test_timeout_s = grading.value("test_timeout_s", s.test_timeout_s);
    s.suite_timeout_s = grading.value("suite_timeout_s", s.suite_timeout_s);
    s.memory_mb = grading.value("memory_mb", s.memory_mb);
    json points = grading.value("points", json::object());
    if (doc.contains("points") && doc.at("points").is_object()) points = doc.at("points");
    s.default_points = points.value("default", s.default_points);
    for (const auto& [name, value] : points.value("tests", json::object()).items()) {
      s.test_points[name] = value.get<double>();
    }
  } catch (const json::exception& e) {
    throw TitoError(fmt::format("{}: \"grading\": {}", module_json.string(), e.what()));
  }
  if (options.test_timeout_s) s.test_timeout_s = *options.test_timeout_s;
  if (options.suite_timeout_s) s.suite_timeout_s = *options.suite_timeout_s;
  if (options.memory_mb) s.memory_mb = *options.memory_mb;
  return s;
}

// ---- what a submission holds --------------------------------------------------------------

struct Located {
  std::string layout;
  fs::path modules_root;  // for "course" and "modules"
};

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

/// Rejects what would let a file reach outside itself: #include of anything but <system> and
/// "tinytorch/..." headers (an absolute or ../ path could pull in a solution), and any mention of
/// the grader's private variables.
std::optional<std::string> screen_source(const std::string& content, const std::string& shown) {
  static const std::regex include_line(R"(^\s*#\s*(include|include_next|import|embed)\b\s*(.*)$)");
  static const std::regex allowed(
      R"(^(<[A-Za-z0-9_./+-]+>|"tinytorch/[A-Za-z0-9_./-]+")\s*(//.*)?$)");
  std::istringstream in(content);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::smatch m;
    if (std::regex_search(line, m, include_line)) {
      const std::string target = m[2].str();
      if (!std::regex_match(target, allowed) || target.find("..") != std::string::npos ||
          target.find("<//") != std::string::npos || target.rfind("</", 0) == 0) {
        return fmt::format(
            "{}:{}: `{}` is not allowed in a submission: include only <standard headers> and "
            "\"tinytorch/...\" headers",
            shown, number, line);
      }
    }
    if (line.find("TINYTORCH_GRADING") != std::string::npos) {
      return fmt::format("{}:{}: mentions the grader's private variables (TINYTORCH_GRADING_*)",
                         shown, number);
    }
  }
  return std::nullopt;
}

struct StudentFiles {
  std::map<std::string, std::string> content;  // file name -> text
  std::string status;                          // empty, missing_files or rejected
  std::string message;
};

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
      out.status = "rejected";
      out.message = fmt::format(
          "{} is a link (or lies outside the submission): submit the file itself", shown);
      return out;
    }
    if (!fs::is_regular_file(real, ec) || fs::file_size(real, ec) > kMaxStudentFile) {
      out.status = "rejected";
      out.message = fmt::format("{} is not a regular file of at most 4 MiB", shown);
      return out;
    }
    out.content[f] = read_text(real);
    if (auto problem = screen_source(out.content[f], shown)) {
      out.status = "rejected";
      out.message = *problem;
      return out;
    }
  }
  if (!missing.empty()) {
    out.status = "missing_files";
    std::string list;
    for (const auto& f : missing) list += (list.empty() ? "" : ", ") + f;
    out.message = fmt::format("missing from the submission: {}", list);
  }
  return out;
}

// ---- result records (grading/grading_main.cpp) ------------------------------------------------

std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    const char c = text[++i];
    if (c == 'n') {
      out += '\n';
    } else if (c == 'r') {
      out += '\r';
    } else if (c == 't') {
      out += '\t';
    } else if (c == 'x' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

struct Record {
  std::string name;
  std::string status;
  std::string message;
};

/// Scores one test from its sandboxed run: full points only for exactly one PASSED record, carrying
/// the secret, for exactly this test, followed by DONE 1 and a normal exit with status 0.
void judge(TestGrade& t, const SandboxResult& r, const std::string& nonce,
           const ModuleSettings& s) {
  std::vector<Record> results;
  int forged = 0;
  int done_records = 0;
  long done_count = -1;
  const std::string prefix = nonce + " ";
  for (const auto& line : r.records) {
    if (line.rfind(prefix, 0) != 0) {
      ++forged;
      continue;
    }
    const std::string rest = line.substr(prefix.size());
    if (rest.rfind("RESULT ", 0) == 0) {
      std::istringstream fields(rest.substr(7));
      Record rec;
      fields >> rec.name >> rec.status;
      std::string message;
      std::getline(fields, message);
      if (!message.empty() && message.front() == ' ') message.erase(0, 1);
      rec.message = unescape(message);
      results.push_back(std::move(rec));
    } else if (rest.rfind("DONE ", 0) == 0) {
      ++done_records;
      done_count = std::strtol(rest.c_str() + 5, nullptr, 10);
    } else {
      ++forged;
    }
  }
  t.seconds = r.seconds;
  t.points = 0;
  if (r.timed_out) {
    t.status = "timeout";
    t.message = fmt::format("did not finish within {:g} s and was killed", s.test_timeout_s);
  } else if (r.term_signal != 0) {
    t.status = "crashed";
    if (r.term_signal == SIGXCPU) {
      t.message = "used up its CPU time limit and was killed (SIGXCPU)";
    } else if (r.term_signal == SIGXFSZ) {
      t.message = "wrote a file larger than the limit and was killed (SIGXFSZ)";
    } else {
      t.message = "crashed: " + r.describe();
    }
  } else if (results.empty()) {
    t.status = "exited";
    t.message = fmt::format(
        "the test program ended ({}) before the test reported a result: the tested code ended "
        "the process (e.g. exit() or abort-like code)",
        r.describe());
  } else if (results.size() != 1 || results[0].name != t.name || done_records != 1 ||
             done_count != 1) {
    t.status = "invalid";
    t.message = "the test program reported results other than this test's one result";
  } else if (results[0].status == "PASSED") {
    if (r.exit_code == 0) {
      t.status = "passed";
      t.points = t.max_points;
    } else {
      t.status = "failed";
      t.message = fmt::format("the test passed, but the program then {}", r.describe());
    }
  } else if (results[0].status == "FAILED") {
    t.status = "failed";
    t.message = results[0].message.empty() ? "failed" : results[0].message;
    if (t.message.find("bad_alloc") != std::string::npos) {
      t.message += fmt::format("\n(the memory limit is {:g} MiB)", s.memory_mb);
    }
  } else if (results[0].status == "SKIPPED") {
    t.status = "skipped";
    t.message = "the test was skipped";
  } else {
    t.status = "invalid";
    t.message = "the test program sent a result record it should not be able to send";
  }
  if (forged > 0) {
    t.message += fmt::format(
        "{}ignored {} line(s) on the result channel that did not carry this run's secret",
        t.message.empty() ? "" : "\n", forged);
  }
  if (t.status != "passed") t.output = last_lines(r.output, 30);
}

// ---- the machinery ------------------------------------------------------------------------------

struct ModulePlan {
  const ModuleInfo* info = nullptr;
  ModuleSettings settings;
  std::mutex mutex;
  bool listed = false;
  std::vector<std::string> tests;  // from the solutions-only build
};

/// A scratch build tree owned by this process (flock) for as long as the grader lives.
class Tree {
 public:
  Tree(fs::path dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;
  ~Tree() {
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  }
  [[nodiscard]] fs::path staging() const { return dir_ / "staging"; }
  [[nodiscard]] fs::path build() const { return dir_ / "build"; }
  [[nodiscard]] fs::path runs() const { return dir_ / "runs"; }
  bool configured = false;

 private:
  fs::path dir_;
  int lock_fd_;
};

std::unique_ptr<Tree> lock_tree(const fs::path& cache, int first) {
  fs::create_directories(cache);
  for (int k = first; k < first + 256; ++k) {
    const fs::path lock = cache / fmt::format("tree-{}.lock", k);
    const int fd = ::open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) throw TitoError(fmt::format("cannot open {}: {}", lock.string(), strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      return std::make_unique<Tree>(cache / fmt::format("tree-{}", k), fd);
    }
    ::close(fd);
  }
  throw TitoError(fmt::format("every scratch build tree under {} is in use", cache.string()));
}

struct Task {
  SubmissionGrade* submission = nullptr;
  Located located;
  ModulePlan* plan = nullptr;
  ModuleGrade* grade = nullptr;
  fs::path run_dir;
  fs::path binary;
  int exec_fd = -1;
  std::atomic<int> remaining{0};
  std::mutex mutex;
  std::optional<Clock::time_point> first_start;
  Clock::time_point last_end;
};

struct Job {
  Task* task;
  std::size_t index;
};

class Grader {
 public:
  Grader(const Course& course, const GradeOptions& options) : course_(course), options_(options) {
    cache_ = options.cache_dir.empty() ? course.root() / "build" / "grade" : options.cache_dir;
    cache_ = fs::absolute(cache_).lexically_normal();
    const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
    build_parallel_ = std::max(1, static_cast<int>(cores) / std::max(1, options.build_trees));
  }

  std::vector<SubmissionGrade> run(const std::vector<Submission>& subs,
                                   const std::vector<std::string>& modules);

 private:
  void log(const std::string& line) {
    if (!options_.log) return;
    const std::lock_guard lock(log_mutex_);
    options_.log(line);
  }
  void stage(Tree& tree, const ModulePlan* student_plan, const StudentFiles* files);
  void configure(Tree& tree);
  ProcessResult build(Tree& tree, const std::string& module, double timeout_s);
  void ensure_reference(Tree& tree, ModulePlan& plan);
  void build_task(Tree& tree, Task& task);
  void run_job(const Job& job);
  void builder(Tree& tree);
  void runner();
  void push_jobs(Task& task);
  void finish_job(Task& task);
  void fail(std::exception_ptr error);

  const Course& course_;
  GradeOptions options_;
  fs::path cache_;
  int build_parallel_ = 1;
  std::mutex log_mutex_;

  std::vector<std::unique_ptr<Task>> tasks_;
  std::atomic<std::size_t> next_task_{0};
  std::deque<Job> jobs_;
  std::mutex jobs_mutex_;
  std::condition_variable jobs_ready_;
  int builders_left_ = 0;
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
  std::atomic<long> run_counter_{0};
};

void Grader::fail(std::exception_ptr error) {
  const std::lock_guard lock(jobs_mutex_);
  if (!error_) error_ = std::move(error);
  stop_ = true;
  jobs_ready_.notify_all();
}

/// Every module's files: the solutions (the stubs where a module has none), except `student_plan`'s
/// module, which gets the submission's files.
void Grader::stage(Tree& tree, const ModulePlan* student_plan, const StudentFiles* files) {
  for (const auto& m : course_.modules()) {
    const bool student = student_plan != nullptr && student_plan->info->dir == m.dir;
    const fs::path solutions = course_.root() / "solutions" / m.dir;
    const fs::path origin = fs::is_directory(solutions) ? solutions : course_.module_dir(m);
    for (const auto& f : m.files) {
      const fs::path target = tree.staging() / "modules" / m.dir / f;
      write_if_different(target, student ? files->content.at(f) : read_text(origin / f));
    }
  }
}

void Grader::configure(Tree& tree) {
  if (tree.configured) return;
  const fs::path cache_file = tree.build() / "CMakeCache.txt";
  std::error_code ec;
  if (fs::exists(cache_file, ec)) {
    const std::string cache = read_text(cache_file);
    const std::string home = "CMAKE_HOME_DIRECTORY:INTERNAL=" + course_.root().string() + "\n";
    if (cache.find(home) == std::string::npos) fs::remove_all(tree.build(), ec);  // other course
  }
  if (!fs::exists(tree.build() / "build.ninja", ec)) {
    log(fmt::format("configuring the scratch build tree {}", tree.build().string()));
    ProcessOptions po;
    po.timeout = std::chrono::seconds(600);
    po.cwd = course_.root();
    const ProcessResult r =
        run_process({"cmake", "-S", course_.root().string(), "-B", tree.build().string(), "-G",
                     "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                     "-DTINYTORCH_SUBMISSION_DIR=" + (tree.staging() / "modules").string(),
                     "-DTINYTORCH_STUDENT_MODULES=all", "-DTINYTORCH_BUILD_TITO=OFF"},
                    po);
    if (!r.ok()) {
      throw TitoError(fmt::format("cannot configure the grading build tree {} ({}):\n{}",
                                  tree.build().string(), r.describe(), r.tail(30)));
    }
  }
  tree.configured = true;
}

ProcessResult Grader::build(Tree& tree, const std::string& module, double timeout_s) {
  ProcessOptions po;
  po.timeout = std::chrono::seconds(static_cast<long>(timeout_s));
  po.cwd = course_.root();
  return run_process({"cmake", "--build", tree.build().string(), "--target", "hidden_" + module,
                      "--parallel", std::to_string(build_parallel_)},
                     po);
}

/// The suite's test list, from the suite built with the solutions only.
void Grader::ensure_reference(Tree& tree, ModulePlan& plan) {
  const std::lock_guard lock(plan.mutex);
  if (plan.listed) return;
  const std::string& dir = plan.info->dir;
  const auto start = Clock::now();
  stage(tree, nullptr, nullptr);
  configure(tree);
  log(fmt::format("{}: building the reference suite hidden_{} (solutions only)", dir, dir));
  const ProcessResult built = build(tree, dir, 3600);
  if (!built.ok()) {
    throw TitoError(fmt::format(
        "the reference build of hidden_{} fails ({}); the course itself must build before "
        "anything can be graded:\n{}",
        dir, built.describe(), built.tail(40)));
  }
  const fs::path binary = tree.build() / "tests" / ("hidden_" + dir);
  fs::create_directories(tree.runs());
  SandboxLimits limits;
  limits.wall = std::chrono::seconds(60);
  const SandboxResult listed = run_sandboxed({binary.string(), "--gtest_list_tests"}, tree.runs(),
                                             clean_environment({}), limits, false);
  if (listed.exit_code != 0 || listed.timed_out || listed.term_signal != 0) {
    throw TitoError(fmt::format("hidden_{} --gtest_list_tests {}:\n{}", dir, listed.describe(),
                                last_lines(listed.output, 20)));
  }
  std::istringstream in(listed.output);
  std::string line;
  std::string suite;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] != ' ') {
      suite = line.substr(0, line.find_first_of(" \t"));
    } else {
      const std::size_t begin = line.find_first_not_of(' ');
      plan.tests.push_back(suite + line.substr(begin, line.find_first_of(" \t", begin) - begin));
    }
  }
  if (plan.tests.empty()) throw TitoError(fmt::format("hidden_{} lists no tests", dir));
  plan.listed = true;
  log(fmt::format("{}: {} hidden tests (reference build {:.1f} s)", dir, plan.tests.size(),
                  seconds_since(start)));
}

void Grader::build_task(Tree& tree, Task& task) {
  ModulePlan& plan = *task.plan;
  ModuleGrade& grade = *task.grade;
  ensure_reference(tree, plan);
  grade.module = plan.info->dir;
  for (const auto& name : plan.tests) {
    TestGrade t;
    t.name = name;
    const auto it = plan.settings.test_points.find(name);
    t.max_points =
        it != plan.settings.test_points.end() ? it->second : plan.settings.default_points;
    grade.tests.push_back(std::move(t));
  }
  const std::string& student = task.submission->student;
  const StudentFiles files = read_student_files(task.located, task.submission->dir, *plan.info);
  if (!files.status.empty()) {
    grade.status = files.status;
    grade.message = files.message;
    for (auto& t : grade.tests) t.message = files.message;
    log(fmt::format("{}: {}: {}", grade.module, student, files.message));
    return;
  }
  const auto start = Clock::now();
  stage(tree, &plan, &files);
  configure(tree);
  const ProcessResult built = build(tree, grade.module, options_.build_timeout_s);
  grade.build_seconds = seconds_since(start);
  if (!built.ok()) {
    grade.status = "compile_error";
    std::string tail = last_lines(built.output, 40);
    tail = replace_all(tail, (tree.staging() / "").string(), "");
    tail = replace_all(tail, (tree.build() / "").string(), "");
    grade.message =
        built.timed_out
            ? fmt::format("the build did not finish within {:g} s", options_.build_timeout_s)
            : "does not compile with the course's headers and the other modules' "
              "reference solutions:\n" +
                  tail;
    for (auto& t : grade.tests) t.message = "the module does not compile";
    log(fmt::format("{}: {}: compile error ({:.1f} s)", grade.module, student,
                    grade.build_seconds));
    return;
  }
  grade.status = "graded";
  task.run_dir = tree.runs() / fmt::format("run-{}-{}", ::getpid(), run_counter_.fetch_add(1));
  fs::create_directories(task.run_dir);
  task.binary = tree.build() / "tests" / ("hidden_" + grade.module);
  // The tests run a sealed in-memory copy: the tree may rebuild meanwhile, and no test can replace
  // the program the next test runs.
  task.exec_fd = sealed_executable(task.binary);
  log(fmt::format("{}: {}: built in {:.1f} s, running {} tests", grade.module, student,
                  grade.build_seconds, grade.tests.size()));
  push_jobs(task);
}

void Grader::push_jobs(Task& task) {
  task.remaining = static_cast<int>(task.grade->tests.size());
  const std::lock_guard lock(jobs_mutex_);
  for (std::size_t i = 0; i < task.grade->tests.size(); ++i) jobs_.push_back({&task, i});
  jobs_ready_.notify_all();
}

void Grader::finish_job(Task& task) {
  {
    const std::lock_guard lock(task.mutex);
    task.last_end = Clock::now();
  }
  if (--task.remaining == 0) {
    task.grade->run_seconds =
        std::chrono::duration<double>(task.last_end - *task.first_start).count();
    std::error_code ec;
    fs::remove_all(task.run_dir, ec);
    ::close(task.exec_fd);
    task.exec_fd = -1;
    log(fmt::format("{}: {}: {:g}/{:g} points ({} of {} tests passed, {:.1f} s)",
                    task.grade->module, task.submission->student, task.grade->score(),
                    task.grade->max_score(), task.grade->passed(), task.grade->tests.size(),
                    task.grade->run_seconds));
  }
}

void Grader::run_job(const Job& job) {
  Task& task = *job.task;
  const ModuleSettings& s = task.plan->settings;
  TestGrade& t = task.grade->tests[job.index];
  double left = 0;
  {
    const std::lock_guard lock(task.mutex);
    if (!task.first_start) task.first_start = Clock::now();
    left = s.suite_timeout_s - seconds_since(*task.first_start);
  }
  if (left <= 0) {
    t.status = "not_run";
    t.message =
        fmt::format("not run: the suite's time limit ({:g} s) was used up", s.suite_timeout_s);
    finish_job(task);
    return;
  }
  const fs::path cwd = task.run_dir / fmt::format("test-{}", job.index);
  fs::create_directories(cwd);
  SandboxLimits limits;
  limits.wall =
      std::chrono::milliseconds(static_cast<long>(1000 * std::min(s.test_timeout_s, left)));
  limits.memory_bytes = static_cast<std::uint64_t>(s.memory_mb * 1024 * 1024);
  const std::string nonce = make_nonce();
  const SandboxResult r = run_sandboxed(
      {"hidden_" + task.grade->module, "--gtest_filter=" + t.name, "--gtest_color=no",
       "--gtest_also_run_disabled_tests=0"},
      cwd, clean_environment({"TINYTORCH_GRADING_NONCE=" + nonce}), limits, true, task.exec_fd);
  ModuleSettings shown = s;
  shown.test_timeout_s = std::min(s.test_timeout_s, left);
  judge(t, r, nonce, shown);
  std::error_code ec;
  fs::remove_all(cwd, ec);
  finish_job(task);
}

void Grader::builder(Tree& tree) {
  try {
    for (;;) {
      if (stop_) break;
      const std::size_t i = next_task_.fetch_add(1);
      if (i >= tasks_.size()) break;
      build_task(tree, *tasks_[i]);
    }
  } catch (...) {
    fail(std::current_exception());
  }
  const std::lock_guard lock(jobs_mutex_);
  --builders_left_;
  jobs_ready_.notify_all();
}

void Grader::runner() {
  for (;;) {
    Job job{};
    {
      std::unique_lock lock(jobs_mutex_);
      jobs_ready_.wait(lock, [&] { return stop_ || !jobs_.empty() || builders_left_ == 0; });
      if (stop_) return;
      if (jobs_.empty()) return;  // and no builder is left to add more
      job = jobs_.front();
      jobs_.pop_front();
    }
    try {
      run_job(job);
    } catch (...) {
      fail(std::current_exception());
      return;
    }
  }
}

std::vector<SubmissionGrade> Grader::run(const std::vector<Submission>& subs,
                                         const std::vector<std::string>& modules) {
  const auto start = Clock::now();
  std::vector<std::unique_ptr<ModulePlan>> plans;
  for (const auto& dir : modules) {
    auto plan = std::make_unique<ModulePlan>();
    plan->info = course_.find_module(dir);
    if (plan->info == nullptr) throw UsageError(fmt::format("'{}' is not a module", dir));
    plan->settings = read_settings(course_.module_dir(*plan->info) / "module.json", options_);
    plans.push_back(std::move(plan));
  }
  std::vector<SubmissionGrade> grades(subs.size());
  std::vector<Located> located(subs.size());
  for (std::size_t i = 0; i < subs.size(); ++i) {
    grades[i].student = subs[i].student;
    grades[i].dir = subs[i].dir;
    located[i] = locate(course_, subs[i].dir);
    grades[i].layout = located[i].layout;
    grades[i].modules.resize(plans.size());
  }
  // Module by module, so that consecutive builds in a tree differ by one student's file.
  for (std::size_t p = 0; p < plans.size(); ++p) {
    for (std::size_t i = 0; i < subs.size(); ++i) {
      auto task = std::make_unique<Task>();
      task->submission = &grades[i];
      task->located = located[i];
      task->plan = plans[p].get();
      task->grade = &grades[i].modules[p];
      task->grade->module = plans[p]->info->dir;
      tasks_.push_back(std::move(task));
    }
  }
  const int trees = std::max(1, std::min<int>(options_.build_trees, static_cast<int>(subs.size())));
  std::vector<std::unique_ptr<Tree>> locked;
  for (int k = 0; k < trees; ++k) locked.push_back(lock_tree(cache_, 0));
  builders_left_ = trees;
  std::vector<std::thread> threads;
  for (int k = 0; k < trees; ++k) threads.emplace_back([this, &locked, k] { builder(*locked[k]); });
  for (int j = 0; j < std::max(1, options_.jobs); ++j) threads.emplace_back([this] { runner(); });
  for (auto& t : threads) t.join();
  if (error_) std::rethrow_exception(error_);
  const double total = seconds_since(start);
  for (auto& g : grades) g.seconds = total;
  return grades;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  return "\"" + replace_all(text, "\"", "\"\"") + "\"";
}

std::string number(double value) {
  return fmt::format("{:g}", value);
}

}  // namespace

double ModuleGrade::score() const {
  double sum = 0;
  for (const auto& t : tests) sum += t.points;
  return sum;
}

double ModuleGrade::max_score() const {
  double sum = 0;
  for (const auto& t : tests) sum += t.max_points;
  return sum;
}

int ModuleGrade::passed() const {
  return static_cast<int>(std::count_if(tests.begin(), tests.end(),
                                        [](const TestGrade& t) { return t.status == "passed"; }));
}

double SubmissionGrade::score() const {
  double sum = 0;
  for (const auto& m : modules) sum += m.score();
  return sum;
}

double SubmissionGrade::max_score() const {
  double sum = 0;
  for (const auto& m : modules) sum += m.max_score();
  return sum;
}

std::vector<Submission> list_submissions(const fs::path& dir) {
  if (!fs::is_directory(dir)) {
    throw UsageError(fmt::format("--submissions {}: not a folder", dir.string()));
  }
  std::vector<Submission> subs;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_directory()) continue;
    subs.push_back({name, fs::absolute(entry.path())});
  }
  std::sort(subs.begin(), subs.end(),
            [](const Submission& a, const Submission& b) { return a.student < b.student; });
  return subs;
}

std::vector<std::string> gradable_modules(const Course& course) {
  std::vector<std::string> out;
  for (const auto& m : course.modules()) {
    if (!course.hidden_test_sources(m).empty()) out.push_back(m.dir);
  }
  return out;
}

std::vector<SubmissionGrade> grade_submissions(const Course& course,
                                               const std::vector<Submission>& subs,
                                               const GradeOptions& options) {
  std::vector<std::string> modules = options.modules;
  if (modules.empty()) modules = gradable_modules(course);
  for (const auto& dir : modules) {
    const ModuleInfo* m = course.find_module(dir);
    if (m == nullptr || course.hidden_test_sources(*m).empty()) {
      throw UsageError(fmt::format(
          "module {} has no hidden suite here (tests/{}/): grading runs in the instructor's "
          "copy of the course, which has them",
          dir, dir));
    }
  }
  if (modules.empty()) {
    throw UsageError(
        "this course has no hidden suites (tests/NN_name/): grading runs in the instructor's "
        "copy of the course, not in a student release");
  }
  if (subs.empty()) throw UsageError("no submissions to grade");
  Grader grader(course, options);
  return grader.run(subs, modules);
}

json grade_to_json(const SubmissionGrade& grade) {
  json modules = json::array();
  for (const auto& m : grade.modules) {
    json tests = json::array();
    for (const auto& t : m.tests) {
      json test = {{"name", t.name},     {"points", t.points},   {"max_points", t.max_points},
                   {"status", t.status}, {"seconds", t.seconds}, {"message", t.message}};
      if (!t.output.empty()) test["output"] = t.output;
      tests.push_back(std::move(test));
    }
    modules.push_back({{"module", m.module},
                       {"status", m.status},
                       {"message", m.message},
                       {"score", m.score()},
                       {"max_score", m.max_score()},
                       {"passed", m.passed()},
                       {"tests_total", m.tests.size()},
                       {"build_seconds", m.build_seconds},
                       {"run_seconds", m.run_seconds},
                       {"tests", tests}});
  }
  return {
      {"student", grade.student}, {"submission", grade.dir.string()}, {"layout", grade.layout},
      {"score", grade.score()},   {"max_score", grade.max_score()},   {"seconds", grade.seconds},
      {"modules", modules}};
}

json grade_to_gradescope(const SubmissionGrade& grade, const std::string& visibility) {
  json tests = json::array();
  std::string summary;
  for (const auto& m : grade.modules) {
    summary += fmt::format("{}: {:g}/{:g}", m.module, m.score(), m.max_score());
    if (m.status != "graded") summary += " (" + m.status + ")";
    summary += "\n";
    if (m.status != "graded") summary += m.message + "\n";
    int number = 0;
    for (const auto& t : m.tests) {
      ++number;
      std::string output = t.status == "passed" ? "" : t.status + ": " + t.message;
      if (!t.output.empty()) output += "\n--- output (last lines) ---\n" + t.output;
      tests.push_back({{"name", m.module + ": " + t.name},
                       {"number", fmt::format("{}.{}", m.module.substr(0, 2), number)},
                       {"score", t.points},
                       {"max_score", t.max_points},
                       {"status", t.status == "passed" ? "passed" : "failed"},
                       {"output", output},
                       {"visibility", visibility}});
    }
  }
  return {{"score", grade.score()},
          {"execution_time", std::lround(grade.seconds)},
          {"output", summary},
          {"visibility", visibility},
          {"stdout_visibility", "hidden"},
          {"extra_data", {{"max_score", grade.max_score()}, {"layout", grade.layout}}},
          {"tests", tests}};
}

std::string gradebook_csv(const std::vector<SubmissionGrade>& grades) {
  std::vector<std::string> modules;
  for (const auto& g : grades) {
    for (const auto& m : g.modules) {
      if (std::find(modules.begin(), modules.end(), m.module) == modules.end()) {
        modules.push_back(m.module);
      }
    }
  }
  std::string out = "student";
  for (const auto& m : modules) out += "," + m;
  out += ",total,max_total,notes\n";
  for (const auto& g : grades) {
    out += csv_field(g.student);
    std::string notes;
    for (const auto& dir : modules) {
      const auto it = std::find_if(g.modules.begin(), g.modules.end(),
                                   [&](const ModuleGrade& m) { return m.module == dir; });
      out += "," + (it == g.modules.end() ? std::string() : number(it->score()));
      if (it != g.modules.end() && it->status != "graded") {
        notes += (notes.empty() ? "" : "; ") + dir + ": " + it->status;
      }
    }
    out += fmt::format(",{},{},{}\n", number(g.score()), number(g.max_score()), csv_field(notes));
  }
  return out;
}

}  // namespace tito
