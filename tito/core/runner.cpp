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

/// Why a test's process gave no report: a crash, a hang, or an exit before GoogleTest wrote it.
std::string missing_report_problem(const ProcessResult& process) {
  if (process.timed_out) {
    return fmt::format("{} (the per-test limit; `--timeout SECONDS` changes it)",
                       process.describe());
  }
  if (process.term_signal != 0) return fmt::format("crashed: {}", process.describe());
  return fmt::format(
      "{} without writing its test report (did the test call exit() or abort the program?)",
      process.describe());
}

constexpr std::size_t kCrashOutputLines = 15;
constexpr std::size_t kSanitizerLines = 20;

/// A sanitizer's report in a test's output (`tito module test NN --asan`): its first lines, from
/// "ERROR: AddressSanitizer: heap-buffer-overflow ..." (or UBSan's "runtime error:") on, which say
/// what went wrong and, in the stack below, at which line. Empty when there is none.
std::string sanitizer_report(const std::string& output) {
  std::size_t at = std::string::npos;
  for (const char* marker :
       {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error:"}) {
    at = std::min(at, output.find(marker));
  }
  if (at == std::string::npos) return "";
  const std::size_t begin = output.rfind('\n', at);
  std::size_t end = begin == std::string::npos ? 0 : begin + 1;
  const std::size_t first = end;
  for (std::size_t n = 0; n < kSanitizerLines && end < output.size(); ++n) {
    const std::size_t next = output.find('\n', end);
    end = next == std::string::npos ? output.size() : next + 1;
  }
  return output.substr(first, end - first);
}

/// One test in a process of its own: its report when it wrote one, else a failed TestCase that
/// says why and shows the end of its output.
TestCase run_one_test(const fs::path& executable, const std::string& full_name,
                      const ProcessOptions& options, const fs::path& report) {
  std::error_code ignored;
  fs::remove(report, ignored);
  const ProcessResult r = run_process({executable.string(), "--gtest_filter=" + full_name,
                                       "--gtest_output=json:" + report.string()},
                                      options);
  if (r.ok() || (r.exit_code == 1 && fs::exists(report))) {
    try {
      std::vector<TestCase> tests = parse_gtest_report(json::parse(read_file(report)));
      if (tests.size() == 1) {
        tests[0].seconds = r.seconds;
        return tests[0];
      }
    } catch (const std::exception&) {
      // an unreadable report is handled below like a missing one
    }
  }
  TestCase test;
  const std::size_t dot = full_name.find('.');
  test.suite = full_name.substr(0, dot);
  test.name = dot == std::string::npos ? "" : full_name.substr(dot + 1);
  test.status = "failed";
  test.seconds = r.seconds;
  const std::string sanitizer = sanitizer_report(r.output);
  if (sanitizer.empty()) {
    test.problem = missing_report_problem(r);
  } else {
    // "==12==ERROR: AddressSanitizer: heap-buffer-overflow on address ..." -> the error's name.
    const std::string first_line = sanitizer.substr(0, sanitizer.find('\n'));
    const std::size_t name = first_line.find("Sanitizer: ");
    test.problem = fmt::format(
        "crashed: the sanitizer found {}",
        name == std::string::npos
            ? first_line.substr(first_line.find_first_not_of("= "))
            : first_line.substr(name + 11, first_line.find(" on ", name) - (name + 11)));
  }
  std::string message = test.problem;
  if (!sanitizer.empty()) {
    message += "\n" + sanitizer;
  } else if (!r.output.empty()) {
    message += "\nlast output:\n" + r.tail(kCrashOutputLines);
  }
  test.failures.push_back(message);
  return test;
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
  if (!report_read) return 1;  // nothing ran: the suite itself counts as one failure
  return static_cast<int>(std::count_if(tests.begin(), tests.end(),
                                        [](const TestCase& t) { return t.status == "failed"; }));
}

int SuiteRun::skipped() const {
  return static_cast<int>(std::count_if(tests.begin(), tests.end(),
                                        [](const TestCase& t) { return t.status == "skipped"; }));
}

int SuiteRun::total() const {
  return report_read ? static_cast<int>(tests.size()) : 1;
}

json SuiteRun::to_json() const {
  json cases = json::array();
  for (const auto& t : tests) {
    cases.push_back({{"suite", t.suite},
                     {"name", t.name},
                     {"status", t.status},
                     {"failures", t.failures},
                     {"skip_reason", t.status == "skipped" ? json(t.skip_reason) : json(nullptr)},
                     {"problem", t.problem.empty() ? json(nullptr) : json(t.problem)},
                     {"seconds", t.seconds}});
  }
  json doc = {{"label", label},
              {"executable", executable.string()},
              {"ok", ok()},
              {"passed", passed()},
              {"failed", failed()},
              {"skipped", skipped()},
              {"total", total()},
              {"seconds", seconds},
              {"report_read", report_read},
              {"tests", cases}};
  doc["problem"] = problem.empty() ? json(nullptr) : json(problem);
  return doc;
}

std::vector<std::string> parse_gtest_list(const std::string& listing) {
  std::vector<std::string> names;
  std::string suite;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    const std::string first = line.substr(0, line.find("  #"));  // "  # GetParam() = ..."
    if (first.rfind("  ", 0) == 0) {
      const std::size_t begin = first.find_first_not_of(' ');
      if (begin == std::string::npos || suite.empty()) continue;
      const std::size_t end = first.find(' ', begin);
      const std::string name = first.substr(begin, end - begin);
      if (name.rfind("DISABLED_", 0) != 0 && suite.rfind("DISABLED_", 0) != 0) {
        names.push_back(suite + name);  // disabled tests are listed but never run
      }
    } else if (!first.empty() && first.back() == '.') {
      suite = first;  // "Suite." (the dot kept)
    } else {
      suite.clear();  // not a listing line (a warning printed by the program)
    }
  }
  return names;
}

