// Visible tests for module 16 (caching): run them with `tito module test 16`.
// The oracle for everything cached is the uncached computation of modules 13 and 14: a cache is
// right when it changes nothing but the speed.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/caching.hpp"

namespace tinytorch {
namespace {

using Ids = std::vector<std::int64_t>;

Tensor ids_tensor(const Ids& ids) {
  std::vector<float> v(ids.begin(), ids.end());
  const auto T = static_cast<std::int64_t>(v.size());
  return from_vector(std::move(v), {1, T});
}

nn::GPTConfig config(std::int64_t context) {
  return {.vocab_size = 10, .context = context, .embed_dim = 16, .num_heads = 2, .num_layers = 2};
}

TEST(Narrow, IsAViewOfTheMiddleRows) {
  Tensor t = arange(12.0f).reshape({4, 3});
  Tensor middle = ops::narrow(t, 0, 1, 2);
  EXPECT_EQ(middle.to_vector(), (std::vector<float>{3, 4, 5, 6, 7, 8}));
  middle.fill_(0.0f);  // writes through to t
  EXPECT_EQ(t.to_vector(), (std::vector<float>{0, 1, 2, 0, 0, 0, 0, 0, 0, 9, 10, 11}));
}

TEST(Cat, JoinsAlongADimension) {
  EXPECT_EQ(ops::cat({tensor({{1}, {2}}), tensor({{3, 4}, {5, 6}})}, 1).to_vector(),
            (std::vector<float>{1, 3, 4, 2, 5, 6}));
}

TEST(KVCache, AppendGrowsTheLengthAndReturnsEveryPosition) {
  KVCache cache(1, 2, 4, 3);
  const Tensor k = randn({1, 2, 1, 3}), v = randn({1, 2, 1, 3});
  cache.append(randn({1, 2, 2, 3}), randn({1, 2, 2, 3}));
  const CachedKV kv = cache.append(k, v);
  EXPECT_EQ(cache.length(), 3);
  EXPECT_EQ(kv.keys.shape(), (Shape{1, 2, 3, 3}));
  EXPECT_EQ(ops::narrow(kv.values, 2, 2, 1).to_vector(), v.to_vector());
}

TEST(KVCache, BytesAreTwoBuffersOfFloats) {
  EXPECT_EQ(KVCache(1, 2, 4, 3).bytes(), 2 * 1 * 2 * 4 * 3 * 4);
}

TEST(KVCache, ResetEmptiesIt) {
  KVCache cache(1, 1, 2, 1);
  cache.append(ones({1, 1, 2, 1}), ones({1, 1, 2, 1}));
  cache.reset();
  EXPECT_EQ(cache.length(), 0);
}

TEST(KVCache, RefusesToAppendPastCapacity) {
  KVCache cache(1, 1, 2, 1);
  cache.append(ones({1, 1, 2, 1}), ones({1, 1, 2, 1}));
  EXPECT_THROW(cache.append(ones({1, 1, 1, 1}), ones({1, 1, 1, 1})), std::length_error);
}

TEST(ForwardWithCache, DecodingGivesTheLogitsOfTheFullForward) {
  Generator g(1);
  nn::GPT model(config(8), g);
  model.eval();
  const Ids ids = {1, 5, 2, 7, 3};
  autograd::NoGradGuard no_grad;
  const Tensor full = model.forward(ids_tensor(ids));  // (1, 5, 10)
  GPTCache cache(model.config);
  (void)forward_with_cache(model, ids_tensor({1, 5, 2}), cache);          // prefill positions 0..2
  (void)forward_with_cache(model, ids_tensor({7}), cache);                // position 3
  const Tensor last = forward_with_cache(model, ids_tensor({3}), cache);  // position 4
  EXPECT_TRUE(allclose(last, ops::narrow(full, 1, 4, 1), 1e-4f, 1e-5f));
}

TEST(GPTCache, RefusesAModelOfAnotherShape) {
  Generator g(2);
  nn::GPT model(config(8), g);
  GPTCache cache(config(16));
  EXPECT_THROW(cache.check_model(model), std::invalid_argument);
}

TEST(GenerateWithCache, GivesTheSameIdsAsTheUncachedPathPastTheContext) {
  Generator g(3);
  nn::GPT model(config(8), g);
  GenerationOptions o{.sampling = {.temperature = 0.7f, .seed = 4}};
  const Generation cached = generate_with_cache(model, {1, 2}, 30, o);
  o.use_cache = false;
  EXPECT_EQ(cached.ids, generate_with_cache(model, {1, 2}, 30, o).ids);
  EXPECT_GT(cached.prefills, 1) << "30 ids past a context of 8 refill the window";
}

}  // namespace
}  // namespace tinytorch
