#include "core/runner.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/errors.hpp"

extern char** environ;  // NOLINT: POSIX

namespace tito {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int count_listed_tests(const fs::path& executable, const fs::path& cwd) {
  ProcessOptions options;
  options.timeout = std::chrono::seconds(30);
  options.cwd = cwd;
  const ProcessResult listing = run_process({executable.string(), "--gtest_list_tests"}, options);
  if (!listing.ok()) return 0;
  int count = 0;
  std::istringstream lines(listing.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  ", 0) == 0) ++count;  // "Suite." then "  Test" per test
  }
  return count;
}

std::string missing_report_problem(const ProcessResult& process) {
  if (process.timed_out) return fmt::format("{}; no results were written", process.describe());
  if (process.term_signal != 0) {
    return fmt::format("crashed: {} before writing its test report", process.describe());
  }
  return fmt::format(
      "{} without writing its test report (did a test call exit() or abort the program?)",
      process.describe());
}

}  // namespace

std::vector<TestCase> parse_gtest_report(const json& report) {
  std::vector<TestCase> tests;
  try {
    for (const auto& suite : report.at("testsuites")) {
      for (const auto& t : suite.at("testsuite")) {
        if (t.value("status", "RUN") == "NOTRUN") continue;  // disabled tests did not run
        TestCase test;
        test.suite = suite.at("name").get<std::string>();
        test.name = t.at("name").get<std::string>();
        for (const auto& f : t.value("failures", json::array())) {
          test.failures.push_back(f.value("failure", "(no message)"));
        }
        const std::string result = t.value("result", "COMPLETED");
        test.status = !test.failures.empty() ? "failed"
                      : result == "SKIPPED"  ? "skipped"
                                             : "passed";
        // GoogleTest's JSON carries no skip message; tests record theirs as a property.
        if (test.status == "skipped") test.skip_reason = t.value("skip_reason", "");
        const std::string time = t.value("time", "0s");
        test.seconds = std::strtod(time.c_str(), nullptr);
        tests.push_back(std::move(test));
      }
    }
  } catch (const json::exception& e) {
    throw std::invalid_argument(fmt::format("unexpected report layout: {}", e.what()));
  }
  return tests;
}

int SuiteRun::passed() const {
  return static_cast<int>(std::count_if(tests.begin(), tests.end(),
                                        [](const TestCase& t) { return t.status == "passed"; }));
}

int SuiteRun::failed() const {
  if (!report_read) return std::max(tests_listed, 1);
  return static_cast<int>(std::count_if(tests.begin(), tests.end(),
                                        [](const TestCase& t) { return t.status == "failed"; }));
}

int SuiteRun::skipped() const {
  return static_cast<int>(std::count_if(tests.begin(), tests.end(),
                                        [](const TestCase& t) { return t.status == "skipped"; }));
}

int SuiteRun::total() const {
  return report_read ? static_cast<int>(tests.size()) : failed();
}

json SuiteRun::to_json() const {
  json cases = json::array();
  for (const auto& t : tests) {
    cases.push_back({{"suite", t.suite},
                     {"name", t.name},
                     {"status", t.status},
                     {"failures", t.failures},
                     {"skip_reason", t.status == "skipped" ? json(t.skip_reason) : json(nullptr)},
                     {"seconds", t.seconds}});
  }
  json doc = {{"label", label},
              {"executable", executable.string()},
              {"ok", ok()},
              {"passed", passed()},
              {"failed", failed()},
              {"skipped", skipped()},
              {"total", total()},
              {"seconds", process.seconds},
              {"report_read", report_read},
              {"tests", cases}};
  doc["problem"] = problem.empty() ? json(nullptr) : json(problem);
  if (process.term_signal != 0) doc["signal"] = signal_name(process.term_signal);
  return doc;
}

SuiteRun run_gtest(std::string label, const fs::path& executable, std::chrono::seconds timeout,
                   const fs::path& cwd) {
  SuiteRun run;
  run.label = std::move(label);
  run.executable = executable;
  if (!fs::exists(executable)) {
    run.problem = fmt::format("{} was not built", executable.string());
    return run;
  }
  const TempDir temp;
  const fs::path report = temp.path() / "report.json";
  ProcessOptions options;
  options.timeout = timeout;
  options.cwd = cwd;
  options.env = {{"GTEST_COLOR", "no"}};
  run.process =
      run_process({executable.string(), "--gtest_output=json:" + report.string()}, options);
  if (!fs::exists(report) || run.process.timed_out || run.process.term_signal != 0) {
    run.problem = missing_report_problem(run.process);
    run.tests_listed = count_listed_tests(executable, cwd);
    return run;
  }
  try {
    run.tests = parse_gtest_report(json::parse(read_file(report)));
    run.report_read = true;
  } catch (const std::exception& e) {
    run.problem =
        fmt::format("its test report {} could not be read: {}", report.string(), e.what());
    run.tests_listed = count_listed_tests(executable, cwd);
    return run;
  }
  if (run.tests.empty()) run.problem = "it ran no tests";
  return run;
}

bool BuildTree::configured() const {
  return fs::exists(binary_ / "CMakeCache.txt") &&
         (fs::exists(binary_ / "build.ninja") || fs::exists(binary_ / "Makefile"));
}

ProcessResult BuildTree::configure_preset(const std::string& preset) const {
  ProcessOptions options;
  options.cwd = source_;
  return run_process({"cmake", "--preset", preset}, options);
}

ProcessResult BuildTree::configure(const std::vector<std::string>& definitions) const {
  std::vector<std::string> argv = {"cmake", "-S", source_.string(), "-B", binary_.string()};
  if (!fs::exists(binary_ / "CMakeCache.txt")) {
    argv.insert(argv.end(), {"-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"});
  }
  for (const auto& d : definitions) argv.push_back("-D" + d);
  ProcessOptions options;
  options.cwd = source_;
  return run_process(argv, options);
}

ProcessResult BuildTree::build(const std::vector<std::string>& targets) const {
  std::vector<std::string> argv = {"cmake", "--build", binary_.string(), "--target"};
  argv.insert(argv.end(), targets.begin(), targets.end());
  ProcessOptions options;
  options.cwd = source_;
  return run_process(argv, options);
}

ProcessResult BuildTree::install(const fs::path& prefix) const {
  ProcessOptions options;
  options.cwd = source_;
  return run_process({"cmake", "--install", binary_.string(), "--prefix", prefix.string()},
                     options);
}

}  // namespace tito
