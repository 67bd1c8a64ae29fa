// A student's path through module 01, on a real build of a temporary copy of the course: failing
// tests, a refused completion, completion with a working setup.cpp, the export package and the
// checkpoint, and a crashing suite. Kept to one test because each build costs minutes on 2 cores.
#include <gtest/gtest.h>

#include "tito_support.hpp"

namespace tito_test {
namespace {

using nlohmann::json;

// A probe suite with one test that passes against anything and one that needs setup.cpp: its names
// and messages must come back from tito exactly as GoogleTest reported them.
constexpr const char* kProbeTest = R"(#include <gtest/gtest.h>
#include "tinytorch/setup.hpp"
TEST(TitoProbe, AlwaysPasses) { EXPECT_EQ(2, 1 + 1); }
TEST(TitoProbe, CompilerVersionIsNamed) { EXPECT_FALSE(tinytorch::setup::compiler_version().empty()); }
)";

// A test that skips, recording its reason as GoogleTest's JSON report carries it: a property.
constexpr const char* kSkippingTest = R"(
TEST(TitoSkip, NeedsWhatIsNotHere) {
  RecordProperty("skip_reason", "the probe's reason");
  GTEST_SKIP() << "the probe's reason";
}
)";

constexpr const char* kCrashTest = R"(#include <gtest/gtest.h>
#include <csignal>
TEST(TitoCrash, RaisesSegv) { std::raise(SIGSEGV); }
)";

constexpr const char* kHangTest = R"(#include <gtest/gtest.h>
#include <chrono>
#include <thread>
TEST(TitoHang, NeverReturns) { for (;;) std::this_thread::sleep_for(std::chrono::seconds(1)); }
)";

// Used only while solutions/01_setup/setup.cpp is still a stub: a straightforward module 01.
constexpr const char* kWorkingSetup = R"(#include "tinytorch/setup.hpp"
#include <string>
#include <thread>
#include "tinytorch/kernels/gemm.hpp"
namespace tinytorch::setup {
std::string compiler_version() {
#if defined(__clang__)
  return "Clang " + std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__) + "." +
         std::to_string(__clang_patchlevel__);
#else
  return "GCC " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#endif
}
long cxx_standard() { return __cplusplus; }
int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}
SystemInfo system_info() {
#ifdef NDEBUG
  const char* type = "Release";
#else
  const char* type = "Debug";
#endif
  return {compiler_version(), cxx_standard(), type, hardware_threads(), kernels::blas_info()};
}
std::string format_system_info(const SystemInfo& i) {
  return "compiler: " + i.compiler + "\nc++ standard: " + std::to_string(i.cxx_standard) +
         "\nbuild type: " + i.build_type + "\nhardware threads: " +
         std::to_string(i.hardware_threads) + "\nblas: " + i.blas + "\n";
}
std::vector<std::string> environment_problems(const SystemInfo& i) {
  std::vector<std::string> problems;
  if (i.cxx_standard < 202002L) problems.push_back("C++20 or newer is required.");
  if (i.hardware_threads < 1) problems.push_back("At least one hardware thread is required.");
  if (i.blas.empty()) problems.push_back("No BLAS library is named.");
  return problems;
}
}  // namespace tinytorch::setup
)";

// -Wreturn-type, the beginner's classic: it compiles, and the function returns garbage.
constexpr const char* kReturnTypeWarning = R"(
namespace tinytorch::setup {
int tito_warning_probe(int x) {
  if (x > 0) return 1;
}
}  // namespace tinytorch::setup
)";

const json* find_test(const json& report, const std::string& suite, const std::string& name) {
  for (const auto& s : report["suites"]) {
    for (const auto& t : s["tests"]) {
      if (t["suite"] == suite && t["name"] == name) return &t;
    }
  }
  return nullptr;
}

/// tito's counts for a suite must be GoogleTest's own, from running the executable directly.
void expect_counts_match_a_direct_run(const TempCourse& course, const json& suite) {
  const TempDir dir;
  const fs::path report = dir.path() / "r.json";
  (void)run(course.root(),
            {suite["executable"].get<std::string>(), "--gtest_output=json:" + report.string()});
  const json direct = json::parse(read_file(report));
  EXPECT_EQ(suite["total"], direct["tests"]);
  EXPECT_EQ(suite["failed"], direct["failures"]);
  EXPECT_EQ(suite["passed"].get<int>() + suite["failed"].get<int>() + suite["skipped"].get<int>(),
            suite["total"].get<int>());
}

void put_working_setup(const TempCourse& course) {
  const fs::path solution = course.root() / "solutions" / "01_setup" / "setup.cpp";
  const std::string text = read_file(solution);
  const bool real = !text.empty() && text.find("NotImplemented(") == std::string::npos;
  write_file(course.root() / "modules" / "01_setup" / "setup.cpp", real ? text : kWorkingSetup);
}

