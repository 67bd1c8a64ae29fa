// `tito grade` against submissions that try to fool it. Every submission is module 01's reference
// solution with ONE function (cxx_standard) sabotaged, so the expected score is known exactly: the
// tests that reach cxx_standard are those that fail when it merely throws (the "throws"
// submission), and every sabotage must cost exactly those tests and nothing else. Around them: the
// solution itself (full marks), the stubs (zero), a compile error, a missing file, a link to the
// solution and an #include of it (both refused).
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "grading_support.hpp"

namespace grading_test {
namespace {

using nlohmann::json;

const std::string kModule = "01_setup";
// The body of cxx_standard in solutions/01_setup/setup.cpp: the one line each sabotage replaces.
const std::string kSabotagedLine = "  return static_cast<long>(__cplusplus);\n";

std::string solution_text() {
  return read_file(course_root() / "solutions" / kModule / "setup.cpp");
}

/// The solution with cxx_standard's body replaced by `body`, and `includes` added.
std::string sabotaged(const std::string& body, const std::string& includes) {
  std::string text = solution_text();
  const std::size_t at = text.find(kSabotagedLine);
  if (at == std::string::npos || text.find(kSabotagedLine, at + 1) != std::string::npos) {
    throw std::runtime_error("solutions/01_setup/setup.cpp no longer holds the line '" +
                             kSabotagedLine + "' exactly once: update grading_test.cpp");
  }
  text.replace(at, kSabotagedLine.size(), body);
  const std::size_t first_include = text.find("#include");
  text.insert(first_include, includes);
  return text;
}

// ---- the submissions ------------------------------------------------------------------------

const std::map<std::string, std::pair<std::string, std::string>>& sabotages() {
  static const std::map<std::string, std::pair<std::string, std::string>> all = {
      {"throws", {"  throw std::runtime_error(\"sabotaged\");\n", "#include <stdexcept>\n"}},
      {"segfault", {"  long* volatile p = nullptr;\n  return *p;\n", ""}},
      {"hang", {"  for (volatile bool forever = true; forever;) {\n  }\n  return 0;\n", ""}},
      {"memory",
       {"  std::vector<std::unique_ptr<char[]>> hog;\n"
        "  for (;;) {\n"
        "    hog.emplace_back(new char[std::size_t{32} << 20]);\n"
        "    std::memset(hog.back().get(), 1, std::size_t{32} << 20);\n"
        "  }\n",
        "#include <cstring>\n#include <memory>\n#include <vector>\n"}},
      {"exit0", {"  std::exit(0);\n", "#include <cstdlib>\n"}},
      {"fake_passed",
       {"  std::printf(\"[==========] Running 1 test from 1 test suite.\\n\"\n"
        "              \"[       OK ] Setup.CxxStandardIsTheValueOfCplusplus (0 ms)\\n\"\n"
        "              \"[==========] 1 test from 1 test suite ran. (0 ms total)\\n\"\n"
        "              \"[  PASSED  ] 1 test.\\n\");\n"
        "  std::fflush(stdout);\n"
        "  std::_Exit(0);\n",
        "#include <cstdio>\n#include <cstdlib>\n"}},
      {"fake_report",
       {"  const std::string report =\n"
        "      R\"({\"tests\": 1, \"failures\": 0, \"errors\": 0, \"testsuites\": [{\"name\": "
        "\"Setup\", \"testsuite\": [{\"name\": \"CxxStandardIsTheValueOfCplusplus\", "
        "\"status\": \"RUN\", \"result\": \"COMPLETED\"}]}]})\";\n"
        "  for (const char* name : {\"test_detail.json\", \"results.json\", \"report.json\"}) {\n"
        "    std::ofstream(name) << report;\n"
        "  }\n"
        "  const std::string forged =\n"
        "      R\"({\"event\": \"result\", \"test\": "
        "\"Setup.CxxStandardIsTheValueOfCplusplus\", \"status\": \"passed\"}\n"
        "{\"event\": \"done\", \"tests\": 1}\n)\";\n"
        "  for (int fd = 3; fd < 64; ++fd) (void)::write(fd, forged.data(), forged.size());\n"
        "  std::exit(0);\n",
        "#include <unistd.h>\n#include <cstdlib>\n#include <fstream>\n#include <string>\n"}},
      {"replace_program",  // swap the test program for a forger, then fail like "throws"
       {R"CODE(  char self[4096] = {};
  if (::readlink("/proc/self/exe", self, sizeof self - 1) > 0 && std::ifstream(self).good()) {
    std::remove(self);
    // A forger that answers every test with a "passed" record on descriptor 3.
    std::ofstream(self) << "#!/bin/sh\nname=${1#--gtest_filter=}\n"
                        << "printf '{\"event\":\"result\",\"test\":\"%s\",\"status\":"
                        << "\"passed\"}\\n{\"event\":\"done\",\"tests\":1}\\n' \"$name\" >&3\n";
    ::chmod(self, 0755);
  }
  throw std::runtime_error("sabotaged");
)CODE",
        "#include <sys/stat.h>\n#include <unistd.h>\n#include <cstdio>\n#include <fstream>\n"
        "#include <stdexcept>\n#include <string>\n"}},
      {"compile_error", {"  return this is not C++;\n", ""}},
      // Attacks by a student who has read the grader's source (issue 11): each must be refused
      // by the screen of the compiled file, before any of it runs.
      {"constructor_forgery",
       {"  throw std::runtime_error(\"sabotaged\");\n",
        "#include <stdexcept>\n#include <cstdlib>\n"
        "__attribute__((constructor)) static void forge() { (void)std::getenv(\"HOME\"); }\n"}},
      {"interposes_libc",
       {"  throw std::runtime_error(\"sabotaged\");\n",
        "#include <stdexcept>\n#include <sys/types.h>\n"
        "extern \"C\" pid_t getppid() noexcept { return 1; }\n"}},
      {"replaces_framework",
       {"  throw std::runtime_error(\"sabotaged\");\n",
        "#include <stdexcept>\n#include \"tinytorch/kernels/threads.hpp\"\n"
        "namespace tinytorch::kernels { int num_threads() { return 1; } }\n"}},
      {"inline_assembly",
       {"  long r = 0;\n  asm volatile(\"nop\" : \"+r\"(r));\n  return r;\n", ""}},
      {"spawns_process",
       {"  if (::fork() == 0) ::_exit(0);\n  throw std::runtime_error(\"sabotaged\");\n",
        "#include <unistd.h>\n#include <stdexcept>\n"}},
      // Graded, and must gain nothing: reading the hidden suite, rewriting it, and output that
      // is not UTF-8.
      {"reads_hidden_suite",
       {"  std::ifstream in(\"" HIDDEN_SUITE_SOURCE "\");\n"
        "  std::stringstream text;\n  text << in.rdbuf();\n"
        "  throw std::runtime_error(\"leak:\" + text.str());\n",
        "#include <fstream>\n#include <sstream>\n#include <stdexcept>\n"}},
      {"rewrites_hidden_suite",
       {"  std::ofstream(\"" HIDDEN_SUITE_SOURCE "\", std::ios::app) << \"// tampered\\n\";\n"
        "  throw std::runtime_error(\"sabotaged\");\n",
        "#include <fstream>\n#include <stdexcept>\n"}},
      {"invalid_utf8",
       {"  throw std::runtime_error(\"bytes \\xff\\xfe\\xc3 are not UTF-8\");\n",
        "#include <stdexcept>\n"}},
  };
  return all;
}

fs::path student_file(const fs::path& submissions, const std::string& student) {
  return submissions / student / "modules" / kModule / "setup.cpp";
}

void write_submissions(const fs::path& dir) {
  write_file(student_file(dir, "solution"), solution_text());
  write_file(student_file(dir, "stubs"),
             read_file(course_root() / "modules" / kModule / "setup.cpp"));
  for (const auto& [name, sabotage] : sabotages()) {
    write_file(student_file(dir, name), sabotaged(sabotage.first, sabotage.second));
  }
  fs::create_directories(dir / "missing_file" / "modules" / kModule);  // folder, no setup.cpp
  fs::create_directories(student_file(dir, "link_to_solution").parent_path());
  fs::create_symlink(course_root() / "solutions" / kModule / "setup.cpp",
                     student_file(dir, "link_to_solution"));
  write_file(
      student_file(dir, "includes_solution"),
      "#include \"" + (course_root() / "solutions" / kModule / "setup.cpp").string() + "\"\n");
  // The same include spelled with a digraph, which no text screen sees.
  write_file(
      student_file(dir, "digraph_include"),
      "%:include \"" + (course_root() / "solutions" / kModule / "setup.cpp").string() + "\"\n");
}

// ---- one batch, graded once for every test below ----------------------------------------------

struct Batch {
  TempDir dir;
  Output run;
  std::map<std::string, json> details;  // student -> tito's JSON
  std::string csv;
  std::string hidden_suite_before;
};

Batch* batch = nullptr;

class GradeBatch : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    batch = new Batch();
    const fs::path subs = batch->dir.path() / "submissions";
    write_submissions(subs);
    batch->run =
        tito_grade(batch->dir.path(), {"--submissions", subs.string(), "--module", "01", "--jobs",
                                       "2", "--test-timeout", "3", "--memory-mb", "768", "--format",
                                       "csv", "--out", "gradebook.csv", "--details", "details"});
    batch->hidden_suite_before = read_file(HIDDEN_SUITE_SOURCE);
    std::cout << "[ grading  ] batch of " << (sabotages().size() + 6) << " submissions graded in "
              << batch->run.seconds << " s\n";
    if (batch->run.status != 0) return;
    batch->csv = read_file(batch->dir.path() / "gradebook.csv");
    for (const auto& entry : fs::directory_iterator(batch->dir.path() / "details")) {
      batch->details[entry.path().stem().string()] = read_json(entry.path());
    }
  }
  static void TearDownTestSuite() {
    delete batch;
    batch = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(batch->run.status, 0) << batch->run.out << "\n" << batch->run.err;
  }

  static const json& module_of(const std::string& student) {
    static const json none;
    const auto it = batch->details.find(student);
    if (it == batch->details.end()) {
      ADD_FAILURE() << "no details for " << student;
      return none;
    }
    return it->second.at("modules").at(0);
  }

  /// name -> status for one student.
  static std::map<std::string, std::string> statuses(const std::string& student) {
    std::map<std::string, std::string> out;
    for (const auto& t : module_of(student).at("tests")) {
      out[t.at("name").get<std::string>()] = t.at("status").get<std::string>();
    }
    return out;
  }

  /// The tests that reach cxx_standard: those the "throws" submission fails.
  static std::set<std::string> reaching_sabotage() {
    std::set<std::string> out;
    for (const auto& [name, status] : statuses("throws")) {
      if (status != "passed") out.insert(name);
    }
    return out;
  }

  /// Every test that reaches cxx_standard has `expected` status and no points; every other test
  /// passes with full points; the module's score is exactly the number of other tests.
  static void expect_only_sabotaged_tests_lost(const std::string& student,
                                               const std::set<std::string>& expected) {
    const std::set<std::string> reaching = reaching_sabotage();
    const json& m = module_of(student);
    ASSERT_EQ(m.at("status"), "graded") << m.dump(2);
    int passed = 0;
    for (const auto& t : m.at("tests")) {
      const std::string name = t.at("name");
      const std::string status = t.at("status");
      if (reaching.count(name) > 0) {
        EXPECT_TRUE(expected.count(status) > 0)
            << student << ": " << name << " is " << status << ": " << t.at("message");
        EXPECT_EQ(t.at("points").get<double>(), 0.0) << student << ": " << name;
      } else {
        EXPECT_EQ(status, "passed") << student << ": " << name << ": " << t.at("message");
        EXPECT_EQ(t.at("points").get<double>(), t.at("max_points").get<double>());
        ++passed;
      }
    }
    EXPECT_EQ(m.at("score").get<double>(), passed) << student;
    EXPECT_EQ(m.at("tests").size(), reaching.size() + static_cast<std::size_t>(passed));
  }
};

