// Visible tests for module 14 (transformers): run them with `tito module test 14`.
// Each test names the behaviour it checks; the expected values are derived in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/transformers.hpp"

namespace tinytorch {
namespace {

using nn::GPT;
using nn::GPTConfig;
using Values = std::vector<float>;

GPTConfig tiny() {
  return GPTConfig{.vocab_size = 5, .context = 4, .embed_dim = 8, .num_heads = 2, .num_layers = 1};
}

// Row (1, 2, 3): mean 2, variance (1 + 0 + 1) / 3 = 2/3, so y = (-1, 0, 1) / sqrt(2/3 + eps).
TEST(LayerNorm, NormalisesEachRow) {
  const Tensor y = layer_norm(tensor({{1, 2, 3}}), ones({3}), zeros({3}));
  const float s = 1.0f / std::sqrt(2.0f / 3.0f + 1e-5f);
  EXPECT_NEAR(y.at({0, 0}), -s, 1e-5f);
  EXPECT_NEAR(y.at({0, 1}), 0.0f, 1e-6f);
  EXPECT_NEAR(y.at({0, 2}), s, 1e-5f);
}

// y = xhat * weight + bias: weight 2 and bias 1 turn (-s, 0, s) into (1 - 2s, 1, 1 + 2s).
TEST(LayerNorm, ScalesAndShifts) {
  const Tensor y = layer_norm(tensor({{1, 2, 3}}), full({3}, 2.0f), ones({3}));
  const float s = 1.0f / std::sqrt(2.0f / 3.0f + 1e-5f);
  EXPECT_NEAR(y.at({0, 0}), 1.0f - 2.0f * s, 1e-5f);
  EXPECT_NEAR(y.at({0, 2}), 1.0f + 2.0f * s, 1e-5f);
}

TEST(LayerNorm, GradientsMatchFiniteDifferences) {
  const Tensor probe = randn({2, 5});
  const auto r = autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]) * probe; },
      {randn({2, 5}).requires_grad_(), randn({5}).requires_grad_(), randn({5}).requires_grad_()});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(LayerNorm, ModuleHasWeightOnesAndBiasZeros) {
  nn::LayerNorm ln(4);
  EXPECT_EQ(ln.weight.to_vector(), Values(4, 1.0f));
  EXPECT_EQ(ln.bias.to_vector(), Values(4, 0.0f));
}

TEST(Mlp, KeepsTheWidthAndHasAFourTimesWiderHiddenLayer) {
  nn::MLP mlp(6);
  EXPECT_EQ(mlp.fc->weight.shape(), (Shape{24, 6}));
  EXPECT_EQ(mlp(randn({2, 3, 6})).shape(), (Shape{2, 3, 6}));
}

TEST(TransformerBlock, KeepsTheShape) {
  nn::TransformerBlock block(8, 2);
  EXPECT_EQ(block(randn({2, 3, 8})).shape(), (Shape{2, 3, 8}));
  EXPECT_EQ(block.named_parameters().front().first, "ln1.weight");
}

TEST(Gpt, MapsIdsToLogits) {
  GPT model(tiny());
  EXPECT_EQ(model(tensor({{0, 1, 2}, {4, 3, 2}})).shape(), (Shape{2, 3, 5}));
}

// wte 5*8 + wpe 4*8 + block (ln1 16 + attn 4*(64 + 8) + ln2 16 + fc 8*32 + 32 + proj 32*8 + 8)
// + ln_f 16 = 40 + 32 + 872 + 16 = 960 with the head tied to wte.
TEST(Gpt, ParameterCountOfATinyModel) {
  EXPECT_EQ(GPT(tiny()).num_parameters(), 960);
}

TEST(Gpt, RejectsSequencesLongerThanTheContext) {
  GPT model(tiny());
  EXPECT_THROW((void)model(zeros({1, 5})), std::out_of_range);
}

TEST(Generate, GreedyIsDeterministicAndKeepsThePrompt) {
  GPT model(tiny());
  const auto a = generate(model, {1, 2}, 5, {.temperature = 0.0f});
  ASSERT_EQ(a.size(), 7u);
  EXPECT_EQ(a[0], 1);
  EXPECT_EQ(a[1], 2);
  EXPECT_EQ(generate(model, {1, 2}, 5, {.temperature = 0.0f}), a);
}

TEST(Generate, SameSeedGivesTheSameSample) {
  GPT model(tiny());
  const SamplingOptions o{.temperature = 1.0f, .top_k = 3, .seed = 7};
  EXPECT_EQ(generate(model, {0}, 10, o), generate(model, {0}, 10, o));
}

TEST(Generate, RejectsAnEmptyPrompt) {
  GPT model(tiny());
  EXPECT_THROW((void)generate(model, {}, 3), std::invalid_argument);
}

}  // namespace
}  // namespace tinytorch
