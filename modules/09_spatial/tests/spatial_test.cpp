// Visible tests for module 09 (spatial): run them with `tito module test 09`.
// Every expected number is worked out by hand in the comment above its test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <source_location>
#include <stdexcept>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/spatial.hpp"
#include "tinytorch/testing.hpp"

namespace tinytorch {
namespace {

using Values = std::vector<float>;

// One failure per check, at the test's line, values shown compactly (tinytorch/testing.hpp).
void ExpectNear(const Tensor& t, const Values& expected, float tol = 1e-5f,
                std::source_location where = std::source_location::current()) {
  tinytorch::testing::expect_values(t, expected, tol, where);
}

// The image 1..9 as (1, 1, 3, 3).
Tensor image3x3() {
  return arange(1.0f, 10.0f).reshape({1, 1, 3, 3});
}

// (5 + 2*1 - 3) / 2 + 1 = 3 windows; (32 + 2 - 3) / 1 + 1 = 32 ("same" padding).
TEST(SpatialVisible, ConvOutputSizeFollowsTheFormula) {
  EXPECT_EQ(conv_output_size(5, 3, 2, 1), 3);
  EXPECT_EQ(conv_output_size(32, 3, 1, 1), 32);
  EXPECT_THROW((void)conv_output_size(2, 5, 1, 0), std::invalid_argument);
}

// A 2x2 kernel of ones sums each 2x2 window of  1 2 3 / 4 5 6 / 7 8 9:
//   1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28.
TEST(SpatialVisible, Conv2dSumsEachWindow) {
  const Tensor out = conv2d(image3x3(), ones({1, 1, 2, 2}));
  EXPECT_EQ(out.shape(), (Shape{1, 1, 2, 2}));
  ExpectNear(out, {12, 16, 24, 28});
}

// Padding 1 around a 3x3 image of ones, 3x3 kernel of ones: each output counts the real pixels
// under the window: 4 in a corner, 6 on an edge, 9 in the centre.
TEST(SpatialVisible, Conv2dPaddingReadsZeros) {
  const Tensor out = conv2d(ones({1, 1, 3, 3}), ones({1, 1, 3, 3}), Tensor(), 1, 1);
  ExpectNear(out, {4, 6, 4, 6, 9, 6, 4, 6, 4});
}

// Two output channels: a kernel of ones and a kernel of twos, biases 10 and -1.
//   channel 0: 12 + 10, ...   channel 1: 2 * 12 - 1, ...
TEST(SpatialVisible, Conv2dAddsOneBiasPerOutputChannel) {
  Tensor w = ones({2, 1, 2, 2});
  for (std::size_t i = 4; i < 8; ++i) w.data()[i] = 2.0f;
  const Tensor out = conv2d(image3x3(), w, from_vector({10, -1}, {2}));
  ExpectNear(out, {22, 26, 34, 38, 23, 31, 47, 55});
}

// (N, C, H, W) = (2, 3, 9, 9), 4 filters of 3x3, stride 2, no padding: (9 - 3) / 2 + 1 = 4.
TEST(SpatialVisible, Conv2dStrideShrinksTheOutput) {
  EXPECT_EQ(conv2d(zeros({2, 3, 9, 9}), zeros({4, 3, 3, 3}), Tensor(), 2, 0).shape(),
            (Shape{2, 4, 4, 4}));
}

TEST(SpatialVisible, Conv2dRejectsAChannelMismatch) {
  EXPECT_THROW((void)conv2d(zeros({1, 3, 5, 5}), zeros({2, 1, 3, 3})), std::invalid_argument);
}

// Gradients by finite differences: input, weight and bias, with stride and padding.
TEST(SpatialVisible, Conv2dBackwardPassesGradcheck) {
  Generator gen(1);
  const Tensor x = randn({2, 2, 4, 4}, gen).requires_grad_(true);
  const Tensor w = randn({3, 2, 3, 3}, gen).requires_grad_(true);
  const Tensor b = randn({3}, gen).requires_grad_(true);
  const Tensor r = randn({2, 3, 2, 2}, gen);  // weighs each output differently
  const auto result = autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 1) * r; },
      {x, w, b});
  EXPECT_TRUE(result.ok) << result.message;
}

// The 4x4 image 0..15, windows of 2x2: maxima 5, 7, 13, 15 at flat positions 5, 7, 13, 15.
TEST(SpatialVisible, MaxPoolKeepsTheLargestValueAndItsPosition) {
  const auto [out, indices] = ops::max_pool2d(arange(16.0f).reshape({1, 1, 4, 4}), 2, 2, 0);
  ExpectNear(out, {5, 7, 13, 15});
  ExpectNear(indices, {5, 7, 13, 15});
}

