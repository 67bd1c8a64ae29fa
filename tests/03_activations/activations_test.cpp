// Hidden grading suite for module 03 (activations). Never shipped to students.
//
// The oracle is PyTorch: expected.hpp is written by generate_expected.py (torch.nn.functional on
// the same inputs, which the header also holds). Identities that need no oracle (symmetry, shift
// invariance, rows summing to 1) are derived in a comment where they are used.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "expected.hpp"
#include "tinytorch/activations.hpp"

namespace tinytorch {
namespace {

using Values = std::vector<float>;

// |actual - expected| <= atol + rtol * |expected| element by element, naming the first miss.
::testing::AssertionResult Near(const Tensor& actual, const Values& expected, float rtol = 1e-5f,
                                float atol = 1e-6f) {
  const Values got = actual.to_vector();
  if (got.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "got " << got.size() << " elements, expected " << expected.size();
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - expected[i]) <= atol + rtol * std::fabs(expected[i]))) {
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", expected " << expected[i];
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult AllFinite(const Tensor& t) {
  const Values v = t.to_vector();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i]))
      return ::testing::AssertionFailure() << "element " << i << " is " << v[i];
  }
  return ::testing::AssertionSuccess();
}

Tensor pointwise_input() {
  return from_vector(expected::kPointwiseInput, {3, 5});
}
Tensor huge_input() {
  return from_vector(expected::kHugeInput, {6});
}
Tensor input3d() {
  return from_vector(expected::kInput3d, expected::kInput3dShape);
}
Tensor logits() {
  return from_vector(expected::kLogits, expected::kLogitsShape);
}

// The row-major values of t (2, 3, 4) read as t.permute({2, 1, 0}), i.e. in transposed order.
Values transposed_0_2(const Values& v) {
  Values out;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) out.push_back(v[(i * 3 + j) * 4 + k]);
  return out;
}

// ---- relu ------------------------------------------------------------------------------------

TEST(Relu, MatchesPyTorch) {
  EXPECT_TRUE(Near(ops::relu(pointwise_input()), expected::kRelu, 0.0f, 0.0f));
}

TEST(Relu, ReturnsANewTensorOfTheInputShape) {
  const Tensor x = pointwise_input();
  const Tensor y = ops::relu(x);
  EXPECT_EQ(y.shape(), x.shape());
  EXPECT_FALSE(y.shares_storage(x));
  EXPECT_EQ(x.to_vector(), expected::kPointwiseInput);  // the input is untouched
}

TEST(Relu, ReadsAStridedViewInLogicalOrder) {
  // relu(x)^T read row-major is relu(x^T): the strides, not the storage order, define the elements.
  const Tensor x = input3d();
  const Tensor y = ops::relu(x.permute({2, 1, 0}));
  EXPECT_EQ(y.shape(), (Shape{4, 3, 2}));
  EXPECT_TRUE(y.is_contiguous());
  EXPECT_EQ(y.to_vector(), ops::relu(x.permute({2, 1, 0}).contiguous()).to_vector());
  for (float v : y.to_vector()) EXPECT_GE(v, 0.0f);
  EXPECT_EQ(y.to_vector(), transposed_0_2(ops::relu(x).to_vector()));
}

// The same for every elementwise activation: each reads a permuted view in logical order.
TEST(Elementwise, SigmoidTanhAndGeluReadAStridedViewInLogicalOrder) {
  const Tensor x = input3d();
  for (const auto& [name, f] : {std::pair{"sigmoid", &ops::sigmoid}, std::pair{"tanh", &ops::tanh},
                                std::pair{"gelu", &ops::gelu}}) {
    const Tensor y = f(x.permute({2, 1, 0}));
    EXPECT_EQ(y.shape(), (Shape{4, 3, 2})) << name;
    EXPECT_EQ(y.to_vector(), transposed_0_2(f(x).to_vector())) << name;
  }
}

// ---- sigmoid ---------------------------------------------------------------------------------

TEST(Sigmoid, MatchesPyTorch) {
  EXPECT_TRUE(Near(ops::sigmoid(pointwise_input()), expected::kSigmoid));
}

TEST(Sigmoid, IsFiniteAndSaturatesForHugeInputsOfBothSigns) {
  // e^1000 overflows float: a naive 1 / (1 + e^-x) at x = -1000 computes 1 / inf, and e^x / (1 +
  // e^x) at x = +1000 computes inf / inf = NaN. The stable form must give 0 and 1.
  const Tensor y = ops::sigmoid(huge_input());
  EXPECT_TRUE(AllFinite(y));
  EXPECT_TRUE(Near(y, expected::kSigmoidHuge, 1e-5f, 1e-7f));
}

