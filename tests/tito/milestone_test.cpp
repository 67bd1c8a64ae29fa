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

}  // namespace
}  // namespace tito_test