SuiteRun run_gtest(std::string label, const fs::path& executable, std::chrono::seconds per_test,
                   const fs::path& cwd,
                   const std::vector<std::pair<std::string, std::string>>& env) {
  SuiteRun run;
  run.label = std::move(label);
  run.executable = executable;
  if (!fs::exists(executable)) {
    run.problem = fmt::format("{} was not built", executable.string());
    return run;
  }
  ProcessOptions options;
  options.timeout = per_test;
  options.cwd = cwd;
  options.env = env;
  options.env.emplace_back("GTEST_COLOR", "no");
  const ProcessResult listing = run_process({executable.string(), "--gtest_list_tests"}, options);
  run.seconds += listing.seconds;
  if (!listing.ok()) {
    run.problem = fmt::format("listing its tests failed: {}", missing_report_problem(listing));
    run.list_output = listing.tail(kCrashOutputLines);
    return run;
  }
  const std::vector<std::string> names = parse_gtest_list(listing.output);
  run.report_read = true;
  run.tests_listed = static_cast<int>(names.size());
  if (names.empty()) {
    run.problem = "it has no tests";
    return run;
  }
  const TempDir temp;
  std::vector<std::string> problems;
  for (const auto& name : names) {
    run.tests.push_back(run_one_test(executable, name, options, temp.path() / "report.json"));
    run.seconds += run.tests.back().seconds;
    if (!run.tests.back().problem.empty()) {
      problems.push_back(fmt::format("{} {}", name, run.tests.back().problem));
    }
  }
  for (const auto& p : problems) run.problem += (run.problem.empty() ? "" : "; ") + p;
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
  // Keep going past a failed file: one build then names every file that does not compile, and
  // the ones that do are compiled for next time.
  if (fs::exists(binary_ / "build.ninja")) argv.insert(argv.end(), {"--", "-k", "0"});
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
