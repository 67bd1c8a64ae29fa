// The progress store: corrupt files are moved aside (never lost), newer schemas are refused, and
// concurrent tito processes do not lose each other's updates.
#include <gtest/gtest.h>

#include <thread>

#include "tito_support.hpp"

namespace tito_test {
namespace {

using nlohmann::json;

std::vector<fs::path> corrupt_copies(const TempCourse& course) {
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(course.root() / ".tito")) {
    if (e.path().filename().string().find("corrupt") != std::string::npos)
      found.push_back(e.path());
  }
  return found;
}

void expect_moved_aside(const TempCourse& course, const std::string& content) {
  const Output r = tito(course.root(), {"module", "status", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.json()["completed"], 0);  // starts afresh ...
  const auto copies = corrupt_copies(course);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(read_file(copies[0]), content);  // ... with nothing lost
  EXPECT_TRUE(copies[0].filename().string().starts_with("progress.json.corrupt-")) << copies[0];
  // The message names both the file and where it went.
  EXPECT_NE(r.err.find(course.progress_file().string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(copies[0].string()), std::string::npos) << r.err;
}

TEST(Progress, AFileThatIsNotJsonIsMovedAsideWithAClearMessage) {
  const TempCourse course;
  write_file(course.progress_file(), "{\"schema_version\": 1, \"modules\": {");
  expect_moved_aside(course, "{\"schema_version\": 1, \"modules\": {");
}

TEST(Progress, AFileWithTheWrongShapeIsMovedAside) {
  const TempCourse course;
  const std::string content =
      R"({"schema_version": 1, "modules": {"01_setup": {"state": "flying"}}})";
  write_file(course.progress_file(), content);
  expect_moved_aside(course, content);
}

TEST(Progress, AFileWithoutASchemaVersionIsMovedAside) {
  const TempCourse course;
  write_file(course.progress_file(), "[1, 2, 3]");
  expect_moved_aside(course, "[1, 2, 3]");
}

TEST(Progress, AFileFromANewerTitoIsRefusedAndLeftUntouched) {
  const TempCourse course;
  const std::string content = R"({"schema_version": 99, "modules": {}, "checkpoints": {}})";
  write_file(course.progress_file(), content);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"module", "status"}, {"module", "start", "01"}}) {
    const Output r = tito(course.root(), args);
    EXPECT_EQ(r.status, 1) << args.back();
    EXPECT_NE(r.err.find("schema_version 99"), std::string::npos) << r.err;
  }
  EXPECT_EQ(read_file(course.progress_file()), content);
  EXPECT_TRUE(corrupt_copies(course).empty());
}

TEST(Progress, AStartAfterACorruptFileRecordsAFreshValidFile) {
  const TempCourse course;
  write_file(course.progress_file(), "garbage");
  const Output r = tito(course.root(), {"module", "start", "01"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = json::parse(read_file(course.progress_file()));
  EXPECT_EQ(doc["modules"]["01_setup"]["state"], "started");
  EXPECT_EQ(corrupt_copies(course).size(), 1u);
}

TEST(Progress, ConcurrentTitoProcessesLeaveOneValidFile) {
  const TempCourse course;
  std::vector<std::thread> threads;
  std::vector<int> statuses(8, -1);
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = tito(course.root(), {"module", "start", "01"}).status;
    });
  }
  for (auto& t : threads) t.join();
  for (int s : statuses) EXPECT_EQ(s, 0);
  const json doc = json::parse(read_file(course.progress_file()));
  EXPECT_EQ(doc["modules"]["01_setup"]["state"], "started");
  for (const auto& e : fs::directory_iterator(course.root() / ".tito")) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "leftover temporary file " << name;
    EXPECT_EQ(name.find("corrupt"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace tito_test
