#include "grading/grader.hpp"

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
#include "core/progress.hpp"
#include "core/runner.hpp"
#include "grading/compile_screen.hpp"
#include "grading/formats.hpp"
#include "grading/object_screen.hpp"
#include "grading/sandbox.hpp"
#include "grading/submission_files.hpp"
#include "grading/verdict.hpp"

namespace tito::grading {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A module's grading settings: module.json's "grading" (read by Course), then the flags.
GradingSettings settings_for(const ModuleInfo& m, const GradeOptions& options) {
  GradingSettings s = m.grading;
  if (options.test_timeout_s) s.test_timeout_s = *options.test_timeout_s;
  if (options.suite_timeout_s) s.suite_timeout_s = *options.suite_timeout_s;
  if (options.memory_mb) s.memory_mb = *options.memory_mb;
  return s;
}

/// A module that was not run: every test scores 0 with `test_message`.
void score_zero(ModuleGrade& grade, ModuleStatus status, const std::string& message,
                const std::string& test_message) {
  grade.status = status;
  grade.message = message;
  for (auto& t : grade.tests) t.message = test_message;
}

// ---- the machinery ------------------------------------------------------------------------------

struct ModulePlan {
  const ModuleInfo* info = nullptr;
  GradingSettings settings;
  std::mutex mutex;
  bool listed = false;
  std::vector<std::string> tests;                         // from the solutions-only build
  std::map<std::string, grading::ObjectFacts> reference;  // file -> the solution's object
  std::set<std::string> elsewhere;  // strong definitions of the framework and other modules
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
    const Isolation found = detect_isolation();
    if (options.isolation == IsolationChoice::bwrap && found != Isolation::bwrap) {
      throw UsageError(
          "--isolation bwrap: bubblewrap does not run here (install Debian's bubblewrap; in a "
          "container, namespaces must be allowed); use --isolation process to grade without it");
    }
    isolation_ = options.isolation == IsolationChoice::process ? Isolation::process : found;
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
  ProcessResult build(Tree& tree, const std::string& target, double timeout_s);
  void ensure_reference(Tree& tree, ModulePlan& plan);
  std::optional<std::string> screen(Tree& tree, const ModulePlan& plan);
  void build_task(Tree& tree, Task& task);
  void run_job(const Job& job);
  void builder(Tree& tree);
  void runner();
  void push_jobs(Task& task);
  void finish_job(Task& task);
  void fail(std::exception_ptr error);

  const Course& course_;
  GradeOptions options_;
  Isolation isolation_ = Isolation::process;
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
      write_if_different(target, student ? files->content.at(f) : read_file_text(origin / f));
    }
  }
}

void Grader::configure(Tree& tree) {
  if (tree.configured) return;
  const fs::path cache_file = tree.build() / "CMakeCache.txt";
  std::error_code ec;
  if (fs::exists(cache_file, ec)) {
    const std::string cache = read_file_text(cache_file);
    const std::string home = "CMAKE_HOME_DIRECTORY:INTERNAL=" + course_.root().string() + "\n";
    if (cache.find(home) == std::string::npos) fs::remove_all(tree.build(), ec);  // other course
  }
  // Configured on every first use in a process (cheap when nothing changed): a tree left by an
  // older tito, or one built with -march=native, is brought to today's settings.
  log(fmt::format("configuring the scratch build tree {}", tree.build().string()));
  ProcessOptions po;
  po.timeout = std::chrono::seconds(600);
  po.cwd = course_.root();
  const ProcessResult r =
      run_process({"cmake", "-S", course_.root().string(), "-B", tree.build().string(), "-G",
                   "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                   "-DTINYTORCH_SUBMISSION_DIR=" + (tree.staging() / "modules").string(),
                   "-DTINYTORCH_STUDENT_MODULES=all", "-DTINYTORCH_BUILD_TITO=OFF",
                   // A portable baseline: the cache may be warmed on one CPU and used on another.
                   "-DTINYTORCH_NATIVE=OFF", "-DTINYTORCH_ENABLE_STUB_CHECKS=OFF"},
                  po);
  if (!r.ok()) {
    throw TitoError(fmt::format("cannot configure the grading build tree {} ({}):\n{}",
                                tree.build().string(), r.describe(), r.tail(30)));
  }
  tree.configured = true;
}

