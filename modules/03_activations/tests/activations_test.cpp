// Visible tests for module 03 (activations). Run them with `tito module test 03`.
//
// Each expected value is derived from the formula in a comment, with <cmath> doing the arithmetic
// (in double) where the number is not a round one. The grading suite checks more: PyTorch's values
// on many inputs, every dim of 3-d tensors, views, and numerically hostile inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "tinytorch/activations.hpp"

namespace tinytorch {
namespace {

using Values = std::vector<float>;

TEST(Relu, ZeroesNegativesAndKeepsPositives) {
  // max(0, x)
  const Tensor y = ops::relu(tensor({{-2, -0.5f, 0}, {0.5f, 3, -7}}));
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(y.to_vector(), (Values{0, 0, 0, 0.5f, 3, 0}));
}

TEST(Sigmoid, MatchesTheFormulaOnSmallInputs) {
  // sigmoid(0) = 1 / (1 + 1) = 0.5; sigmoid(x) = 1 / (1 + e^-x) otherwise.
  const Values y = ops::sigmoid(tensor({-2, 0, 1})).to_vector();
  EXPECT_NEAR(y[0], 1.0 / (1.0 + std::exp(2.0)), 1e-6);
  EXPECT_EQ(y[1], 0.5f);
  EXPECT_NEAR(y[2], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
}

TEST(Sigmoid, IsFiniteForLargeNegativeAndPositiveInputs) {
  // e^1000 is inf in float: only a form that exponentiates -|x| stays finite on both sides.
  const Values y = ops::sigmoid(tensor({-1000, 1000})).to_vector();
  EXPECT_TRUE(std::isfinite(y[0]) && std::isfinite(y[1]));
  EXPECT_NEAR(y[0], 0.0f, 1e-7);
  EXPECT_NEAR(y[1], 1.0f, 1e-7);
}

TEST(Tanh, MatchesTheFormulaAndSaturates) {
  // tanh(1) = (e - 1/e) / (e + 1/e); tanh(+-500) = +-1, never inf/inf.
  const Values y = ops::tanh(tensor({1, 0, -500, 500})).to_vector();
  EXPECT_NEAR(y[0], (std::exp(1.0) - std::exp(-1.0)) / (std::exp(1.0) + std::exp(-1.0)), 1e-6);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], -1.0f);
  EXPECT_EQ(y[3], 1.0f);
}

TEST(Gelu, IsXTimesTheNormalCdf) {
  // GELU(x) = 0.5 x (1 + erf(x / sqrt(2))): GELU(0) = 0, GELU(1) = 0.8413447, GELU(-1) =
  // -0.1586553.
  const Values y = ops::gelu(tensor({0, 1, -1})).to_vector();
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_NEAR(y[1], 0.5 * (1.0 + std::erf(1.0 / std::sqrt(2.0))), 1e-6);
  EXPECT_NEAR(y[2], -0.5 * (1.0 + std::erf(-1.0 / std::sqrt(2.0))), 1e-6);
}

TEST(Softmax, OfEqualLogitsIsUniform) {
  // e^0 / (e^0 + e^0 + e^0 + e^0) = 1/4 for each.
  const Tensor y = ops::softmax(tensor({{3, 3, 3, 3}}), 1);
  EXPECT_EQ(y.shape(), (Shape{1, 4}));
  for (float p : y.to_vector()) EXPECT_NEAR(p, 0.25f, 1e-7);
}

TEST(Softmax, MatchesTheFormulaOnARow) {
  // softmax(0, 1, 2)_i = e^i / (1 + e + e^2).
  const Values y = ops::softmax(tensor({0, 1, 2}), 0).to_vector();
  const double s = 1.0 + std::exp(1.0) + std::exp(2.0);
  EXPECT_NEAR(y[0], 1.0 / s, 1e-6);
  EXPECT_NEAR(y[1], std::exp(1.0) / s, 1e-6);
  EXPECT_NEAR(y[2], std::exp(2.0) / s, 1e-6);
}

TEST(Softmax, IsStableForLogitsNearOneThousand) {
  // softmax(1000, 1001) = softmax(0, 1) = (1 / (1 + e), e / (1 + e)) = (0.2689, 0.7311).
  const Values y = ops::softmax(tensor({1000, 1001}), -1).to_vector();
  EXPECT_NEAR(y[0], 1.0 / (1.0 + std::exp(1.0)), 1e-6);
  EXPECT_NEAR(y[1], std::exp(1.0) / (1.0 + std::exp(1.0)), 1e-6);
}

TEST(Softmax, LastDimNormalisesEachRow) {
  // Each row of a (N, C) tensor becomes a probability distribution: entries sum to 1.
  const Tensor y = ops::softmax(tensor({{1, 2, 3}, {-1, 0, 5}}), -1);
  const Values v = y.to_vector();
  EXPECT_NEAR(v[0] + v[1] + v[2], 1.0f, 1e-6);
  EXPECT_NEAR(v[3] + v[4] + v[5], 1.0f, 1e-6);
}

TEST(Softmax, Dim0NormalisesEachColumn) {
  // Column (0, 0) -> (1/2, 1/2); column (0, ln 3) -> (1/4, 3/4) since e^(ln 3) = 3.
  const float ln3 = static_cast<float>(std::log(3.0));
  const Values v = ops::softmax(tensor({{0, 0}, {0, ln3}}), 0).to_vector();
  EXPECT_NEAR(v[0], 0.5f, 1e-6);
  EXPECT_NEAR(v[2], 0.5f, 1e-6);
  EXPECT_NEAR(v[1], 0.25f, 1e-6);
  EXPECT_NEAR(v[3], 0.75f, 1e-6);
}

TEST(Softmax, DimOutOfRangeThrowsOutOfRange) {
  EXPECT_THROW((void)ops::softmax(tensor({{1, 2}}), 2), std::out_of_range);
}

TEST(LogSoftmax, IsLogOfSoftmaxOnSmallInputs) {
  // log_softmax(0, ln 3) = log(1/4, 3/4).
  const float ln3 = static_cast<float>(std::log(3.0));
  const Values v = ops::log_softmax(tensor({0, ln3}), 0).to_vector();
  EXPECT_NEAR(v[0], std::log(0.25), 1e-6);
  EXPECT_NEAR(v[1], std::log(0.75), 1e-6);
}

TEST(LogSoftmax, StaysFiniteWhereSoftmaxUnderflows) {
  // log_softmax(0, -200) = (0 - log(1 + e^-200), -200 - log(1 + e^-200)) = (0, -200): finite,
  // while log(softmax) would be log(0) = -inf for the second entry.
  const Values v = ops::log_softmax(tensor({0, -200}), 0).to_vector();
  EXPECT_NEAR(v[0], 0.0f, 1e-6);
  EXPECT_NEAR(v[1], -200.0f, 1e-4);
}

}  // namespace
}  // namespace tinytorch
