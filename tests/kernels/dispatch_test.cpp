// The kernel switch (kernels/include/tinytorch/kernels/dispatch.hpp): with the student's kernels
// selected, sgemm, im2col and col2im run module 15's code and Winograd is off; with the
// framework's, everything is as before. Against the reference library, module 15's code is its
// solution, so results must agree with OpenBLAS either way.
#include <cblas.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tinytorch/kernels/dispatch.hpp"
#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/kernels/im2col.hpp"
#include "tinytorch/kernels/winograd.hpp"

namespace tinytorch::kernels {
namespace {

class Dispatch : public ::testing::Test {
 protected:
  void TearDown() override { set_kernel_source(KernelSource::framework); }
};

ConvGeometry three_by_three() {
  ConvGeometry g;
  g.channels = 2;
  g.height = 6;
  g.width = 5;
  g.kernel_h = 3;
  g.kernel_w = 3;
  g.stride = 1;
  g.padding = 1;
  return g;
}

TEST_F(Dispatch, SelectingTheStudentsKernelsSwitchesWinogradOff) {
  set_kernel_source(KernelSource::framework);
  EXPECT_TRUE(winograd_applies(three_by_three()));
  set_kernel_source(KernelSource::student);
  EXPECT_EQ(kernel_source(), KernelSource::student);
  EXPECT_STREQ(kernel_source_name(kernel_source()), "student");
  EXPECT_FALSE(winograd_applies(three_by_three()));
}

TEST_F(Dispatch, SelectingTheNaiveKernelsSwitchesWinogradOff) {
  set_kernel_source(KernelSource::naive);
  EXPECT_EQ(kernel_source(), KernelSource::naive);
  EXPECT_STREQ(kernel_source_name(kernel_source()), "naive");
  EXPECT_FALSE(winograd_applies(three_by_three()));
}

TEST_F(Dispatch, SgemmUnderEverySourceAgreesWithOpenBlas) {
  constexpr int m = 37, n = 53, k = 29;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> a(m * k), b(k * n), want(m * n);
  for (float& x : a) x = uniform(rng);
  for (float& x : b) x = uniform(rng);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(), n,
              0.0f, want.data(), n);
  for (const KernelSource source :
       {KernelSource::framework, KernelSource::student, KernelSource::naive}) {
    set_kernel_source(source);
    std::vector<float> got(m * n, -1.0f);
    sgemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, got.data(), n);
    for (int i = 0; i < m * n; ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-4f) << kernel_source_name(source) << " at " << i;
    }
  }
}

TEST_F(Dispatch, Im2colUnderEitherSourceGivesTheSameColumns) {
  const ConvGeometry g = three_by_three();
  std::vector<float> x(2 * g.image_size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) - 3.0f;
  const auto size = static_cast<std::size_t>(g.col_rows() * 2 * g.out_pixels());
  std::vector<float> framework(size), student(size);
  set_kernel_source(KernelSource::framework);
  im2col(x.data(), 2, g, framework.data());
  set_kernel_source(KernelSource::student);
  im2col(x.data(), 2, g, student.data());
  EXPECT_EQ(framework, student);
}

}  // namespace
}  // namespace tinytorch::kernels
