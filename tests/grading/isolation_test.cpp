// `tito grade` beyond one module's batch: the fallback isolation, a compile-time bomb, and an
// attacker refused on one module who keeps full marks on another.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "grading_support.hpp"

namespace grading_test {
namespace {

using nlohmann::json;

std::string solution(const std::string& module, const std::string& file) {
  return read_file(course_root() / "solutions" / module / file);
}

Output grade(const fs::path& cwd, const fs::path& submission, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--submission", submission.string(), "--jobs", "2",
                                   "--quiet",      "--format",          "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return tito_grade(cwd, args);
}

json module_result(const Output& r, const std::string& module) {
  const json doc = json::parse(r.out, nullptr, false);
  if (doc.is_discarded()) {
    ADD_FAILURE() << "not JSON:\n" << r.out << r.err;
    return json::object();
  }
  for (const auto& m : doc.at("modules")) {
    if (m.at("module") == module) return m;
  }
  ADD_FAILURE() << "no result for " << module;
  return json::object();
}

TEST(GradeIsolation, WithoutNamespacesTheSolutionStillEarnsFullMarksAndIsFlaggedForReview) {
  const TempDir dir;
  write_file(dir.path() / "sub" / "modules" / "01_setup" / "setup.cpp",
             solution("01_setup", "setup.cpp"));
  const Output r =
      grade(dir.path(), dir.path() / "sub", {"--module", "01", "--isolation", "process"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const json m = module_result(r, "01_setup");
  EXPECT_EQ(m.at("status"), "graded");
  EXPECT_EQ(m.at("score"), m.at("max_score"));
  EXPECT_EQ(m.at("isolation"), "process");
  ASSERT_FALSE(m.at("review").empty());
  EXPECT_NE(m.at("review").at(0).get<std::string>().find("isolation: process"), std::string::npos);
}

TEST(GradeIsolation, ARefusedModuleCostsOnlyThatModule) {
  const TempDir dir;
  std::string attack = solution("01_setup", "setup.cpp");
  attack.insert(attack.find("namespace tinytorch::setup {"),
                "static volatile int early_ran = 0;\n"
                "__attribute__((constructor)) static void early() { early_ran = 1; }\n");
  write_file(dir.path() / "sub" / "modules" / "01_setup" / "setup.cpp", attack);
  write_file(dir.path() / "sub" / "modules" / "03_activations" / "activations.cpp",
             solution("03_activations", "activations.cpp"));
  const Output r = grade(dir.path(), dir.path() / "sub", {"--module", "01", "--module", "03"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const json setup = module_result(r, "01_setup");
  EXPECT_EQ(setup.at("status"), "rejected");
  EXPECT_EQ(setup.at("score").get<double>(), 0.0);
  const json activations = module_result(r, "03_activations");
  EXPECT_EQ(activations.at("status"), "graded");
  EXPECT_GT(activations.at("max_score").get<double>(), 0.0);
  EXPECT_EQ(activations.at("score"), activations.at("max_score"));
}

/// Compiler processes still working in the grading cache.
std::vector<std::string> compilers_in_cache() {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(entry.path() / "cmdline");
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    if (cmdline.find("cc1plus") != std::string::npos &&
        cmdline.find(grading_cache().string()) != std::string::npos) {
      found.push_back(name + ": " + cmdline.substr(0, 200));
    }
  }
  return found;
}

TEST(GradeIsolation, ACompileTimeBombIsStoppedAndLeavesNoCompilerBehind) {
  const TempDir dir;
  // Twenty constant evaluations, each one GCC's whole operation budget (2^33 steps, several
  // seconds) before it gives up: minutes of compiling, however fast the machine.
  std::string bomb = solution("01_setup", "setup.cpp");
  bomb +=
      "\nnamespace tinytorch::setup {\ntemplate <long K>\nconstexpr long spin() {\n"
      "  long s = 0;\n  for (long i = 0; i < 200000; ++i) {\n"
      "    for (long j = 0; j < 200000 + K; ++j) s += i ^ j;\n  }\n  return s;\n}\n";
  for (int k = 1; k <= 20; ++k) {
    bomb += "static_assert(spin<" + std::to_string(k) + ">() != 1);\n";
  }
  bomb += "}  // namespace tinytorch::setup\n";
  write_file(dir.path() / "sub" / "modules" / "01_setup" / "setup.cpp", bomb);
  const Output r =
      grade(dir.path(), dir.path() / "sub", {"--module", "01", "--build-timeout", "5"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const json m = module_result(r, "01_setup");
  EXPECT_EQ(m.at("status"), "compile_error");
  EXPECT_NE(m.at("message").get<std::string>().find("did not finish within 5 s"), std::string::npos)
      << m.dump(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::vector<std::string> left = compilers_in_cache();
  EXPECT_TRUE(left.empty()) << "still compiling after tito returned: " << left.front();
}

}  // namespace
}  // namespace grading_test
