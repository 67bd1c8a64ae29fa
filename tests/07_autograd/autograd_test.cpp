// Hidden grading suite for module 07 (autograd). Never shipped to students.
//
// Three oracles:
//  * Every differentiable operation of modules 02-05 is one line in a table (op_cases below, in the
//    style of ggml's test-backend-ops and tinygrad's helper_test_op). One parameterised test per
//    line compares the gradients that backward() puts into the inputs with central finite
//    differences of the same forward, computed HERE in double precision: the oracle does not rest
//    on the student's gradcheck (which has tests of its own, including one that it reports a
//    deliberately wrong gradient). Each case is differentiated against a fixed random upstream
//    gradient (y.backward(probe)), not ones: with ones, softmax's gradient is zero everywhere and
//    a sum's gradient is the same everywhere, so a wrong layout or a missing term would pass.
//  * Gradients derived by hand, the derivation in a comment next to each expectation.
//  * The engine's behaviour, one rule per test: accumulation, diamonds, a 10,000-node chain,
//    retain_graph, released graphs, non-scalar roots, NoGradGuard, leaves only, sum_to_shape.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/activations.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch::autograd {
namespace {

using Values = std::vector<float>;
using Inputs = std::vector<Tensor>;
using Fn = std::function<Tensor(const Inputs&)>;

void expect_values_near(const Tensor& actual, const Values& expected, float tol = 1e-6f) {
  ASSERT_TRUE(actual.defined()) << "the gradient is undefined";
  const Values got = actual.to_vector();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], tol + 1e-5f * std::abs(expected[i])) << "at index " << i;
  }
}

// Every test leaves grad mode on, whatever happened inside it (a stub may throw half-way).
class Autograd : public ::testing::Test {
 protected:
  void TearDown() override { GradMode::set_enabled(true); }
};

// =================================================================================================
// The gradient table: every operation, with broadcasting shapes and batched matmul.
// =================================================================================================

// How a case draws its inputs: kinks (relu, max) and poles (division) need room around them, wider
// than the finite-difference step.
enum class Domain {
  normal,          // N(0, 1)
  positive,        // U[1, 2): denominators
  away_from_zero,  // |x| >= 0.1: relu's kink at 0
  distinct,        // a shuffled grid 0.1 apart: no near-ties for max
};

struct GradCase {
  std::string name;  // the test's name
  std::vector<Shape> shapes;
  Fn f;
  Domain domain = Domain::normal;
};

std::ostream& operator<<(std::ostream& out, const GradCase& c) {
  return out << c.name;
}

// Constant data (no gradient) used by some cases.
Tensor mse_target() {
  return from_vector({0.5f, -1, 2, 0, 1, -0.5f, 0.25f, 3, -2, 1, 0, 0.75f}, {4, 3});
}
Tensor class_targets() {
  return tensor({0, 4, 2, 1});
}
Tensor binary_targets() {
  return tensor({{0, 1, 0.25f}, {1, 0, 0.5f}});
}