TEST(Sigmoid, IsPointSymmetricAboutOneHalf) {
  // sigmoid(-x) = 1 / (1 + e^x) = 1 - e^x / (1 + e^x) = 1 - sigmoid(x), and sigmoid(0) = 1/2.
  const Tensor x = pointwise_input();
  const Values pos = ops::sigmoid(x).to_vector();
  const Values neg = ops::sigmoid(-x).to_vector();
  for (std::size_t i = 0; i < pos.size(); ++i) EXPECT_NEAR(neg[i], 1.0f - pos[i], 1e-6f) << i;
  EXPECT_EQ(ops::sigmoid(scalar_tensor(0.0f)).item(), 0.5f);
}

// ---- tanh ------------------------------------------------------------------------------------

TEST(Tanh, MatchesPyTorch) {
  EXPECT_TRUE(Near(ops::tanh(pointwise_input()), expected::kTanh));
}

TEST(Tanh, StaysInMinusOneToOneForHugeInputs) {
  // (e^x - e^-x) / (e^x + e^-x) written literally is inf / inf = NaN at |x| = 1000.
  const Tensor y = ops::tanh(huge_input());
  EXPECT_TRUE(AllFinite(y));
  EXPECT_TRUE(Near(y, expected::kTanhHuge));
}

// ---- gelu ------------------------------------------------------------------------------------

TEST(Gelu, MatchesPyTorchsExactErfForm) {
  // The tanh approximation differs from the erf form by about 1.5e-4 at x = 1 (0.841192 vs
  // 0.841345), far outside this tolerance.
  EXPECT_TRUE(Near(ops::gelu(pointwise_input()), expected::kGelu, 1e-5f, 1e-6f));
}

// GELU(x) = x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2, the normal CDF, evaluated here in double:
// GELU(1) = 0.841344746..., GELU(-3) = -0.004049694... (the tanh form gives -0.003637), GELU(0.5) =
// 0.345731... Checked to 1e-6 relative: the exact erf form, not an approximation of it.
TEST(Gelu, IsXTimesTheNormalCdfOfX) {
  const Values xs{1.0f, -3.0f, 0.5f, -0.75f, 2.5f};
  const Values y = ops::gelu(from_vector(xs, {5})).to_vector();
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i], expected = x * 0.5 * std::erfc(-x / std::sqrt(2.0));
    EXPECT_NEAR(y[i], expected, 1e-6 * std::fabs(expected) + 1e-7) << "x = " << x;
  }
}

TEST(Gelu, IsFiniteForHugeInputs) {
  // GELU(x) -> x for x -> +inf and -> 0 for x -> -inf.
  const Tensor y = ops::gelu(huge_input());
  EXPECT_TRUE(AllFinite(y));
  EXPECT_TRUE(Near(y, expected::kGeluHuge));
}

// ---- softmax ---------------------------------------------------------------------------------

TEST(Softmax, LastDimOf3dMatchesPyTorch) {
  const Tensor y = ops::softmax(input3d(), 2);
  EXPECT_EQ(y.shape(), expected::kInput3dShape);
  EXPECT_TRUE(Near(y, expected::kSoftmax3dDim2));
}

TEST(Softmax, MiddleDimOf3dMatchesPyTorch) {
  EXPECT_TRUE(Near(ops::softmax(input3d(), 1), expected::kSoftmax3dDim1));
}

TEST(Softmax, FirstDimOf3dMatchesPyTorch) {
  EXPECT_TRUE(Near(ops::softmax(input3d(), 0), expected::kSoftmax3dDim0));
}

TEST(Softmax, Dim0Of2dNormalisesEachColumn) {
  const Tensor y = ops::softmax(input3d().reshape({6, 4}), 0);
  EXPECT_EQ(y.shape(), (Shape{6, 4}));
  EXPECT_TRUE(Near(y, expected::kSoftmax2dDim0));
}

TEST(Softmax, NegativeDimCountsFromTheEnd) {
  const Tensor x = input3d();
  EXPECT_TRUE(Near(ops::softmax(x, -1), expected::kSoftmax3dDim2));
  EXPECT_TRUE(Near(ops::softmax(x, -2), expected::kSoftmax3dDim1));
  EXPECT_TRUE(Near(ops::softmax(x, -3), expected::kSoftmax3dDim0));
}

TEST(Softmax, EveryRowOfALargeBatchSumsToOne) {
  // 256 rows of 1000 logits with spread 10 (e^30 and e^-30 in one row): each row is a
  // probability distribution, every entry in [0, 1].
  Generator gen(11);
  const Tensor x = randn({256, 1000}, gen) * 10.0f;
  const Tensor y = ops::softmax(x, 1);
  const Values v = y.to_vector();
  for (int r = 0; r < 256; ++r) {
    double s = 0.0;
    for (int c = 0; c < 1000; ++c) {
      const float p = v[r * 1000 + c];
      ASSERT_GE(p, 0.0f);
      ASSERT_LE(p, 1.0f);
      s += p;
    }
    EXPECT_NEAR(s, 1.0, 1e-5) << "row " << r;
  }
}

