// Hidden grading suite for module 05 (losses). Never shipped to students.
//
// Three oracles: values derived by hand in a comment (round numbers whose softmax/sigmoid is a
// simple fraction), PyTorch on ordinary numbers (expected.hpp, written by generate_expected.py),
// and, for every hand-derived gradient, central finite differences of the student's own ops::
// forward, computed here in double precision.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "expected.hpp"
#include "tinytorch/losses.hpp"

namespace tinytorch {
namespace {

using Values = std::vector<float>;
using LossFn = std::function<Tensor(const Tensor&, const Tensor&)>;

const float kLn2 = std::log(2.0f);
const float kLn3 = std::log(3.0f);

// Element-by-element closeness, with the index of the first mismatch in the failure message.
void expect_values_near(const Tensor& actual, const Values& expected, float tol) {
  const Values got = actual.to_vector();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], tol + 1e-5f * std::abs(expected[i])) << "at index " << i;
  }
}

// dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps), from the ops:: forward: the hand-derived
// gradient must agree with the loss it claims to differentiate. eps = 1e-2 keeps the float
// rounding of L (~1e-7 relative) far below the tolerance; the truncation error is O(eps^2).
std::vector<double> numeric_gradient(const LossFn& loss, const Tensor& x, const Tensor& target) {
  const Tensor probe = x.clone();
  const std::span<float> v = probe.data();
  std::vector<double> grad(v.size());
  const float eps = 1e-2f;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const float saved = v[i];
    v[i] = saved + eps;
    const double plus = loss(probe, target).item();
    v[i] = saved - eps;
    const double minus = loss(probe, target).item();
    v[i] = saved;
    grad[i] = (plus - minus) / (2.0 * static_cast<double>(eps));
  }
  return grad;
}

void expect_matches_finite_differences(const LossFn& loss, const Tensor& analytic, const Tensor& x,
                                       const Tensor& target) {
  ASSERT_EQ(analytic.shape(), x.shape());
  const std::vector<double> numeric = numeric_gradient(loss, x, target);
  const Values got = analytic.to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], numeric[i], 1e-3 + 1e-2 * std::abs(numeric[i])) << "at element " << i;
  }
}

template <class Exception, class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const Exception& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception of the documented type";
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- mse_loss ----------------------------------------------------------------------------

TEST(MseLoss, IsTheMeanOfSquaredDifferences) {
  // differences (1, -2, 0.5, 0) -> squares (1, 4, 0.25, 0) -> mean 5.25 / 4 = 1.3125
  const Tensor loss = ops::mse_loss(tensor({{2, 0}, {1.5f, 3}}), tensor({{1, 2}, {1, 3}}));
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_FLOAT_EQ(loss.item(), 1.3125f);
}

TEST(MseLoss, OfATensorWithItselfIsZero) {
  const Tensor x = randn({4, 3});
  EXPECT_EQ(ops::mse_loss(x, x).item(), 0.0f);
}

TEST(MseLoss, MatchesPyTorch) {
  const Tensor p = from_vector(expected::kMsePrediction, {3, 4});
  const Tensor t = from_vector(expected::kMseTarget, {3, 4});
  EXPECT_NEAR(ops::mse_loss(p, t).item(), expected::kMseLoss, 1e-5f);
  expect_values_near(grad::mse_loss(p, t), expected::kMseGrad, 1e-6f);
}

TEST(MseLoss, ReadsStridedViewsInLogicalOrder) {
  // p^T = [[1, 3], [2, 4]] against the same numbers written out: the loss is exactly 0.
  const Tensor p = tensor({{1, 2}, {3, 4}}).transpose(0, 1);
  EXPECT_EQ(ops::mse_loss(p, tensor({{1, 3}, {2, 4}})).item(), 0.0f);
}

TEST(MseLoss, RejectsMismatchedShapesNamingBoth) {
  const std::string message = message_of<std::invalid_argument>([] {
    (void)ops::mse_loss(zeros({2, 3}), zeros({3, 2}));
  });
  EXPECT_TRUE(contains(message, "[2, 3]") && contains(message, "[3, 2]")) << message;
}

TEST(MseLossGrad, IsTwiceTheDifferenceOverTheCount) {
  // 2 (p - t) / 4 = (p - t) / 2 for differences (1, -2, 0.5, 0)
  const Tensor g = grad::mse_loss(tensor({{2, 0}, {1.5f, 3}}), tensor({{1, 2}, {1, 3}}));
  EXPECT_EQ(g.shape(), (Shape{2, 2}));
  EXPECT_EQ(g.to_vector(), (Values{0.5f, -1, 0.25f, 0}));
}