std::vector<GradCase> op_cases() {
  using D = Domain;
  return {
      // ---- module 02: elementwise arithmetic and its broadcasting patterns ----
      {"add", {{2, 3}, {2, 3}}, [](const Inputs& x) { return x[0] + x[1]; }},
      {"add_broadcast_row", {{2, 3}, {3}}, [](const Inputs& x) { return x[0] + x[1]; }},
      {"add_broadcast_both", {{2, 1}, {1, 3}}, [](const Inputs& x) { return x[0] + x[1]; }},
      {"add_broadcast_leading", {{4, 2, 3}, {2, 1}}, [](const Inputs& x) { return x[0] + x[1]; }},
      {"add_0d_tensor", {{2, 3}, {}}, [](const Inputs& x) { return x[0] + x[1]; }},
      {"add_float", {{2, 3}}, [](const Inputs& x) { return x[0] + 2.5f; }},
      {"sub", {{2, 3}, {2, 3}}, [](const Inputs& x) { return x[0] - x[1]; }},
      {"sub_broadcast", {{3, 1}, {2, 1, 4}}, [](const Inputs& x) { return x[0] - x[1]; }},
      {"rsub_float", {{5}}, [](const Inputs& x) { return 1.0f - x[0]; }},
      {"neg", {{2, 3}}, [](const Inputs& x) { return -x[0]; }},
      {"mul", {{2, 3}, {2, 3}}, [](const Inputs& x) { return x[0] * x[1]; }},
      {"mul_broadcast", {{2, 1, 3}, {4, 1}}, [](const Inputs& x) { return x[0] * x[1]; }},
      {"mul_float", {{2, 3}}, [](const Inputs& x) { return x[0] * -3.0f; }},
      {"mul_same_operand_twice", {{5}}, [](const Inputs& x) { return x[0] * x[0]; }},
      {"div", {{2, 3}, {2, 3}}, [](const Inputs& x) { return x[0] / x[1]; }, D::positive},
      {"div_broadcast", {{2, 3}, {3}}, [](const Inputs& x) { return x[0] / x[1]; }, D::positive},
      {"div_broadcast_numerator",
       {{3}, {2, 3}},
       [](const Inputs& x) { return x[0] / x[1]; },
       D::positive},
      {"rdiv_float", {{4}}, [](const Inputs& x) { return 2.0f / x[0]; }, D::positive},
      // ---- module 02: matmul, 2-d and batched with broadcast batch dimensions ----
      {"matmul", {{3, 4}, {4, 2}}, [](const Inputs& x) { return x[0].matmul(x[1]); }},
      {"matmul_outer_product", {{3, 1}, {1, 2}}, [](const Inputs& x) { return x[0].matmul(x[1]); }},
      {"matmul_batched", {{2, 3, 4}, {2, 4, 5}}, [](const Inputs& x) { return x[0].matmul(x[1]); }},
      {"matmul_batch_times_matrix",
       {{2, 3, 4}, {4, 5}},
       [](const Inputs& x) { return x[0].matmul(x[1]); }},
      {"matmul_matrix_times_batch",
       {{3, 4}, {2, 4, 5}},
       [](const Inputs& x) { return x[0].matmul(x[1]); }},
      {"matmul_broadcast_batch_dims",
       {{2, 1, 3, 4}, {3, 4, 2}},
       [](const Inputs& x) { return x[0].matmul(x[1]); }},
      {"matmul_transposed_operand",
       {{4, 3}, {4, 2}},
       [](const Inputs& x) { return x[0].transpose(0, 1).matmul(x[1]); }},
      {"matmul_free_function",
       {{2, 3}, {3, 2}},
       [](const Inputs& x) { return matmul(x[0], x[1]); }},
      // ---- module 02: views ----
      {"reshape",
       {{2, 3, 4}},
       [](const Inputs& x) {
         return x[0].reshape({4, 6});
       }},
      {"reshape_inferred_dim",
       {{2, 3, 4}},
       [](const Inputs& x) {
         return x[0].reshape({-1, 4});
       }},
      {"reshape_of_transposed",
       {{2, 3}},
       [](const Inputs& x) { return x[0].transpose(0, 1).reshape({6}); }},
      {"view",
       {{2, 6}},
       [](const Inputs& x) {
         return x[0].view({3, 4});
       }},
      {"flatten", {{2, 3, 4}}, [](const Inputs& x) { return x[0].flatten(1); }},
      {"unsqueeze", {{2, 3}}, [](const Inputs& x) { return x[0].unsqueeze(1); }},
      {"squeeze", {{3, 1, 2}}, [](const Inputs& x) { return x[0].squeeze(1); }},
      {"contiguous_of_transposed",
       {{2, 3}},
       [](const Inputs& x) { return x[0].transpose(0, 1).contiguous(); }},
      {"transpose", {{2, 3, 4}}, [](const Inputs& x) { return x[0].transpose(0, 2); }},
      {"transpose_negative_dims",
       {{2, 3, 4}},
       [](const Inputs& x) { return x[0].transpose(-1, -2); }},
      {"permute",
       {{2, 3, 4}},
       [](const Inputs& x) {
         return x[0].permute({2, 0, 1});
       }},
      {"permute_negative_dims",
       {{2, 3, 4}},
       [](const Inputs& x) {
         return x[0].permute({-2, -1, 0});
       }},
      // ---- module 02: reductions ----
      {"sum_all", {{2, 3}}, [](const Inputs& x) { return x[0].sum(); }},
      {"sum_dim0", {{2, 3}}, [](const Inputs& x) { return x[0].sum(0); }},
      {"sum_dim1_keepdim", {{2, 3}}, [](const Inputs& x) { return x[0].sum(1, true); }},
      {"sum_middle_dim", {{2, 3, 4}}, [](const Inputs& x) { return x[0].sum(1); }},
      {"sum_negative_dim", {{2, 3, 4}}, [](const Inputs& x) { return x[0].sum(-1); }},
      {"mean_all", {{2, 3}}, [](const Inputs& x) { return x[0].mean(); }},
      {"mean_dim0", {{4, 3}}, [](const Inputs& x) { return x[0].mean(0); }},
      {"mean_middle_dim_keepdim", {{2, 3, 4}}, [](const Inputs& x) { return x[0].mean(1, true); }},
      {"max_all", {{3, 4}}, [](const Inputs& x) { return x[0].max(); }, D::distinct},
      {"max_dim0", {{3, 4}}, [](const Inputs& x) { return x[0].max(0); }, D::distinct},
      {"max_last_dim_keepdim",
       {{3, 4}},
       [](const Inputs& x) { return x[0].max(-1, true); },
       D::distinct},
      {"max_middle_dim", {{2, 3, 4}}, [](const Inputs& x) { return x[0].max(1); }, D::distinct},
      // ---- module 03: activations ----
      {"relu", {{3, 4}}, [](const Inputs& x) { return relu(x[0]); }, D::away_from_zero},
      {"sigmoid", {{3, 4}}, [](const Inputs& x) { return sigmoid(x[0]); }},
      {"tanh", {{3, 4}}, [](const Inputs& x) { return tanh(x[0]); }},
      {"gelu", {{3, 4}}, [](const Inputs& x) { return gelu(x[0]); }},
      {"softmax_last_dim", {{3, 4}}, [](const Inputs& x) { return softmax(x[0], -1); }},
      {"softmax_dim0", {{3, 4}}, [](const Inputs& x) { return softmax(x[0], 0); }},
      {"softmax_middle_dim", {{2, 3, 4}}, [](const Inputs& x) { return softmax(x[0], 1); }},
      {"log_softmax_last_dim", {{3, 4}}, [](const Inputs& x) { return log_softmax(x[0], 1); }},
      {"log_softmax_dim0", {{2, 3, 4}}, [](const Inputs& x) { return log_softmax(x[0], 0); }},
      {"activation_of_transposed_view",
       {{3, 4}},
       [](const Inputs& x) { return sigmoid(x[0].transpose(0, 1)); }},
      // ---- module 05: losses (the gradient flows to the first argument) ----
      {"mse_loss", {{4, 3}}, [](const Inputs& x) { return mse_loss(x[0], mse_target()); }},
      {"cross_entropy",
       {{4, 5}},
       [](const Inputs& x) { return cross_entropy(x[0], class_targets()); }},
      {"bce_with_logits",
       {{2, 3}},
       [](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], binary_targets()); }},
      // ---- compositions: what a model does ----
      {"linear_layer_tanh",
       {{4, 3}, {2, 3}, {2}},  // x (4, 3), W (2, 3), b (2): tanh(x W^T + b)
       [](const Inputs& x) { return tanh(x[0].matmul(x[1].transpose(0, 1)) + x[2]); }},
      {"mlp_cross_entropy",
       {{4, 3}, {3, 6}, {6}, {6, 5}},
       [](const Inputs& x) {
         return cross_entropy(gelu(x[0].matmul(x[1]) + x[2]).matmul(x[3]), class_targets());
       }},
      {"attention_scores",
       {{2, 3, 4}, {2, 3, 4}},  // softmax(Q K^T / 2) over the last dim
       [](const Inputs& x) { return softmax(x[0].matmul(x[1].transpose(-2, -1)) / 2.0f, -1); }},
      {"centre_and_scale",
       {{3, 4}},  // (x - mean) / (std + 1): a LayerNorm-like diamond
       [](const Inputs& x) {
         const Tensor c = x[0] - x[0].mean(-1, true);
         return c / ((c * c).mean(-1, true) + 1.0f);
       }},
  };
}

