// Hidden grading suite for module 16 (caching). Never shipped to students.
//
// Oracles:
//  * narrow and cat against Tensor::at on the source tensors, index by index.
//  * The cached computations against the uncached ones of modules 13 and 14 (MultiHeadAttention::
//    forward, GPT::forward), which their own hidden suites check against PyTorch: a cache is right
//    exactly when it changes nothing but the speed. Tolerance 1e-5 (the two paths multiply
//    matrices of different shapes, so the float sums round differently).
//  * The window policy against its definition in caching.hpp, counted by hand in the comments.
//  * The memory formula 2 * layers * batch * heads * max_len * head_dim * 4 bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/caching.hpp"

namespace tinytorch {
namespace {

using Ids = std::vector<std::int64_t>;

// ---- helpers ------------------------------------------------------------------------------------

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tol) << what << " at flat index " << i;
  }
}

// Row t of x (1, T, C) as a vector.
std::vector<float> row(const Tensor& x, std::int64_t t) {
  return ops::narrow(x, 1, t, 1).to_vector();
}

Tensor ids_tensor(const Ids& ids, std::size_t from = 0, std::size_t to = SIZE_MAX) {
  to = std::min(to, ids.size());
  std::vector<float> v(ids.begin() + static_cast<std::ptrdiff_t>(from),
                       ids.begin() + static_cast<std::ptrdiff_t>(to));
  const auto T = static_cast<std::int64_t>(v.size());
  return from_vector(std::move(v), {1, T});
}

nn::GPTConfig small_config(std::int64_t context = 8, bool tied = true) {
  return {.vocab_size = 11,
          .context = context,
          .embed_dim = 16,
          .num_heads = 4,
          .num_layers = 2,
          .tied_head = tied};
}

// GPT-2's initialisation makes every logit nearly equal (std 0.02), so greedy decoding would pick
// among near-ties and the smallest rounding difference could flip an id. Larger weights, random
// biases and LayerNorm scales spread the logits by units: the tests compare the two paths, not a
// trained model.
nn::GPT spread_model(const nn::GPTConfig& config, std::uint64_t seed) {
  Generator g(seed);
  nn::GPT model(config, g);
  autograd::NoGradGuard no_grad;
  for (auto& [name, p] : model.named_parameters()) {
    const bool ln = name.find("ln") != std::string::npos;
    const float scale = name.find("bias") != std::string::npos ? 0.1f : (ln ? 0.2f : 0.5f);
    Tensor draw = randn(p.shape(), g) * scale;
    if (ln && name.find("weight") != std::string::npos) draw = draw + 1.0f;
    p.copy_(draw);
  }
  return model;
}

Ids random_ids(std::int64_t n, std::int64_t vocab, std::uint64_t seed) {
  Generator g(seed);
  Ids ids;
  for (std::int64_t i = 0; i < n; ++i) {
    ids.push_back(
        std::min<std::int64_t>(vocab - 1, static_cast<std::int64_t>(g.uniform() * vocab)));
  }
  return ids;
}

// ---- ops::narrow --------------------------------------------------------------------------------

TEST(Narrow, SelectsTheRangeAlongADimension) {
  const Tensor t = arange(24.0f).reshape({2, 3, 4});
  const Tensor n = ops::narrow(t, 1, 1, 2);
  ASSERT_EQ(n.shape(), (Shape{2, 2, 4}));
  for (std::int64_t a = 0; a < 2; ++a)
    for (std::int64_t b = 0; b < 2; ++b)
      for (std::int64_t c = 0; c < 4; ++c) EXPECT_EQ(n.at({a, b, c}), t.at({a, b + 1, c}));
}

TEST(Narrow, CountsANegativeDimensionFromTheEnd) {
  const Tensor t = arange(12.0f).reshape({3, 4});
  EXPECT_EQ(ops::narrow(t, -1, 2, 2).to_vector(), (std::vector<float>{2, 3, 6, 7, 10, 11}));
}

TEST(Narrow, IsAViewThatWritesThroughToTheSource) {
  Tensor t = zeros({4, 3});
  Tensor n = ops::narrow(t, 0, 2, 1);
  EXPECT_TRUE(n.shares_storage(t));
  n.fill_(5.0f);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{0, 0, 0, 0, 0, 0, 5, 5, 5, 0, 0, 0}));
}

