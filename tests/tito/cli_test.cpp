// tito's commands that need no build: registry, argument checks, unlock rules, JSON output, reset.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "tito_support.hpp"

namespace tito_test {
namespace {

using nlohmann::json;

/// The module folders of the copy, as tito should discover them.
std::vector<std::string> module_dirs(const fs::path& root) {
  std::vector<std::string> dirs;
  for (const auto& e : fs::directory_iterator(root / "modules")) {
    if (fs::exists(e.path() / "module.json")) dirs.push_back(e.path().filename().string());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

class Cli : public ::testing::Test {
 protected:
  TempCourse course;
};

TEST_F(Cli, ListJsonNamesEveryModuleFolder) {
  const Output r = tito(course.root(), {"module", "list", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  std::vector<std::string> listed;
  for (const auto& m : doc["modules"]) listed.push_back(m["dir"].get<std::string>());
  EXPECT_EQ(listed, module_dirs(course.root()));
  EXPECT_EQ(doc["modules"][0]["dir"], "01_setup");
  EXPECT_EQ(doc["modules"][0]["checkpoint"], "environment");
}

TEST_F(Cli, BenchOfAModuleWithoutABenchmarkNamesTheModulesThatHaveOne) {
  const Output r = tito(course.root(), {"module", "bench", "01"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("01_setup has no benchmark"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("15 (15_acceleration)"), std::string::npos) << r.err;
}

TEST_F(Cli, ListJsonGivesEachModulesBenchmarkTarget) {
  const json doc = tito(course.root(), {"module", "list", "--json"}).json();
  for (const auto& m : doc["modules"]) {
    if (m["dir"] == "15_acceleration") {
      EXPECT_EQ(m["benchmark"], "acceleration-bench");
    } else if (m["dir"] == "01_setup") {
      EXPECT_TRUE(m["benchmark"].is_null());
    }
  }
}

TEST_F(Cli, ListPrintsAnAlignedTable) {
  const Output r = tito(course.root(), {"module", "list"}, {"NO_COLOR=1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("01  setup"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "colour escapes despite NO_COLOR";
}

TEST_F(Cli, StartOfALockedModuleIsRefusedNamingItsPrerequisites) {
  const Output r = tito(course.root(), {"module", "start", "02"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("01_setup"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("locked"), std::string::npos) << r.err;
  const json status = tito(course.root(), {"module", "status", "--json"}).json();
  EXPECT_EQ(status["modules"][1]["state"], "locked");
}

TEST_F(Cli, StatusBeforeAnyProgressHasOnlyTheFirstModuleAvailable) {
  const Output r = tito(course.root(), {"--json", "module", "status"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["completed"], 0);
  ASSERT_GE(doc["modules"].size(), 2u);
  EXPECT_EQ(doc["modules"][0]["state"], "available");
  EXPECT_EQ(doc["modules"][0]["next"], "tito module start 01");
  for (std::size_t i = 1; i < doc["modules"].size(); ++i) {
    EXPECT_EQ(doc["modules"][i]["state"], "locked") << doc["modules"][i]["dir"];
  }
}

TEST_F(Cli, StartRecordsTheModuleAndShowsTheLessonAndFiles) {
  const Output r = tito(course.root(), {"module", "start", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("modules/01_setup/README.md"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("modules/01_setup/setup.cpp"), std::string::npos) << r.out;
  const json progress = json::parse(read_file(course.progress_file()));
  EXPECT_EQ(progress["schema_version"], 1);
  EXPECT_EQ(progress["modules"]["01_setup"]["state"], "started");
  EXPECT_FALSE(progress["modules"]["01_setup"]["started_at"].get<std::string>().empty());
  const json status = tito(course.root(), {"module", "status", "--json"}).json();
  EXPECT_EQ(status["modules"][0]["state"], "started");
}

TEST_F(Cli, ModulesAreAcceptedAsNumberPaddedNumberOrFolderName) {
  for (const char* arg : {"1", "01", "01_setup"}) {
    const Output r = tito(course.root(), {"module", "start", arg, "--json"});
    EXPECT_EQ(r.status, 0) << arg << ": " << r.err;
    EXPECT_EQ(r.json()["module"], "01_setup") << arg;
  }
}

TEST_F(Cli, BadModuleNumbersFailListingTheValidOnes) {
  for (const char* command : {"start", "test", "export", "complete", "reset"}) {
    for (const char* arg : {"99", "abc", "3x"}) {
      const Output r = tito(course.root(), {"module", command, arg});
      EXPECT_NE(r.status, 0) << command << " " << arg;
      EXPECT_NE(r.err.find(std::string("'") + arg + "'"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("01 (01_setup)"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("02 (02_tensor)"), std::string::npos) << r.err;
    }
  }
}

TEST_F(Cli, JsonErrorsAreOneJsonDocumentWithANonZeroStatus) {
  const Output r = tito(course.root(), {"module", "start", "abc", "--json"});
  EXPECT_NE(r.status, 0);
  const json doc = r.json();
  EXPECT_EQ(doc["ok"], false);
  EXPECT_NE(doc["error"].get<std::string>().find("01_setup"), std::string::npos);
}

TEST_F(Cli, EveryCommandHasHelpAndAMissingSubcommandFails) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"module", "--help"},
                                             {"module", "start", "--help"},
                                             {"module", "test", "--help"},
                                             {"system", "doctor", "--help"},
                                             {"checkpoint", "timeline", "--help"}}) {
    const Output r = tito(course.root(), args);
    EXPECT_EQ(r.status, 0) << args.back();
    EXPECT_NE(r.out.find("--json"), std::string::npos) << r.out;
  }
  EXPECT_NE(tito(course.root(), {"module"}).status, 0);
  EXPECT_NE(tito(course.root(), {"module", "start"}).status, 0);
  EXPECT_NE(tito(course.root(), {"no-such-command"}).status, 0);
}

TEST_F(Cli, TheCourseIsFoundFromASubfolderOrWithRoot) {
  const Output inside = tito(course.root() / "modules" / "01_setup", {"module", "list", "--json"});
  EXPECT_EQ(inside.status, 0) << inside.err;
  const TempDir elsewhere;
  const Output lost = tito(elsewhere.path(), {"module", "list"});
  EXPECT_NE(lost.status, 0);
  EXPECT_NE(lost.err.find("no TinyTorch course found"), std::string::npos) << lost.err;
  const Output with_root =
      tito(elsewhere.path(), {"module", "list", "--json", "--root", course.root().string()});
  EXPECT_EQ(with_root.status, 0) << with_root.err;
  const Output bad_root =
      tito(elsewhere.path(), {"module", "list", "--root", elsewhere.path().string()});
  EXPECT_NE(bad_root.status, 0);
}

TEST_F(Cli, CheckpointStatusJsonParsesAndMapsModules) {
  if (!fs::exists(course.root() / "checkpoints" / "checkpoints.json")) {
    GTEST_SKIP() << "checkpoints/checkpoints.json not written yet";
  }
  const Output r = tito(course.root(), {"checkpoint", "status", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["achieved"], 0);
  bool environment = false;
  for (const auto& c : doc["checkpoints"]) {
    EXPECT_EQ(c["achieved"], false);
    if (c["id"] == "environment") environment = c["module"] == "01_setup";
  }
  EXPECT_TRUE(environment) << doc.dump(2);
  EXPECT_EQ(tito(course.root(), {"checkpoint", "timeline", "--json"}).json()["achieved"], 0);
}

TEST_F(Cli, CheckpointCommandsSayClearlyWhenThereAreNoCheckpoints) {
  fs::remove(course.root() / "checkpoints" / "checkpoints.json");
  for (const char* command : {"status", "timeline"}) {
    const Output r = tito(course.root(), {"checkpoint", command});
    EXPECT_EQ(r.status, 1) << command;
    EXPECT_NE(r.err.find("checkpoints.json does not exist"), std::string::npos) << r.err;
  }
  const Output test = tito(course.root(), {"checkpoint", "test", "01"});
  EXPECT_EQ(test.status, 1);
  EXPECT_NE(test.err.find("checkpoints.json"), std::string::npos) << test.err;
}

TEST_F(Cli, ResetBacksUpTheStudentFileAndRestoresTheStub) {
  course.git_init();
  const fs::path file = course.root() / "modules" / "01_setup" / "setup.cpp";
  const std::string stub = read_file(file);
  ASSERT_EQ(tito(course.root(), {"module", "start", "01"}).status, 0);
  write_file(file, "// my work in progress\n");
  const Output r = tito(course.root(), {"module", "reset", "01", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(file), stub);
  const json doc = r.json();
  ASSERT_EQ(doc["backups"].size(), 1u);
  const fs::path backup = doc["backups"][0]["backup"].get<std::string>();
  EXPECT_EQ(backup.parent_path(), course.root() / ".tito" / "backups" / "01_setup");
  EXPECT_TRUE(std::regex_match(backup.filename().string(),
                               std::regex(R"(setup\.cpp\.\d{8}T\d{6}Z(-\d+)?)")))
      << backup;
  EXPECT_EQ(read_file(backup), "// my work in progress\n");
  EXPECT_EQ(doc["state"], "started");
  // A second reset keeps both backups.
  write_file(file, "// second attempt\n");
  ASSERT_EQ(tito(course.root(), {"module", "reset", "01"}).status, 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(backup.parent_path()), fs::directory_iterator()),
            2);
}

TEST_F(Cli, ResetUsesTheCachedStubEvenAfterTheStudentCommitsTheirWork) {
  course.git_init();
  const fs::path file = course.root() / "modules" / "01_setup" / "setup.cpp";
  const std::string stub = read_file(file);
  ASSERT_EQ(tito(course.root(), {"module", "start", "01"}).status, 0);  // caches the stub
  write_file(file, "// committed work\n");
  ASSERT_EQ(run(course.root(), {"git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                                "commit", "-qam", "work"})
                .status,
            0);
  ASSERT_EQ(tito(course.root(), {"module", "reset", "01"}).status, 0);
  EXPECT_EQ(read_file(file), stub);
}

TEST_F(Cli, ResetWithoutAPristineCopyRefusesAndChangesNothing) {
  const fs::path file = course.root() / "modules" / "01_setup" / "setup.cpp";
  write_file(file, "// my work\n");
  const Output r = tito(course.root(), {"module", "reset", "01"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no pristine copy"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(file), "// my work\n");
  EXPECT_FALSE(fs::exists(course.root() / ".tito" / "backups"));
}

TEST(System, InfoJsonNamesTheCourseRoot) {
  const TempCourse course;
  const Output r = tito(course.root(), {"system", "info", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["course root"], course.root().string());
  EXPECT_GE(doc["cores"].get<int>(), 1);
  EXPECT_NE(doc["cmake"].get<std::string>().find("cmake version"), std::string::npos);
}

TEST(System, DoctorVerifiesDataSetsAgainstTheCourseRegistry) {
  const TempCourse course;
  const TempDir data;
  write_file(data.path() / "good" / "a.bin", "abc");
  write_file(data.path() / "bad" / "b.bin", "abd");
  // sha256("abc") is the FIPS 180-2 test vector.
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  json sets = json::array();
  for (const char* id : {"good", "bad", "gone"}) {
    const std::string file = std::string(id) == "bad" ? "b.bin" : "a.bin";
    sets.push_back({{"id", id},
                    {"folder", id},
                    {"title", id},
                    {"files", {{{"name", file}, {"bytes", 3}, {"sha256", abc}}}}});
  }
  write_file(course.root() / "datasets" / "datasets.json",
             json{{"schema_version", 1}, {"datasets", sets}}.dump(2));
  const Output r = tito(course.root(), {"system", "doctor", "--json"},
                        {"TINYTORCH_DATA=" + data.path().string()});
  const json doc = r.json();
  std::map<std::string, std::string> status;
  for (const auto& c : doc["checks"]) status[c["name"]] = c["status"];
  EXPECT_EQ(status["data: good"], "ok");
  EXPECT_EQ(status["data: bad"], "fail");
  EXPECT_EQ(status["data: gone"], "warn");
  EXPECT_EQ(status["g++"], "ok");
  EXPECT_EQ(status["cmake"], "ok");
  EXPECT_EQ(status["fmt"], "ok");
  EXPECT_EQ(r.status, 1) << "a failing check must fail the doctor";
  EXPECT_EQ(doc["ok"], false);
}

}  // namespace
}  // namespace tito_test