Tensor draw(const Shape& shape, Domain domain, Generator& gen) {
  Tensor t = randn(shape, gen);
  const std::span<float> v = t.data();
  switch (domain) {
    case Domain::normal:
      break;
    case Domain::positive:
      for (float& x : v) x = 1.0f + gen.uniform();
      break;
    case Domain::away_from_zero:
      for (float& x : v) x = std::copysign(0.1f + std::abs(x), x);
      break;
    case Domain::distinct: {  // a shuffled grid: (k - n/2) / 10 for k = 0 .. n-1
      std::vector<int> k(v.size());
      std::iota(k.begin(), k.end(), 0);
      for (std::size_t i = k.size(); i > 1; --i) std::swap(k[i - 1], k[gen.below(i)]);
      for (std::size_t i = 0; i < v.size(); ++i) {
        v[i] = (static_cast<float>(k[i]) - static_cast<float>(v.size()) / 2.0f) * 0.1f;
      }
      break;
    }
  }
  return t;
}

// sum_i probe_i * y_i, in double: the scalar whose gradient y.backward(probe) computes.
double weighted_sum(const Tensor& y, const Tensor& probe) {
  const Values yv = y.to_vector(), pv = probe.to_vector();
  double total = 0.0;
  for (std::size_t i = 0; i < yv.size(); ++i) total += static_cast<double>(yv[i]) * pv[i];
  return total;
}

class EveryOp : public ::testing::TestWithParam<GradCase> {
 protected:
  void TearDown() override { GradMode::set_enabled(true); }
};

