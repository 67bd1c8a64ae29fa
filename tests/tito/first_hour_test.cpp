// A student's first hour with tito (issue 15, part B): listings in course order, tables that fit
// the terminal, refusals that suggest only what works in the copy at hand, milestones in parts,
// reset and its backups, and the small conveniences. None of these builds anything.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "tito_support.hpp"

namespace tito_test {
namespace {

using nlohmann::json;

const char* const kModules01To06 = R"({"schema_version": 1, "modules": {
  "01_setup": {"state": "completed"}, "02_tensor": {"state": "completed"},
  "03_activations": {"state": "completed"}, "04_layers": {"state": "completed"},
  "05_losses": {"state": "completed"}, "06_optimizers": {"state": "completed"}}})";

/// Columns of the widest line (the course's text is ASCII but for a few arrows: count code points).
std::size_t widest_line(const std::string& text) {
  std::size_t widest = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto columns = std::count_if(line.begin(), line.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    });
    widest = std::max(widest, static_cast<std::size_t>(columns));
  }
  return widest;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(FirstHour, CheckpointStatusFollowsModuleOrderWhateverTheFileOrder) {
  const TempCourse course;
  const fs::path file = course.root() / "checkpoints" / "checkpoints.json";
  json registry = json::parse(read_file(file));
  json reversed = json::array();
  for (auto it = registry["checkpoints"].rbegin(); it != registry["checkpoints"].rend(); ++it) {
    reversed.push_back(*it);
  }
  registry["checkpoints"] = reversed;
  write_file(file, registry.dump(2));
  const Output r = tito(course.root(), {"checkpoint", "status", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> numbers;
  const json doc = r.json();
  for (const auto& c : doc["checkpoints"]) numbers.push_back(c["module_number"].get<std::string>());
  EXPECT_TRUE(std::is_sorted(numbers.begin(), numbers.end())) << r.out;
  EXPECT_EQ(numbers.front(), "01");
}

TEST(FirstHour, TheShippedCheckpointsFileIsInModuleOrder) {
  const TempCourse course;
  const json registry = json::parse(read_file(course.root() / "checkpoints" / "checkpoints.json"));
  const json listed = tito(course.root(), {"checkpoint", "status", "--json"}).json();
  ASSERT_EQ(registry["checkpoints"].size(), listed["checkpoints"].size());
  for (std::size_t i = 0; i < listed["checkpoints"].size(); ++i) {
    EXPECT_EQ(registry["checkpoints"][i]["id"], listed["checkpoints"][i]["id"]) << "entry " << i;
  }
}

TEST(FirstHour, XorsFirstPartIsReadyAfterModule06AndItsSecondNeedsAutograd) {
  const TempCourse course;
  write_file(course.progress_file(), kModules01To06);
  const json doc = tito(course.root(), {"milestone", "list", "--json"}).json();
  for (const auto& m : doc["milestones"]) {
    if (m["id"] != "xor" && m["id"] != "perceptron") continue;
    EXPECT_TRUE(m["missing_modules"].empty()) << m.dump(2);
    ASSERT_EQ(m["parts"].size(), 2u) << m.dump(2);
    EXPECT_EQ(m["parts"][0]["id"], "by-hand");
    EXPECT_TRUE(m["parts"][0]["missing_modules"].empty());
    EXPECT_EQ(m["parts"][1]["missing_modules"], json::array({"07_autograd"}));
  }
  const Output text = tito(course.root(), {"milestone", "list"});
  EXPECT_TRUE(has(text.out, "part 1 of 2")) << text.out;
}

TEST(FirstHour, MilestoneRunSaysWhatTheSecondPartNeedsBeforeAnyErrorEvenWhenPiped) {
  const TempCourse course;
  write_file(course.progress_file(), kModules01To06);
  // Nothing is exported in this copy, so the run stops at the build; what came before stays first.
  const Output r =
      run(course.root(), {"sh", "-c", std::string(TITO_BINARY) + " milestone run xor 2>&1"});
  EXPECT_EQ(r.status, 1);
  const auto plan = r.out.find("needs 07_autograd: tito module complete 07");
  const auto error = r.out.find("error:");
  ASSERT_NE(plan, std::string::npos) << r.out;
  ASSERT_NE(error, std::string::npos) << r.out;
  EXPECT_LT(plan, error) << r.out;
  EXPECT_TRUE(has(r.out, "running part by-hand of 2")) << r.out;
}

TEST(FirstHour, AStudentCopyIsNeverToldToUseReference) {
  const TempCourse course;
  fs::remove_all(course.root() / "solutions");  // what a release lacks
  const Output refused = tito(course.root(), {"milestone", "run", "xor"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_TRUE(has(refused.err, "tito module complete 01")) << refused.err;
  EXPECT_FALSE(has(refused.err, "--reference")) << refused.err;
  const Output list = tito(course.root(), {"milestone", "list"});
  EXPECT_FALSE(has(list.out, "--reference")) << list.out;
}

TEST(FirstHour, TheInstructorCopyStillOffersReference) {
  const TempCourse course;
  EXPECT_TRUE(has(tito(course.root(), {"milestone", "list"}).out, "--reference"));
}

TEST(FirstHour, TablesWrapToTheTerminalWidthAndKeepEveryWord) {
  const TempCourse course;
  const Output wide = tito(course.root(), {"milestone", "list"});
  ASSERT_GT(widest_line(wide.out), 100u) << "the test needs a table wider than the limit";
  const Output r = tito(course.root(), {"milestone", "list"}, {"COLUMNS=100"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_LE(widest_line(r.out), 100u) << r.out;
  for (const char* word : {"Shakespeare,", "causal", "1e-4)", "tinygpt"}) {
    EXPECT_TRUE(has(r.out, word)) << word << " lost:\n" << r.out;
  }
}

TEST(FirstHour, TitoAloneShowsTheHelp) {
  const TempCourse course;
  const Output r = tito(course.root(), {});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "Usage: tito")) << r.out;
  EXPECT_TRUE(has(r.out, "module")) << r.out;
}

TEST(FirstHour, AModuleMayBeNamedByItsName) {
  const TempCourse course;
  EXPECT_EQ(tito(course.root(), {"module", "start", "setup"}).status, 0);
  const Output locked = tito(course.root(), {"module", "start", "tensor"});
  EXPECT_EQ(locked.status, 1);
  EXPECT_TRUE(has(locked.err, "02_tensor is locked")) << locked.err;
}

TEST(FirstHour, ModuleTestWithoutANumberTakesTheModuleYouAreOn) {
  const TempCourse course;
  write_file(course.progress_file(), R"({"schema_version": 1, "modules": {
    "01_setup": {"state": "completed"}, "02_tensor": {"state": "started"}}})");
  // No cmake on PATH: the command stops at the build, after saying which module it took.
  const Output r = tito(course.root(), {"module", "test"}, {"PATH=/nonexistent"});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(has(r.out, "Module 02_tensor: the one you are on")) << r.out << r.err;
}

TEST(FirstHour, AUsageErrorWithJsonIsOneJsonDocument) {
  const TempCourse course;
  const Output r = tito(course.root(), {"module", "start", "--json"});  // the module is missing
  EXPECT_NE(r.status, 0);
  const json doc = r.json();
  EXPECT_EQ(doc["ok"], false) << r.out;
  EXPECT_TRUE(doc["error"].is_string()) << r.out;
  EXPECT_EQ(doc["exit_status"], r.status);
}

TEST(FirstHour, ADumbTerminalGetsNoColours) {
  const TempCourse course;
  // `script` gives tito a terminal, where it colours unless told not to.
  const auto on_a_terminal = [&](const std::string& term) {
    return run(course.root(), {"script", "-qec",
                               "TERM=" + term + " " + TITO_BINARY + " module status", "/dev/null"});
  };
  const Output coloured = on_a_terminal("xterm");
  if (coloured.status != 0 || !has(coloured.out, "\x1b[")) {
    GTEST_SKIP() << "no pseudo-terminal here (script: " << coloured.out << coloured.err << ")";
  }
  const Output dumb = on_a_terminal("dumb");
  EXPECT_EQ(dumb.status, 0) << dumb.out;
  EXPECT_FALSE(has(dumb.out, "\x1b[")) << dumb.out;
}

TEST(FirstHour, TimesAreShownInTheLocalZone) {
  const TempCourse course;
  write_file(course.progress_file(), R"({"schema_version": 1,
    "modules": {"01_setup": {"state": "completed"}},
    "checkpoints": {"environment": {"passed": true, "at": "2026-01-01T00:00:00Z",
                                    "achieved_at": "2026-01-01T00:00:00Z",
                                    "tests_passed": 3, "tests_total": 3}}})");
  // A POSIX zone string: nine hours east of UTC, no time-zone database needed.
  const Output r = tito(course.root(), {"checkpoint", "status"}, {"TZ=JST-9", "COLUMNS=200"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "2026-01-01 09:00 JST")) << r.out;
  const json doc = tito(course.root(), {"checkpoint", "status", "--json"}, {"TZ=JST-9"}).json();
  EXPECT_EQ(doc["checkpoints"][0]["achieved_at"], "2026-01-01T00:00:00Z");  // JSON stays UTC
}

TEST(FirstHour, ResettingAnUntouchedStubMakesNoBackup) {
  const TempCourse course;
  course.git_init();
  const Output r = tito(course.root(), {"module", "reset", "01"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "still the stub: nothing to back up")) << r.out;
  EXPECT_FALSE(fs::exists(course.root() / ".tito" / "backups"));
}

TEST(FirstHour, ResettingYourCodeSaysHowToGetItBack) {
  const TempCourse course;
  course.git_init();
  const fs::path mine = course.root() / "modules" / "01_setup" / "setup.cpp";
  write_file(mine, "// my work\n");
  const Output r = tito(course.root(), {"module", "reset", "01"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto at = r.out.find("to get your version back: cp ");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::istringstream command(r.out.substr(at + 29));
  std::string backup;
  command >> backup;
  EXPECT_EQ(read_file(course.root() / backup), "// my work\n");
}

TEST(FirstHour, ResetAfterCompleteTakesBackTheCheckpoint) {
  const TempCourse course;
  course.git_init();
  write_file(course.progress_file(), R"({"schema_version": 1,
    "modules": {"01_setup": {"state": "completed", "started_at": "2026-01-01T00:00:00Z"}},
    "checkpoints": {"environment": {"passed": true, "at": "2026-01-01T00:00:00Z",
                                    "achieved_at": "2026-01-01T00:00:00Z",
                                    "tests_passed": 3, "tests_total": 3}}})");
  ASSERT_EQ(tito(course.root(), {"module", "reset", "01"}).status, 0);
  const json modules = tito(course.root(), {"module", "status", "--json"}).json();
  EXPECT_EQ(modules["modules"][0]["state"], "started");
  const json checkpoints = tito(course.root(), {"checkpoint", "status", "--json"}).json();
  EXPECT_EQ(checkpoints["achieved"], 0) << checkpoints.dump(2);
  EXPECT_EQ(checkpoints["checkpoints"][0]["achieved"], false);
}

TEST(FirstHour, SystemInfoAndDoctorShowTheReportYourLibraryWrote) {
  const TempCourse course;
  const Output before = tito(course.root(), {"system", "info"});
  EXPECT_TRUE(has(before.out, "appears here once `tito module complete 01`")) << before.out;
  // What the environment checkpoint's program writes (checkpoints/environment_test.cpp).
  write_file(course.root() / ".tito" / "system_report.json",
             R"({"report": "compiler: GCC 12.2.0\ncxx standard: 202002\n",
                 "problems": ["no BLAS library was linked"]})");
  const Output info = tito(course.root(), {"system", "info"});
  EXPECT_TRUE(has(info.out, "Your library's report")) << info.out;
  EXPECT_TRUE(has(info.out, "  compiler: GCC 12.2.0")) << info.out;
  const json doc = tito(course.root(), {"system", "doctor", "--json"}).json();
  bool listed = false;
  for (const auto& c : doc["checks"]) {
    listed = listed || (c["detail"] == "no BLAS library was linked" && c["status"] == "fail");
  }
  EXPECT_TRUE(listed) << doc.dump(2);
}

/// scripts/classroom with cmake and ctest replaced by stand-ins: ctest fails for the modules named
/// in FAILING and prints the test that failed.
class Classroom : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(bin_.path());
    write_file(bin_.path() / "cmake", "#!/bin/sh\nexit 0\n");
    write_file(bin_.path() / "ctest",
               "#!/bin/sh\ncase \" $FAILING \" in *\" $4 \"*)\n"
               "  echo \"    Start 1: $4 Example.Fails\"; echo 'expected 1, got 2';\n"
               "  echo '50% tests passed, 1 tests failed out of 2'; exit 8;;\nesac\n"
               "echo '100% tests passed, 0 tests failed out of 2'\n");
    fs::permissions(bin_.path() / "cmake", fs::perms::owner_all);
    fs::permissions(bin_.path() / "ctest", fs::perms::owner_all);
    fs::create_directories(course_.root() / "scripts");
    fs::copy_file(fs::path(TINYTORCH_SOURCE_DIR) / "scripts" / "classroom",
                  course_.root() / "scripts" / "classroom");
    write_file(course_.progress_file(), R"({"schema_version": 1, "modules": {
      "01_setup": {"state": "completed"}, "02_tensor": {"state": "started"}}})");
  }
  Output classroom(const std::string& failing) {
    return run(course_.root(), {"bash", "scripts/classroom"},
               {"PATH=" + bin_.path().string() + ":/usr/bin:/bin", "FAILING=" + failing});
  }
  TempCourse course_;
  TempDir bin_;
};

TEST_F(Classroom, PassesWhileEveryCompletedModulePassesThoughOneInProgressFails) {
  const Output r = classroom("^visible\\.02_tensor\\.");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "module 01_setup (completed): visible tests pass")) << r.out;
  EXPECT_TRUE(has(r.out, "1 tests failed out of 2; not counted against you")) << r.out;
  EXPECT_TRUE(has(r.out, "module 03_activations: not started")) << r.out;
}

TEST_F(Classroom, FailsWhenACompletedModuleFailsAndShowsTheFailure) {
  const Output r = classroom("^visible\\.01_setup\\.");
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "::error::module 01_setup is completed but its visible tests fail"))
      << r.out;
  EXPECT_TRUE(has(r.out, "expected 1, got 2")) << r.out;
}

}  // namespace
}  // namespace tito_test