TEST(Narrow, FollowsTheStridesAndOffsetOfAView) {
  const Tensor t = arange(20.0f).reshape({4, 5});
  const Tensor view = ops::narrow(t.transpose(0, 1), 0, 1, 3);  // columns 1..3, as rows
  const Tensor nested = ops::narrow(view, 1, 2, 2);             // and rows 2..3 of t
  ASSERT_EQ(nested.shape(), (Shape{3, 2}));
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 2; ++j) EXPECT_EQ(nested.at({i, j}), t.at({j + 2, i + 1}));
}

TEST(Narrow, AllowsAnEmptyRangeAtTheEnd) {
  EXPECT_EQ(ops::narrow(zeros({2, 3}), 1, 3, 0).shape(), (Shape{2, 0}));
}

TEST(Narrow, RejectsARangePastTheEndNamingTheShape) {
  try {
    (void)ops::narrow(zeros({2, 3}), 1, 2, 2);
    FAIL() << "expected std::out_of_range";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)ops::narrow(zeros({2, 3}), 2, 0, 1), std::out_of_range);
  EXPECT_THROW((void)ops::narrow(zeros({2, 3}), 0, -1, 1), std::out_of_range);
}

// ---- ops::cat -----------------------------------------------------------------------------------

TEST(Cat, JoinsAlongTheFirstDimension) {
  const Tensor c = ops::cat({tensor({{1, 2}}), tensor({{3, 4}, {5, 6}})}, 0);
  EXPECT_EQ(c.shape(), (Shape{3, 2}));
  EXPECT_EQ(c.to_vector(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Cat, JoinsAlongAnInnerDimensionAndReadsStridedInputs) {
  const Tensor a = arange(6.0f).reshape({3, 2}).transpose(0, 1);  // (2, 3), strided
  const Tensor b = tensor({{10}, {20}});
  const Tensor c = ops::cat({a, b, a}, -1);
  ASSERT_EQ(c.shape(), (Shape{2, 7}));
  EXPECT_EQ(c.to_vector(), (std::vector<float>{0, 2, 4, 10, 0, 2, 4, 1, 3, 5, 20, 1, 3, 5}));
}

TEST(Cat, RejectsShapesThatDisagreeOutsideTheDimension) {
  EXPECT_THROW((void)ops::cat({zeros({2, 3}), zeros({2, 4})}, 0), std::invalid_argument);
  EXPECT_THROW((void)ops::cat({}, 0), std::invalid_argument);
  EXPECT_THROW((void)ops::cat({zeros({2, 3}), zeros({2, 3, 1})}, 0), std::invalid_argument);
}

// ---- KVCache ------------------------------------------------------------------------------------

TEST(KVCache, StartsEmptyWithItsCapacityPreallocated) {
  KVCache cache(2, 3, 5, 4);
  EXPECT_EQ(cache.length(), 0);
  EXPECT_EQ(cache.capacity(), 5);
  EXPECT_EQ(cache.shape(), (Shape{2, 3, 5, 4}));
  EXPECT_EQ(cache.keys().shape(), (Shape{2, 3, 0, 4}));
}

TEST(KVCache, HoldsTwoBuffersOfFourBytesPerNumber) {
  // 2 buffers * (2 * 3 * 5 * 4 = 120 numbers) * 4 bytes
  KVCache cache(2, 3, 5, 4);
  EXPECT_EQ(cache.bytes(), 960);
  cache.append(randn({2, 3, 2, 4}), randn({2, 3, 2, 4}));
  EXPECT_EQ(cache.bytes(), 960) << "the buffers are preallocated: bytes do not grow with length";
}

TEST(KVCache, AppendAdvancesTheLengthByTheNewPositions) {
  KVCache cache(1, 2, 6, 3);
  cache.append(randn({1, 2, 2, 3}), randn({1, 2, 2, 3}));
  EXPECT_EQ(cache.length(), 2);
  cache.append(randn({1, 2, 1, 3}), randn({1, 2, 1, 3}));
  EXPECT_EQ(cache.length(), 3);
}

TEST(KVCache, AppendReturnsEveryCachedPositionInOrder) {
  KVCache cache(2, 2, 6, 3);
  const Tensor k1 = randn({2, 2, 2, 3}), v1 = randn({2, 2, 2, 3});
  const Tensor k2 = randn({2, 2, 3, 3}), v2 = randn({2, 2, 3, 3});
  cache.append(k1, v1);
  const CachedKV kv = cache.append(k2, v2);
  ASSERT_EQ(kv.keys.shape(), (Shape{2, 2, 5, 3}));
  EXPECT_EQ(kv.keys.to_vector(), ops::cat({k1, k2}, 2).to_vector());
  EXPECT_EQ(kv.values.to_vector(), ops::cat({v1, v2}, 2).to_vector());
  EXPECT_EQ(cache.keys().to_vector(), kv.keys.to_vector());
  EXPECT_EQ(cache.values().to_vector(), kv.values.to_vector());
}

TEST(KVCache, AppendCopiesFromStridedViews) {
  KVCache cache(1, 2, 4, 3);
  const Tensor k = randn({1, 3, 2, 3}).permute({0, 2, 1, 3});  // (1, 2, 3, 3), not contiguous
  const Tensor v = randn({1, 3, 2, 3}).permute({0, 2, 1, 3});
  const CachedKV kv = cache.append(k, v);
  EXPECT_EQ(kv.keys.to_vector(), k.to_vector());
  EXPECT_EQ(kv.values.to_vector(), v.to_vector());
}

TEST(KVCache, KeepsACopyNotTheCallersTensor) {
  KVCache cache(1, 1, 4, 2);
  Tensor k = ones({1, 1, 1, 2}), v = ones({1, 1, 1, 2});
  cache.append(k, v);
  k.fill_(7.0f);
  v.fill_(7.0f);
  EXPECT_EQ(cache.keys().to_vector(), (std::vector<float>{1, 1}));
  EXPECT_EQ(cache.values().to_vector(), (std::vector<float>{1, 1}));
}

TEST(KVCache, FillsExactlyToCapacity) {
  KVCache cache(1, 1, 3, 2);
  cache.append(randn({1, 1, 2, 2}), randn({1, 1, 2, 2}));
  EXPECT_NO_THROW(cache.append(randn({1, 1, 1, 2}), randn({1, 1, 1, 2})));
  EXPECT_EQ(cache.length(), 3);
}

TEST(KVCache, RefusesToAppendPastCapacityAndKeepsItsState) {
  KVCache cache(1, 1, 3, 2);
  const Tensor k = randn({1, 1, 2, 2}), v = randn({1, 1, 2, 2});
  cache.append(k, v);
  try {
    cache.append(randn({1, 1, 2, 2}), randn({1, 1, 2, 2}));
    FAIL() << "expected std::length_error";
  } catch (const std::length_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find('3'), std::string::npos) << "names the capacity: " << what;
  }
  EXPECT_EQ(cache.length(), 2);
  EXPECT_EQ(cache.keys().to_vector(), k.to_vector());
}

TEST(KVCache, RejectsKeysOfAnotherShapeNamingThem) {
  KVCache cache(1, 2, 4, 3);
  try {
    cache.append(randn({1, 2, 1, 5}), randn({1, 2, 1, 5}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 2, 1, 5]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cache.append(randn({1, 2, 1, 3}), randn({1, 2, 2, 3})), std::invalid_argument);
  EXPECT_THROW(cache.append(randn({2, 1, 3}), randn({2, 1, 3})), std::invalid_argument);
  EXPECT_EQ(cache.length(), 0);
}

TEST(KVCache, ResetForgetsEveryPositionAndRefillsFromTheStart) {
  KVCache cache(1, 1, 3, 2);
  cache.append(randn({1, 1, 3, 2}), randn({1, 1, 3, 2}));
  cache.reset();
  EXPECT_EQ(cache.length(), 0);
  const Tensor k = randn({1, 1, 2, 2}), v = randn({1, 1, 2, 2});
  const CachedKV kv = cache.append(k, v);
  EXPECT_EQ(kv.keys.to_vector(), k.to_vector());
  EXPECT_EQ(kv.values.to_vector(), v.to_vector());
}

TEST(KVCache, RejectsNonPositiveSizes) {
  EXPECT_THROW(KVCache(1, 0, 4, 2), std::invalid_argument);
  EXPECT_THROW(KVCache(1, 1, 0, 2), std::invalid_argument);
}

// ---- GPTCache -----------------------------------------------------------------------------------

TEST(GPTCache, HasOneLayerPerBlockSizedToTheContext) {
  GPTCache cache(small_config(8), 2);
  EXPECT_EQ(cache.num_layers(), 2);
  EXPECT_EQ(cache.capacity(), 8);
  EXPECT_EQ(cache.batch(), 2);
  EXPECT_EQ(cache.layer(1).shape(), (Shape{2, 4, 8, 4}));  // (B, H, context, E / H)
  EXPECT_THROW((void)cache.layer(2), std::out_of_range);
}

TEST(GPTCache, BytesFollowTheMemoryFormula) {
  // 2 * layers 4 * batch 1 * heads 4 * context 64 * head_dim 32 * 4 bytes: the tinygpt shape.
  const GPTCache cache(
      {.vocab_size = 65, .context = 64, .embed_dim = 128, .num_heads = 4, .num_layers = 4});
  EXPECT_EQ(cache.bytes(), 2 * 4 * 1 * 4 * 64 * 32 * 4);
}

TEST(GPTCache, ResetEmptiesEveryLayer) {
  nn::GPT model = spread_model(small_config(), 1);
  GPTCache cache(model.config);
  autograd::NoGradGuard no_grad;
  (void)forward_with_cache(model, ids_tensor({1, 2, 3}), cache);
  cache.reset();
  for (std::int64_t l = 0; l < cache.num_layers(); ++l) EXPECT_EQ(cache.layer(l).length(), 0);
  EXPECT_EQ(cache.length(), 0);
}

TEST(GPTCache, RefusesAModelOfAnotherShapeNamingBoth) {
  nn::GPT model = spread_model(small_config(8), 1);
  nn::GPTConfig other = small_config(8);
  other.num_layers = 3;
  GPTCache cache(other);
  try {
    cache.check_model(model);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("layers 3"), std::string::npos) << what;
    EXPECT_NE(what.find("layers 2"), std::string::npos) << what;
  }
  autograd::NoGradGuard no_grad;
  EXPECT_THROW((void)forward_with_cache(model, ids_tensor({1}), cache), std::invalid_argument);
}

TEST(GPTCache, RefusesAModelWithAnotherContext) {
  nn::GPT model = spread_model(small_config(8), 1);
  GPTCache cache(small_config(16));
  EXPECT_THROW(cache.check_model(model), std::invalid_argument);
}

// ---- attention_with_cache -----------------------------------------------------------------------

TEST(AttentionWithCache, OnAnEmptyCacheEqualsTheUncachedForward) {
  Generator g(3);
  nn::MultiHeadAttention attn(12, 3, true, g);
  const Tensor x = randn({2, 5, 12}, g);
  KVCache cache(2, 3, 8, 4);
  autograd::NoGradGuard no_grad;
  expect_near(attention_with_cache(attn, x, cache).to_vector(), attn.forward(x).to_vector(), 1e-5f,
              "prefill");
  EXPECT_EQ(cache.length(), 5);
}

TEST(AttentionWithCache, OnePositionAtATimeEqualsTheFullForward) {
  Generator g(4);
  nn::MultiHeadAttention attn(12, 3, true, g);
  const Tensor x = randn({1, 6, 12}, g);
  const Tensor full = attn.forward(x);
  KVCache cache(1, 3, 6, 4);
  autograd::NoGradGuard no_grad;
  for (std::int64_t t = 0; t < 6; ++t) {
    const Tensor y = attention_with_cache(attn, ops::narrow(x, 1, t, 1).contiguous(), cache);
    expect_near(y.to_vector(), row(full, t), 1e-5f, "position " + std::to_string(t));
  }
}

// Three new queries after three cached positions: the mask must be causal_mask(3, 6), queries at
// positions 3..5, not the square mask of the three new positions alone.
TEST(AttentionWithCache, SeveralNewPositionsSeeTheCacheAndEachOtherCausally) {
  Generator g(5);
  nn::MultiHeadAttention attn(8, 2, true, g);
  const Tensor x = randn({1, 6, 8}, g);
  const Tensor full = attn.forward(x);
  KVCache cache(1, 2, 6, 4);
  autograd::NoGradGuard no_grad;
  (void)attention_with_cache(attn, ops::narrow(x, 1, 0, 3).contiguous(), cache);
  const Tensor y = attention_with_cache(attn, ops::narrow(x, 1, 3, 3).contiguous(), cache);
  expect_near(y.to_vector(), ops::narrow(full, 1, 3, 3).to_vector(), 1e-5f, "chunk");
}

TEST(AttentionWithCache, RejectsACacheForOtherHeads) {
  Generator g(6);
  nn::MultiHeadAttention attn(8, 2, true, g);
  KVCache cache(1, 4, 6, 2);
  autograd::NoGradGuard no_grad;
  EXPECT_THROW((void)attention_with_cache(attn, randn({1, 1, 8}), cache), std::invalid_argument);
}

// ---- forward_with_cache -------------------------------------------------------------------------

TEST(ForwardWithCache, APrefillEqualsTheUncachedForward) {
  nn::GPT model = spread_model(small_config(), 7);
  model.eval();
  const Ids ids = random_ids(6, 11, 1);
  GPTCache cache(model.config);
  autograd::NoGradGuard no_grad;
  expect_near(forward_with_cache(model, ids_tensor(ids), cache).to_vector(),
              model.forward(ids_tensor(ids)).to_vector(), 1e-5f, "prefill");
  EXPECT_EQ(cache.length(), 6);
}

// Each new id must get the position vector of ITS position: the logits of step t equal row t of
// the forward over the whole sequence.
TEST(ForwardWithCache, DecodingOneIdAtATimeGivesTheFullForwardsLogits) {
  nn::GPT model = spread_model(small_config(), 8);
  model.eval();
  const Ids ids = random_ids(8, 11, 2);
  autograd::NoGradGuard no_grad;
  const Tensor full = model.forward(ids_tensor(ids));
  GPTCache cache(model.config);
  for (std::size_t t = 0; t < ids.size(); ++t) {
    const Tensor logits = forward_with_cache(model, ids_tensor(ids, t, t + 1), cache);
    expect_near(logits.to_vector(), row(full, static_cast<std::int64_t>(t)), 1e-5f,
                "position " + std::to_string(t));
  }
}

TEST(ForwardWithCache, APrefillThenChunksGivesTheFullForwardsLogits) {
  nn::GPT model = spread_model(small_config(), 9);
  model.eval();
  const Ids ids = random_ids(8, 11, 3);
  autograd::NoGradGuard no_grad;
  const Tensor full = model.forward(ids_tensor(ids));
  GPTCache cache(model.config);
  (void)forward_with_cache(model, ids_tensor(ids, 0, 3), cache);
  const Tensor chunk = forward_with_cache(model, ids_tensor(ids, 3, 6), cache);
  expect_near(chunk.to_vector(), ops::narrow(full, 1, 3, 3).to_vector(), 1e-5f, "chunk");
}

TEST(ForwardWithCache, WorksForABatchAndAnUntiedHead) {
  nn::GPT model = spread_model(small_config(8, false), 10);
  model.eval();
  const Tensor ids = from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  autograd::NoGradGuard no_grad;
  const Tensor full = model.forward(ids);
  GPTCache cache(model.config, 2);
  (void)forward_with_cache(model, ops::narrow(ids, 1, 0, 3).contiguous(), cache);
  const Tensor last = forward_with_cache(model, ops::narrow(ids, 1, 3, 1).contiguous(), cache);
  expect_near(last.to_vector(), ops::narrow(full, 1, 3, 1).to_vector(), 1e-5f, "last position");
}

TEST(ForwardWithCache, RefusesPositionsPastTheContextAndAppendsNothing) {
  nn::GPT model = spread_model(small_config(4), 11);
  GPTCache cache(model.config);
  autograd::NoGradGuard no_grad;
  (void)forward_with_cache(model, ids_tensor({1, 2, 3}), cache);
  try {
    (void)forward_with_cache(model, ids_tensor({4, 5}), cache);
    FAIL() << "expected std::length_error";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find('4'), std::string::npos) << "names the context";
  }
  EXPECT_EQ(cache.length(), 3);
  for (std::int64_t l = 0; l < cache.num_layers(); ++l) EXPECT_EQ(cache.layer(l).length(), 3);
}

