// Checkpoint "caching": Can my model write text without recomputing what it has already read?
//
// Answered end to end with your module 16 code over modules 02-14: a tiny character-level GPT with
// a context of 8 learns "hello world! " (13 characters, longer than its context), then writes 40
// characters greedily with your KV cache, refilling its window past the context several times.
// The text must be the phrase, repeated, and exactly what the same model writes without the cache.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tinytorch/caching.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

namespace {

using namespace tinytorch;

const std::string kText = "hello world! ";  // 13 characters, repeated
const std::string kAlphabet = " !dehlorw";  // its sorted unique characters: ids 0..8
constexpr std::int64_t kContext = 8;

std::vector<std::int64_t> encode(const std::string& s) {
  std::vector<std::int64_t> ids;
  for (char c : s) ids.push_back(static_cast<std::int64_t>(kAlphabet.find(c)));
  return ids;
}

std::string decode(const std::vector<std::int64_t>& ids) {
  std::string s;
  for (auto id : ids) s += kAlphabet[static_cast<std::size_t>(id)];
  return s;
}

// Trains once per process: every window of kContext + 1 characters (one per offset in the
// 13-character period), inputs the first kContext ids and targets the next ones, so the model
// learns to continue from any offset with any history of 1 to kContext characters.
struct Trained {
  nn::GPT model{
      nn::GPTConfig{
          .vocab_size = 9, .context = kContext, .embed_dim = 32, .num_heads = 4, .num_layers = 2},
      generator()};
  float last_loss = 0.0f;
  static Generator& generator() {
    static Generator g(0);
    return g;
  }
  Trained() {
    std::string text;
    while (text.size() < kText.size() + kContext + 1) text += kText;
    std::vector<float> x, y;
    for (std::size_t start = 0; start < kText.size(); ++start) {
      for (std::int64_t t = 0; t < kContext; ++t) {
        x.push_back(static_cast<float>(kAlphabet.find(text[start + t])));
        y.push_back(static_cast<float>(kAlphabet.find(text[start + t + 1])));
      }
    }
    const auto n = static_cast<std::int64_t>(kText.size());
    const Tensor inputs = from_vector(x, {n, kContext}), targets = from_vector(y, {n * kContext});
    optim::AdamW opt(model.parameters(), optim::AdamOptions(3e-3));
    for (int step = 0; step < 150; ++step) {
      opt.zero_grad();
      const Tensor loss = cross_entropy(model(inputs).reshape({n * kContext, 9}), targets);
      loss.backward();
      opt.step();
      last_loss = loss.item();
    }
  }
};
Trained& trained() {
  static Trained t;
  return t;
}

TEST(CachingCheckpoint, CachedGenerationWritesThePhrasePastTheContext) {
  ASSERT_LT(trained().last_loss, 0.1f) << "the model (modules 02-14) did not learn the phrase";
  const Generation g =
      generate_with_cache(trained().model, encode("hel"), 40, {.sampling = {.temperature = 0}});
  EXPECT_EQ(decode(g.ids), "hello world! hello world! hello world! hell");  // 3 + 40
  EXPECT_GT(g.prefills, 1) << "43 characters with a context of 8 refill the window";
}

TEST(CachingCheckpoint, TheCacheChangesNothingButTheSpeed) {
  GenerationOptions o{.sampling = {.temperature = 0.8f, .top_k = 3, .seed = 7}};
  const Generation cached = generate_with_cache(trained().model, encode("wor"), 40, o);
  o.use_cache = false;
  EXPECT_EQ(cached.ids, generate_with_cache(trained().model, encode("wor"), 40, o).ids);
}

TEST(CachingCheckpoint, TheCacheHoldsWhatTheFormulaSays) {
  // 2 * layers 2 * batch 1 * heads 4 * context 8 * head_dim 8 * 4 bytes
  EXPECT_EQ(GPTCache(trained().model.config).bytes(), 2 * 2 * 1 * 4 * 8 * 8 * 4);
}

}  // namespace
