// Checkpoint "transformers": Can I build a GPT and teach it to continue text?
//
// Answered end to end with your module 14 code over modules 02-13: a tiny character-level GPT
// trains on a repeated phrase, its loss falls from chance (log V) to almost nothing, and greedy
// generation from the phrase's first characters writes the rest of it; sampling with a seed is
// reproducible, and the trained weights round-trip through a safetensors checkpoint.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/training.hpp"
#include "tinytorch/transformers.hpp"

namespace {

using namespace tinytorch;

const std::string kText = "hello world! ";  // 13 characters, repeated
constexpr std::int64_t kContext = 16;

// Characters as ids: the index of the character in the sorted set of kText's characters.
struct Chars {
  std::string alphabet = " !dehlorw";  // sorted unique characters of kText
  [[nodiscard]] std::int64_t id(char c) const {
    return static_cast<std::int64_t>(alphabet.find(c));
  }
  [[nodiscard]] std::vector<std::int64_t> encode(const std::string& s) const {
    std::vector<std::int64_t> out;
    for (char c : s) out.push_back(id(c));
    return out;
  }
  [[nodiscard]] std::string decode(const std::vector<std::int64_t>& ids) const {
    std::string out;
    for (auto i : ids) out += alphabet[static_cast<std::size_t>(i)];
    return out;
  }
};

nn::GPTConfig config(std::int64_t vocab) {
  return nn::GPTConfig{
      .vocab_size = vocab, .context = kContext, .embed_dim = 32, .num_heads = 4, .num_layers = 2};
}

// Every window of kContext + 1 characters of the repeated text (one per starting offset in the
// 13-character period): inputs are the first kContext ids, targets the next ones.
struct Data {
  Tensor inputs;   // (13, kContext)
  Tensor targets;  // (13 * kContext)
};
Data windows(const Chars& chars) {
  std::string text;
  while (text.size() < kText.size() + kContext + 1) text += kText;
  std::vector<float> x, y;
  for (std::size_t start = 0; start < kText.size(); ++start) {
    for (std::int64_t t = 0; t < kContext; ++t) {
      x.push_back(static_cast<float>(chars.id(text[start + t])));
      y.push_back(static_cast<float>(chars.id(text[start + t + 1])));
    }
  }
  const auto n = static_cast<std::int64_t>(kText.size());
  return {from_vector(x, {n, kContext}), from_vector(y, {n * kContext})};
}

// Trains once per process; each test reads the result.
struct Trained {
  Chars chars;
  nn::GPT model{config(9), generator()};
  float first_loss = 0.0f, last_loss = 0.0f;
  static Generator& generator() {
    static Generator g(0);
    return g;
  }
  Trained() {
    const Data data = windows(chars);
    const std::int64_t rows = data.targets.numel();
    optim::AdamW opt(model.parameters(), optim::AdamOptions(3e-3));
    for (int step = 0; step < 150; ++step) {
      opt.zero_grad();
      const Tensor loss = cross_entropy(model(data.inputs).reshape({rows, 9}), data.targets);
      loss.backward();
      opt.step();
      (step == 0 ? first_loss : last_loss) = loss.item();
    }
  }
};
Trained& trained() {
  static Trained t;
  return t;
}

TEST(TransformersCheckpoint, TrainingLossFallsFromChanceToAlmostNothing) {
  EXPECT_NEAR(trained().first_loss, std::log(9.0f), 0.3f) << "an untrained model is near chance";
  EXPECT_LT(trained().last_loss, 0.1f);
}

TEST(TransformersCheckpoint, GreedyGenerationContinuesThePhrase) {
  Trained& t = trained();
  const auto ids = generate(t.model, t.chars.encode("hel"), 22, {.temperature = 0.0f});
  EXPECT_EQ(t.chars.decode(ids), "hello world! hello world!");
}

TEST(TransformersCheckpoint, SeededSamplingIsReproducible) {
  Trained& t = trained();
  const SamplingOptions o{.temperature = 0.8f, .top_k = 3, .seed = 42};
  EXPECT_EQ(generate(t.model, t.chars.encode("wor"), 30, o),
            generate(t.model, t.chars.encode("wor"), 30, o));
}

TEST(TransformersCheckpoint, ATrainedGptSurvivesACheckpointRoundTrip) {
  Trained& t = trained();
  const auto path = std::filesystem::temp_directory_path() /
                    ("tinytorch_gpt_" + std::to_string(::getpid()) + ".safetensors");
  train::save_checkpoint(t.model, path);
  Generator other(99);
  nn::GPT fresh(config(9), other);
  train::load_checkpoint(fresh, path);
  std::filesystem::remove(path);
  const auto prompt = t.chars.encode("o w");
  EXPECT_EQ(generate(fresh, prompt, 12, {.temperature = 0.0f}),
            generate(t.model, prompt, 12, {.temperature = 0.0f}));
}

}  // namespace
