// Hidden grading suite for module 14 (transformers). Never shipped to students.
//
// Oracles:
//  * PyTorch (expected.hpp, from generate_expected.py): F.layer_norm values and gradients, and a
//    TransformerBlock and two small GPTs rebuilt in torch from F.layer_norm,
//    torch.nn.MultiheadAttention, F.gelu and F.linear, with every parameter set by the same
//    deterministic fill (fill_parameters here, fill() there).
//  * Mathematics in comments: normalised rows, parameter counts, the bias gradient as column sums.
//  * Finite differences (autograd::gradcheck) for LayerNormBackward and a whole block.
//  * Properties of generation: greedy = argmax of the model's own logits, top_k = 1 = greedy,
//    seeded reproducibility, the top-k support, and sample frequencies against softmax(z / T).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "expected.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/transformers.hpp"

namespace tinytorch {
namespace {

using nn::GPT;
using nn::GPTConfig;
using nn::LayerNorm;
using nn::MLP;
using nn::TransformerBlock;
using Ids = std::vector<std::int64_t>;
using Inputs = std::vector<Tensor>;
using Names = std::vector<std::string>;
using Values = std::vector<float>;

void expect_values_near(const Tensor& actual, const Values& expected, float tol = 1e-5f) {
  ASSERT_TRUE(actual.defined());
  const Values got = actual.to_vector();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], tol + 1e-5f * std::abs(expected[i])) << "at flat index " << i;
  }
}

