// expect_all_fail SUITE: runs a GoogleTest executable built against stubs and succeeds only when it
// ran at least one test and every test failed. A grading test that passes against a stub cannot
// tell a stub from a solution, so this is how CI proves each hidden suite (ctest -L stubcheck).
// Results come from GoogleTest's JSON report, never from the suite's printed output.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

extern char** environ;  // NOLINT: POSIX

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: expect_all_fail GTEST_EXECUTABLE\n";
    return 2;
  }
  const std::string suite = argv[1];
  const fs::path report =
      fs::temp_directory_path() / ("expect_all_fail_" + std::to_string(getpid()) + ".json");
  std::string output_flag = "--gtest_output=json:" + report.string();
  std::vector<char*> args{argv[1], output_flag.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[1], nullptr, nullptr, args.data(), environ) != 0) {
    std::cerr << "expect_all_fail: cannot start " << suite << '\n';
    return 2;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(report);
  if (!in) {
    std::cerr << "FAIL " << suite << ": no report (the suite "
              << (WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                      : "exited with " + std::to_string(WEXITSTATUS(status)))
              << "); cannot prove that every test fails against the stubs\n";
    return 1;
  }
  const nlohmann::json doc = nlohmann::json::parse(in);
  in.close();
  fs::remove(report);
  int total = 0;
  std::vector<std::string> passing;
  for (const auto& group : doc.at("testsuites")) {
    for (const auto& test : group.at("testsuite")) {
      if (test.value("status", "RUN") != "RUN") continue;  // disabled tests did not run
      ++total;
      const bool failed = test.contains("failures") && !test.at("failures").empty();
      if (!failed) {
        passing.push_back(group.at("name").get<std::string>() + "." +
                          test.at("name").get<std::string>());
      }
    }
  }
  if (total == 0) {
    std::cerr << "FAIL " << suite << ": no test ran\n";
    return 1;
  }
  if (!passing.empty()) {
    std::cerr << "FAIL " << suite << ": " << passing.size() << " of " << total
              << " tests PASS against the stubs, so they cannot tell a stub from a solution:\n";
    for (const auto& name : passing) std::cerr << "  " << name << '\n';
    return 1;
  }
  std::cout << "ok " << suite << ": all " << total << " tests fail against the stubs\n";
  return 0;
}
