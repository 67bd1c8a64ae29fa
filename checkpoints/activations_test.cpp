// Checkpoint "activations": Can I turn a linear model into a nonlinear one and read its output as
// probabilities?
//
// Answered end to end with your module 02 tensors and module 03 activations, through the public
// functions a model calls (tinytorch::relu, softmax, ...). XOR, which no linear model fits, is
// solved by two hand-set layers with a ReLU between them; batches of extreme class scores become
// probabilities without overflow. Every expected number is derived in a comment.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tinytorch/activations.hpp"

namespace {

using namespace tinytorch;
using Values = std::vector<float>;

// The four XOR inputs, one per row.
Tensor xor_inputs() {
  return tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
}

// Layer 1: W1 = [[1, 1], [1, 1]], b1 = (0, -1), so h = (x1 + x2, x1 + x2 - 1) before the ReLU.
// Layer 2: W2 = [[1], [-2]], so y = h1 - 2 h2.
Tensor two_layers(const Tensor& x, bool with_relu) {
  const Tensor pre = x.matmul(tensor({{1, 1}, {1, 1}})) + tensor({0, -1});
  const Tensor h = with_relu ? relu(pre) : pre;
  return h.matmul(tensor({{1}, {-2}}));
}

TEST(ActivationsCheckpoint, AReluBetweenTwoLayersSolvesXorWhereTheLinearStackCannot) {
  // With ReLU: pre-activations (0, -1), (1, 0), (1, 0), (2, 1); after ReLU (0, 0), (1, 0), (1, 0),
  // (2, 1); y = h1 - 2 h2 = 0, 1, 1, 0: exactly XOR.
  const Tensor y = two_layers(xor_inputs(), /*with_relu=*/true);
  EXPECT_EQ(y.shape(), (Shape{4, 1}));
  EXPECT_EQ(y.to_vector(), (Values{0, 1, 1, 0}));
  // Without it, y = (x1 + x2) - 2 (x1 + x2 - 1) = 2 - (x1 + x2): 2, 1, 1, 0, a linear function of
  // x1 + x2 that gets (0, 0) wrong. The nonlinearity is what made the difference.
  EXPECT_EQ(two_layers(xor_inputs(), /*with_relu=*/false).to_vector(), (Values{2, 1, 1, 0}));
}

TEST(ActivationsCheckpoint, ExtremeClassScoresBecomeProbabilities) {
  // Each row of softmax is a distribution (sums to 1) with the order of its scores kept, even for
  // scores of +-1000 where e^z overflows: softmax(1000, 1001, 1002) = softmax(0, 1, 2).
  const Tensor logits = tensor({{1000, 1001, 1002}, {-1000, 0, 1000}, {3, 3, 3}});
  const Values p = softmax(logits, -1).to_vector();
  const double s = 1.0 + std::exp(1.0) + std::exp(2.0);
  EXPECT_NEAR(p[0], 1.0 / s, 1e-6);
  EXPECT_NEAR(p[1], std::exp(1.0) / s, 1e-6);
  EXPECT_NEAR(p[2], std::exp(2.0) / s, 1e-6);
  EXPECT_NEAR(p[5], 1.0f, 1e-6);  // e^0 / (e^-2000 + e^-1000 + e^0)
  EXPECT_NEAR(p[3], 0.0f, 1e-6);
  for (int i = 6; i < 9; ++i) EXPECT_NEAR(p[i], 1.0f / 3.0f, 1e-6);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(p[3 * r] + p[3 * r + 1] + p[3 * r + 2], 1.0f, 1e-6);
}

TEST(ActivationsCheckpoint, ConfidentWrongAnswersHaveAFiniteLogProbability) {
  // The true class scored 0 while another scored 200: log p = 0 - 200 - log(1 + e^-200) = -200,
  // finite, although p = e^-200 itself is 0 in float. Cross-entropy (module 05) needs this.
  const Values log_p = log_softmax(tensor({{0, 200}}), 1).to_vector();
  EXPECT_NEAR(log_p[0], -200.0f, 1e-4);
  EXPECT_NEAR(log_p[1], 0.0f, 1e-6);
}

TEST(ActivationsCheckpoint, SigmoidAndTanhSquashAnyScoreIntoTheirRange) {
  // sigma(z) in [0, 1] is a yes-probability with sigma(-z) = 1 - sigma(z); tanh(z) = 2 sigma(2z)
  // - 1.
  const Tensor z = tensor({-500, -2, 0, 2, 500});
  const Values p = sigmoid(z).to_vector();
  const Values t = tanh(z).to_vector();
  const Values p2 = sigmoid(z * 2.0f).to_vector();
  for (std::size_t i = 0; i < p.size(); ++i) {
    EXPECT_GE(p[i], 0.0f);
    EXPECT_LE(p[i], 1.0f);
    EXPECT_NEAR(p[i] + p[p.size() - 1 - i], 1.0f, 1e-6);
    EXPECT_NEAR(t[i], 2.0f * p2[i] - 1.0f, 1e-6);
  }
}

}  // namespace