TEST(Journey, Module01FromFailingTestsToCompletion) {
  const TempCourse course;
  write_file(course.root() / "modules" / "01_setup" / "tests" / "tito_probe_test.cpp", kProbeTest);
  ASSERT_EQ(tito(course.root(), {"module", "start", "01"}).status, 0);

  {
    SCOPED_TRACE("module test (no number: the started module) against the stub: real counts");
    const Output r = tito(course.root(), {"module", "test", "--json"});
    EXPECT_EQ(r.status, 1) << r.err;
    const json doc = r.json();
    ASSERT_TRUE(doc.contains("suites")) << doc.dump(2) << r.err;
    EXPECT_EQ(doc["module"], "01_setup");
    EXPECT_EQ(doc["ok"], false);
    EXPECT_GE(doc["failed"].get<int>(), 1);
    EXPECT_GE(doc["passed"].get<int>(), 1);
    const json* pass = find_test(doc, "TitoProbe", "AlwaysPasses");
    const json* fail = find_test(doc, "TitoProbe", "CompilerVersionIsNamed");
    ASSERT_TRUE(pass != nullptr && fail != nullptr) << doc.dump(2);
    EXPECT_EQ((*pass)["status"], "passed");
    EXPECT_EQ((*fail)["status"], "failed");
    ASSERT_FALSE((*fail)["failures"].empty());
    EXPECT_NE((*fail)["failures"][0].get<std::string>().find("not implemented"), std::string::npos);
    EXPECT_EQ((*fail)["failures"][0].get<std::string>().find("unknown file"), std::string::npos)
        << "GoogleTest's 'unknown file' line on an exception is noise";
    for (const auto& suite : doc["suites"]) expect_counts_match_a_direct_run(course, suite);
  }
  {
    SCOPED_TRACE("--filter runs the matching tests only; a pattern matching none is refused");
    const Output one = tito(
        course.root(), {"module", "test", "01", "--filter", "TitoProbe.AlwaysPasses", "--json"});
    EXPECT_EQ(one.status, 0) << one.out << one.err;
    EXPECT_EQ(one.json()["total"], 1) << one.out;
    const Output none = tito(course.root(), {"module", "test", "01", "--filter", "NoSuch.*"});
    EXPECT_EQ(none.status, 2) << none.out << none.err;
    EXPECT_NE(none.err.find("matches no test of module 01_setup"), std::string::npos) << none.err;
  }
  {
    SCOPED_TRACE("complete 01 against the stub is refused and records nothing");
    const Output r = tito(course.root(), {"module", "complete", "01"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("FAIL"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("TitoProbe.CompilerVersionIsNamed"), std::string::npos) << r.out;
    const json status = tito(course.root(), {"module", "status", "--json"}).json();
    EXPECT_EQ(status["completed"], 0);
    EXPECT_EQ(status["modules"][0]["state"], "started");
    EXPECT_EQ(status["modules"][1]["state"], "locked");
  }
  put_working_setup(course);
  {
    SCOPED_TRACE("complete 01 with a working setup.cpp");
    const Output r = tito(course.root(), {"module", "complete", "01", "--json"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    const json doc = r.json();
    EXPECT_EQ(doc["completed"], true);
    EXPECT_EQ(doc["tests"]["failed"], 0);
    EXPECT_NE(doc["next"].get<std::string>().find("tito module start 02"), std::string::npos);
    EXPECT_TRUE(fs::exists(course.root() / ".tito" / "install" / "lib" / "cmake" / "TinyTorch" /
                           "TinyTorchConfig.cmake"));
    const json progress = json::parse(read_file(course.progress_file()));
    EXPECT_EQ(progress["modules"]["01_setup"]["state"], "completed");
    EXPECT_EQ(progress["modules"]["01_setup"]["exported"], true);
    EXPECT_FALSE(progress["modules"]["01_setup"]["completed_at"].get<std::string>().empty());
    if (fs::exists(course.root() / "checkpoints" / "environment_test.cpp")) {
      // The checkpoint's program, linked against the student's library, handed tito their report.
      const Output info = tito(course.root(), {"system", "info"});
      EXPECT_NE(info.out.find("Your library's report"), std::string::npos) << info.out;
      EXPECT_NE(info.out.find("  compiler: "), std::string::npos) << info.out;
      EXPECT_EQ(progress["checkpoints"]["environment"]["passed"], true) << progress.dump(2);
      EXPECT_GE(progress["checkpoints"]["environment"]["tests_total"].get<int>(), 1);
      const json checkpoints = tito(course.root(), {"checkpoint", "status", "--json"}).json();
      EXPECT_EQ(checkpoints["achieved"], 1);
      const json timeline = tito(course.root(), {"checkpoint", "timeline", "--json"}).json();
      ASSERT_EQ(timeline["timeline"].size(), 1u);
      EXPECT_EQ(timeline["timeline"][0]["id"], "environment");
    }
    const json status = tito(course.root(), {"module", "status", "--json"}).json();
    EXPECT_EQ(status["completed"], 1);
    if (fs::exists(course.root() / "checkpoints" / "environment_test.cpp")) {
      SCOPED_TRACE("a checkpoint with a skipped test is not achieved, and tito says why");
      const fs::path test = course.root() / "checkpoints" / "environment_test.cpp";
      write_file(test, read_file(test) + kSkippingTest);
      const Output r = tito(course.root(), {"checkpoint", "test", "environment", "--json"});
      EXPECT_EQ(r.status, 1) << r.out << r.err;
      const json doc = r.json();
      EXPECT_EQ(doc["passed"], false);
      EXPECT_EQ(doc["run"]["skipped"], 1);
      bool named = false;
      for (const auto& t : doc["run"]["tests"]) {
        if (t["name"] == "NeedsWhatIsNotHere") {
          named = t["status"] == "skipped" && t["skip_reason"] == "the probe's reason";
        }
      }
      EXPECT_TRUE(named) << doc.dump(2);
      const Output text = tito(course.root(), {"checkpoint", "test", "environment"});
      EXPECT_NE(text.out.find("SKIP"), std::string::npos) << text.out;
      EXPECT_NE(text.out.find("the probe's reason"), std::string::npos) << text.out;
      const json after = tito(course.root(), {"checkpoint", "status", "--json"}).json();
      EXPECT_EQ(after["achieved"], 0);
    }
    EXPECT_EQ(status["modules"][0]["state"], "completed");
    EXPECT_EQ(status["modules"][1]["state"], "available");
    EXPECT_EQ(tito(course.root(), {"module", "start", "02"}).status, 0);
  }
  {
    SCOPED_TRACE("a warning in the student's file is shown although the build succeeds");
    const fs::path setup = course.root() / "modules" / "01_setup" / "setup.cpp";
    write_file(setup, read_file(setup) + kReturnTypeWarning);
    const Output r = tito(course.root(), {"module", "test", "01"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("-Wreturn-type"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("modules/01_setup/setup.cpp"), std::string::npos) << r.out;
  }
  {
    SCOPED_TRACE("a crashing test is named, and the suite's other tests still run and count");
    write_file(course.root() / "tests" / "01_setup" / "tito_crash_test.cpp", kCrashTest);
    const Output r = tito(course.root(), {"module", "test", "01", "--json"});
    EXPECT_EQ(r.status, 1);
    const json doc = r.json();
    bool crashed = false;
    for (const auto& suite : doc["suites"]) {
      if (suite["label"] != "hidden") continue;
      const std::string problem =
          suite["problem"].is_string() ? suite["problem"].get<std::string>() : "";
      crashed = problem.find("TitoCrash.RaisesSegv") != std::string::npos &&
                problem.find("SIGSEGV") != std::string::npos;
      EXPECT_EQ(suite["failed"], 1) << "only the crashing test fails";
      EXPECT_GE(suite["passed"].get<int>(), 1) << "the tests after the crash still ran";
      EXPECT_EQ(suite["passed"].get<int>() + 1, suite["total"].get<int>());
      const json* test = find_test(doc, "TitoCrash", "RaisesSegv");
      ASSERT_NE(test, nullptr) << doc.dump(2);
      EXPECT_EQ((*test)["status"], "failed");
    }
    EXPECT_TRUE(crashed) << doc.dump(2);
    const Output text = tito(course.root(), {"module", "test", "01"});
    EXPECT_NE(text.out.find("FAIL  TitoCrash.RaisesSegv"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("--asan"), std::string::npos) << "a crash suggests AddressSanitizer";
  }
  {
    SCOPED_TRACE(
        "a hanging test is killed at the per-test --timeout and named; the rest still run");
    write_file(course.root() / "tests" / "01_setup" / "tito_crash_test.cpp", kHangTest);
    const Output r = tito(course.root(), {"module", "test", "01", "--timeout", "3", "--json"});
    EXPECT_EQ(r.status, 1);
    const json doc = r.json();
    bool timed_out = false;
    for (const auto& suite : doc["suites"]) {
      if (suite["label"] == "hidden" && suite["problem"].is_string()) {
        const std::string problem = suite["problem"].get<std::string>();
        timed_out = problem.find("TitoHang.NeverReturns timed out") != std::string::npos;
        EXPECT_EQ(suite["passed"].get<int>() + 1, suite["total"].get<int>());
        EXPECT_LT(suite["seconds"].get<double>(), 60.0);
      }
    }
    EXPECT_TRUE(timed_out) << doc.dump(2);
  }
}

TEST(Journey, ABuildErrorNamesEveryBrokenFileShowsTheFirstErrorsAndKeepsTheLog) {
  const TempCourse course;
  write_file(course.root() / "modules" / "01_setup" / "setup.cpp", "this is not C++;\n");
  write_file(course.root() / "modules" / "03_activations" / "activations.cpp",
             "int broken_in_module_03 = ;\n");
  const Output r = tito(course.root(), {"module", "test", "01"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("modules/01_setup/setup.cpp"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("modules/03_activations/activations.cpp"), std::string::npos)
      << "a broken file of another module is named too\n"
      << r.err;
  EXPECT_NE(r.err.find("tito module reset 03"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("this is not C++"), std::string::npos) << "the first error is shown\n"
                                                              << r.err;
  EXPECT_NE(r.err.find("build/student/tito-build.log"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(course.root() / "build" / "student" / "tito-build.log"));
}

}  // namespace
}  // namespace tito_test