TEST_F(GradeBatch, TheSolutionEarnsFullMarksOnEveryTestTheReferenceSuiteLists) {
  const json& m = module_of("solution");
  EXPECT_EQ(m.at("status"), "graded");
  ASSERT_GT(m.at("tests").size(), 0U);
  EXPECT_EQ(m.at("score"), m.at("max_score"));
  EXPECT_EQ(m.at("max_score").get<double>(), static_cast<double>(m.at("tests").size()))
      << "one point per test by default";
  for (const auto& t : m.at("tests")) EXPECT_EQ(t.at("status"), "passed") << t.dump(2);
#ifdef HIDDEN_SUITE_BINARY
  // The same count as the hidden suite's own list (the instructor's build of it).
  const Output list = run(course_root(), {HIDDEN_SUITE_BINARY, "--gtest_list_tests"});
  std::size_t listed = 0;
  std::istringstream lines(list.out);
  for (std::string line; std::getline(lines, line);) listed += line.rfind("  ", 0) == 0 ? 1 : 0;
  EXPECT_EQ(m.at("tests").size(), listed);
#endif
}

TEST_F(GradeBatch, TheStubsEarnZeroWithEveryTestFailed) {
  const json& m = module_of("stubs");
  EXPECT_EQ(m.at("status"), "graded");
  EXPECT_EQ(m.at("score").get<double>(), 0.0);
  EXPECT_EQ(m.at("tests").size(), module_of("solution").at("tests").size());
  for (const auto& t : m.at("tests")) EXPECT_EQ(t.at("status"), "failed") << t.dump(2);
}

