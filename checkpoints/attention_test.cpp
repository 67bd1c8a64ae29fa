// Checkpoint "attention": Can my model let each position read the positions before it?
//
// Answered end to end with your module 13 code over modules 02-12: the "previous token" task,
// where the answer at position t is the token at position t - 1. A model in which each position
// sees only itself cannot do better than chance (1/8); one causal self-attention layer between the
// embeddings and the classifier learns it, and its attention weights show how: each position puts
// its weight on its left neighbour.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tinytorch/attention.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/embeddings.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

namespace {

using namespace tinytorch;

constexpr std::int64_t kVocab = 8, kT = 6, kE = 32;

// tokens -> embeddings + positions -> causal self-attention -> logits per position.
struct PreviousTokenModel : nn::Module {
  explicit PreviousTokenModel(Generator& g) {
    tok = register_module("tok", std::make_shared<nn::Embedding>(kVocab, kE, g));
    pos = register_module("pos", std::make_shared<nn::PositionalEmbedding>(kT, kE, g));
    attn = register_module("attn", std::make_shared<nn::MultiHeadAttention>(kE, 2, true, g));
    out = register_module(
        "out", std::make_shared<nn::Linear>(kE, kVocab, true, nn::Init::kaiming_uniform, g));
  }
  Tensor forward(const Tensor& ids) override {
    const Tensor x = pos->forward(tok->forward(ids));  // (B, T, E)
    return out->forward(attn->forward(x));             // (B, T, V)
  }
  std::shared_ptr<nn::Embedding> tok;
  std::shared_ptr<nn::PositionalEmbedding> pos;
  std::shared_ptr<nn::MultiHeadAttention> attn;
  std::shared_ptr<nn::Linear> out;
};

struct Batch {
  Tensor ids;      // (B, T) random tokens
  Tensor targets;  // (B * T): the previous token; position 0, which has none, names itself
};

Batch batch(std::int64_t b, Generator& g) {
  std::vector<float> ids(b * kT), targets(b * kT);
  for (float& id : ids) id = static_cast<float>(g.below(kVocab));
  for (std::int64_t n = 0; n < b; ++n) {
    for (std::int64_t t = 0; t < kT; ++t) targets[n * kT + t] = ids[n * kT + (t == 0 ? 0 : t - 1)];
  }
  return {from_vector(ids, {b, kT}), from_vector(targets, {b * kT})};
}

TEST(AttentionCheckpoint, OneAttentionLayerLearnsToCopyThePreviousToken) {
  Generator g(0);
  PreviousTokenModel model(g);
  optim::Adam opt(model.parameters(), optim::AdamOptions(0.01));
  for (int step = 0; step < 300; ++step) {
    const Batch b = batch(32, g);
    opt.zero_grad();
    cross_entropy(model(b.ids).reshape({32 * kT, kVocab}), b.targets).backward();
    opt.step();
  }
  autograd::NoGradGuard no_grad;
  const Batch test = batch(256, g);
  const Tensor predicted = model(test.ids).reshape({256 * kT, kVocab}).argmax(1);
  const std::vector<float> p = predicted.to_vector(), t = test.targets.to_vector();
  int correct = 0;
  for (std::size_t i = 0; i < p.size(); ++i) correct += p[i] == t[i] ? 1 : 0;
  EXPECT_GT(correct / static_cast<double>(p.size()), 0.95) << "chance is 1/8";

  // How it solved it: averaged over the batch and heads, position t attends mostly to t - 1.
  const Tensor w = model.attn->last_weights.mean(0).mean(0);  // (T, T)
  for (std::int64_t t = 1; t < kT; ++t) EXPECT_GT(w.at({t, t - 1}), 0.5f) << "position " << t;
}

TEST(AttentionCheckpoint, AttentionNeverLooksAhead) {
  Generator g(1);
  nn::MultiHeadAttention attn(16, 4, true, g);
  const Tensor x = randn({2, 5, 16}, g);
  const std::vector<float> before = attn(x).to_vector();
  const Tensor changed = x.clone();
  for (std::int64_t i = 0; i < 16; ++i) changed.at({0, 4, i}) += 3.0f;  // the last token
  const std::vector<float> after = attn(changed).to_vector();
  for (std::size_t i = 0; i < 4 * 16; ++i) EXPECT_NEAR(after[i], before[i], 1e-6f);
}

}  // namespace