// d/dx_i sum(probe * f(x)) by backward, against (S(x + h e_i) - S(x - h e_i)) / 2h. h = 1e-2 keeps
// float32 rounding of f (~1e-7 relative, divided by 2h) well under the tolerance, and the
// truncation error, O(h^2 f'''), is about 1e-5 for these inputs. The reference solution's worst
// case uses under a fifth of the tolerance (measured when the suite was written).
TEST_P(EveryOp, BackwardMatchesFiniteDifferences) {
  const GradCase& c = GetParam();
  Generator gen(7);
  Inputs inputs;
  for (const Shape& shape : c.shapes) inputs.push_back(draw(shape, c.domain, gen).requires_grad_());
  const Tensor y = c.f(inputs);
  ASSERT_TRUE(y.requires_grad()) << "the forward recorded no graph";
  const Tensor probe = randn(y.shape(), gen);
  y.backward(probe);

  constexpr double h = 1e-2, atol = 2e-4, rtol = 2e-3;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    ASSERT_TRUE(x.grad().defined()) << "input " << i << " received no gradient";
    ASSERT_EQ(x.grad().shape(), x.shape()) << "input " << i;
    const Values analytic = x.grad().to_vector();
    const std::span<float> values = x.data();
    for (std::size_t n = 0; n < values.size(); ++n) {
      const float original = values[n];
      values[n] = original + static_cast<float>(h);
      const double plus = weighted_sum(c.f(inputs), probe);
      values[n] = original - static_cast<float>(h);
      const double minus = weighted_sum(c.f(inputs), probe);
      values[n] = original;
      const double numeric = (plus - minus) / (2 * h);
      EXPECT_NEAR(analytic[n], numeric, atol + rtol * std::abs(numeric))
          << c.name << ": input " << i << " (shape " << shape_to_string(x.shape()) << "), element "
          << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Gradient, EveryOp, ::testing::ValuesIn(op_cases()),
                         [](const ::testing::TestParamInfo<GradCase>& info) {
                           return info.param.name;
                         });

// =================================================================================================
// Gradients derived by hand.
// =================================================================================================

TEST_F(Autograd, ChainRuleOnMicrogradsExpression) {
  // a = 2, b = -3, c = 10, f = -2; e = a b = -6; d = e + c = 4; L = d f = -8.
  // dL/df = d = 4; dL/dd = f = -2; dL/dc = dL/dd = -2; dL/de = -2;
  // dL/da = dL/de * b = 6; dL/db = dL/de * a = -4.
  Tensor a = scalar_tensor(2).requires_grad_(), b = scalar_tensor(-3).requires_grad_();
  Tensor c = scalar_tensor(10).requires_grad_(), f = scalar_tensor(-2).requires_grad_();
  const Tensor L = (a * b + c) * f;
  L.backward();
  EXPECT_EQ(a.grad().item(), 6.0f);
  EXPECT_EQ(b.grad().item(), -4.0f);
  EXPECT_EQ(c.grad().item(), -2.0f);
  EXPECT_EQ(f.grad().item(), 4.0f);
}

TEST_F(Autograd, SumOfSquaresHasGradientTwoX) {
  // d/dx_i sum_j x_j^2 = 2 x_i.
  Tensor x = tensor({1, 2, 3}).requires_grad_();
  (x * x).sum().backward();
  expect_values_near(x.grad(), {2, 4, 6});
}

TEST_F(Autograd, BroadcastBiasGradientIsSummedOverTheBatch) {
  // y = x + b with x (2, 3) and b (3) copied to both rows; L = sum(y * w).
  // dL/dx = w; dL/db_j = w_0j + w_1j = (1 + 4, 2 + 5, 3 + 6) = (5, 7, 9).
  Tensor x = zeros({2, 3}).requires_grad_();
  Tensor b = zeros({3}).requires_grad_();
  const Tensor w = tensor({{1, 2, 3}, {4, 5, 6}});
  ((x + b) * w).sum().backward();
  expect_values_near(x.grad(), {1, 2, 3, 4, 5, 6});
  expect_values_near(b.grad(), {5, 7, 9});
}

TEST_F(Autograd, MatmulGradientsAreGTimesBTransposedAndATransposedTimesG) {
  // L = sum(A B), so G = dL/d(AB) = ones (2, 2).
  // dA = G B^T: every row is B's row sums (5 + 6, 7 + 8) = (11, 15).
  // dB = A^T G: row k is A's column-k sum twice: (1 + 3, 1 + 3), (2 + 4, 2 + 4) = (4, 4), (6, 6).
  Tensor A = tensor({{1, 2}, {3, 4}}).requires_grad_();
  Tensor B = tensor({{5, 6}, {7, 8}}).requires_grad_();
  A.matmul(B).sum().backward();
  expect_values_near(A.grad(), {11, 15, 11, 15});
  expect_values_near(B.grad(), {4, 4, 6, 6});
}

TEST_F(Autograd, MeanSpreadsTheGradientAsOneOverN) {
  // mean of 8 elements: d/dx_i = 1/8.
  Tensor x = ones({2, 4}).requires_grad_();
  x.mean().backward();
  expect_values_near(x.grad(), Values(8, 0.125f));
}

TEST_F(Autograd, MaxSendsTheGradientToTheFirstMaximumOnly) {
  // max(1, 3, 3, 2) = 3, first reached at index 1: the gradient is (0, 1, 0, 0).
  Tensor x = tensor({1, 3, 3, 2}).requires_grad_();
  x.max().backward();
  expect_values_near(x.grad(), {0, 1, 0, 0});
}

TEST_F(Autograd, MaxAlongADimensionRoutesEachRowsGradientToItsArgmax) {
  // Rows (1, 5, 2) and (7, 0, 7): argmax 1 and 0 (first of the tie); upstream (10, 20).
  Tensor x = tensor({{1, 5, 2}, {7, 0, 7}}).requires_grad_();
  x.max(1).backward(tensor({10, 20}));
  expect_values_near(x.grad(), {0, 10, 0, 20, 0, 0});
}

TEST_F(Autograd, ActivationSlopesAtKnownPoints) {
  // relu' = 0 for x <= 0 (PyTorch's choice at 0), 1 for x > 0.
  // sigmoid'(0) = s(1 - s) = 1/4; tanh'(0) = 1 - 0 = 1; gelu'(0) = Phi(0) + 0 phi(0) = 1/2.
  Tensor x = tensor({-1, 0, 2}).requires_grad_();
  relu(x).sum().backward();
  expect_values_near(x.grad(), {0, 0, 1});
  Tensor z = scalar_tensor(0).requires_grad_();
  sigmoid(z).backward();
  EXPECT_NEAR(z.grad().item(), 0.25f, 1e-6f);
  Tensor t = scalar_tensor(0).requires_grad_();
  tanh(t).backward();
  EXPECT_NEAR(t.grad().item(), 1.0f, 1e-6f);
  Tensor g = scalar_tensor(0).requires_grad_();
  gelu(g).backward();
  EXPECT_NEAR(g.grad().item(), 0.5f, 1e-6f);
}

TEST_F(Autograd, SoftmaxGradientIsYTimesGMinusTheWeightedMean) {
  // softmax(0, 0) = (1/2, 1/2); upstream g = (1, 0): sum g y = 1/2;
  // dx = y (g - 1/2) = (1/2 * 1/2, 1/2 * -1/2) = (1/4, -1/4).
  Tensor x = tensor({0, 0}).requires_grad_();
  softmax(x, 0).backward(tensor({1, 0}));
  expect_values_near(x.grad(), {0.25f, -0.25f});
}

TEST_F(Autograd, LogSoftmaxGradientIsGMinusSoftmaxTimesTheSumOfG) {
  // log_softmax(0, 0, 0, 0): softmax = 1/4 each; upstream g = (1, 0, 0, 0), sum g = 1;
  // dx = g - 1/4 = (3/4, -1/4, -1/4, -1/4).
  Tensor x = zeros({4}).requires_grad_();
  log_softmax(x, -1).backward(tensor({1, 0, 0, 0}));
  expect_values_near(x.grad(), {0.75f, -0.25f, -0.25f, -0.25f});
}

TEST_F(Autograd, CrossEntropyGradientIsSoftmaxMinusOneHotOverN) {
  // logits 0 -> softmax (1/2, 1/2); targets (0, 1); N = 2:
  // ((1/2 - 1) / 2, 1/2 / 2), (1/2 / 2, (1/2 - 1) / 2) = (-1/4, 1/4), (1/4, -1/4).
  Tensor z = zeros({2, 2}).requires_grad_();
  cross_entropy(z, tensor({0, 1})).backward();
  expect_values_near(z.grad(), {-0.25f, 0.25f, 0.25f, -0.25f});
}

TEST_F(Autograd, LossGradientIsScaledByTheUpstreamGradient) {
  // L = 3 * mse(p, t) with p = (1, 2), t = (0, 0): dmse/dp = 2 (p - t) / 2 = (1, 2); times 3.
  Tensor p = tensor({1, 2}).requires_grad_();
  (mse_loss(p, zeros({2})) * 3.0f).backward();
  expect_values_near(p.grad(), {3, 6});
}

TEST_F(Autograd, DivisionGradientsAreOneOverBAndMinusAOverBSquared) {
  // a / b at a = 6, b = 2: d/da = 1/2, d/db = -6 / 4 = -3/2.
  Tensor a = scalar_tensor(6).requires_grad_(), b = scalar_tensor(2).requires_grad_();
  (a / b).backward();
  EXPECT_FLOAT_EQ(a.grad().item(), 0.5f);
  EXPECT_FLOAT_EQ(b.grad().item(), -1.5f);
}

TEST_F(Autograd, PermuteGradientUndoesThePermutation) {
  // y = x.permute(1, 2, 0) of x (2, 1, 3): y (1, 3, 2) with y[0, j, i] = x[i, 0, j].
  // Upstream g = arange(6) in y's layout: g[0, j, i] = 2 j + i, so dx[i, 0, j] = 2 j + i:
  // row i = 0: (0, 2, 4); row i = 1: (1, 3, 5).
  Tensor x = zeros({2, 1, 3}).requires_grad_();
  x.permute({1, 2, 0}).backward(arange(6).reshape({1, 3, 2}));
  expect_values_near(x.grad(), {0, 2, 4, 1, 3, 5});
}

// =================================================================================================
// The engine.
// =================================================================================================

TEST_F(Autograd, GradientsAccumulateOverTwoBackwardCalls) {
  // Each pass adds d(3x)/dx = 3: after two passes, 6.
  Tensor x = tensor({1, 2}).requires_grad_();
  (x * 3.0f).sum().backward();
  (x * 3.0f).sum().backward();
  expect_values_near(x.grad(), {6, 6});
}

TEST_F(Autograd, BackwardAddsToAGradientAlreadyThere) {
  Tensor x = tensor({1, 2}).requires_grad_();
  x.set_grad(tensor({10, 20}));
  (x * 2.0f).sum().backward();
  expect_values_near(x.grad(), {12, 22});
}

TEST_F(Autograd, ATensorUsedTwiceReceivesTheSumOfBothPaths) {
  // y = x * x + x: dy/dx = 2x + 1 = 7 at x = 3.
  Tensor x = scalar_tensor(3).requires_grad_();
  (x * x + x).backward();
  EXPECT_EQ(x.grad().item(), 7.0f);
}

TEST_F(Autograd, ANodeRunsOnlyAfterAllItsConsumersContributed) {
  // a = 2x; y = a^2 + 3a: dy/da = 2a + 3 = 7 at x = 1 (a = 2), dy/dx = 7 * 2 = 14. An engine that
  // ran a's node after only one consumer would send 4 * 2 or 3 * 2 down instead.
  Tensor x = scalar_tensor(1).requires_grad_();
  const Tensor a = x * 2.0f;
  (a * a + a * 3.0f).backward();
  EXPECT_EQ(x.grad().item(), 14.0f);
}

// Identity node that counts its backward calls and sees whether grad mode is on during them.
struct ProbeBackward : Node {
  int* calls;
  bool* grad_mode_seen;
  ProbeBackward(int* c, bool* g) : calls(c), grad_mode_seen(g) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    ++*calls;
    *grad_mode_seen = GradMode::is_enabled();
    return {grad_output};
  }
  std::string name() const override { return "ProbeBackward"; }
};