TEST(MseLossGrad, MatchesFiniteDifferences) {
  Generator gen(11);
  const Tensor p = randn({3, 5}, gen), t = randn({3, 5}, gen);
  expect_matches_finite_differences(ops::mse_loss, grad::mse_loss(p, t), p, t);
}

TEST(MseLossGrad, RejectsMismatchedShapes) {
  EXPECT_THROW((void)grad::mse_loss(zeros({4}), zeros({5})), std::invalid_argument);
}

// ---- cross_entropy -------------------------------------------------------------------------

TEST(CrossEntropy, OfUniformLogitsIsLogOfTheClassCount) {
  // Equal logits: softmax = 1/C for every class, so -log(1/C) = log C whatever the target.
  const Tensor loss = ops::cross_entropy(full({3, 10}, 0.7f), tensor({0, 4, 9}));
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_NEAR(loss.item(), std::log(10.0f), 1e-6f);
}

TEST(CrossEntropy, IsMinusTheLogProbabilityOfTheTargetAveragedOverTheBatch) {
  // Row 0: logits (0, ln 2, ln 5): e^z = (1, 2, 5), sum 8, softmax (1/8, 2/8, 5/8); target 2
  //        -> -log(5/8) = log 8 - log 5.
  // Row 1: logits (ln 3, 0, 0): e^z = (3, 1, 1), sum 5, softmax (3/5, 1/5, 1/5); target 0
  //        -> -log(3/5) = log 5 - log 3.
  // Mean: (log 8 - log 3) / 2.
  const Tensor logits = tensor({{0, kLn2, std::log(5.0f)}, {kLn3, 0, 0}});
  const float expected = (std::log(8.0f) - kLn3) / 2;
  EXPECT_NEAR(ops::cross_entropy(logits, tensor({2, 0})).item(), expected, 1e-6f);
}

TEST(CrossEntropy, MatchesPyTorch) {
  const Tensor z = from_vector(expected::kCeLogits, {4, 5});
  const Tensor k = from_vector(expected::kCeTargets, {4});
  EXPECT_NEAR(ops::cross_entropy(z, k).item(), expected::kCeLoss, 1e-5f);
}

TEST(CrossEntropy, IsUnchangedByAddingAConstantToEveryLogitOfARow) {
  // softmax(z + c) = softmax(z): e^c cancels between numerator and denominator.
  Generator gen(3);
  const Tensor z = randn({4, 6}, gen);
  const Tensor k = tensor({5, 0, 2, 3});
  EXPECT_NEAR(ops::cross_entropy(z + 50.0f, k).item(), ops::cross_entropy(z, k).item(), 1e-4f);
}

TEST(CrossEntropy, StaysFiniteAndCorrectForLogitsOfPlusMinusAThousand) {
  // Row 0: (1000, -1000), target 0: -log(1 / (1 + e^-2000)) = log(1 + e^-2000) = 0 to float.
  // Row 1: (1000, -1000), target 1: logsumexp - z_1 = 1000 - (-1000) = 2000.
  // Row 2: (1000, 1001), target 0: log(e^1000 + e^1001) - 1000 = log(1 + e) = 1.3132617.
  // Naively, e^1000 overflows to inf and the loss is nan.
  const Tensor logits = tensor({{1000, -1000}, {1000, -1000}, {1000, 1001}});
  const float loss = ops::cross_entropy(logits, tensor({0, 1, 0})).item();
  ASSERT_TRUE(std::isfinite(loss)) << loss;
  EXPECT_NEAR(loss, (0.0f + 2000.0f + std::log1p(std::exp(1.0f))) / 3, 1e-3f);
}

TEST(CrossEntropy, ReadsStridedLogits) {
  // The transpose of (C, N) = (3, 2) logits is an (N, C) view; the loss must follow its strides.
  const Tensor stored = tensor({{0, kLn3}, {kLn2, 0}, {std::log(5.0f), 0}});  // (3, 2)
  const Tensor logits = stored.transpose(0, 1);  // rows (0, ln 2, ln 5) and (ln 3, 0, 0)
  EXPECT_NEAR(ops::cross_entropy(logits, tensor({2, 0})).item(), (std::log(8.0f) - kLn3) / 2,
              1e-6f);
}

TEST(CrossEntropy, RejectsATargetOfTheClassCountOrMoreNamingIt) {
  const std::string message = message_of<std::out_of_range>([] {
    (void)ops::cross_entropy(zeros({2, 3}), tensor({1, 3}));
  });
  EXPECT_TRUE(contains(message, "3")) << message;
}