TEST_F(GradeBatch, TheThrowingSabotageFailsSomeButNotAllTests) {
  const std::size_t reaching = reaching_sabotage().size();
  EXPECT_GT(reaching, 0U);
  EXPECT_LT(reaching, module_of("solution").at("tests").size());
  expect_only_sabotaged_tests_lost("throws", {"failed"});
}

TEST_F(GradeBatch, ASegfaultCostsOnlyTheTestsThatCrash) {
  expect_only_sabotaged_tests_lost("segfault", {"crashed"});
  for (const auto& t : module_of("segfault").at("tests")) {
    if (t.at("status") == "crashed") {
      EXPECT_NE(t.at("message").get<std::string>().find("SIGSEGV"), std::string::npos);
    }
  }
}

TEST_F(GradeBatch, AnEndlessLoopIsKilledAtTheTestTimeLimit) {
  expect_only_sabotaged_tests_lost("hang", {"timeout"});
  for (const auto& t : module_of("hang").at("tests")) {
    if (t.at("status") == "timeout") {
      EXPECT_LT(t.at("seconds").get<double>(), 10.0) << "the 3 s limit was not enforced";
    }
  }
}

TEST_F(GradeBatch, UnboundedAllocationStopsAtTheMemoryLimit) {
  expect_only_sabotaged_tests_lost("memory", {"failed", "crashed"});
}

