// `tito milestone`: the registry comes from milestones/milestones.json, `run` refuses until the
// required modules are complete, and every listing parses as JSON.
#include <gtest/gtest.h>

#include "tito_support.hpp"

namespace tito_test {
namespace {

TEST(Milestone, ListJsonHasEveryRegistryEntryWithItsMissingModules) {
  const TempCourse course;
  const Output out = tito(course.root(), {"milestone", "list", "--json"});
  ASSERT_EQ(out.status, 0) << out.err;
  const auto doc = out.json();
  const auto registry =
      nlohmann::json::parse(read_file(course.root() / "milestones" / "milestones.json"));
  ASSERT_EQ(doc["milestones"].size(), registry["milestones"].size());
  for (std::size_t i = 0; i < registry["milestones"].size(); ++i) {
    EXPECT_EQ(doc["milestones"][i]["id"], registry["milestones"][i]["id"]);
    // Nothing is complete in a fresh course, so every required module is missing.
    EXPECT_EQ(doc["milestones"][i]["missing_modules"], registry["milestones"][i]["requires"]);
    EXPECT_TRUE(doc["milestones"][i]["last_run"].is_null());
  }
}

TEST(Milestone, RunRefusesBeforeTheRequiredModulesAreCompleteAndNamesThem) {
  const TempCourse course;
  const Output out = tito(course.root(), {"milestone", "run", "xor"});
  EXPECT_EQ(out.status, 1);
  EXPECT_NE(out.err.find("needs these modules completed first"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("01_setup"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("--reference"), std::string::npos) << out.err;
  EXPECT_FALSE(fs::exists(course.root() / ".tito" / "milestones" / "xor.json"));
}

TEST(Milestone, UnknownIdIsAUsageErrorListingTheValidOnes) {
  const TempCourse course;
  const Output out = tito(course.root(), {"milestone", "info", "alexnet"});
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.err.find("'alexnet' is not a milestone"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("mnist"), std::string::npos) << out.err;
}

TEST(Milestone, StatusJsonCountsNothingPassedInAFreshCourse) {
  const TempCourse course;
  const Output out = tito(course.root(), {"milestone", "status", "--json"});
  ASSERT_EQ(out.status, 0) << out.err;
  EXPECT_EQ(out.json()["passed"], 0);
}

TEST(Milestone, StatusNamesTheChartsOfTheLastRunThatExist) {
  const TempCourse course;
  const fs::path dir = course.root() / ".tito" / "milestones";
  write_file(dir / "xor.json",
             R"({"id": "xor", "gate": {"rule": "r", "passed": true}, "final": {},
                 "charts": ["xor-curves.svg", "xor-gone.svg", "../outside.svg"]})");
  write_file(dir / "xor-curves.svg", "<svg/>");
  const Output json_out = tito(course.root(), {"milestone", "status", "--json"});
  ASSERT_EQ(json_out.status, 0) << json_out.err;
  for (const auto& m : json_out.json()["milestones"]) {
    if (m["id"] != "xor") continue;
    // A chart that no longer exists, or that points outside the folder, is not named.
    EXPECT_EQ(m["last_run"]["charts"], nlohmann::json::array({".tito/milestones/xor-curves.svg"}));
  }
  const Output text = tito(course.root(), {"milestone", "status"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find(".tito/milestones/xor-curves.svg"), std::string::npos) << text.out;
}

TEST(Milestone, StatusCountsAMilestoneInPartsPassedOnlyWhenEveryPartPassed) {
  const TempCourse course;
  write_file(course.root() / ".tito" / "milestones" / "perceptron.json",
             R"({"id": "perceptron", "gate": {"rule": "r", "passed": true}, "final": {},
                 "settings": {"parts": ["by-hand"]}})");
  const Output json_out = tito(course.root(), {"milestone", "status", "--json"});
  ASSERT_EQ(json_out.status, 0) << json_out.err;
  EXPECT_EQ(json_out.json()["passed"], 0);
  const Output text = tito(course.root(), {"milestone", "status"});
  EXPECT_NE(text.out.find("not yet run: autograd"), std::string::npos) << text.out;

  write_file(course.root() / ".tito" / "milestones" / "perceptron.json",
             R"({"id": "perceptron", "gate": {"rule": "r", "passed": true}, "final": {},
                 "settings": {"parts": ["by-hand", "autograd"]}})");
  EXPECT_EQ(tito(course.root(), {"milestone", "status", "--json"}).json()["passed"], 1);
}

}  // namespace
}  // namespace tito_test