TEST(ForwardWithCache, RejectsABatchOtherThanTheCaches) {
  nn::GPT model = spread_model(small_config(), 12);
  GPTCache cache(model.config, 1);
  autograd::NoGradGuard no_grad;
  EXPECT_THROW((void)forward_with_cache(model, zeros({2, 1}), cache), std::invalid_argument);
  EXPECT_THROW((void)forward_with_cache(model, zeros({3}), cache), std::invalid_argument);
}

TEST(KVCache, RefusesToCutAGraphUnderGradMode) {
  KVCache cache(1, 1, 4, 2);
  const Tensor k = randn({1, 1, 1, 2}).requires_grad_();
  EXPECT_THROW(cache.append(k, randn({1, 1, 1, 2})), std::logic_error);
  EXPECT_EQ(cache.length(), 0);
  autograd::NoGradGuard no_grad;
  EXPECT_NO_THROW(cache.append(k, randn({1, 1, 1, 2})));
}

// ---- sample_next_token --------------------------------------------------------------------------

TEST(SampleNextToken, GreedyPicksTheFirstLargestLogit) {
  Generator g(0);
  const std::vector<float> z = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(sample_next_token(z, {.temperature = 0.0f}, g), 1);
}

TEST(SampleNextToken, TopKNeverPicksOutsideTheKLargest) {
  Generator g(1);
  const std::vector<float> z = {0.0f, 0.1f, 3.0f, 0.2f, 2.9f};
  for (int i = 0; i < 300; ++i) {
    const std::int64_t id = sample_next_token(z, {.temperature = 5.0f, .top_k = 2}, g);
    ASSERT_TRUE(id == 2 || id == 4) << "drew id " << id;
  }
}