TEST_F(GradeBatch, ExitZeroInsideATestedFunctionScoresZeroForThatTest) {
  expect_only_sabotaged_tests_lost("exit0", {"exited"});
}

TEST_F(GradeBatch, AFakePassedSummaryOnStdoutIsIgnored) {
  expect_only_sabotaged_tests_lost("fake_passed", {"exited"});
}

/// The module was refused by the screen with a message naming `what`, and scored zero.
void expect_refused(const json& m, const std::string& what) {
  EXPECT_EQ(m.at("status"), "rejected") << m.dump(2);
  EXPECT_EQ(m.at("score").get<double>(), 0.0);
  const std::string message = m.at("message");
  EXPECT_NE(message.find(what), std::string::npos) << message;
}

TEST_F(GradeBatch, WritingForgedRecordsToTheChannelIsRefusedBeforeAnythingRuns) {
  expect_refused(module_of("fake_report"), "`write`");
}

TEST_F(GradeBatch, ACodeThatRunsBeforeMainIsRefused) {
  expect_refused(module_of("constructor_forgery"), "before main");
}

TEST_F(GradeBatch, DefiningALibcFunctionToInterposeItIsRefused) {
  expect_refused(module_of("interposes_libc"), "getppid");
}

TEST_F(GradeBatch, ReplacingAFrameworkFunctionIsRefused) {
  expect_refused(module_of("replaces_framework"), "tinytorch::kernels::num_threads");
}

TEST_F(GradeBatch, InlineAssemblyIsRefused) {
  expect_refused(module_of("inline_assembly"), "inline assembly");
}

TEST_F(GradeBatch, StartingAProcessIsRefused) {
  expect_refused(module_of("spawns_process"), "`fork`");
}

TEST_F(GradeBatch, AnIncludeSpelledWithADigraphIsSeenByTheCompilersScreen) {
  expect_refused(module_of("digraph_include"), "solutions/01_setup/setup.cpp");
}

TEST_F(GradeBatch, EveryGradedModuleRecordsItsIsolation) {
  for (const auto& [student, d] : batch->details) {
    const json& m = d.at("modules").at(0);
    if (m.at("status") != "graded") continue;
    const std::string isolation = m.at("isolation");
    EXPECT_TRUE(isolation == "bwrap" || isolation == "process") << student << ": " << isolation;
    EXPECT_EQ(m.at("review").empty(), isolation == "bwrap") << student << ": " << m.dump(2);
  }
}

TEST_F(GradeBatch, AFailingTestCannotLeakTheHiddenSuiteIntoTheReport) {
  expect_only_sabotaged_tests_lost("reads_hidden_suite", {"failed"});
  const json& m = module_of("reads_hidden_suite");
  if (m.at("isolation") != "bwrap") GTEST_SKIP() << "only bwrap hides the course's files";
  // A line every hidden suite of module 01 holds, and no message of the grader.
  const std::string marker = "TEST(";
  for (const auto& t : m.at("tests")) {
    EXPECT_EQ(t.at("message").get<std::string>().find(marker), std::string::npos) << t.dump(2);
  }
}

