// Hidden grading suite for module 12 (embeddings). Never shipped to students.
//
// The oracle is arithmetic: lookups read rows of weights whose values are their own coordinates
// (weight[v, d] = 10 v + d), so every expected number is visible in the comment next to it;
// gradients of the index-add are summed by hand and checked by finite differences (gradcheck);
// sinusoidal values follow from the formula with <cmath> doing the sines in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/embeddings.hpp"

namespace tinytorch {
namespace {

using Values = std::vector<float>;

// weight[v, d] = 10 v + d: row v reads "v0, v1, v2".
Tensor coordinate_table(std::int64_t vocab, std::int64_t dim) {
  Values v;
  for (std::int64_t r = 0; r < vocab; ++r) {
    for (std::int64_t c = 0; c < dim; ++c) v.push_back(static_cast<float>(10 * r + c));
  }
  return from_vector(v, {vocab, dim});
}

template <class E, class F>
void ExpectThrowsMentioning(F call, const std::vector<std::string>& parts) {
  try {
    call();
    ADD_FAILURE() << "expected an exception, none was thrown";
  } catch (const E& e) {
    const std::string what = e.what();
    for (const auto& p : parts)
      EXPECT_NE(what.find(p), std::string::npos) << what << "\nlacks: " << p;
  }
}

// ---- ops::embedding -----------------------------------------------------------------------------

TEST(EmbeddingLookup, ReadsTheRowOfEachId) {
  // ids 2, 0, 2 -> rows 20 21 22 | 0 1 2 | 20 21 22.
  const Tensor out = ops::embedding(coordinate_table(4, 3), tensor({2, 0, 2}));
  EXPECT_EQ(out.shape(), (Shape{3, 3}));
  EXPECT_EQ(out.to_vector(), (Values{20, 21, 22, 0, 1, 2, 20, 21, 22}));
}

TEST(EmbeddingLookup, BatchOfSequencesGivesBatchSequenceDim) {
  // ids (B, T) = (2, 3) -> (2, 3, D); position [1, 2] holds id 3 -> row 30 31.
  const Tensor out = ops::embedding(coordinate_table(4, 2), tensor({{0, 1, 2}, {3, 3, 3}}));
  EXPECT_EQ(out.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(out.at({1, 2, 0}), 30.0f);
  EXPECT_EQ(out.at({1, 2, 1}), 31.0f);
  EXPECT_EQ(out.at({0, 1, 1}), 11.0f);
}

TEST(EmbeddingLookup, ASingleIdGivesOneVector) {
  // 0-d ids () -> (D).
  const Tensor out = ops::embedding(coordinate_table(4, 3), scalar_tensor(1));
  EXPECT_EQ(out.shape(), (Shape{3}));
  EXPECT_EQ(out.to_vector(), (Values{10, 11, 12}));
}

TEST(EmbeddingLookup, ReadsIdsThroughAView) {
  // ids {{0, 1}, {2, 3}} transposed is {{0, 2}, {1, 3}}: row-major ids 0, 2, 1, 3.
  const Tensor ids = tensor({{0, 1}, {2, 3}}).transpose(0, 1);
  const Tensor out = ops::embedding(coordinate_table(4, 1), ids);
  EXPECT_EQ(out.shape(), (Shape{2, 2, 1}));
  EXPECT_EQ(out.to_vector(), (Values{0, 20, 10, 30}));
}

TEST(EmbeddingLookup, OutputIsACopyNotAViewOfTheWeight) {
  const Tensor w = coordinate_table(4, 3);
  Tensor out = ops::embedding(w, tensor({1}));
  EXPECT_FALSE(out.shares_storage(w));
  out.fill_(-1.0f);
  EXPECT_EQ(w.at({1, 0}), 10.0f);
}

TEST(EmbeddingLookup, IdBeyondTheVocabularyThrowsNamingIdPositionAndSize) {
  // ids (2, 2), the 4 at [1, 0] is one past the last row of a 4-row table.
  ExpectThrowsMentioning<std::out_of_range>(
      [] {
        (void)ops::embedding(coordinate_table(4, 2), tensor({{0, 1}, {4, 2}}));
      },
      {"4", "[1, 0]", "4"});
}

TEST(EmbeddingLookup, NegativeIdThrows) {
  EXPECT_THROW((void)ops::embedding(coordinate_table(4, 2), tensor({0, -1})), std::out_of_range);
}

TEST(EmbeddingLookup, NonIntegerIdThrowsNamingIt) {
  ExpectThrowsMentioning<std::out_of_range>(
      [] { (void)ops::embedding(coordinate_table(4, 2), tensor({1.5f})); }, {"1.5", "[0]"});
}

TEST(EmbeddingLookup, WeightThatIsNotATableThrows) {
  EXPECT_THROW((void)ops::embedding(zeros({4}), tensor({0})), std::invalid_argument);
}

// ---- EmbeddingBackward --------------------------------------------------------------------------

TEST(EmbeddingBackward, RepeatedIdsAccumulateTheirRows) {
  // ids 1, 3, 1 with upstream rows g0 = (0, 1), g1 = (2, 3), g2 = (4, 5):
  //   dW[1] = g0 + g2 = (4, 6), dW[3] = g1 = (2, 3), rows 0 and 2 were never read: 0.
  autograd::EmbeddingBackward node(tensor({1, 3, 1}), 4);
  const std::vector<Tensor> grads = node.backward(from_vector({0, 1, 2, 3, 4, 5}, {3, 2}));
  ASSERT_EQ(grads.size(), 1u);
  EXPECT_EQ(grads[0].shape(), (Shape{4, 2}));
  EXPECT_EQ(grads[0].to_vector(), (Values{0, 0, 4, 6, 0, 0, 2, 3}));
}

TEST(EmbeddingBackward, BatchedIdsSendEachRowToItsId) {
  // ids (2, 2) = {{0, 2}, {2, 2}}, grad_output all ones (2, 2, 3): id 2 is read 3 times.
  autograd::EmbeddingBackward node(tensor({{0, 2}, {2, 2}}), 3);
  const std::vector<Tensor> grads = node.backward(ones({2, 2, 3}));
  ASSERT_EQ(grads.size(), 1u);
  EXPECT_EQ(grads[0].to_vector(), (Values{1, 1, 1, 0, 0, 0, 3, 3, 3}));
}

TEST(EmbeddingBackward, BackwardThroughTheLookupReachesTheWeight) {
  // loss = sum(embedding(W, ids)); dloss/dW[v] = (number of times v appears) * ones(D).
  const Tensor w = coordinate_table(3, 2).requires_grad_();
  const Tensor out = embedding(w, tensor({{2, 0}, {2, 2}}));
  ASSERT_NE(out.grad_fn(), nullptr);
  EXPECT_EQ(out.grad_fn()->name(), "EmbeddingBackward");
  out.sum().backward();
  EXPECT_EQ(w.grad().to_vector(), (Values{1, 1, 0, 0, 3, 3}));
}

TEST(EmbeddingBackward, PassesGradcheckWithRepeatedIds) {
  // f(W) = sum(E * E) with E = W[ids]: dW[v] = 2 W[v] * count(v), which needs the accumulation.
  Generator gen(3);
  const Tensor w = randn({5, 3}, gen).requires_grad_();
  const Tensor ids = tensor({{4, 1, 4}, {0, 4, 1}});
  const auto result = autograd::gradcheck(
      [&](const std::vector<Tensor>& in) {
        const Tensor e = embedding(in[0], ids);
        return e * e;
      },
      {w});
  EXPECT_TRUE(result.ok) << result.message;
}

// ---- nn::Embedding ------------------------------------------------------------------------------

TEST(EmbeddingModule, HasOneParameterNamedWeightOfShapeVocabByDim) {
  Generator gen(0);
  const nn::Embedding emb(10, 4, gen);
  const auto params = emb.named_parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_EQ(params[0].second.shape(), (Shape{10, 4}));
  EXPECT_TRUE(params[0].second.requires_grad());
  EXPECT_EQ(emb.num_embeddings, 10);
  EXPECT_EQ(emb.embedding_dim, 4);
}

TEST(EmbeddingModule, WeightIsStandardNormalDrawnFromTheGenerator) {
  // As torch.nn.Embedding: N(0, 1), here exactly randn({V, D}) from the generator handed in.
  Generator a(42), b(42);
  const nn::Embedding emb(6, 5, a);
  EXPECT_EQ(emb.weight.to_vector(), randn({6, 5}, b).to_vector());
}

TEST(EmbeddingModule, ForwardLooksUpItsOwnWeightAndTrainsIt) {
  Generator gen(1);
  nn::Embedding emb(4, 3, gen);
  const Tensor ids = tensor({{3, 0}});
  const Tensor out = emb.forward(ids);
  EXPECT_EQ(out.shape(), (Shape{1, 2, 3}));
  EXPECT_TRUE(allclose(out, ops::embedding(emb.weight.detach(), ids)));
  out.sum().backward();
  ASSERT_TRUE(emb.weight.grad().defined());
  EXPECT_EQ(emb.weight.grad().to_vector(), (Values{1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1}));
}

TEST(EmbeddingModule, RejectsEmptySizes) {
  EXPECT_THROW(nn::Embedding(0, 4), std::invalid_argument);
  EXPECT_THROW(nn::Embedding(4, 0), std::invalid_argument);
}

// ---- nn::PositionalEmbedding --------------------------------------------------------------------

TEST(PositionalEmbedding, HasOneParameterNamedWeightOfShapeMaxLenByDim) {
  Generator gen(0);
  const nn::PositionalEmbedding pos(8, 4, gen);
  const auto params = pos.named_parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_EQ(params[0].second.shape(), (Shape{8, 4}));
  EXPECT_TRUE(params[0].second.requires_grad());
}

TEST(PositionalEmbedding, LengthGivesTheFirstRowsOfTheTable) {
  Generator gen(2);
  nn::PositionalEmbedding pos(8, 3, gen);
  const Tensor p = pos.forward(5);
  EXPECT_EQ(p.shape(), (Shape{5, 3}));
  const Values w = pos.weight.to_vector();
  EXPECT_EQ(p.to_vector(), Values(w.begin(), w.begin() + 15));
}

TEST(PositionalEmbedding, AddsPositionTToEveryTokenAtT) {
  // x (B, T, D) = (2, 3, 2) of ones plus the table: out[b, t, :] = 1 + weight[t, :] for each b.
  Generator gen(3);
  nn::PositionalEmbedding pos(4, 2, gen);
  const Tensor x = full({2, 3, 2}, 1.0f);
  const Tensor out = pos.forward(x);
  EXPECT_EQ(out.shape(), (Shape{2, 3, 2}));
  for (std::int64_t b = 0; b < 2; ++b) {
    for (std::int64_t t = 0; t < 3; ++t) {
      for (std::int64_t d = 0; d < 2; ++d) {
        EXPECT_FLOAT_EQ(out.at({b, t, d}), 1.0f + pos.weight.at({t, d}));
      }
    }
  }
}

TEST(PositionalEmbedding, GradientReachesOnlyThePositionsUsed) {
  // sum(pos(x)) over x (2, 3, D): positions 0..2 are each added to 2 tokens (one per batch row),
  // so their gradient is 2; position 3 was never used: 0.
  Generator gen(4);
  nn::PositionalEmbedding pos(4, 2, gen);
  pos.forward(zeros({2, 3, 2})).sum().backward();
  EXPECT_EQ(pos.weight.grad().to_vector(), (Values{2, 2, 2, 2, 2, 2, 0, 0}));
}

TEST(PositionalEmbedding, LengthEqualToMaxLenIsAllowed) {
  nn::PositionalEmbedding pos(4, 2);
  EXPECT_EQ(pos.forward(4).shape(), (Shape{4, 2}));
}

TEST(PositionalEmbedding, LengthBeyondMaxLenThrowsNamingBoth) {
  nn::PositionalEmbedding pos(4, 2);
  ExpectThrowsMentioning<std::out_of_range>([&] { (void)pos.forward(5); }, {"5", "4"});
  EXPECT_THROW((void)pos.forward(zeros({1, 5, 2})), std::out_of_range);
}

TEST(PositionalEmbedding, InputWithTheWrongWidthOrRankThrows) {
  nn::PositionalEmbedding pos(4, 2);
  EXPECT_THROW((void)pos.forward(zeros({1, 3, 5})), std::invalid_argument);
  EXPECT_THROW((void)pos.forward(zeros({2})), std::invalid_argument);
}

// ---- sinusoidal_encoding ------------------------------------------------------------------------

TEST(SinusoidalEncoding, IsAConstantTableOfShapeMaxLenByDim) {
  const Tensor pe = sinusoidal_encoding(16, 6);
  EXPECT_EQ(pe.shape(), (Shape{16, 6}));
  EXPECT_FALSE(pe.requires_grad());
}

TEST(SinusoidalEncoding, PositionZeroIsSinZeroAndCosZero) {
  // sin(0) = 0 in even columns, cos(0) = 1 in odd ones.
  const Tensor pe = sinusoidal_encoding(3, 6);
  for (std::int64_t c = 0; c < 6; ++c) EXPECT_EQ(pe.at({0, c}), c % 2 == 0 ? 0.0f : 1.0f);
}

TEST(SinusoidalEncoding, MatchesTheFormulaAtPositionsOneAndSeven) {
  // dim 4: pair 0 has 10000^(0/4) = 1, pair 1 has 10000^(2/4) = 100. So
  //   PE[pos] = (sin(pos), cos(pos), sin(pos / 100), cos(pos / 100)).
  const Tensor pe = sinusoidal_encoding(8, 4);
  for (const std::int64_t pos : {1, 7}) {
    const double p = static_cast<double>(pos);
    EXPECT_NEAR(pe.at({pos, 0}), std::sin(p), 1e-6);
    EXPECT_NEAR(pe.at({pos, 1}), std::cos(p), 1e-6);
    EXPECT_NEAR(pe.at({pos, 2}), std::sin(p / 100.0), 1e-6);
    EXPECT_NEAR(pe.at({pos, 3}), std::cos(p / 100.0), 1e-6);
  }
}

TEST(SinusoidalEncoding, OddDimEndsWithALoneSine) {
  // dim 3: columns sin(pos), cos(pos), then 2i = 2: sin(pos / 10000^(2/3)), no cosine after it.
  const Tensor pe = sinusoidal_encoding(6, 3);
  EXPECT_EQ(pe.shape(), (Shape{6, 3}));
  const double scale = std::pow(10000.0, 2.0 / 3.0);  // about 464.16
  EXPECT_NEAR(pe.at({5, 0}), std::sin(5.0), 1e-6);
  EXPECT_NEAR(pe.at({5, 1}), std::cos(5.0), 1e-6);
  EXPECT_NEAR(pe.at({5, 2}), std::sin(5.0 / scale), 1e-6);
}

TEST(SinusoidalEncoding, DotProductDependsOnlyOnTheDistance) {
  // sin(a) sin(b) + cos(a) cos(b) = cos(a - b) for each column pair, so
  // PE[p] . PE[p + k] = sum_i cos(k w_i), whatever p is: positions 3,5 and 10,12 score the same.
  const Tensor pe = sinusoidal_encoding(16, 8);
  const auto dot = [&](std::int64_t p, std::int64_t q) {
    double s = 0.0;
    for (std::int64_t c = 0; c < 8; ++c) s += pe.at({p, c}) * pe.at({q, c});
    return s;
  };
  EXPECT_NEAR(dot(3, 5), dot(10, 12), 1e-5);
}

TEST(SinusoidalEncoding, RejectsEmptySizes) {
  EXPECT_THROW((void)sinusoidal_encoding(0, 4), std::invalid_argument);
  EXPECT_THROW((void)sinusoidal_encoding(4, 0), std::invalid_argument);
}

}  // namespace
}  // namespace tinytorch