TEST(CrossEntropy, RejectsANegativeTarget) {
  EXPECT_THROW((void)ops::cross_entropy(zeros({2, 3}), tensor({-1, 0})), std::out_of_range);
}

TEST(CrossEntropy, RejectsATargetThatIsNotAWholeNumber) {
  EXPECT_THROW((void)ops::cross_entropy(zeros({2, 3}), tensor({0, 1.5f})), std::out_of_range);
}

TEST(CrossEntropy, RejectsANanTarget) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW((void)ops::cross_entropy(zeros({1, 3}), tensor({nan})), std::out_of_range);
}

TEST(CrossEntropy, RejectsATargetCountThatDiffersFromTheBatchNamingBothShapes) {
  const std::string message = message_of<std::invalid_argument>([] {
    (void)ops::cross_entropy(zeros({4, 3}), zeros({5}));
  });
  EXPECT_TRUE(contains(message, "[4, 3]") && contains(message, "[5]")) << message;
}

TEST(CrossEntropy, RejectsLogitsThatAreNotTwoDimensional) {
  EXPECT_THROW((void)ops::cross_entropy(zeros({2, 3, 4}), zeros({2})), std::invalid_argument);
}

TEST(CrossEntropyGrad, IsSoftmaxMinusOneHotOverTheBatchSize) {
  // Row 0 (0, ln 2, ln 5), target 2: softmax (1/8, 2/8, 5/8) - (0, 0, 1) = (1/8, 1/4, -3/8)
  // Row 1 (ln 3, 0, 0),  target 0: softmax (3/5, 1/5, 1/5) - (1, 0, 0) = (-2/5, 1/5, 1/5)
  // each divided by N = 2.
  const Tensor logits = tensor({{0, kLn2, std::log(5.0f)}, {kLn3, 0, 0}});
  const Tensor g = grad::cross_entropy(logits, tensor({2, 0}));
  EXPECT_EQ(g.shape(), (Shape{2, 3}));
  expect_values_near(g, {1.0f / 16, 1.0f / 8, -3.0f / 16, -1.0f / 5, 1.0f / 10, 1.0f / 10}, 1e-6f);
}

TEST(CrossEntropyGrad, MatchesPyTorch) {
  const Tensor z = from_vector(expected::kCeLogits, {4, 5});
  const Tensor k = from_vector(expected::kCeTargets, {4});
  expect_values_near(grad::cross_entropy(z, k), expected::kCeGrad, 1e-6f);
}

TEST(CrossEntropyGrad, MatchesFiniteDifferences) {
  Generator gen(7);
  const Tensor z = randn({3, 4}, gen) * 2.0f;
  const Tensor k = tensor({1, 3, 0});
  expect_matches_finite_differences(ops::cross_entropy, grad::cross_entropy(z, k), z, k);
}

TEST(CrossEntropyGrad, EveryRowSumsToZero) {
  // sum_j softmax_j = 1 and the one-hot sums to 1, so each row of the gradient sums to 0.
  Generator gen(9);
  const Tensor g = grad::cross_entropy(randn({5, 7}, gen) * 3.0f, tensor({0, 6, 2, 2, 5}));
  const Values rows = g.sum(1).to_vector();
  for (float r : rows) EXPECT_NEAR(r, 0.0f, 1e-6f);
}

TEST(CrossEntropyGrad, StaysFiniteForLogitsOfPlusMinusAThousand) {
  // softmax(1000, -1000) = (1, 0) to float. Target 1 with N = 1: (1, 0) - (0, 1) = (1, -1).
  const Tensor g = grad::cross_entropy(tensor({{1000, -1000}}), tensor({1}));
  expect_values_near(g, {1, -1}, 1e-6f);
}

TEST(CrossEntropyGrad, RejectsAnOutOfRangeTarget) {
  EXPECT_THROW((void)grad::cross_entropy(zeros({2, 3}), tensor({0, 7})), std::out_of_range);
}

// ---- binary_cross_entropy_with_logits -----------------------------------------------------

TEST(BceWithLogits, AtZeroLogitsIsLogTwoForAnyTarget) {
  // sigmoid(0) = 1/2, and -[t log 1/2 + (1 - t) log 1/2] = log 2 for every t.
  const Tensor loss = ops::binary_cross_entropy_with_logits(zeros({3}), tensor({0, 1, 0.3f}));
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_NEAR(loss.item(), kLn2, 1e-6f);
}