// cos(0.61 i + phase) over the row-major elements, as input_fill in the generator.
Tensor input_fill(const Shape& shape, double phase) {
  Values v(static_cast<std::size_t>(shape_numel(shape)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::cos(0.61 * i + phase));
  return from_vector(v, shape);
}

// 0.4 sin(1.7 i + 0.9 k + 0.3) for element i of parameter number k, as fill in the generator.
Tensor fill(int k, const Shape& shape) {
  Values v(static_cast<std::size_t>(shape_numel(shape)));
  for (std::size_t i = 0; i < v.size(); ++i) {
    v[i] = static_cast<float>(0.4 * std::sin(1.7 * static_cast<double>(i) + 0.9 * k + 0.3));
  }
  return from_vector(v, shape);
}
void fill_parameters(const nn::Module& m) {
  int k = 0;
  for (auto [name, p] : m.named_parameters()) p.copy_(fill(k++, p.shape()));
}

Names names_of(const nn::Module& m) {
  Names out;
  for (const auto& [name, p] : m.named_parameters()) out.push_back(name);
  return out;
}

Names block_names(const std::string& prefix) {
  Names out;
  for (const char* n :
       {"ln1.weight", "ln1.bias", "attn.q_proj.weight", "attn.q_proj.bias", "attn.k_proj.weight",
        "attn.k_proj.bias", "attn.v_proj.weight", "attn.v_proj.bias", "attn.out_proj.weight",
        "attn.out_proj.bias", "ln2.weight", "ln2.bias", "mlp.fc.weight", "mlp.fc.bias",
        "mlp.proj.weight", "mlp.proj.bias"}) {
    out.push_back(prefix + n);
  }
  return out;
}

// The small GPT of the PyTorch oracle: V 7, context 5, E 8, 2 heads, 2 layers.
GPTConfig small_config(bool tied = true) {
  return GPTConfig{.vocab_size = 7,
                   .context = 5,
                   .embed_dim = 8,
                   .num_heads = 2,
                   .num_layers = 2,
                   .tied_head = tied,
                   .dropout = 0.0f};
}
const Tensor& oracle_ids() {
  static const Tensor ids = tensor({{0, 3, 6, 1}, {2, 2, 5, 4}});
  return ids;
}

// A small model whose logits are far from uniform (the oracle fill), for sampling tests.
std::unique_ptr<GPT> filled_gpt() {
  auto model = std::make_unique<GPT>(small_config());
  fill_parameters(*model);
  return model;
}

// The model's logits (V) for the last position of ids, computed here through forward.
Values last_logits(GPT& model, const Ids& ids) {
  autograd::NoGradGuard guard;
  const auto T = static_cast<std::int64_t>(ids.size());
  const Tensor logits = model.forward(from_vector(Values(ids.begin(), ids.end()), {1, T}));
  const Values all = logits.to_vector();
  const std::int64_t V = model.config.vocab_size;
  return Values(all.end() - V, all.end());
}

// =================================================================================================
// layer_norm
// =================================================================================================

TEST(LayerNormOp, MatchesTorch) {
  const Tensor x = input_fill({3, 5}, 0.4) * 3.0f + 1.0f;
  expect_values_near(layer_norm(x, fill(0, {5}), fill(1, {5})), expected::kLayerNormOutput);
}

TEST(LayerNormOp, GradientsMatchTorch) {
  Tensor x = (input_fill({3, 5}, 0.4) * 3.0f + 1.0f).requires_grad_();
  Tensor w = fill(0, {5}).requires_grad_();
  Tensor b = fill(1, {5}).requires_grad_();
  layer_norm(x, w, b).backward(input_fill({3, 5}, 1.1));
  expect_values_near(x.grad(), expected::kLayerNormGradInput);
  expect_values_near(w.grad(), expected::kLayerNormGradWeight);
  expect_values_near(b.grad(), expected::kLayerNormGradBias);
}

// With weight 1 and bias 0 each row has mean 0 and (biased) variance var / (var + eps) ~ 1.
TEST(LayerNormOp, RowsHaveZeroMeanAndUnitVariance) {
  Generator g(1);
  const Tensor x = randn({4, 2, 16}, g) * 5.0f + 3.0f;
  const Values y = layer_norm(x, ones({16}), zeros({16})).to_vector();
  for (std::size_t row = 0; row < 8; ++row) {
    double mean = 0.0, var = 0.0;
    for (std::size_t i = 0; i < 16; ++i) mean += y[row * 16 + i] / 16.0;
    for (std::size_t i = 0; i < 16; ++i)
      var += (y[row * 16 + i] - mean) * (y[row * 16 + i] - mean) / 16.0;
    EXPECT_NEAR(mean, 0.0, 1e-5) << "row " << row;
    EXPECT_NEAR(var, 1.0, 1e-4) << "row " << row;
  }
}

// x = 10000 + (0, 1, 2, 3): mean 10001.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, so
// y = (-1.5, -0.5, 0.5, 1.5) / sqrt(1.25 + 1e-5). In float, E[x^2] - mean^2 subtracts two numbers
// near 1e8, where float's spacing is 8: that variance is noise.
TEST(LayerNormOp, LargeMeanDoesNotCancelTheVariance) {
  const Tensor x = tensor({{10000, 10001, 10002, 10003}});
  const float s = 1.0f / std::sqrt(1.25f + 1e-5f);
  expect_values_near(layer_norm(x, ones({4}), zeros({4})),
                     {-1.5f * s, -0.5f * s, 0.5f * s, 1.5f * s}, 1e-4f);
}

// ops::layer_norm saves what the backward needs: per row the mean and 1 / sqrt(var + eps).
// Row (1, 2, 3): mean 2, var 2/3. Row (0, 0, 6): mean 2, var (4 + 4 + 16) / 3 = 8.
TEST(LayerNormOp, SavesMeanAndReciprocalStandardDeviationPerRow) {
  const auto r = ops::layer_norm(tensor({{1, 2, 3}, {0, 0, 6}}), ones({3}), zeros({3}), 1e-5f);
  ASSERT_EQ(r.mean.shape(), (Shape{2}));
  ASSERT_EQ(r.rstd.shape(), (Shape{2}));
  expect_values_near(r.mean, {2.0f, 2.0f});
  expect_values_near(r.rstd,
                     {1.0f / std::sqrt(2.0f / 3.0f + 1e-5f), 1.0f / std::sqrt(8.0f + 1e-5f)});
}

// A row whose variance is of the order of eps, where eps's place decides the result: row 0 holds
// +a and -a alternately with a = 2^-8, so its mean is exactly 0 and its variance exactly
// a^2 = 2^-16 (1.5e-5, next to the default eps = 1e-5). Then
//     rstd = 1 / sqrt(a^2 + eps) = 198.97...   (1 / (sqrt(a^2) + eps) would be 255.3...)
//     y = x * rstd = +-a / sqrt(a^2 + eps) = +-0.7772...
// The other 19 rows are ordinary data.
TEST(LayerNormOp, ReciprocalStdIsOneOverSqrtOfVariancePlusEpsForAVarianceNearEps) {
  const float a = 1.0f / 256.0f, eps = 1e-5f;
  Generator g(5);
  Tensor x = randn({20, 8}, g);
  for (std::int64_t i = 0; i < 8; ++i) x.at({0, i}) = i % 2 == 0 ? a : -a;
  const auto r = ops::layer_norm(x, ones({8}), zeros({8}), eps);
  const double rstd = 1.0 / std::sqrt(static_cast<double>(a) * a + eps);
  EXPECT_NEAR(r.rstd.to_vector()[0], rstd, 1e-4 * rstd);
  for (std::int64_t i = 0; i < 8; ++i) {
    EXPECT_NEAR(r.output.at({0, i}), x.at({0, i}) * rstd, 1e-4) << "element " << i;
  }
}

TEST(LayerNormOp, GradientsMatchFiniteDifferences) {
  Generator g(3);
  const Tensor probe = randn({2, 3, 6}, g);
  const auto r = autograd::gradcheck(
      [&](const Inputs& in) { return layer_norm(in[0], in[1], in[2]) * probe; },
      {randn({2, 3, 6}, g).requires_grad_(), (randn({6}, g) + 1.0f).requires_grad_(),
       randn({6}, g).requires_grad_()});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(LayerNormOp, WeightOfTheWrongSizeThrowsInvalidArgument) {
  EXPECT_THROW((void)layer_norm(zeros({2, 4}), ones({3}), zeros({4})), std::invalid_argument);
  EXPECT_THROW((void)layer_norm(zeros({2, 4}), ones({4}), zeros({2, 4})), std::invalid_argument);
}

// =================================================================================================
// LayerNorm and MLP modules
// =================================================================================================

TEST(LayerNormModule, StartsAsScaleOneShiftZero) {
  LayerNorm ln(6);
  EXPECT_EQ(names_of(ln), (Names{"weight", "bias"}));
  EXPECT_EQ(ln.weight.to_vector(), Values(6, 1.0f));
  EXPECT_EQ(ln.bias.to_vector(), Values(6, 0.0f));
  EXPECT_EQ(ln.num_parameters(), 12);
}

// y = xhat * w + b: dL/db_i = sum over rows of g_i (the column sums of g).
TEST(LayerNormModule, BackwardGivesTheBiasTheColumnSumsOfTheGradient) {
  LayerNorm ln(3);
  const Tensor g = tensor({{1, 2, 3}, {4, 5, 6}});
  ln(randn({2, 3})).backward(g);
  expect_values_near(ln.bias.grad(), {5, 7, 9});
  ASSERT_TRUE(ln.weight.grad().defined());
}

TEST(LayerNormModule, NonPositiveDimThrowsInvalidArgument) {
  EXPECT_THROW(LayerNorm(0), std::invalid_argument);
}

TEST(Mlp, HiddenDefaultsToFourTimesTheWidth) {
  MLP mlp(8);
  EXPECT_EQ(names_of(mlp), (Names{"fc.weight", "fc.bias", "proj.weight", "proj.bias"}));
  EXPECT_EQ(mlp.fc->weight.shape(), (Shape{32, 8}));
  EXPECT_EQ(mlp.proj->weight.shape(), (Shape{8, 32}));
  EXPECT_EQ(MLP(8, 5).fc->weight.shape(), (Shape{5, 8}));
}

TEST(Mlp, IsLinearGeluLinear) {
  MLP mlp(4, 6);
  const Tensor x = randn({2, 3, 4});
  const Tensor expected = (*mlp.proj)(gelu((*mlp.fc)(x)));
  expect_values_near(mlp(x), expected.to_vector(), 1e-6f);
}

TEST(Mlp, NegativeHiddenThrowsInvalidArgument) {
  EXPECT_THROW(MLP(4, -1), std::invalid_argument);
}

// =================================================================================================
// TransformerBlock
// =================================================================================================

TEST(TransformerBlock, ParametersAreNamedInOrder) {
  TransformerBlock block(8, 2);
  EXPECT_EQ(names_of(block), block_names(""));
}

TEST(TransformerBlock, MatchesTorchPreNormBlock) {
  TransformerBlock block(8, 2);
  fill_parameters(block);
  const Tensor y = block(input_fill({2, 3, 8}, 0.2));
  ASSERT_EQ(y.shape(), (Shape{2, 3, 8}));
  expect_values_near(y, expected::kBlockOutput);
}

TEST(TransformerBlock, EarlierPositionsIgnoreLaterOnes) {
  Generator g(4);
  TransformerBlock block(8, 2, 0.0f, g);
  const Tensor x = randn({1, 4, 8}, g);
  const Values before = block(x).to_vector();
  const Tensor x2 = x.clone();
  for (std::int64_t i = 0; i < 8; ++i) x2.at({0, 3, i}) = -x2.at({0, 3, i}) + 3.0f;
  const Values after = block(x2).to_vector();
  for (std::size_t i = 0; i < 3 * 8; ++i) EXPECT_NEAR(after[i], before[i], 1e-6f) << i;
}

TEST(TransformerBlock, GradientWithRespectToInputMatchesFiniteDifferences) {
  Generator g(8);
  TransformerBlock block(4, 2, 0.0f, g);
  const Tensor probe = randn({1, 3, 4}, g);
  const auto r = autograd::gradcheck([&](const Inputs& in) { return block(in[0]) * probe; },
                                     {randn({1, 3, 4}, g).requires_grad_()});
  EXPECT_TRUE(r.ok) << r.message;
}

// =================================================================================================
// GPT
// =================================================================================================

TEST(Gpt, TiedLogitsMatchTorch) {
  GPT model(small_config(true));
  fill_parameters(model);
  const Tensor logits = model(oracle_ids());
  ASSERT_EQ(logits.shape(), (Shape{2, 4, 7}));
  expect_values_near(logits, expected::kGptTiedLogits, 2e-5f);
}

TEST(Gpt, UntiedLogitsMatchTorch) {
  GPT model(small_config(false));
  fill_parameters(model);
  expect_values_near(model(oracle_ids()), expected::kGptUntiedLogits, 2e-5f);
}

TEST(Gpt, ParameterNamesAreDottedPaths) {
  Names expected = {"wte.weight", "wpe.weight"};
  for (const std::string l : {"0", "1"}) {
    for (const auto& n : block_names("blocks." + l + ".")) expected.push_back(n);
  }
  expected.push_back("ln_f.weight");
  expected.push_back("ln_f.bias");
  EXPECT_EQ(names_of(GPT(small_config(true))), expected);
  expected.push_back("head.weight");
  EXPECT_EQ(names_of(GPT(small_config(false))), expected);
}

// V 7, context 5, E 8, L 2:
//   wte 7*8 = 56, wpe 5*8 = 40;
//   per block: ln1 2*8 = 16, attn 4 (8*8 + 8) = 288, ln2 16, mlp fc 8*32 + 32 = 288,
//              mlp proj 32*8 + 8 = 264: 872, two blocks 1744;
//   ln_f 16.  Tied: 56 + 40 + 1744 + 16 = 1856; untied adds head 7*8 = 56: 1912.
TEST(Gpt, ParameterCountForASmallConfig) {
  EXPECT_EQ(GPT(small_config(true)).num_parameters(), 1856);
  EXPECT_EQ(GPT(small_config(false)).num_parameters(), 1912);
}

// With a tied head the token table is read at both ends: rows of ids that never appear in the
// input still get a gradient, through the logits. Untied, they get none.
TEST(Gpt, TiedHeadSharesTheTokenEmbedding) {
  GPT tied(small_config(true));
  EXPECT_EQ(tied.head, nullptr);
  tied(tensor({{0, 0, 0}})).sum(-1).mean().backward();
  double row5 = 0.0;
  for (std::int64_t i = 0; i < 8; ++i) row5 += std::abs(tied.wte->weight.grad().at({5, i}));
  EXPECT_GT(row5, 0.0);

  GPT untied(small_config(false));
  ASSERT_NE(untied.head, nullptr);
  EXPECT_FALSE(untied.head->weight.shares_storage(untied.wte->weight));
  (untied(tensor({{0, 0, 0}})) * randn({1, 3, 7})).sum().backward();
  for (std::int64_t i = 0; i < 8; ++i) EXPECT_EQ(untied.wte->weight.grad().at({5, i}), 0.0f);
}

TEST(Gpt, ShorterSequencesThanTheContextWork) {
  GPT model(small_config());
  EXPECT_EQ(model(tensor({{1}})).shape(), (Shape{1, 1, 7}));
  EXPECT_EQ(model(zeros({3, 5})).shape(), (Shape{3, 5, 7}));
}

TEST(Gpt, SequenceLongerThanTheContextThrowsOutOfRange) {
  GPT model(small_config());
  EXPECT_THROW((void)model(zeros({1, 6})), std::out_of_range);
}

TEST(Gpt, IdsThatAreNotBatchByTimeThrowInvalidArgument) {
  GPT model(small_config());
  EXPECT_THROW((void)model(zeros({4})), std::invalid_argument);
  EXPECT_THROW((void)model(zeros({1, 2, 3})), std::invalid_argument);
}

TEST(Gpt, InvalidConfigThrowsInvalidArgument) {
  GPTConfig c = small_config();
  c.num_heads = 3;  // 8 % 3 != 0
  EXPECT_THROW(GPT{c}, std::invalid_argument);
  c = small_config();
  c.vocab_size = 0;
  EXPECT_THROW(GPT{c}, std::invalid_argument);
  c = small_config();
  c.num_layers = 0;
  EXPECT_THROW(GPT{c}, std::invalid_argument);
}

// GPT-2's initialisation: weights N(0, 0.02^2), the residual projections N(0, (0.02/sqrt(2L))^2),
// biases 0 and LayerNorm weights 1. With thousands of samples per tensor the standard deviation
// is estimated within a few percent; the tolerance is 15%.
TEST(Gpt, InitialisationFollowsGpt2) {
  GPT model(
      GPTConfig{.vocab_size = 64, .context = 16, .embed_dim = 32, .num_heads = 4, .num_layers = 2});
  const auto std_of = [](const Tensor& t) {
    double s = 0.0;
    const Values v = t.to_vector();
    for (float x : v) s += static_cast<double>(x) * x;
    return std::sqrt(s / static_cast<double>(v.size()));
  };
  for (const auto& [name, p] : model.named_parameters()) {
    if (name.ends_with("bias")) {
      EXPECT_EQ(p.to_vector(), Values(p.numel(), 0.0f)) << name;
    } else if (name.find("ln") != std::string::npos) {
      EXPECT_EQ(p.to_vector(), Values(p.numel(), 1.0f)) << name;
    } else if (name.ends_with("out_proj.weight") || name.ends_with("mlp.proj.weight")) {
      EXPECT_NEAR(std_of(p), 0.01, 0.0015) << name;  // 0.02 / sqrt(2 * 2)
    } else {
      EXPECT_NEAR(std_of(p), 0.02, 0.003) << name;
    }
  }
}

TEST(Gpt, SameSeedBuildsTheSameModel) {
  Generator g1(5), g2(5), g3(6);
  GPT a(small_config(), g1), b(small_config(), g2), c(small_config(), g3);
  EXPECT_EQ(a(oracle_ids()).to_vector(), b(oracle_ids()).to_vector());
  EXPECT_NE(a(oracle_ids()).to_vector(), c(oracle_ids()).to_vector());
}

TEST(Gpt, LogitsOfEarlierPositionsIgnoreLaterTokens) {
  auto model = filled_gpt();
  const Values a = (*model)(tensor({{1, 2, 3, 4}})).to_vector();
  const Values b = (*model)(tensor({{1, 2, 6, 0}})).to_vector();
  for (std::size_t i = 0; i < 2 * 7; ++i) EXPECT_NEAR(a[i], b[i], 1e-6f) << i;
}

TEST(Gpt, DropoutActsOnlyInTraining) {
  GPTConfig c = small_config();
  c.dropout = 0.5f;
  GPT model(c);
  const Values t1 = model(oracle_ids()).to_vector(), t2 = model(oracle_ids()).to_vector();
  EXPECT_NE(t1, t2);
  model.eval();
  EXPECT_EQ(model(oracle_ids()).to_vector(), model(oracle_ids()).to_vector());
}

// Next-token prediction on "0 1 2 3 4 0 1 2 ...": the loss must fall far below log 7 = 1.95.
TEST(Gpt, LearnsARepeatingSequence) {
  Generator g(0);
  GPT model(small_config(), g);
  const Tensor inputs = tensor({{0, 1, 2, 3, 4}, {2, 3, 4, 0, 1}});
  const Tensor targets = tensor({{1, 2, 3, 4, 0}, {3, 4, 0, 1, 2}}).reshape({10});
  optim::Adam opt(model.parameters(), optim::AdamOptions(0.01));
  float first = 0.0f, last = 0.0f;
  for (int step = 0; step < 60; ++step) {
    opt.zero_grad();
    const Tensor loss = cross_entropy(model(inputs).reshape({10, 7}), targets);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  EXPECT_NEAR(first, std::log(7.0f), 0.2f);  // small initial weights: near-uniform predictions
  EXPECT_LT(last, 0.1f);
}

// =================================================================================================
// generate
// =================================================================================================

TEST(Generate, ReturnsThePromptFollowedByNewIds) {
  GPT model(small_config());
  const Ids out = generate(model, {3, 1}, 6, {.temperature = 1.0f, .top_k = 0, .seed = 1});
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(out[1], 1);
  for (std::int64_t id : out) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, 7);
  }
  EXPECT_EQ(generate(model, {3, 1}, 0), (Ids{3, 1}));
}

// Greedy, and longer than the context (5): each step is the argmax of the model's own logits
// for the last (at most 5) ids, computed here through forward.
TEST(Generate, GreedyPicksTheArgmaxOfTheLastLogitsOverACroppedWindow) {
  auto model = filled_gpt();
  const Ids out = generate(*model, {2, 5}, 9, {.temperature = 0.0f});
  Ids expected = {2, 5};
  while (expected.size() < 11) {
    const Ids window(expected.end() - std::min<std::ptrdiff_t>(5, expected.size()), expected.end());
    const Values z = last_logits(*model, window);
    expected.push_back(std::max_element(z.begin(), z.end()) - z.begin());
  }
  EXPECT_EQ(out, expected);
}

// Each step reads the logits of the window's last position. Among a few prompts, take one whose
// first and last positions disagree on the argmax (through the model's own forward, so the test can
// tell them apart), and check the greedy step against the last position.
TEST(Generate, GreedyStepReadsTheLastPositionNotTheFirst) {
  GPT model(small_config());
  const std::int64_t V = model.config.vocab_size;
  for (const Ids& prompt :
       {Ids{0, 1}, Ids{3, 1, 4}, Ids{2, 5, 6, 0}, Ids{6, 2, 3, 5, 1}, Ids{4, 4}}) {
    const auto T = static_cast<std::int64_t>(prompt.size());
    Values all;
    {
      autograd::NoGradGuard guard;
      all = model.forward(from_vector(Values(prompt.begin(), prompt.end()), {1, T})).to_vector();
    }
    const auto first = std::max_element(all.begin(), all.begin() + V) - all.begin();
    const auto last = std::max_element(all.end() - V, all.end()) - (all.end() - V);
    if (first == last) continue;
    const Ids out = generate(model, prompt, 1, {.temperature = 0.0f});
    ASSERT_EQ(out.size(), prompt.size() + 1);
    EXPECT_EQ(out.back(), last);
    return;
  }
  FAIL() << "no prompt whose first and last positions have different argmaxes";
}

TEST(Generate, TopKOfOneIsGreedy) {
  auto model = filled_gpt();
  const Ids greedy = generate(*model, {4}, 8, {.temperature = 0.0f});
  for (std::uint64_t seed : {0u, 1u, 2u}) {
    EXPECT_EQ(generate(*model, {4}, 8, {.temperature = 1.5f, .top_k = 1, .seed = seed}), greedy);
  }
}

// top_k = 2 keeps the two largest logits, the second (the k-th) included: at temperature 100 they
// are about equally likely (e^(z/100) differ by well under 10%), so one step over 40 seeds picks
// each of them (missing one would take odds of about 2^-40) and never another id.
TEST(Generate, TopKKeepsTheKthLargestLogit) {
  auto model = filled_gpt();
  const Ids prompt{1, 4};
  const Values z = last_logits(*model, prompt);
  Ids order(z.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::int64_t a, std::int64_t b) { return z[a] > z[b]; });
  std::set<std::int64_t> picked;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    picked.insert(
        generate(*model, prompt, 1, {.temperature = 100.0f, .top_k = 2, .seed = seed}).back());
  }
  EXPECT_EQ(picked, (std::set<std::int64_t>{order[0], order[1]}));
}

