// Visible tests for module 05: run them with `tito module test 05`.
//
// Each test names the behaviour it checks; the expected numbers are derived in the comments, from
// logits chosen so that softmax and sigmoid come out as simple fractions (e^(ln 3) = 3). The last
// tests compare your hand-derived gradients with finite differences of your own forward: if one
// fails, your gradient and your loss disagree about the same function.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "tinytorch/losses.hpp"
#include "tinytorch/testing.hpp"

namespace tinytorch {
namespace {

using Values = std::vector<float>;

// Central differences of `loss` with respect to each element of x (in double, returned as float
// for the comparison).
template <class Loss>
std::vector<float> finite_differences(Loss loss, const Tensor& x, const Tensor& target) {
  const Tensor probe = x.clone();
  const auto v = probe.data();
  std::vector<float> grad(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const float saved = v[i];
    v[i] = saved + 1e-2f;
    const double plus = loss(probe, target).item();
    v[i] = saved - 1e-2f;
    const double minus = loss(probe, target).item();
    v[i] = saved;
    grad[i] = static_cast<float>((plus - minus) / 2e-2);
  }
  return grad;
}

TEST(Losses, MseIsTheMeanOfSquaredDifferences) {
  // differences (1, -2, 0, 3): squares (1, 4, 0, 9), mean 14 / 4 = 3.5
  const Tensor loss = ops::mse_loss(tensor({2, 0, 5, 3}), tensor({1, 2, 5, 0}));
  EXPECT_EQ(loss.dim(), 0);  // a loss is one number: a 0-d tensor
  EXPECT_FLOAT_EQ(loss.item(), 3.5f);
}

TEST(Losses, MseRejectsShapesThatDiffer) {
  EXPECT_THROW((void)ops::mse_loss(zeros({4, 1}), zeros({4})), std::invalid_argument);
}

TEST(Losses, MseGradientIsTwiceTheDifferenceOverTheCount) {
  // 2 (p - t) / 4 for differences (1, -2, 0, 3): (0.5, -1, 0, 1.5)
  const Tensor g = grad::mse_loss(tensor({2, 0, 5, 3}), tensor({1, 2, 5, 0}));
  EXPECT_EQ(g.to_vector(), (Values{0.5f, -1, 0, 1.5f}));
}

TEST(Losses, CrossEntropyOfEqualLogitsIsLogOfTheClassCount) {
  // softmax of 4 equal logits is 1/4 each: -log(1/4) = log 4
  const Tensor loss = ops::cross_entropy(zeros({2, 4}), tensor({0, 3}));
  EXPECT_NEAR(loss.item(), std::log(4.0f), 1e-6f);
}

TEST(Losses, CrossEntropyIsMinusLogProbabilityOfTheTarget) {
  // logits (ln 3, 0): e^z = (3, 1), softmax (3/4, 1/4). Target 1: -log(1/4) = log 4.
  const Tensor loss = ops::cross_entropy(tensor({{std::log(3.0f), 0}}), tensor({1}));
  EXPECT_NEAR(loss.item(), std::log(4.0f), 1e-6f);
}

TEST(Losses, CrossEntropyIsFiniteForHugeLogits) {
  // (1000, 1001), target 1: logsumexp - 1001 = log(1 + e^-1) = 0.3132617; e^1000 itself is inf.
  const float loss = ops::cross_entropy(tensor({{1000, 1001}}), tensor({1})).item();
  EXPECT_NEAR(loss, std::log1p(std::exp(-1.0f)), 1e-4f);
}

TEST(Losses, CrossEntropyRejectsATargetOutsideTheClasses) {
  // Two classes: ids 0 and 1 only.
  EXPECT_THROW((void)ops::cross_entropy(zeros({1, 2}), tensor({2})), std::out_of_range);
}

TEST(Losses, CrossEntropyGradientIsSoftmaxMinusOneHot) {
  // softmax (3/4, 1/4) - one_hot(1) = (3/4, -3/4), divided by N = 1
  const Tensor g = grad::cross_entropy(tensor({{std::log(3.0f), 0}}), tensor({1}));
  const Values v = g.to_vector();
  EXPECT_NEAR(v[0], 0.75f, 1e-6f);
  EXPECT_NEAR(v[1], -0.75f, 1e-6f);
}

TEST(Losses, BceWithLogitsAtZeroIsLogTwo) {
  // sigmoid(0) = 1/2, so the loss is -log(1/2) = log 2 for target 0 and for target 1.
  const Tensor loss = ops::binary_cross_entropy_with_logits(zeros({2}), tensor({0, 1}));
  EXPECT_NEAR(loss.item(), std::log(2.0f), 1e-6f);
}

TEST(Losses, BceWithLogitsIsFiniteForHugeLogits) {
  // z = -1000, t = 1: -log(sigmoid(-1000)) = 1000 (naively log(0) = -inf).
  const float loss = ops::binary_cross_entropy_with_logits(tensor({-1000}), tensor({1})).item();
  EXPECT_NEAR(loss, 1000.0f, 1e-3f);
}

TEST(Losses, BceWithLogitsGradientIsSigmoidMinusTarget) {
  // sigmoid(ln 3) = 3/4: (3/4 - 1, 3/4 - 0) / 2 = (-1/8, 3/8)
  const Tensor g =
      grad::binary_cross_entropy_with_logits(full({2}, std::log(3.0f)), tensor({1, 0}));
  const Values v = g.to_vector();
  EXPECT_NEAR(v[0], -0.125f, 1e-6f);
  EXPECT_NEAR(v[1], 0.375f, 1e-6f);
}

TEST(Losses, CrossEntropyGradientAgreesWithFiniteDifferences) {
  const Tensor z = tensor({{0.5f, -1, 2}, {1, 0.25f, -0.5f}});
  const Tensor k = tensor({2, 0});
  testing::expect_values(grad::cross_entropy(z, k), finite_differences(ops::cross_entropy, z, k),
                         1e-3f);
}

TEST(Losses, BceGradientAgreesWithFiniteDifferences) {
  const Tensor z = tensor({-2, 0.5f, 3});
  const Tensor t = tensor({0, 1, 0.25f});
  testing::expect_values(grad::binary_cross_entropy_with_logits(z, t),
                         finite_differences(ops::binary_cross_entropy_with_logits, z, t), 1e-3f);
}

}  // namespace
}  // namespace tinytorch
