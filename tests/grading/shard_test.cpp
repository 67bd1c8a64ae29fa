// `tito grade --shard K/N` and `tito grade merge`: three shards merged give exactly the gradebook
// of one unsharded run, and an attacker graded first changes nothing for the students after it.
#include <gtest/gtest.h>

#include "grading_support.hpp"

namespace grading_test {
namespace {

using nlohmann::json;

const std::string kModule = "01_setup";

fs::path setup_file(const fs::path& subs, const std::string& student) {
  return subs / student / "modules" / kModule / "setup.cpp";
}

/// Four students, in name order: an attacker who tries to damage the shared build tree and the
/// course before anyone else is graded, the solution, the stubs, and a compile error.
void write_class(const fs::path& subs) {
  const std::string solution = read_file(course_root() / "solutions" / kModule / "setup.cpp");
  const std::string attack =
      "#include <filesystem>\n#include <fstream>\n"
      "namespace tinytorch::setup {\nnamespace {\n"
      "struct Vandal {\n  Vandal() {\n"
      "    std::error_code ec;\n"
      "    for (const auto& e : std::filesystem::recursive_directory_iterator(\"" GRADING_CACHE_DIR
      "\", ec)) {\n"
      "      if (e.is_regular_file(ec)) std::ofstream(e.path(), std::ios::trunc) << \"x\";\n"
      "    }\n"
      "    std::ofstream(\"" HIDDEN_SUITE_SOURCE
      "\", std::ios::app) << \"// vandal\\n\";\n"
      "  }\n};\n}  // namespace\n"
      "long vandalise() { static Vandal v; return 0; }\n}  // namespace tinytorch::setup\n";
  // The attack runs from inside a tested function (no code before main), then the solution.
  std::string attacker = solution;
  const std::string line = "  return static_cast<long>(__cplusplus);\n";
  const std::size_t at = attacker.find(line);
  ASSERT_NE(at, std::string::npos);
  attacker.replace(at, line.size(), "  (void)vandalise();\n" + line);
  attacker.insert(attacker.find("namespace tinytorch::setup {"), attack);
  write_file(setup_file(subs, "a_attacker"), attacker);
  write_file(setup_file(subs, "b_solution"), solution);
  write_file(setup_file(subs, "c_stubs"),
             read_file(course_root() / "modules" / kModule / "setup.cpp"));
  write_file(setup_file(subs, "d_compile_error"), "this is not C++\n");
}

Output grade(const fs::path& cwd, const fs::path& subs, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--submissions",  subs.string(), "--module", "01", "--jobs", "2",
                                   "--test-timeout", "10",          "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  return tito_grade(cwd, args);
}

TEST(GradeShards, ThreeShardsMergedEqualOneUnshardedRunAndTheAttackerChangesNothing) {
  const TempDir dir;
  const fs::path subs = dir.path() / "subs";
  write_class(subs);
  const std::string suite_before = read_file(HIDDEN_SUITE_SOURCE);

  const Output whole = grade(dir.path(), subs, {"--format", "csv", "--out", "whole.csv"});
  ASSERT_EQ(whole.status, 0) << whole.out << whole.err;
  std::vector<std::string> merge_args = {"--root", course_root().string(), "grade", "merge"};
  for (int k = 1; k <= 3; ++k) {
    const std::string part = "part-" + std::to_string(k) + ".json";
    const Output shard = grade(
        dir.path(), subs, {"--shard", std::to_string(k) + "/3", "--format", "json", "--out", part});
    ASSERT_EQ(shard.status, 0) << shard.out << shard.err;
    merge_args.push_back((dir.path() / part).string());
  }
  for (const std::string a : {"--format", "csv", "--out", "merged.csv"}) merge_args.push_back(a);
  const Output merged = tito(dir.path(), merge_args);
  ASSERT_EQ(merged.status, 0) << merged.out << merged.err;
  EXPECT_EQ(read_file(dir.path() / "merged.csv"), read_file(dir.path() / "whole.csv"));

  // The honest students after the attacker: full marks and zero, as if alone.
  const std::string csv = read_file(dir.path() / "whole.csv");
  EXPECT_NE(csv.find("\nc_stubs,0,0,"), std::string::npos) << csv;
  const std::size_t b = csv.find("\nb_solution,");
  ASSERT_NE(b, std::string::npos) << csv;
  const std::string row = csv.substr(b + 1, csv.find('\n', b + 1) - b - 1);
  // student,01_setup,total,max_total,...: score equals max.
  std::vector<std::string> cells;
  for (std::size_t p = 0, q; p <= row.size(); p = q + 1) {
    q = row.find(',', p);
    if (q == std::string::npos) q = row.size();
    cells.push_back(row.substr(p, q - p));
  }
  ASSERT_GE(cells.size(), 4U) << row;
  EXPECT_EQ(cells[1], cells[3]) << row;
  EXPECT_NE(cells[1], "0") << row;
  EXPECT_EQ(read_file(HIDDEN_SUITE_SOURCE), suite_before);
}

TEST(GradeShards, AShardThatIsNotKOfNIsAUsageError) {
  const TempDir dir;
  const Output r = tito(dir.path(), {"--root", course_root().string(), "grade", "--submissions",
                                     dir.path().string(), "--shard", "4/3"});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--shard"), std::string::npos) << r.err;
}

TEST(GradeShards, MergingTheSameStudentTwiceIsRefused) {
  const TempDir dir;
  const json part = {
      {"submissions", json::array({{{"student", "ann"}, {"modules", json::array()}}})}};
  write_file(dir.path() / "a.json", part.dump());
  write_file(dir.path() / "b.json", part.dump());
  const Output r =
      tito(dir.path(), {"--root", course_root().string(), "grade", "merge",
                        (dir.path() / "a.json").string(), (dir.path() / "b.json").string()});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("ann"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace grading_test