Tensor probe_identity(const Tensor& x, int* calls, bool* grad_mode_seen) {
  Tensor y = x.detach().clone();
  if (needs_grad({&x})) attach(y, std::make_shared<ProbeBackward>(calls, grad_mode_seen), {x});
  return y;
}

TEST_F(Autograd, EachNodeRunsOncePerPassEvenWhenItsOutputIsUsedTwice) {
  int calls = 0;
  bool grad_mode_seen = true;
  Tensor x = tensor({1, 2}).requires_grad_();
  const Tensor p = probe_identity(x, &calls, &grad_mode_seen);
  (p * p + p).sum().backward();
  EXPECT_EQ(calls, 1);
  expect_values_near(x.grad(), {3, 5});  // 2x + 1
}

TEST_F(Autograd, BackwardRunsWithGradModeOffAndRestoresIt) {
  int calls = 0;
  bool grad_mode_seen = true;
  Tensor x = tensor({1, 2}).requires_grad_();
  probe_identity(x, &calls, &grad_mode_seen).sum().backward();
  EXPECT_FALSE(grad_mode_seen);
  EXPECT_TRUE(GradMode::is_enabled());
  EXPECT_EQ(x.grad().grad_fn(), nullptr);
  EXPECT_FALSE(x.grad().requires_grad());
}