ProcessResult Grader::build(Tree& tree, const std::string& target, double timeout_s) {
  ProcessOptions po;
  po.timeout = std::chrono::seconds(static_cast<long>(timeout_s));
  po.cwd = course_.root();
  return run_process({"cmake", "--build", tree.build().string(), "--target", target, "--parallel",
                      std::to_string(build_parallel_)},
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
  const ProcessResult built = build(tree, "hidden_" + dir, 3600);
  if (!built.ok()) {
    throw TitoError(fmt::format(
        "the reference build of hidden_{} fails ({}); the course itself must build before "
        "anything can be graded:\n{}",
        dir, built.describe(), built.tail(40)));
  }
  const fs::path binary = tree.build() / "tests" / ("hidden_" + dir);
  fs::create_directories(tree.runs());
  // The test list, as GoogleTest's JSON (the suite is the course's own, built from solutions).
  const fs::path list_file = tree.runs() / fmt::format("list-{}-{}.json", dir, ::getpid());
  ProcessOptions po;
  po.timeout = std::chrono::seconds(60);
  po.cwd = tree.runs();
  const ProcessResult listed = run_process(
      {binary.string(), "--gtest_list_tests", "--gtest_output=json:" + list_file.string()}, po);
  if (!listed.ok()) {
    throw TitoError(fmt::format("hidden_{} --gtest_list_tests {}:\n{}", dir, listed.describe(),
                                listed.tail(20)));
  }
  try {
    const json list = json::parse(read_file_text(list_file));
    for (const auto& suite : list.at("testsuites")) {
      for (const auto& test : suite.at("testsuite")) {
        plan.tests.push_back(suite.at("name").get<std::string>() + "." +
                             test.at("name").get<std::string>());
      }
    }
  } catch (const json::exception& e) {
    throw TitoError(
        fmt::format("hidden_{}: unreadable test list {}: {}", dir, list_file.string(), e.what()));
  }
  std::error_code ec;
  fs::remove(list_file, ec);
  // What the screen compares a submission with: the solution's objects, and every strong
  // definition of the rest of the library (framework and other modules).
  std::set<std::string> own_members;
  for (const auto& f : plan.info->files) {
    const fs::path source = tree.staging() / "modules" / dir / f;
    plan.reference[f] = read_object(object_for(tree.build(), source));
    own_members.insert(fs::path(f).filename().string() + ".o");
  }
  plan.elsewhere = archive_definitions(tree.build() / "lib" / "libtinytorch.a", own_members);
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
    t.max_points = plan.settings.points_for(name);
    grade.tests.push_back(std::move(t));
  }
  const std::string& student = task.submission->student;
  const StudentFiles files = read_student_files(task.located, task.submission->dir, *plan.info);
  if (files.status) {
    score_zero(grade, *files.status, files.message, files.message);
    log(fmt::format("{}: {}: {}", grade.module, student, files.message));
    return;
  }
  const auto start = Clock::now();
  stage(tree, &plan, &files);
  configure(tree);
  // First the submission's objects alone, screened before anything links them; then the suite.
  ProcessResult built = build(tree, "tt_" + grade.module + "_student", options_.build_timeout_s);
  std::optional<std::string> refusal;
  if (built.ok()) refusal = screen(tree, plan);
  if (built.ok() && !refusal) {
    const double left = options_.build_timeout_s - seconds_since(start);
    built = build(tree, "hidden_" + grade.module, std::max(1.0, left));
  }
  grade.build_seconds = seconds_since(start);
  if (built.timed_out) kill_orphans();  // a compiler its build's group kill missed
  if (!built.ok()) {
    std::string tail = last_lines(built.output, 40);
    tail = replace_all(tail, (tree.staging() / "").string(), "");
    tail = replace_all(tail, (tree.build() / "").string(), "");
    score_zero(grade, ModuleStatus::compile_error,
               built.timed_out
                   ? fmt::format("the build did not finish within {:g} s", options_.build_timeout_s)
                   : "does not compile with the course's headers and the other modules' "
                     "reference solutions:\n" +
                         tail,
               "the module does not compile");
    log(fmt::format("{}: {}: compile error ({:.1f} s)", grade.module, student,
                    grade.build_seconds));
    return;
  }
  if (refusal) {
    score_zero(grade, ModuleStatus::rejected, *refusal, *refusal);
    log(fmt::format("{}: {}: refused: {}", grade.module, student, *refusal));
    return;
  }
  grade.status = ModuleStatus::graded;
  grade.isolation = to_string(isolation_);
  if (isolation_ == Isolation::process) {
    grade.review.push_back(
        "graded without namespaces (isolation: process): the tests could read files the grader "
        "can read, and /proc; see the README's threat model");
  }
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

std::optional<std::string> Grader::screen(Tree& tree, const ModulePlan& plan) {
  const std::string& dir = plan.info->dir;
  for (const auto& f : plan.info->files) {
    const fs::path source = tree.staging() / "modules" / dir / f;
    const std::string shown = (fs::path("modules") / dir / f).string();
    CompileScreenInput in;
    in.build_dir = tree.build();
    in.source = source;
    in.shown = shown;
    // The contract headers live beside each module (modules/NN_name/*.hpp); the build's
    // include/tinytorch/ forwards to them.
    in.header_roots = {course_.root() / "core" / "include", course_.root() / "kernels" / "include",
                       course_.root() / "modules", tree.build() / "include"};
    in.scratch = tree.runs() / fmt::format("screen-{}", ::getpid());
    in.timeout_s = options_.build_timeout_s;
    const CompileScreenResult compiled = screen_compilation(in);
    if (compiled.refusal) return compiled.refusal;
    const ObjectFacts facts = read_object(compiled.object);
    const auto ref = plan.reference.find(f);
    const ObjectVerdict verdict = screen_object(
        facts, ref == plan.reference.end() ? nullptr : &ref->second, &plan.elsewhere, shown);
    if (verdict.refusal) return verdict.refusal;
  }
  return std::nullopt;
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
  const GradingSettings& s = task.plan->settings;
  TestGrade& t = task.grade->tests[job.index];
  double left = 0;
  {
    const std::lock_guard lock(task.mutex);
    if (!task.first_start) task.first_start = Clock::now();
    left = s.suite_timeout_s - seconds_since(*task.first_start);
  }
  if (left <= 0) {
    t.status = TestStatus::not_run;
    t.message =
        fmt::format("not run: the suite's time limit ({:g} s) was used up", s.suite_timeout_s);
    finish_job(task);
    return;
  }
  SandboxRun run;
  run.program_name = "hidden_" + task.grade->module;
  run.exec_fd = task.exec_fd;
  run.args = {"--gtest_filter=" + t.name, "--gtest_color=no", "--gtest_also_run_disabled_tests=0"};
  run.cwd = task.run_dir / fmt::format("test-{}", job.index);
  run.isolation = isolation_;
  run.channel = true;
  run.limits.wall =
      std::chrono::milliseconds(static_cast<long>(1000 * std::min(s.test_timeout_s, left)));
  run.limits.memory_bytes = static_cast<std::uint64_t>(s.memory_mb * 1024 * 1024);
  fs::create_directories(run.cwd);
  const SandboxResult r = run_sandboxed(run);
  judge(t, r, {std::min(s.test_timeout_s, left), s.memory_mb});
  std::error_code ec;
  fs::remove_all(run.cwd, ec);
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
    plan->settings = settings_for(*plan->info, options_);
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
  kill_orphans();  // nothing a test or a build started outlives the grading run
  return grades;
}

}  // namespace

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
  become_subreaper();
  Grader grader(course, options);
  return grader.run(subs, modules);
}

Shard parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  int k = 0;
  int n = 0;
  try {
    std::size_t used_k = 0;
    std::size_t used_n = 0;
    k = std::stoi(text.substr(0, slash), &used_k);
    n = slash == std::string::npos ? 0 : std::stoi(text.substr(slash + 1), &used_n);
    if (used_k != slash || slash + 1 + used_n != text.size()) n = 0;
  } catch (const std::exception&) {
    n = 0;
  }
  if (n < 1 || k < 1 || k > n) {
    throw UsageError(fmt::format(
        "--shard {}: give K/N with 1 <= K <= N, e.g. --shard 2/5 for the second of five", text));
  }
  return {k, n};
}

std::vector<Submission> select_shard(const std::vector<Submission>& subs, const Shard& shard) {
  std::vector<Submission> sorted = subs;
  std::sort(sorted.begin(), sorted.end(),
            [](const Submission& a, const Submission& b) { return a.student < b.student; });
  std::vector<Submission> out;
  for (std::size_t i = static_cast<std::size_t>(shard.index - 1); i < sorted.size();
       i += static_cast<std::size_t>(shard.count)) {
    out.push_back(sorted[i]);
  }
  return out;
}

}  // namespace tito::grading