// d(sum of maxima)/dx is 1 at each window's maximum and 0 elsewhere.
TEST(SpatialVisible, MaxPoolBackwardRoutesTheGradientToTheMaximum) {
  const Tensor x = arange(16.0f).reshape({1, 1, 4, 4}).requires_grad_(true);
  max_pool2d(x, 2).sum().backward();
  ExpectNear(x.grad(), {0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1});
}

// Window means of 0..15: (0+1+4+5)/4 = 2.5, (2+3+6+7)/4 = 4.5, 10.5, 12.5. Backward: every input
// gets 1/4 of its window's gradient.
TEST(SpatialVisible, AvgPoolAveragesEachWindow) {
  const Tensor x = arange(16.0f).reshape({1, 1, 4, 4}).requires_grad_(true);
  const Tensor out = avg_pool2d(x, 2);
  ExpectNear(out, {2.5f, 4.5f, 10.5f, 12.5f});
  out.sum().backward();
  ExpectNear(x.grad(), Values(16, 0.25f));
}

// One channel holding 1, 2, 3, 4 (N = 4 images of 1x1): mean 2.5, biased variance 1.25,
// unbiased 5/3. Output (x - 2.5) / sqrt(1.25 + 1e-5). Running stats from (0, 1), momentum 0.1:
// mean 0.9 * 0 + 0.1 * 2.5 = 0.25, var 0.9 * 1 + 0.1 * 5/3.
TEST(SpatialVisible, BatchNormTrainingUsesBatchStatisticsAndUpdatesRunningOnes) {
  const Tensor x = from_vector({1, 2, 3, 4}, {4, 1, 1, 1});
  const Tensor rm = zeros({1}), rv = ones({1});
  const Tensor out = batch_norm2d(x, ones({1}), zeros({1}), rm, rv, true, 0.1f, 1e-5f);
  const float s = 1.0f / std::sqrt(1.25f + 1e-5f);
  ExpectNear(out, {-1.5f * s, -0.5f * s, 0.5f * s, 1.5f * s});
  ExpectNear(rm, {0.25f});
  ExpectNear(rv, {0.9f + 0.1f * 5.0f / 3.0f});
}

// Eval: an input equal to the running mean normalises to 0, leaving only the bias.
TEST(SpatialVisible, BatchNormEvalUsesTheRunningStatistics) {
  const Tensor rm = from_vector({3.0f}, {1}), rv = from_vector({4.0f}, {1});
  const Tensor out = batch_norm2d(full({2, 1, 1, 2}, 3.0f), full({1}, 2.0f), full({1}, 0.5f), rm,
                                  rv, false, 0.1f, 1e-5f);
  ExpectNear(out, {0.5f, 0.5f, 0.5f, 0.5f});
  ExpectNear(rm, {3.0f});
}

TEST(SpatialVisible, BatchNormBackwardPassesGradcheck) {
  Generator gen(2);
  const Tensor x = randn({3, 2, 2, 2}, gen).requires_grad_(true);
  const Tensor w = randn({2}, gen).requires_grad_(true), b = randn({2}, gen).requires_grad_(true);
  const Tensor r = randn({3, 2, 2, 2}, gen);
  const auto result = autograd::gradcheck(
      [&](const std::vector<Tensor>& in) {
        return batch_norm2d(in[0], in[1], in[2], Tensor(), Tensor(), true) * r;
      },
      {x, w, b}, 1e-3, 2e-3, 2e-2);
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(SpatialVisible, Conv2dModuleRegistersWeightAndBias) {
  nn::Conv2d conv(3, 16, 3, 1, 1);
  const auto params = conv.named_parameters();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_EQ(params[0].second.shape(), (Shape{16, 3, 3, 3}));
  EXPECT_EQ(params[1].first, "bias");
  EXPECT_EQ(conv.forward(zeros({2, 3, 8, 8})).shape(), (Shape{2, 16, 8, 8}));
}

TEST(SpatialVisible, BatchNormModuleHasRunningStatisticsAsBuffers) {
  nn::BatchNorm2d bn(4);
  EXPECT_EQ(bn.named_parameters().size(), 2u);
  const auto buffers = bn.named_buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].first, "running_mean");
  EXPECT_EQ(buffers[1].first, "running_var");
}

}  // namespace
}  // namespace tinytorch