TEST(Generate, SameSeedSameTextDifferentSeedDifferentText) {
  GPT model(small_config());  // near-uniform predictions: 20 draws from 7 ids
  const SamplingOptions o{.temperature = 1.0f, .top_k = 0, .seed = 11};
  const Ids a = generate(model, {0}, 20, o);
  EXPECT_EQ(generate(model, {0}, 20, o), a);
  EXPECT_NE(generate(model, {0}, 20, {.temperature = 1.0f, .top_k = 0, .seed = 12}), a);
}

// At a high temperature almost every id is likely, but top_k = 2 allows only the two ids with the
// largest logits at each step.
TEST(Generate, TopKNeverPicksOutsideTheKLargestLogits) {
  auto model = filled_gpt();
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const Ids out = generate(*model, {1, 6}, 6, {.temperature = 10.0f, .top_k = 2, .seed = seed});
    for (std::size_t n = 2; n < out.size(); ++n) {
      const Ids window(
          out.begin() + std::max<std::ptrdiff_t>(0, static_cast<std::ptrdiff_t>(n) - 5),
          out.begin() + static_cast<std::ptrdiff_t>(n));
      Values z = last_logits(*model, window);
      const float picked = z[out[n]];
      std::sort(z.begin(), z.end(), std::greater<>());
      EXPECT_GE(picked, z[1]) << "seed " << seed << " step " << n;
    }
  }
}