TEST(Softmax, IsFiniteForLogitsAroundPlusAndMinusOneThousand) {
  // softmax({1000, 1001, 999}) = softmax({1, 2, 0}): e^1000 itself would be inf.
  const Tensor y = ops::softmax(logits(), 1);
  EXPECT_TRUE(AllFinite(y));
  EXPECT_TRUE(Near(y, expected::kSoftmaxLogits));
}

TEST(Softmax, IsUnchangedByAddingAConstantToEveryLogit) {
  // e^(x_i + c) / sum_j e^(x_j + c) = e^c e^x_i / (e^c sum_j e^x_j): the constant cancels.
  const Tensor x = input3d();
  EXPECT_TRUE(Near(ops::softmax(x + 500.0f, 1), ops::softmax(x, 1).to_vector(), 2e-4f, 1e-6f));
}

TEST(Softmax, OfATransposedViewMatchesTheTransposedResult) {
  // softmax(x^T, 0) over x^T's dim 0 normalises the same numbers as softmax(x, 2) over x's dim 2.
  const Tensor xt = input3d().transpose(0, 2);  // (4, 3, 2), a strided view
  ASSERT_FALSE(xt.is_contiguous());
  const Tensor y = ops::softmax(xt, 0);
  EXPECT_EQ(y.shape(), (Shape{4, 3, 2}));
  EXPECT_TRUE(Near(y, transposed_0_2(expected::kSoftmax3dDim2)));
}

TEST(Softmax, OfAZeroDimTensorIsOne) {
  // One element normalised over itself: e^0 / e^0.
  const Tensor y = ops::softmax(scalar_tensor(42.0f), 0);
  EXPECT_EQ(y.dim(), 0);
  EXPECT_EQ(y.item(), 1.0f);
}

TEST(Softmax, DimOutOfRangeThrowsOutOfRange) {
  const Tensor x = input3d();
  EXPECT_THROW((void)ops::softmax(x, 3), std::out_of_range);
  EXPECT_THROW((void)ops::softmax(x, -4), std::out_of_range);
}

TEST(Softmax, DifferentiableWrapperGivesTheSameValues) {
  // tinytorch::softmax (the framework layer the losses and models call) runs ops::softmax.
  EXPECT_TRUE(Near(softmax(input3d(), 1), expected::kSoftmax3dDim1));
}

// ---- log_softmax -----------------------------------------------------------------------------

TEST(LogSoftmax, MatchesPyTorchAlongEveryDim) {
  const Tensor x = input3d();
  EXPECT_TRUE(Near(ops::log_softmax(x, 0), expected::kLogSoftmax3dDim0));
  EXPECT_TRUE(Near(ops::log_softmax(x, 1), expected::kLogSoftmax3dDim1));
  EXPECT_TRUE(Near(ops::log_softmax(x, 2), expected::kLogSoftmax3dDim2));
  EXPECT_TRUE(Near(ops::log_softmax(x.reshape({6, 4}), 0), expected::kLogSoftmax2dDim0));
}

TEST(LogSoftmax, IsFiniteWhereSoftmaxUnderflowsToZero) {
  // Row (0, -200, 5): softmax's middle entry e^-205 / ... is 0 in float, so log(softmax) = -inf;
  // log_softmax = (x_i - m) - log(s) = -205 - log(1 + e^-5) stays finite.
  const Tensor y = ops::log_softmax(logits(), -1);
  EXPECT_TRUE(AllFinite(y));
  EXPECT_TRUE(Near(y, expected::kLogSoftmaxLogits));
}

TEST(LogSoftmax, ExponentiatesToSoftmax) {
  // e^(log softmax) = softmax, by definition.
  const Tensor x = input3d();
  const Values log_p = ops::log_softmax(x, 1).to_vector();
  const Values p = ops::softmax(x, 1).to_vector();
  for (std::size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(std::exp(log_p[i]), p[i], 1e-6f) << i;
}

TEST(LogSoftmax, OfAStridedViewMatchesPyTorch) {
  const Tensor y = ops::log_softmax(input3d().transpose(0, 2), 0);
  EXPECT_TRUE(Near(y, transposed_0_2(expected::kLogSoftmax3dDim2)));
}

TEST(LogSoftmax, DimOutOfRangeThrowsOutOfRange) {
  EXPECT_THROW((void)ops::log_softmax(logits(), 2), std::out_of_range);
  EXPECT_THROW((void)ops::log_softmax(logits(), -3), std::out_of_range);
}

}  // namespace
}  // namespace tinytorch
