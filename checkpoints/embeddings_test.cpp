// Checkpoint "embeddings": Can I turn token ids into vectors that a model learns?
//
// Answered end to end with your module 12 embeddings: a bigram language model that is nothing but
// an Embedding table (row v = the scores of the token after v) learns a text's successor rule
// with cross-entropy and Adam; token and position embeddings give a GPT its (B, T, D) input and
// both tables receive gradients; and the sinusoidal encoding gives every position a distinct
// vector of fixed length. Every expected number is derived in a comment.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "tinytorch/embeddings.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

namespace {

using namespace tinytorch;

TEST(EmbeddingsCheckpoint, ABigramTableLearnsWhatFollowsWhat) {
  // The sequence 0 1 2 3 0 1 2 3 ...: token v is always followed by (v + 1) mod 4. A table of
  // logits (4, 4) can put all the probability on that successor, so the loss can approach 0;
  // starting from N(0, 1) logits it is about log(4) = 1.39 or worse.
  Generator gen(0);
  nn::Embedding bigram(4, 4, gen);
  std::vector<float> x, y;
  for (int i = 0; i < 32; ++i) {
    x.push_back(static_cast<float>(i % 4));
    y.push_back(static_cast<float>((i + 1) % 4));
  }
  const Tensor inputs = from_vector(x, {32}), targets = from_vector(y, {32});
  optim::Adam opt(bigram.parameters(), optim::AdamOptions(0.1));
  for (int step = 0; step < 200; ++step) {
    opt.zero_grad();
    const Tensor loss = cross_entropy(bigram.forward(inputs), targets);
    loss.backward();
    opt.step();
  }
  EXPECT_LT(cross_entropy(bigram.forward(inputs), targets).item(), 0.05f);
  const Tensor next = bigram.forward(tensor({0, 1, 2, 3})).argmax(1);
  EXPECT_EQ(next.to_vector(), (std::vector<float>{1, 2, 3, 0}));
}

TEST(EmbeddingsCheckpoint, TokenPlusPositionGivesEveryTokenAVectorAndTrainsBothTables) {
  // ids (B, T) = (2, 5) -> (2, 5, 8). sum of the output: each token table row read k times gets
  // gradient k; positions 0..4 each serve B = 2 tokens, so their rows get 2.
  Generator gen(1);
  nn::Embedding tok(11, 8, gen);
  nn::PositionalEmbedding pos(16, 8, gen);
  const Tensor ids = tensor({{1, 2, 3, 4, 5}, {10, 9, 8, 7, 1}});
  const Tensor h = pos.forward(tok.forward(ids));
  EXPECT_EQ(h.shape(), (Shape{2, 5, 8}));
  h.sum().backward();
  EXPECT_FLOAT_EQ(tok.weight.grad().at({1, 0}), 2.0f);  // id 1 appears twice
  EXPECT_FLOAT_EQ(tok.weight.grad().at({0, 0}), 0.0f);  // id 0 never appears
  EXPECT_FLOAT_EQ(pos.weight.grad().at({4, 7}), 2.0f);
  EXPECT_FLOAT_EQ(pos.weight.grad().at({5, 7}), 0.0f);
}

TEST(EmbeddingsCheckpoint, SinusoidalPositionsAreDistinctAndOfEqualLength) {
  // Each column pair holds sin and cos of one angle: sin^2 + cos^2 = 1, so every row has squared
  // length D / 2 = 16, and no two positions of the first 64 share a vector.
  const Tensor pe = sinusoidal_encoding(64, 32);
  for (std::int64_t p = 0; p < 64; ++p) {
    double norm2 = 0.0;
    for (std::int64_t c = 0; c < 32; ++c) norm2 += pe.at({p, c}) * pe.at({p, c});
    EXPECT_NEAR(norm2, 16.0, 1e-4) << "position " << p;
  }
  for (std::int64_t p = 0; p < 64; ++p) {
    for (std::int64_t q = p + 1; q < 64; ++q) {
      double d2 = 0.0;
      for (std::int64_t c = 0; c < 32; ++c) d2 += std::pow(pe.at({p, c}) - pe.at({q, c}), 2);
      EXPECT_GT(d2, 1e-3) << "positions " << p << " and " << q;
    }
  }
}

}  // namespace