TEST_F(Autograd, ATenThousandNodeChainBackpropagates) {
  // x * 1.0001 ten thousand times: d/dx = 1.0001^10000 = e^(10000 ln 1.0001) ~ 2.718.
  Tensor x = scalar_tensor(1).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = y * 1.0001f;
  y.backward();
  const double expected = std::pow(1.0001, 10000);
  EXPECT_NEAR(x.grad().item(), expected, 1e-3 * expected);
}

TEST_F(Autograd, ALongChainIsOrderedAndFreedWithoutRecursion) {
  // 100,000 nodes: a recursive walk or a recursive destructor (node -> input -> grad_fn -> ...)
  // would need about 100,000 nested frames and overflow the stack.
  Tensor x = scalar_tensor(1).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0f;
  EXPECT_EQ(topological_order(y).size(), 100000u);
  y = Tensor();  // frees the graph that was never backwarded
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z + 0.0f;
  z.backward();  // and one that was
  EXPECT_EQ(x.grad().item(), 1.0f);
  z = Tensor();
}

TEST_F(Autograd, WithoutRetainGraphTheGraphIsReleased) {
  Tensor x = tensor({1, 2}).requires_grad_();
  const Tensor h = x * 2.0f;
  const Tensor y = h.sum();
  y.backward();
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_TRUE(y.grad_fn()->released);
  EXPECT_TRUE(y.grad_fn()->inputs.empty());
  EXPECT_TRUE(h.grad_fn()->released);
}

