// `tito grade --leaderboard production`: one CSV row per submission, and a submission that cannot
// run the milestone gets a row saying why, never a crash of the whole board. These cases stop
// before any build, so the test is quick; the full run (a whole library built and served) is the
// milestone's own business and too long for CI.
#include <gtest/gtest.h>

#include "grading_support.hpp"

namespace grading_test {
namespace {

/// `tito --root <course> --data-dir DATA grade --cache ... --leaderboard production ARGS...`.
Output board(const fs::path& cwd, const fs::path& data, std::vector<std::string> extra) {
  std::vector<std::string> args = {
      "--root",  course_root().string(),   "--data-dir",    data.string(), "grade",
      "--cache", grading_cache().string(), "--leaderboard", "production",  "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  return tito(cwd, args);
}

fs::path data_folder(const fs::path& root) {
  fs::create_directories(root / "data" / "cifar-10-batches-bin");
  return root / "data";
}

void write_model_config(const fs::path& submission) {
  write_file(submission / ".tito" / "milestones" / "cifar10" / "config.json",
             R"({"format": 1, "milestone": "cifar10"})");
}

}  // namespace

TEST(Leaderboard, EachSubmissionThatCannotRunGetsARowSayingWhy) {
  const TempDir dir;
  const fs::path subs = dir.path() / "subs";
  fs::create_directories(subs / "doe, jane" / "modules");  // no saved model
  write_model_config(subs / "no_files");                   // a model but no modules
  const Output out = board(dir.path(), data_folder(dir.path()),
                           {"--submissions", subs.string(), "--out", "board.csv"});
  ASSERT_EQ(out.status, 0) << out.out << out.err;
  const std::string csv = read_file(dir.path() / "board.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "student,passed,accuracy,p99_ms,throughput_rps,model_bytes,note");
  EXPECT_NE(csv.find("\n\"doe, jane\",no,,,,,no saved model: .tito/milestones/cifar10/config.json "
                     "is missing"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\nno_files,no,,,,,missing from the submission: modules/01_setup/setup.cpp"),
            std::string::npos)
      << csv;
}

TEST(Leaderboard, AModelFolderLinkedOutOfTheSubmissionIsRefused) {
  const TempDir dir;
  const fs::path subs = dir.path() / "subs";
  write_model_config(dir.path() / "elsewhere");
  fs::create_directories(subs / "linker" / ".tito" / "milestones");
  fs::create_symlink(dir.path() / "elsewhere" / ".tito" / "milestones" / "cifar10",
                     subs / "linker" / ".tito" / "milestones" / "cifar10");
  const Output out = board(dir.path(), data_folder(dir.path()),
                           {"--submissions", subs.string(), "--out", "board.csv"});
  ASSERT_EQ(out.status, 0) << out.out << out.err;
  const std::string csv = read_file(dir.path() / "board.csv");
  EXPECT_NE(csv.find("\nlinker,no,,,,,.tito/milestones/cifar10 leads outside the submission"),
            std::string::npos)
      << csv;
}

TEST(Leaderboard, WithoutTheDataSetItSaysWhereToPutIt) {
  const TempDir dir;
  write_model_config(dir.path() / "subs" / "ann");
  fs::create_directories(dir.path() / "empty");
  const Output out = board(dir.path(), dir.path() / "empty",
                           {"--submissions", (dir.path() / "subs").string(), "--out", "board.csv"});
  EXPECT_NE(out.status, 0);
  EXPECT_NE(out.err.find("cifar-10-batches-bin"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("TINYTORCH_DATA"), std::string::npos) << out.err;
  EXPECT_FALSE(fs::exists(dir.path() / "board.csv"));
}

TEST(Leaderboard, AnUnknownMilestoneNamesTheValidOnes) {
  const TempDir dir;
  fs::create_directories(dir.path() / "subs" / "ann");
  const Output out = tito(dir.path(), {"--root", course_root().string(), "grade", "--leaderboard",
                                       "nope", "--submissions", (dir.path() / "subs").string()});
  EXPECT_NE(out.status, 0);
  EXPECT_NE(out.err.find("production"), std::string::npos) << out.err;
}

}  // namespace grading_test