// z = {0, 2 ln 3} at temperature 2 is softmax({0, ln 3}) = {1/4, 3/4}. 4000 seeded draws: the
// frequency's standard deviation is sqrt(3/16 / 4000) = 0.007, so 0.03 is over 4 of them.
TEST(SampleNextToken, DrawsWithTheProbabilitiesOfSoftmaxOverTheTemperature) {
  Generator g(2);
  const std::vector<float> z = {0.0f, 2.0f * std::log(3.0f)};
  int ones = 0;
  for (int i = 0; i < 4000; ++i) ones += sample_next_token(z, {.temperature = 2.0f}, g) == 1;
  EXPECT_NEAR(ones / 4000.0, 0.75, 0.03);
}

TEST(SampleNextToken, RejectsEmptyLogits) {
  Generator g(3);
  EXPECT_THROW((void)sample_next_token(std::span<const float>(), {}, g), std::invalid_argument);
}

// ---- generate_with_cache ------------------------------------------------------------------------

// The acceptance test on the tinygpt shape: 256 greedy tokens past a context of 64 (so
// the window is refilled several times), logits within 1e-5 at every step, the same ids. The model
// is GPT-2's initialisation (a trained model's starting point) with the token table twice as wide
// (std 0.04): its greedy picks then win by more than 1 logit, never a near-tie that rounding could
// flip, while the logits stay small enough (a few units) that the two paths' different summation
// orders differ by about 1e-6.
TEST(GenerateWithCache, AgreesWithTheUncachedPathFor256GreedyTokens) {
  const nn::GPTConfig tinygpt{
      .vocab_size = 65, .context = 64, .embed_dim = 128, .num_heads = 4, .num_layers = 4};
  Generator init(13);
  nn::GPT model(tinygpt, init);
  model.wte->weight.detach().mul_(2.0f);
  const Ids prompt = random_ids(5, 65, 4);
  GenerationOptions o{.sampling = {.temperature = 0.0f}, .keep_logits = true};
  const Generation cached = generate_with_cache(model, prompt, 256, o);
  o.use_cache = false;
  const Generation plain = generate_with_cache(model, prompt, 256, o);
  ASSERT_EQ(cached.ids.size(), prompt.size() + 256);
  EXPECT_EQ(cached.ids, plain.ids);
  ASSERT_EQ(cached.logits.size(), 256u);
  ASSERT_EQ(plain.logits.size(), 256u);
  for (std::size_t s = 0; s < 256; ++s) {
    expect_near(cached.logits[s], plain.logits[s], 1e-5f, "step " + std::to_string(s));
  }
}