TEST_F(Autograd, ASecondBackwardThroughAReleasedGraphThrowsLogicError) {
  Tensor x = tensor({1, 2}).requires_grad_();
  const Tensor y = (x * 2.0f).sum();
  y.backward();
  try {
    y.backward();
    FAIL() << "expected std::logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
}

TEST_F(Autograd, RetainGraphAllowsASecondBackward) {
  // Two passes through the same graph: 2 + 2 = 4 per element.
  Tensor x = tensor({1, 2}).requires_grad_();
  const Tensor y = (x * 2.0f).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  EXPECT_FALSE(y.grad_fn()->released);
  y.backward();
  expect_values_near(x.grad(), {4, 4});
}

TEST_F(Autograd, BackwardOfANonScalarWithoutAGradientThrowsInvalidArgument) {
  Tensor x = tensor({1, 2, 3}).requires_grad_();
  EXPECT_THROW((x * 2.0f).backward(), std::invalid_argument);
}

TEST_F(Autograd, BackwardOfANonScalarUsesTheGivenGradient) {
  // y = 2x, dL/dy = (1, 2, 3): dL/dx = (2, 4, 6).
  Tensor x = tensor({1, 2, 3}).requires_grad_();
  (x * 2.0f).backward(tensor({1, 2, 3}));
  expect_values_near(x.grad(), {2, 4, 6});
}

TEST_F(Autograd, AGradientOfTheWrongShapeThrowsInvalidArgument) {
  Tensor x = tensor({1, 2, 3}).requires_grad_();
  EXPECT_THROW((x * 2.0f).backward(ones({2})), std::invalid_argument);
}

TEST_F(Autograd, BackwardOfATensorWithoutAGraphThrowsRuntimeError) {
  const Tensor x = tensor({1, 2});
  EXPECT_THROW(x.sum().backward(), std::runtime_error);
}

TEST_F(Autograd, OnlyLeavesReceiveGradients) {
  Tensor x = tensor({1, 2}).requires_grad_();
  const Tensor h = x * 2.0f;
  (h * h).sum().backward();
  expect_values_near(x.grad(), {8, 16});  // d/dx (2x)^2 = 8x
  EXPECT_FALSE(h.grad().defined());
}

TEST_F(Autograd, ALeafThatDoesNotRequireGradGetsNoGradient) {
  Tensor x = tensor({1, 2}).requires_grad_();
  const Tensor c = tensor({3, 4});
  (x * c).sum().backward();
  expect_values_near(x.grad(), {3, 4});
  EXPECT_FALSE(c.grad().defined());
}

TEST_F(Autograd, BackwardSkipsInputsThatDoNotRequireGrad) {
  // The node returns an undefined gradient for an operand without requires_grad.
  Tensor x = tensor({{1, 2}}).requires_grad_();
  const Tensor c = tensor({{3}, {4}});
  const Tensor m = x * tensor({3, 4});
  const Tensor p = x.matmul(c);
  const std::vector<Tensor> mul_grads = m.grad_fn()->backward(ones({1, 2}));
  const std::vector<Tensor> matmul_grads = p.grad_fn()->backward(ones({1, 1}));
  ASSERT_EQ(mul_grads.size(), 2u);
  ASSERT_EQ(matmul_grads.size(), 2u);
  expect_values_near(mul_grads[0], {3, 4});
  EXPECT_FALSE(mul_grads[1].defined());
  expect_values_near(matmul_grads[0], {3, 4});
  EXPECT_FALSE(matmul_grads[1].defined());
}

TEST_F(Autograd, ALeafsGradientDoesNotShareStorageWithTheUpstreamGradient) {
  // view's backward can return a view of the upstream gradient; the leaf must get its own copy.
  Tensor x = zeros({3}).requires_grad_();
  Tensor g = tensor({{1}, {2}, {3}});
  x.view({3, 1}).backward(g);
  EXPECT_FALSE(x.grad().shares_storage(g));
  g.fill_(100);
  expect_values_near(x.grad(), {1, 2, 3});
}

TEST_F(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = tensor({1, 2}).requires_grad_();
  Tensor y;
  {
    NoGradGuard no_grad;
    EXPECT_FALSE(GradMode::is_enabled());
    y = relu(x * 2.0f + 1.0f);
  }
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(GradMode::is_enabled());
}

TEST_F(Autograd, NestedNoGradGuardsRestoreTheModeTheyFound) {
  {
    NoGradGuard outer;
    {
      NoGradGuard inner;
      EXPECT_FALSE(GradMode::is_enabled());
    }
    EXPECT_FALSE(GradMode::is_enabled());  // the inner guard found it off
  }
  EXPECT_TRUE(GradMode::is_enabled());
  GradMode::set_enabled(false);
  { NoGradGuard guard; }
  EXPECT_FALSE(GradMode::is_enabled());  // restored to off, not switched on
}

TEST_F(Autograd, TopologicalOrderPutsEveryNodeBeforeItsInputsOnce) {
  // y = a * a + a with a = x * 2: nodes Add (root), Mul (a * a), Mul (x * 2). a's node has two
  // consumers, so it must come after both and appear once.
  Tensor x = tensor({1, 2}).requires_grad_();
  const Tensor a = x * 2.0f;
  const Tensor sq = a * a;
  const Tensor y = sq + a;
  const std::vector<Node*> order = topological_order(y);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], y.grad_fn().get());
  EXPECT_EQ(order[1], sq.grad_fn().get());
  EXPECT_EQ(order[2], a.grad_fn().get());
}

TEST_F(Autograd, TopologicalOrderOfALeafIsEmpty) {
  Tensor x = tensor({1, 2}).requires_grad_();
  EXPECT_TRUE(topological_order(x).empty());
}

TEST_F(Autograd, SumToShapeSumsLeadingDimensions) {
  // (2, 3) -> (3): column sums (1 + 4, 2 + 5, 3 + 6).
  expect_values_near(sum_to_shape(tensor({{1, 2, 3}, {4, 5, 6}}), {3}), {5, 7, 9});
}