TEST_F(GradeBatch, ATestCannotRewriteTheCoursesHiddenSuite) {
  expect_only_sabotaged_tests_lost("rewrites_hidden_suite", {"failed"});
  EXPECT_EQ(read_file(HIDDEN_SUITE_SOURCE), batch->hidden_suite_before);
}

TEST_F(GradeBatch, OutputThatIsNotUtf8StillGivesValidJsonAndAGradebook) {
  expect_only_sabotaged_tests_lost("invalid_utf8", {"failed"});
  EXPECT_FALSE(batch->csv.empty());
}

TEST_F(GradeBatch, ATestCannotReplaceTheProgramTheNextTestsRun) {
  expect_only_sabotaged_tests_lost("replace_program", {"failed"});
}

TEST_F(GradeBatch, ACompileErrorScoresTheModuleZeroAndShowsTheCompilerMessage) {
  const json& m = module_of("compile_error");
  EXPECT_EQ(m.at("status"), "compile_error");
  EXPECT_EQ(m.at("score").get<double>(), 0.0);
  EXPECT_EQ(m.at("max_score"), module_of("solution").at("max_score"));
  const std::string message = m.at("message");
  EXPECT_NE(message.find("error"), std::string::npos) << message;
  EXPECT_NE(message.find("modules/01_setup/setup.cpp"), std::string::npos) << message;
}

TEST_F(GradeBatch, AMissingFileScoresTheModuleZeroAndSaysWhichFile) {
  const json& m = module_of("missing_file");
  EXPECT_EQ(m.at("status"), "missing_files");
  EXPECT_EQ(m.at("score").get<double>(), 0.0);
  EXPECT_NE(m.at("message").get<std::string>().find("modules/01_setup/setup.cpp"),
            std::string::npos);
}

TEST_F(GradeBatch, ALinkToTheSolutionIsRefused) {
  const json& m = module_of("link_to_solution");
  EXPECT_EQ(m.at("status"), "rejected");
  EXPECT_EQ(m.at("score").get<double>(), 0.0);
}

TEST_F(GradeBatch, IncludingTheSolutionByPathIsRefused) {
  const json& m = module_of("includes_solution");
  EXPECT_EQ(m.at("status"), "rejected");
  EXPECT_EQ(m.at("score").get<double>(), 0.0);
}

TEST_F(GradeBatch, TheGradebookHasOneRowPerStudentWithTheirScores) {
  std::istringstream lines(batch->csv);
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header, "student,01_setup,total,max_total,review,notes");
  std::size_t rows = 0;
  for (std::string line; std::getline(lines, line);) {
    ++rows;
    const std::string student = line.substr(0, line.find(','));
    ASSERT_TRUE(batch->details.count(student) > 0) << line;
    const json& d = batch->details.at(student);
    std::ostringstream expected;
    expected << student << "," << d.at("modules").at(0).at("score").get<double>() << ","
             << d.at("score").get<double>() << "," << d.at("max_score").get<double>() << ",";
    EXPECT_EQ(line.rfind(expected.str(), 0), 0U) << line << " vs " << expected.str();
  }
  EXPECT_EQ(rows, batch->details.size());
  EXPECT_EQ(rows, sabotages().size() + 6);
}

// ---- one submission, Gradescope's format, and its run_autograder script ---------------------

TEST(GradeGradescope, RunAutograderWritesResultsJsonInGradescopesFormat) {
  const TempDir root;
  write_file(root.path() / "submission" / "modules" / kModule / "setup.cpp", solution_text());
  const Output r =
      run(root.path(), {(course_root() / "grading/gradescope/run_autograder").string()},
          {"AUTOGRADER_ROOT=" + root.path().string(), "AUTOGRADER_SOURCE=" + course_root().string(),
           std::string("TITO=") + TITO_BINARY, "GRADE_CACHE=" + grading_cache().string(),
           "GRADE_MODULES=01"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const json results = read_json(root.path() / "results" / "results.json");
  ASSERT_TRUE(results.at("tests").is_array());
  ASSERT_GT(results.at("tests").size(), 0U);
  double max = 0;
  for (const auto& t : results.at("tests")) {
    for (const char* key : {"name", "score", "max_score", "output", "visibility", "status"}) {
      EXPECT_TRUE(t.contains(key)) << key << " missing in " << t.dump();
    }
    EXPECT_EQ(t.at("score"), t.at("max_score"));
    EXPECT_EQ(t.at("status"), "passed");
    max += t.at("max_score").get<double>();
  }
  EXPECT_EQ(results.at("score").get<double>(), max);
  EXPECT_TRUE(results.at("execution_time").is_number());
}

}  // namespace
}  // namespace grading_test