TEST(GenerateWithCache, AgreesWithTheUncachedPathWhenSampling) {
  nn::GPT model = spread_model(small_config(8), 14);
  const GenerationOptions cached{.sampling = {.temperature = 0.9f, .top_k = 5, .seed = 21}};
  GenerationOptions plain = cached;
  plain.use_cache = false;
  EXPECT_EQ(generate_with_cache(model, {1, 2}, 40, cached).ids,
            generate_with_cache(model, {1, 2}, 40, plain).ids);
}

// Inside the window nothing is cropped: the ids are module 14's generate's, draw for draw.
TEST(GenerateWithCache, InsideTheContextMatchesModule14sGenerate) {
  nn::GPT model = spread_model(small_config(16), 15);
  const SamplingOptions sampling{.temperature = 0.8f, .top_k = 4, .seed = 5};
  EXPECT_EQ(generate_with_cache(model, {3, 1, 4}, 13, {.sampling = sampling}).ids,
            generate(model, {3, 1, 4}, 13, sampling));
}

// Context 8, keep 4, prompt of 3, 20 new ids: the window [s, n) is refilled when n - s > 8, at
// n = 9 (s = 5), n = 14 (s = 10) and n = 19 (s = 15); n runs from 3 to 22. 1 + 3 prefills.
TEST(GenerateWithCache, RefillsTheLastHalfWindowWhenTheContextIsFull) {
  nn::GPT model = spread_model(small_config(8), 16);
  const Generation g = generate_with_cache(model, {1, 2, 3}, 20, {.sampling = {.temperature = 0}});
  EXPECT_EQ(g.prefills, 4);
  EXPECT_EQ(g.ids.size(), 23u);
}