TEST_F(Autograd, SumToShapeKeepsDimensionsOfSizeOne) {
  // (2, 3) -> (2, 1): row sums kept as a column.
  const Tensor s = sum_to_shape(tensor({{1, 2, 3}, {4, 5, 6}}), {2, 1});
  EXPECT_EQ(s.shape(), (Shape{2, 1}));
  expect_values_near(s, {6, 15});
}

TEST_F(Autograd, SumToShapeCombinesLeadingAndSizeOneDimensions) {
  // arange(24) as (2, 3, 4) -> (3, 1): sum over dims 0 and 2. Element (i, j, k) = 12 i + 4 j + k;
  // for fixed j: sum over i in {0, 1}, k in {0..3} = 4 * 12 + 2 * (16 j) + 2 * 6 = 60 + 32 j.
  const Tensor s = sum_to_shape(arange(24).reshape({2, 3, 4}), {3, 1});
  EXPECT_EQ(s.shape(), (Shape{3, 1}));
  expect_values_near(s, {60, 92, 124});
}

TEST_F(Autograd, SumToShapeOfAScalarShapeSumsEverything) {
  const Tensor s = sum_to_shape(tensor({{1, 2}, {3, 4}}), {});
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item(), 10.0f);
}

TEST_F(Autograd, SumToShapeOfTheSameShapeKeepsTheValues) {
  const Tensor s = sum_to_shape(tensor({{1, 2}, {3, 4}}), {2, 2});
  EXPECT_EQ(s.shape(), (Shape{2, 2}));
  expect_values_near(s, {1, 2, 3, 4});
}

TEST_F(Autograd, SumToShapeOfAShapeThatDoesNotBroadcastThrowsInvalidArgument) {
  EXPECT_THROW((void)sum_to_shape(ones({2, 3}), {4}), std::invalid_argument);
  EXPECT_THROW((void)sum_to_shape(ones({3}), {2, 3}), std::invalid_argument);
}

// =================================================================================================
// gradcheck.
// =================================================================================================

// y = 2x, but its backward claims dy/dx = 3: the bug gradcheck exists to catch.
struct WrongDoubleBackward : Node {
  std::vector<Tensor> backward(const Tensor& grad_output) override { return {grad_output * 3.0f}; }
  std::string name() const override { return "WrongDoubleBackward"; }
};

Tensor wrong_double(const Tensor& x) {
  Tensor y = ops::mul(x, scalar_tensor(2.0f));
  if (needs_grad({&x})) attach(y, std::make_shared<WrongDoubleBackward>(), {x});
  return y;
}

TEST_F(Autograd, GradcheckReportsAWrongGradient) {
  // analytic 3 against numeric 2 for every element: |difference| = 1.
  Tensor x = tensor({0.5f, -1, 2}).requires_grad_();
  const GradcheckResult r = gradcheck([](const Inputs& in) { return wrong_double(in[0]); }, {x});
  EXPECT_FALSE(r.ok);
  EXPECT_NEAR(r.max_abs_error, 1.0, 1e-2);
  EXPECT_NE(r.message.find("input 0"), std::string::npos) << r.message;
}

TEST_F(Autograd, GradcheckNamesTheInputThatFailed) {
  Tensor a = tensor({1, 2}).requires_grad_();
  Tensor b = tensor({3, 4}).requires_grad_();
  const GradcheckResult r =
      gradcheck([](const Inputs& in) { return in[0] * 1.0f + wrong_double(in[1]); }, {a, b});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("input 1"), std::string::npos) << r.message;
}

TEST_F(Autograd, GradcheckAcceptsACorrectGradient) {
  Generator gen(3);
  Tensor x = randn({3, 4}, gen).requires_grad_();
  Tensor w = randn({4, 2}, gen).requires_grad_();
  const GradcheckResult r =
      gradcheck([](const Inputs& in) { return tanh(in[0].matmul(in[1])) * in[0].sum(); }, {x, w});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_LT(r.max_abs_error, 1e-2);
}

TEST_F(Autograd, GradcheckLeavesTheInputsAndTheirGradientsAsTheyWere) {
  Tensor x = tensor({0.5f, -1, 2}).requires_grad_();
  x.set_grad(tensor({7, 7, 7}));
  const GradcheckResult r = gradcheck([](const Inputs& in) { return in[0] * in[0]; }, {x});
  EXPECT_TRUE(r.ok) << r.message;
  expect_values_near(x, {0.5f, -1, 2}, 0);
  expect_values_near(x.grad(), {7, 7, 7}, 0);
}

TEST_F(Autograd, GradcheckIgnoresInputsThatDoNotRequireGrad) {
  // c is data: it is neither perturbed nor given a gradient.
  Tensor x = tensor({1, 2}).requires_grad_();
  const Tensor c = tensor({3, 4});
  const GradcheckResult r = gradcheck([](const Inputs& in) { return in[0] * in[1]; }, {x, c});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_FALSE(c.grad().defined());
}

}  // namespace
}  // namespace tinytorch::autograd
