// Visible tests for module 13 (attention): run them with `tito module test 13`.
// Each test names the behaviour it checks; the expected values are derived in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "tinytorch/attention.hpp"
#include "tinytorch/autograd.hpp"

namespace tinytorch {
namespace {

using nn::MultiHeadAttention;
using Values = std::vector<float>;

TEST(CausalMask, HidesTheFuture) {
  const float inf = std::numeric_limits<float>::infinity();
  const Values expected = {0, -inf, -inf, 0, 0, -inf, 0, 0, 0};
  EXPECT_EQ(causal_mask(3, 3).to_vector(), expected);
}

TEST(CausalMask, RejectsMoreQueriesThanKeys) {
  EXPECT_THROW((void)causal_mask(4, 2), std::invalid_argument);
}

// One query, two keys. Scores: q.k / sqrt(2) = (1*2 + 1*0) / sqrt(2) = sqrt(2), and 0.
// weight_0 = e^sqrt(2) / (e^sqrt(2) + 1) = sigmoid(sqrt(2)); output = weight_0 * 1 + weight_1 * 3.
TEST(ScaledDotProductAttention, ComputesSoftmaxOfScaledScoresTimesValues) {
  const Tensor q = tensor({{1, 1}});
  const Tensor k = tensor({{2, 0}, {0, 0}});
  const Tensor v = tensor({{1}, {3}});
  const auto [out, weights] = scaled_dot_product_attention(q, k, v);
  const float w0 = 1.0f / (1.0f + std::exp(-std::sqrt(2.0f)));
  EXPECT_NEAR(weights.at({0, 0}), w0, 1e-6f);
  EXPECT_NEAR(weights.at({0, 1}), 1.0f - w0, 1e-6f);
  EXPECT_NEAR(out.at({0, 0}), w0 * 1.0f + (1.0f - w0) * 3.0f, 1e-5f);
}

TEST(ScaledDotProductAttention, ShapesFollowQueriesAndValues) {
  const auto [out, weights] =
      scaled_dot_product_attention(randn({2, 3, 4, 8}), randn({2, 3, 6, 8}), randn({2, 3, 6, 5}));
  EXPECT_EQ(out.shape(), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(weights.shape(), (Shape{2, 3, 4, 6}));
}

TEST(ScaledDotProductAttention, WeightRowsSumToOne) {
  const auto [out, weights] =
      scaled_dot_product_attention(randn({1, 2, 4, 8}), randn({1, 2, 4, 8}), randn({1, 2, 4, 8}));
  const Tensor sums = weights.sum(-1);
  for (float s : sums.to_vector()) EXPECT_NEAR(s, 1.0f, 1e-6f);
}

// The first query may only look at the first key: its weights are exactly (1, 0, 0).
TEST(ScaledDotProductAttention, CausalFirstQuerySeesOnlyTheFirstKey) {
  const auto [out, weights] = scaled_dot_product_attention(randn({1, 1, 3, 4}), randn({1, 1, 3, 4}),
                                                           randn({1, 1, 3, 2}), true);
  EXPECT_EQ(weights.at({0, 0, 0, 0}), 1.0f);
  EXPECT_EQ(weights.at({0, 0, 0, 1}), 0.0f);
  EXPECT_EQ(weights.at({0, 0, 0, 2}), 0.0f);
}

TEST(ScaledDotProductAttention, ChangingTheLastTokenDoesNotMoveEarlierOutputs) {
  const Tensor q = randn({1, 1, 4, 4}), k = randn({1, 1, 4, 4}), v = randn({1, 1, 4, 4});
  const Values before = scaled_dot_product_attention(q, k, v, true).output.to_vector();
  const Tensor k2 = k.clone(), v2 = v.clone();
  for (std::int64_t i = 0; i < 4; ++i) {
    k2.at({0, 0, 3, i}) += 5.0f;
    v2.at({0, 0, 3, i}) += 5.0f;
  }
  const Values after = scaled_dot_product_attention(q, k2, v2, true).output.to_vector();
  // positions 0..2 (the first 12 values) are exactly as before
  EXPECT_EQ(Values(after.begin(), after.begin() + 12), Values(before.begin(), before.begin() + 12));
}

TEST(ScaledDotProductAttention, RejectsKeysOfAnotherFeatureSize) {
  EXPECT_THROW((void)scaled_dot_product_attention(zeros({2, 4}), zeros({2, 3}), zeros({2, 4})),
               std::invalid_argument);
}

TEST(ScaledDotProductAttention, GradientsMatchFiniteDifferences) {
  const auto r = autograd::gradcheck(
      [](const std::vector<Tensor>& x) {
        return scaled_dot_product_attention(x[0], x[1], x[2], true).output.sum(-1);
      },
      {randn({1, 3, 2}).requires_grad_(), randn({1, 3, 2}).requires_grad_(),
       randn({1, 3, 2}).requires_grad_()});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(MultiHeadAttention, KeepsTheInputShape) {
  MultiHeadAttention attn(16, 4);
  EXPECT_EQ(attn.head_dim, 4);
  EXPECT_EQ(attn(randn({2, 5, 16})).shape(), (Shape{2, 5, 16}));
}

// Four Linear(8, 8) layers: 4 * (64 + 8) = 288.
TEST(MultiHeadAttention, HasFourProjections) {
  MultiHeadAttention attn(8, 2);
  EXPECT_EQ(attn.num_parameters(), 288);
  EXPECT_EQ(attn.named_parameters().front().first, "q_proj.weight");
  EXPECT_EQ(attn.named_parameters().back().first, "out_proj.bias");
}

TEST(MultiHeadAttention, RejectsHeadsThatDoNotDivideTheEmbedding) {
  EXPECT_THROW(MultiHeadAttention(10, 4), std::invalid_argument);
}

TEST(MultiHeadAttention, LastWeightsAreCausalPerHead) {
  MultiHeadAttention attn(8, 2);
  (void)attn(randn({1, 3, 8}));
  ASSERT_EQ(attn.last_weights.shape(), (Shape{1, 2, 3, 3}));
  EXPECT_EQ(attn.last_weights.at({0, 1, 0, 2}), 0.0f);
}

}  // namespace
}  // namespace tinytorch