// One new id from a fixed prompt, 3000 seeds: the frequency of each id estimates
// p = softmax(z / T); each must be within 5 standard errors sqrt(p (1 - p) / n) (+ 0.005).
TEST(Generate, SamplesFollowSoftmaxOfTheLogitsOverTheTemperature) {
  auto model = filled_gpt();
  const Ids prompt = {3, 0, 5};
  const Values z = last_logits(*model, prompt);
  for (const float temperature : {1.0f, 0.5f}) {
    std::vector<double> p(7);
    double total = 0.0;
    const float m = *std::max_element(z.begin(), z.end());
    for (std::size_t i = 0; i < 7; ++i) total += p[i] = std::exp((z[i] - m) / temperature);
    std::vector<int> counts(7, 0);
    const int n = 3000;
    for (int seed = 0; seed < n; ++seed) {
      const Ids out = generate(
          *model, prompt, 1,
          {.temperature = temperature, .top_k = 0, .seed = static_cast<std::uint64_t>(seed)});
      ++counts[out.back()];
    }
    for (std::size_t i = 0; i < 7; ++i) {
      const double expected = p[i] / total;
      const double se = std::sqrt(expected * (1 - expected) / n);
      EXPECT_NEAR(counts[i] / static_cast<double>(n), expected, 5 * se + 0.005)
          << "id " << i << " at temperature " << temperature;
    }
  }
}

TEST(Generate, RestoresTheModelsTrainingMode) {
  GPT model(small_config());
  model.train();
  (void)generate(model, {1}, 2);
  EXPECT_TRUE(model.is_training());
  model.eval();
  (void)generate(model, {1}, 2);
  EXPECT_FALSE(model.is_training());
}

TEST(Generate, InvalidArgumentsThrow) {
  GPT model(small_config());
  EXPECT_THROW((void)generate(model, {}, 3), std::invalid_argument);
  EXPECT_THROW((void)generate(model, {1}, -1), std::invalid_argument);
  EXPECT_THROW((void)generate(model, {1}, 3, {.temperature = -1.0f}), std::invalid_argument);
  EXPECT_THROW((void)generate(model, {1}, 3, {.temperature = 1.0f, .top_k = -2}),
               std::invalid_argument);
}

TEST(Generate, PromptIdOutsideTheVocabularyThrowsOutOfRange) {
  GPT model(small_config());
  EXPECT_THROW((void)generate(model, {1, 7}, 3), std::out_of_range);
  EXPECT_THROW((void)generate(model, {-1}, 3), std::out_of_range);
}

}  // namespace
}  // namespace tinytorch
