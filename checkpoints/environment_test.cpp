// Checkpoint "environment": Can I build and run C++ against my own framework?
//
// Answered end to end, as a user of the library would: this program was compiled and linked
// against your tinytorch library; it asks the library about the machine (your module 01 code),
// checks that the toolchain meets the course's requirements, and runs the BLAS-backed kernel that
// every later module's matrix products rely on.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/setup.hpp"

namespace {

using namespace tinytorch;

TEST(EnvironmentCheckpoint, TheLibraryDescribesTheToolchainThatBuiltIt) {
  const setup::SystemInfo info = setup::system_info();
  const std::string report = setup::format_system_info(info);
  EXPECT_NE(report.find("compiler: " + setup::compiler_version() + "\n"), std::string::npos)
      << report;
  EXPECT_NE(report.find("hardware threads: " + std::to_string(setup::hardware_threads()) + "\n"),
            std::string::npos)
      << report;
}

TEST(EnvironmentCheckpoint, TheToolchainMeetsTheCourseRequirements) {
  const setup::SystemInfo info = setup::system_info();
  const auto problems = setup::environment_problems(info);
  for (const auto& problem : problems) ADD_FAILURE() << problem;
  EXPECT_TRUE(problems.empty()) << setup::format_system_info(info);
}

TEST(EnvironmentCheckpoint, TheLinkedBlasMultipliesMatrices) {
  // [[1, 2],    [[5, 6],    [[1*5 + 2*7, 1*6 + 2*8],    [[19, 22],
  //  [3, 4]]  @  [7, 8]]  =  [3*5 + 4*7, 3*6 + 4*8]]  =   [43, 50]]
  const std::vector<float> a = {1, 2, 3, 4};
  const std::vector<float> b = {5, 6, 7, 8};
  std::vector<float> c(4, 0.0f);
  kernels::sgemm(false, false, 2, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{19, 22, 43, 50}));
  EXPECT_EQ(setup::system_info().blas, std::string(kernels::blas_info()));
}

}  // namespace
