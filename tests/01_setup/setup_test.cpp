// Hidden grading suite for module 01 (setup). Never shipped to students.
//
// The oracle for the machine-dependent functions is the same set of predefined macros and standard
// library calls, evaluated here: this file is compiled by the same compiler, with the same standard
// and build type, as the library under test. environment_problems is specified on crafted
// SystemInfo values, at and around each documented limit.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>

#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/setup.hpp"

namespace tinytorch::setup {
namespace {

std::string expected_compiler() {
#if defined(__clang__)
  return "Clang " + std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__) + "." +
         std::to_string(__clang_patchlevel__);
#else
  return "GCC " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#endif
}

// An environment that meets every requirement; each test changes one field.
SystemInfo supported() {
  SystemInfo info;
  info.compiler = "GCC 12.2.0";
  info.cxx_standard = 202002;
  info.build_type = "Release";
  info.hardware_threads = 2;
  info.blas = "OpenBLAS (OpenBLAS 0.3.21 NO_AFFINITY, core Haswell)";
  return info;
}

// ---- the machine ---------------------------------------------------------------------------

TEST(Setup, CompilerVersionNamesTheCompilerAndItsFullVersion) {
  EXPECT_EQ(compiler_version(), expected_compiler());
}

TEST(Setup, CxxStandardIsTheValueOfCplusplus) {
  EXPECT_EQ(cxx_standard(), static_cast<long>(__cplusplus));
}

TEST(Setup, HardwareThreadsIsHardwareConcurrencyButNeverZero) {
  const int expected = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  EXPECT_EQ(hardware_threads(), expected);
}

TEST(Setup, SystemInfoCollectsCompilerStandardAndThreads) {
  const SystemInfo info = system_info();
  EXPECT_EQ(info.compiler, expected_compiler());
  EXPECT_EQ(info.cxx_standard, static_cast<long>(__cplusplus));
  EXPECT_EQ(info.hardware_threads,
            std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
}

TEST(Setup, SystemInfoBuildTypeFollowsNdebug) {
#ifdef NDEBUG
  EXPECT_EQ(system_info().build_type, "Release");
#else
  EXPECT_EQ(system_info().build_type, "Debug");
#endif
}

TEST(Setup, SystemInfoBlasIsTheKernelLayersBlas) {
  EXPECT_EQ(system_info().blas, std::string(kernels::blas_info()));
}

// ---- format_system_info --------------------------------------------------------------------

TEST(Setup, FormatSystemInfoWritesOneKeyValueLinePerFieldInStructOrder) {
  EXPECT_EQ(format_system_info(supported()),
            "compiler: GCC 12.2.0\n"
            "c++ standard: 202002\n"
            "build type: Release\n"
            "hardware threads: 2\n"
            "blas: OpenBLAS (OpenBLAS 0.3.21 NO_AFFINITY, core Haswell)\n");
}

TEST(Setup, FormatSystemInfoPrintsTheGivenValuesNotThisMachines) {
  SystemInfo info;
  info.compiler = "Clang 17.0.6";
  info.cxx_standard = 202302;
  info.build_type = "Debug";
  info.hardware_threads = 128;
  info.blas = "MKL";
  EXPECT_EQ(format_system_info(info),
            "compiler: Clang 17.0.6\n"
            "c++ standard: 202302\n"
            "build type: Debug\n"
            "hardware threads: 128\n"
            "blas: MKL\n");
}

// ---- environment_problems ------------------------------------------------------------------

TEST(Setup, EnvironmentProblemsIsEmptyForASupportedEnvironment) {
  EXPECT_TRUE(environment_problems(supported()).empty());
}

TEST(Setup, EnvironmentProblemsIsEmptyForTheMachineRunningTheseTests) {
  const auto problems = environment_problems(system_info());
  EXPECT_TRUE(problems.empty()) << (problems.empty() ? "" : problems.front());
}

TEST(Setup, EnvironmentProblemsAcceptsTheMinimumVersionsExactly) {
  SystemInfo gcc = supported();
  gcc.compiler = "GCC 12.0.0";
  gcc.cxx_standard = 202002;
  SystemInfo clang = supported();
  clang.compiler = "Clang 14.0.0";
  EXPECT_TRUE(environment_problems(gcc).empty());
  EXPECT_TRUE(environment_problems(clang).empty());
}

TEST(Setup, EnvironmentProblemsAcceptsNewerStandardsAndCompilers) {
  SystemInfo info = supported();
  info.compiler = "Clang 18.1.8";
  info.cxx_standard = 202302;
  EXPECT_TRUE(environment_problems(info).empty());
}

TEST(Setup, EnvironmentProblemsReportsAStandardOlderThanCpp20) {
  SystemInfo info = supported();
  info.cxx_standard = 201703;
  EXPECT_EQ(environment_problems(info).size(), 1u);
}

TEST(Setup, EnvironmentProblemsReportsGccOlderThan12) {
  SystemInfo info = supported();
  info.compiler = "GCC 11.4.0";
  EXPECT_EQ(environment_problems(info).size(), 1u);
}

TEST(Setup, EnvironmentProblemsComparesVersionsAsNumbersNotText) {
  // As text, "9.4.0" sorts after "12"; as a number, 9 < 12.
  SystemInfo info = supported();
  info.compiler = "GCC 9.4.0";
  EXPECT_EQ(environment_problems(info).size(), 1u);
}

TEST(Setup, EnvironmentProblemsReportsClangOlderThan14) {
  SystemInfo info = supported();
  info.compiler = "Clang 13.0.1";
  EXPECT_EQ(environment_problems(info).size(), 1u);
}

TEST(Setup, EnvironmentProblemsReportsACompilerThatIsNeitherGccNorClang) {
  SystemInfo info = supported();
  info.compiler = "MSVC 19.38.33130";
  EXPECT_EQ(environment_problems(info).size(), 1u);
}

TEST(Setup, EnvironmentProblemsReportsZeroHardwareThreads) {
  SystemInfo info = supported();
  info.hardware_threads = 0;
  EXPECT_EQ(environment_problems(info).size(), 1u);
}

TEST(Setup, EnvironmentProblemsReportsAMissingBlas) {
  SystemInfo info = supported();
  info.blas = "";
  EXPECT_EQ(environment_problems(info).size(), 1u);
}

TEST(Setup, EnvironmentProblemsReportsEveryFailedCheckAsItsOwnNonEmptySentence) {
  SystemInfo info;
  info.compiler = "GCC 10.2.1";
  info.cxx_standard = 201402;
  info.build_type = "Debug";
  info.hardware_threads = 0;
  info.blas = "";
  const auto problems = environment_problems(info);
  ASSERT_EQ(problems.size(), 4u);
  for (const auto& problem : problems) EXPECT_FALSE(problem.empty());
}

}  // namespace
}  // namespace tinytorch::setup
