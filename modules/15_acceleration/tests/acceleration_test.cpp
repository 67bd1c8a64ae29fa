// Visible tests for module 15 (acceleration): run them with `tito module test 15`.
// Each test names the behaviour it checks. The oracle is reference_gemm (every product and sum in
// double), the framework's own im2col, and module 09's convolution; `tito module bench 15` times
// what these tests prove correct.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "tinytorch/acceleration.hpp"
#include "tinytorch/kernels/im2col.hpp"
#include "tinytorch/spatial.hpp"
#include "tinytorch/testing.hpp"

namespace tinytorch {
namespace {

using std::int64_t;
using Floats = std::vector<float>;

Floats random_floats(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Floats v(count);
  for (float& x : v) x = uniform(rng);
  return v;
}

// C = A @ B for a (m, k) and b (k, n), C starting as NaN (beta = 0 must not read it), against the
// oracle.
template <typename Rung>
void expect_rung_matches_oracle(Rung rung, int64_t m, int64_t n, int64_t k) {
  const Floats a = random_floats(static_cast<std::size_t>(m * k), 1);
  const Floats b = random_floats(static_cast<std::size_t>(k * n), 2);
  Floats got(static_cast<std::size_t>(m * n), std::numeric_limits<float>::quiet_NaN());
  Floats want(got.size());
  rung(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, got.data(), n);
  accel::reference_gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, want.data(),
                        n);
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4f) << "index " << i;
}

// The rungs with blocks, at their default block sizes.
void blocked(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
             int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  accel::gemm_blocked(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void packed(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  accel::gemm_packed(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void parallel(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
              int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  accel::gemm_parallel(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

TEST(Ladder, NaiveMatchesTheOracle) {
  expect_rung_matches_oracle(accel::gemm_naive, 7, 13, 11);
}

TEST(Ladder, UnitStrideMatchesTheOracle) {
  expect_rung_matches_oracle(accel::gemm_unit_stride, 7, 13, 11);
}

TEST(Ladder, BlockedMatchesTheOracle) {
  expect_rung_matches_oracle(blocked, 31, 17, 29);
}

TEST(Ladder, BlockedIsCorrectForBlocksThatDoNotDivideTheShape) {
  const auto odd = [](bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                      float* c, int64_t ldc) {
    accel::gemm_blocked(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, {3, 5, 7});
  };
  expect_rung_matches_oracle(odd, 31, 17, 29);
}

TEST(Ladder, PackedMatchesTheOracleWithEdgeTiles) {
  expect_rung_matches_oracle(packed, 37, 41, 43);  // no dimension a multiple of any tile
}

TEST(Ladder, ParallelMatchesTheOracle) {
  expect_rung_matches_oracle(parallel, 96, 80, 64);
}

TEST(Ladder, TransposedOperandsAreRead) {
  // A stored (k, m) = (2, 2) and B stored (n, k) = (2, 2); C = A^T B^T.
  const Floats a{1, 2, 3, 4}, b{5, 6, 7, 8};
  Floats c(4, 0.0f);
  accel::gemm_naive(true, true, 2, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2);
  // A^T = [[1, 3], [2, 4]], B^T = [[5, 7], [6, 8]]: [[1*5+3*6, 1*7+3*8], [2*5+4*6, 2*7+4*8]]
  EXPECT_EQ(c, (Floats{23, 31, 34, 46}));
}

TEST(Ladder, LeadingDimensionSmallerThanARowIsAnError) {
  Floats a(16, 1.0f), b(16, 1.0f), c(16, 0.0f);
  EXPECT_THROW(
      accel::gemm_naive(false, false, 2, 2, 3, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2),
      std::invalid_argument);
}

TEST(Matmul, MultipliesTwoMatrices) {
  const Tensor a = from_vector({1, 2, 3, 4, 5, 6}, {2, 3}),
               b = from_vector({1, 0, 0, 1, 1, 1}, {3, 2});
  EXPECT_EQ(accel::matmul(a, b).to_vector(), (Floats{4, 5, 10, 11}));  // [1+3, 2+3], [4+6, 5+6]
}

TEST(Im2col, MatchesTheFrameworksLayout) {
  kernels::ConvGeometry g;
  g.channels = 2;
  g.height = 5;
  g.width = 4;
  g.kernel_h = 3;
  g.kernel_w = 2;
  g.stride = 2;
  g.padding = 1;
  const Floats x = random_floats(static_cast<std::size_t>(g.image_size()), 3);
  Floats mine(static_cast<std::size_t>(g.col_rows() * g.out_pixels()));
  Floats theirs(mine.size());
  accel::im2col(x.data(), 1, g, mine.data());
  kernels::im2col(x.data(), 1, g, theirs.data());
  EXPECT_EQ(mine, theirs);
}

TEST(Col2im, IsTheAdjointOfIm2col) {
  kernels::ConvGeometry g;
  g.channels = 2;
  g.height = 5;
  g.width = 5;
  g.kernel_h = 3;
  g.kernel_w = 3;
  g.stride = 1;
  g.padding = 1;
  const auto cols = static_cast<std::size_t>(g.col_rows() * g.out_pixels());
  const auto image = static_cast<std::size_t>(g.image_size());
  const Floats x = random_floats(image, 4), y = random_floats(cols, 5);
  Floats ix(cols), cy(image, 0.0f);
  accel::im2col(x.data(), 1, g, ix.data());
  accel::col2im(y.data(), 1, g, cy.data());
  double left = 0, right = 0;  // <im2col(x), y> and <x, col2im(y)>
  for (std::size_t i = 0; i < cols; ++i) left += static_cast<double>(ix[i]) * y[i];
  for (std::size_t i = 0; i < image; ++i) right += static_cast<double>(x[i]) * cy[i];
  EXPECT_NEAR(left, right, 1e-4);
}

TEST(Conv2d, ForwardMatchesModule09) {
  const Tensor x = from_vector(random_floats(2 * 3 * 6 * 6, 6), {2, 3, 6, 6});
  const Tensor w = from_vector(random_floats(4 * 3 * 3 * 3, 7), {4, 3, 3, 3});
  const Tensor b = from_vector({0.1f, -0.2f, 0.3f, 0.0f}, {4});
  const Tensor theirs = ops::conv2d(x, w, b, 1, 1);
  testing::expect_tensor(accel::conv2d_forward(x, w, b, 1, 1), theirs.shape(), theirs.to_vector(),
                         1e-4f);
}

TEST(BiasRelu, FusedEqualsUnfused) {
  const Floats x = random_floats(6 * 7, 8), bias = random_floats(7, 9);
  Floats fused(x.size()), unfused(x.size());
  accel::bias_relu_fused(x.data(), bias.data(), 6, 7, fused.data());
  accel::bias_relu_unfused(x.data(), bias.data(), 6, 7, unfused.data());
  EXPECT_EQ(fused, unfused);
  EXPECT_EQ(fused[8], std::max(x[8] + bias[1], 0.0f));  // row 1, column 1
}

}  // namespace
}  // namespace tinytorch