// The step at n = 9 reads exactly the last keep = 4 ids, at positions 0..3.
TEST(GenerateWithCache, AfterARefillTheModelReadsTheLastHalfWindowFromPositionZero) {
  nn::GPT model = spread_model(small_config(8), 17);
  const Generation g = generate_with_cache(model, {1, 2, 3}, 8,
                                           {.sampling = {.temperature = 0}, .keep_logits = true});
  ASSERT_EQ(g.logits.size(), 8u);  // steps at n = 3..10; step 6 is n = 9
  model.eval();
  autograd::NoGradGuard no_grad;
  const Tensor expected = model.forward(ids_tensor(g.ids, 5, 9));  // ids[5..8]
  expect_near(g.logits[6], row(expected, 3), 1e-5f, "the step after the refill");
}

TEST(GenerateWithCache, APromptLongerThanTheContextStartsFromItsLastContextIds) {
  nn::GPT model = spread_model(small_config(8), 18);
  const Ids prompt = random_ids(12, 11, 5);
  const Generation g =
      generate_with_cache(model, prompt, 1, {.sampling = {.temperature = 0}, .keep_logits = true});
  model.eval();
  autograd::NoGradGuard no_grad;
  const Tensor expected = model.forward(ids_tensor(prompt, 4, 12));
  expect_near(g.logits.at(0), row(expected, 7), 1e-5f, "the first step");
}