TEST(BceWithLogits, IsTheMeanOfMinusLogLikelihoods) {
  // z = ln 3: sigmoid = 3 / (3 + 1) = 3/4.
  //   t = 1    -> -log(3/4) = log 4 - log 3
  //   t = 0    -> -log(1/4) = log 4
  //   t = 0.5  -> -(log(3/4) + log(1/4)) / 2 = log 4 - log(3) / 2
  // mean = log 4 - log(3) / 2
  const Tensor loss = ops::binary_cross_entropy_with_logits(full({3}, kLn3), tensor({1, 0, 0.5f}));
  EXPECT_NEAR(loss.item(), std::log(4.0f) - kLn3 / 2, 1e-6f);
}

TEST(BceWithLogits, MatchesPyTorch) {
  const Tensor z = from_vector(expected::kBceLogits, {2, 3});
  const Tensor t = from_vector(expected::kBceTargets, {2, 3});
  EXPECT_NEAR(ops::binary_cross_entropy_with_logits(z, t).item(), expected::kBceLoss, 1e-5f);
}

TEST(BceWithLogits, StaysFiniteAndCorrectForLogitsOfPlusMinusAThousand) {
  // z = 1000,  t = 1: max(z,0) - z + log(1 + e^-1000) = 0
  // z = -1000, t = 1: 0 + 1000 + log(1 + e^-1000)      = 1000
  // z = 1000,  t = 0: 1000 - 0 + ~0                    = 1000
  // z = -1000, t = 0: 0                                = 0
  // Naively, log(sigmoid(-1000)) = log(0) = -inf.
  const float loss = ops::binary_cross_entropy_with_logits(tensor({1000, -1000, 1000, -1000}),
                                                           tensor({1, 1, 0, 0}))
                         .item();
  ASSERT_TRUE(std::isfinite(loss)) << loss;
  EXPECT_NEAR(loss, 500.0f, 1e-3f);
}

TEST(BceWithLogits, KeepsPrecisionForLargeNegativeLogitsWithTargetZero) {
  // z = -20, t = 0: log(1 + e^-20) = 2.0611537e-9; log(1 + x) without log1p rounds it to 0.
  const float loss = ops::binary_cross_entropy_with_logits(tensor({-20}), tensor({0})).item();
  EXPECT_NEAR(loss, 2.0611537e-9f, 1e-12f);
}

TEST(BceWithLogits, RejectsMismatchedShapesNamingBoth) {
  const std::string message = message_of<std::invalid_argument>([] {
    (void)ops::binary_cross_entropy_with_logits(zeros({2, 2}), zeros({4}));
  });
  EXPECT_TRUE(contains(message, "[2, 2]") && contains(message, "[4]")) << message;
}

TEST(BceWithLogitsGrad, IsSigmoidMinusTargetOverTheCount) {
  // z = ln 3 -> sigmoid 3/4; (3/4 - t) / 3 for t = (1, 0, 0.5): (-1/12, 1/4, 1/12)
  const Tensor g = grad::binary_cross_entropy_with_logits(full({3}, kLn3), tensor({1, 0, 0.5f}));
  EXPECT_EQ(g.shape(), (Shape{3}));
  expect_values_near(g, {-1.0f / 12, 1.0f / 4, 1.0f / 12}, 1e-6f);
}

TEST(BceWithLogitsGrad, MatchesPyTorch) {
  const Tensor z = from_vector(expected::kBceLogits, {2, 3});
  const Tensor t = from_vector(expected::kBceTargets, {2, 3});
  expect_values_near(grad::binary_cross_entropy_with_logits(z, t), expected::kBceGrad, 1e-6f);
}

TEST(BceWithLogitsGrad, MatchesFiniteDifferences) {
  Generator gen(13);
  const Tensor z = randn({2, 4}, gen) * 2.0f;
  const Tensor t = rand({2, 4}, gen);  // soft targets in [0, 1)
  expect_matches_finite_differences(ops::binary_cross_entropy_with_logits,
                                    grad::binary_cross_entropy_with_logits(z, t), z, t);
}

TEST(BceWithLogitsGrad, StaysFiniteForLogitsOfPlusMinusAThousand) {
  // sigmoid(1000) = 1, sigmoid(-1000) = 0 (a naive e^1000 is inf, and inf/inf is nan):
  // ((1 - 0), (0 - 1)) / 2 = (0.5, -0.5)
  const Tensor g = grad::binary_cross_entropy_with_logits(tensor({1000, -1000}), tensor({0, 1}));
  expect_values_near(g, {0.5f, -0.5f}, 1e-6f);
}

TEST(BceWithLogitsGrad, RejectsMismatchedShapes) {
  EXPECT_THROW((void)grad::binary_cross_entropy_with_logits(zeros({3}), zeros({1, 3})),
               std::invalid_argument);
}

}  // namespace
}  // namespace tinytorch
