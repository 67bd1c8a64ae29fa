// Visible tests for module 01: run them with `tito module test 01`.
//
// Each test names the behaviour it checks. When one fails, read its name, then the matching
// comment in setup.hpp. Your first green test is the proof that your compiler, CMake, GoogleTest
// and the library all work together.
#include <gtest/gtest.h>

#include <string>

#include "tinytorch/setup.hpp"

namespace tinytorch::setup {
namespace {

TEST(Setup, CompilerVersionStartsWithGccOrClang) {
  const std::string compiler = compiler_version();
  EXPECT_TRUE(compiler.starts_with("GCC ") || compiler.starts_with("Clang ")) << compiler;
}

TEST(Setup, CxxStandardIsAtLeastCpp20) {
  EXPECT_GE(cxx_standard(), 202002L);  // __cplusplus is 202002 for C++20
}

TEST(Setup, HardwareThreadsIsAtLeastOne) {
  EXPECT_GE(hardware_threads(), 1);
}

TEST(Setup, SystemInfoNamesABlasLibrary) {
  EXPECT_FALSE(system_info().blas.empty());
}

TEST(Setup, FormatSystemInfoWritesTheDocumentedLines) {
  SystemInfo info;
  info.compiler = "GCC 12.2.0";
  info.cxx_standard = 202002;
  info.build_type = "Release";
  info.hardware_threads = 2;
  info.blas = "OpenBLAS";
  EXPECT_EQ(format_system_info(info),
            "compiler: GCC 12.2.0\nc++ standard: 202002\nbuild type: Release\n"
            "hardware threads: 2\nblas: OpenBLAS\n");
}

TEST(Setup, ThisMachineHasNoEnvironmentProblems) {
  const SystemInfo info = system_info();
  const auto problems = environment_problems(info);
  // On failure: each problem, then what `tito system info` would print for this machine.
  for (const auto& problem : problems) ADD_FAILURE() << problem;
  EXPECT_TRUE(problems.empty()) << format_system_info(info);
}

TEST(Setup, AnOldCompilerIsOneProblem) {
  SystemInfo info;
  info.compiler = "GCC 11.4.0";  // the course needs GCC 12 or newer
  info.cxx_standard = 202002;
  info.build_type = "Release";
  info.hardware_threads = 2;
  info.blas = "OpenBLAS";
  EXPECT_EQ(environment_problems(info).size(), 1u);
}

}  // namespace
}  // namespace tinytorch::setup
