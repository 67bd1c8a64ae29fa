// `tito release`: the student repository holds no solution and no hidden suite, offers only the
// student preset, and its leak check catches a solution that slipped into a released file.
#include <gtest/gtest.h>

#include "grading_support.hpp"

namespace grading_test {
namespace {

using nlohmann::json;

class Release : public testing::Test {
 protected:
  void SetUp() override {
    out_ = dir_.path() / "release";
    const Output r =
        tito(dir_.path(), {"--root", course_root().string(), "release", "--out", out_.string()});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
  }

  /// `tito release --check` of the (modified) release, as JSON.
  Output check() const {
    return tito(dir_.path(),
                {"--root", course_root().string(), "--json", "release", "--check", out_.string()});
  }

  static bool leak_names(const Output& r, const std::string& released) {
    const json doc = json::parse(r.out, nullptr, false);
    if (doc.is_discarded()) return false;
    for (const auto& leak : doc.at("leaks")) {
      if (leak.at("released").get<std::string>().find(released) != std::string::npos &&
          leak.at("allowed").is_null()) {
        return true;
      }
    }
    return false;
  }

  TempDir dir_;
  fs::path out_;
};

TEST_F(Release, HoldsNoSolutionsNoHiddenSuitesAndNoInstructorScripts) {
  EXPECT_FALSE(fs::exists(out_ / "solutions"));
  EXPECT_FALSE(fs::exists(out_ / "tests"));
  EXPECT_FALSE(fs::exists(out_ / "grading"));
  EXPECT_FALSE(fs::exists(out_ / "scripts" / "check-hidden-suites"));
  EXPECT_FALSE(fs::exists(out_ / "scripts" / "mutants"));
  EXPECT_FALSE(fs::exists(out_ / "scripts" / "checks.d"));
  EXPECT_TRUE(fs::exists(out_ / "scripts" / "install-deps"));
}

TEST_F(Release, ShipsTheStubsLessonsVisibleTestsAndTheTools) {
  for (const char* path :
       {"modules/01_setup/setup.cpp", "modules/01_setup/README.md", "modules/01_setup/module.json",
        "modules/01_setup/tests/setup_test.cpp", "tito/main.cpp", "checkpoints/checkpoints.json",
        "cmake", "CMakeLists.txt", "README.md", ".github/workflows/classroom.yml"}) {
    EXPECT_TRUE(fs::exists(out_ / path)) << path;
  }
  EXPECT_EQ(read_file(out_ / "modules/01_setup/setup.cpp"),
            read_file(course_root() / "modules/01_setup/setup.cpp"));
}

TEST_F(Release, OffersTheStudentPresetAndNoReferencePreset) {
  const json presets = read_json(out_ / "CMakePresets.json");
  bool student = false;
  for (const char* kind : {"configurePresets", "buildPresets", "testPresets"}) {
    for (const auto& p : presets.at(kind)) {
      EXPECT_NE(p.value("name", ""), "reference");
      student = student || p.value("name", "") == "student";
    }
  }
  EXPECT_TRUE(student);
}

TEST_F(Release, ItsReadmeHasNoInstructorSection) {
  EXPECT_EQ(read_file(out_ / "README.md").find("## Instructor"), std::string::npos);
}

TEST_F(Release, TheLeakCheckPassesOnAFreshRelease) {
  const Output r = check();
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST_F(Release, TheLeakCheckCatchesASolutionCopiedOverAStub) {
  write_file(out_ / "modules/01_setup/setup.cpp",
             read_file(course_root() / "solutions/01_setup/setup.cpp") + "// edited\n");
  const Output r = check();
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(leak_names(r, "modules/01_setup/setup.cpp")) << r.out;
}

TEST_F(Release, TheLeakCheckCatchesAOneLineAnswerLeftInAStub) {
  std::string stub = read_file(out_ / "modules/01_setup/setup.cpp");
  const std::string thrown = "throw NotImplemented(\"01_setup\", \"cxx_standard\");";
  const std::size_t at = stub.find(thrown);
  ASSERT_NE(at, std::string::npos);
  stub.replace(at, thrown.size(), "return static_cast<long>(__cplusplus);");
  write_file(out_ / "modules/01_setup/setup.cpp", stub);
  const Output r = check();
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(leak_names(r, "modules/01_setup/setup.cpp")) << r.out;
}

TEST_F(Release, TheLeakCheckCatchesAnAnswerQuotedInALessonComment) {
  // Half of a solution function's body, pasted as a commented example into the lesson.
  const std::string solution = read_file(course_root() / "solutions/01_setup/setup.cpp");
  const std::size_t begin = solution.find("std::string format_system_info(");
  ASSERT_NE(begin, std::string::npos);
  const std::size_t end = solution.find("\n}\n", begin);
  std::string quoted =
      "\nFor example:\n\n```cpp\n" + solution.substr(begin, end - begin) + "\n}\n```\n";
  write_file(out_ / "modules/01_setup/README.md",
             read_file(out_ / "modules/01_setup/README.md") + quoted);
  const Output r = check();
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(leak_names(r, "modules/01_setup/README.md")) << r.out;
}

TEST_F(Release, TheLeakCheckCatchesAHiddenSuiteFile) {
  fs::copy_file(course_root() / "tests/01_setup/setup_test.cpp",
                out_ / "modules/01_setup/tests/more_test.cpp");
  const Output r = check();
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(leak_names(r, "modules/01_setup/tests/more_test.cpp")) << r.out;
}

TEST_F(Release, RefusesToWriteIntoAFolderThatIsNotAnEarlierRelease) {
  const fs::path other = dir_.path() / "other";
  write_file(other / "notes.txt", "mine\n");
  const Output r =
      tito(dir_.path(), {"--root", course_root().string(), "release", "--out", other.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(read_file(other / "notes.txt"), "mine\n");
}

}  // namespace
}  // namespace grading_test