TEST(GenerateWithCache, DecodesOnePositionPerStepBetweenRefills) {
  // Context 64 and 20 new ids from a prompt of 4: never full, so one prefill and 19 decode steps.
  nn::GPT model = spread_model(small_config(64), 19);
  EXPECT_EQ(generate_with_cache(model, {1, 2, 3, 4}, 20, {}).prefills, 1);
}

TEST(GenerateWithCache, ZeroNewTokensReturnsThePrompt) {
  nn::GPT model = spread_model(small_config(), 20);
  const Generation g = generate_with_cache(model, {4, 5}, 0);
  EXPECT_EQ(g.ids, (Ids{4, 5}));
  EXPECT_EQ(g.prefills, 0);
}

TEST(GenerateWithCache, RestoresTheTrainingModeAndRecordsNoGraph) {
  nn::GPT model = spread_model(small_config(), 21);
  model.train();
  (void)generate_with_cache(model, {1}, 3);
  EXPECT_TRUE(model.is_training());
  EXPECT_TRUE(autograd::GradMode::is_enabled());
}

TEST(GenerateWithCache, RejectsBadRequests) {
  nn::GPT model = spread_model(small_config(), 22);
  EXPECT_THROW((void)generate_with_cache(model, {}, 3), std::invalid_argument);
  EXPECT_THROW((void)generate_with_cache(model, {1}, -1), std::invalid_argument);
  EXPECT_THROW((void)generate_with_cache(model, {1}, 3, {.sampling = {.temperature = -1.0f}}),
               std::invalid_argument);
  EXPECT_THROW((void)generate_with_cache(model, {11}, 3), std::out_of_range);
}

}  // namespace
}  // namespace tinytorch
