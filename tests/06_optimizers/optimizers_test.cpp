// Hidden grading suite for module 06 (optimizers). Never shipped to students.
//
// The oracle is torch.optim itself: expected.hpp (written by generate_expected.py) holds the
// parameter after each of four steps of PyTorch's SGD, Adam and AdamW fed fixed gradients, and
// each test replays the same gradients here. The behaviours of the Optimizer base (skipping
// parameters without a gradient, the step counter, zero_grad, set_lr, validation) are specified on
// small numbers derived in comments.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "expected.hpp"
#include "tinytorch/optimizers.hpp"

namespace tinytorch::optim {
namespace {

using Values = std::vector<float>;
using Trajectory = std::vector<std::vector<float>>;

Tensor parameter(const Values& values, const Shape& shape) {
  Tensor p = from_vector(values, shape);
  p.requires_grad_(true);
  return p;
}

void expect_values_near(const Tensor& actual, const Values& expected, const std::string& where) {
  const Values got = actual.to_vector();
  ASSERT_EQ(got.size(), expected.size()) << where;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], 1e-6f + 1e-5f * std::abs(expected[i]))
        << where << ", element " << i;
  }
}

// Replays expected::kGrads through `optimizer` on its one parameter and compares every step with
// PyTorch's trajectory.
void expect_trajectory(Optimizer& optimizer, const Trajectory& expected) {
  const Tensor& p = optimizer.parameters().at(0);
  for (int step = 0; step < expected::kSteps; ++step) {
    p.set_grad(from_vector(expected::kGrads[step], {5}));
    optimizer.step();
    expect_values_near(p, expected[step], "after step " + std::to_string(step + 1));
  }
}

template <class F>
std::string invalid_argument_message(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::invalid_argument";
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- SGD against PyTorch -------------------------------------------------------------------

TEST(SGD, PlainStepsMatchPyTorch) {
  SGD opt({parameter(expected::kInitial, {5})}, SGDOptions(0.1));
  expect_trajectory(opt, expected::sgd_plain);
}

TEST(SGD, WeightDecayMatchesPyTorch) {
  SGD opt({parameter(expected::kInitial, {5})}, SGDOptions(0.1).weight_decay(0.5));
  expect_trajectory(opt, expected::sgd_weight_decay);
}

TEST(SGD, MomentumMatchesPyTorch) {
  SGD opt({parameter(expected::kInitial, {5})}, SGDOptions(0.1).momentum(0.9));
  expect_trajectory(opt, expected::sgd_momentum);
}

TEST(SGD, DampeningMatchesPyTorch) {
  SGD opt({parameter(expected::kInitial, {5})}, SGDOptions(0.1).momentum(0.9).dampening(0.5));
  expect_trajectory(opt, expected::sgd_dampening);
}

TEST(SGD, NesterovMatchesPyTorch) {
  SGD opt({parameter(expected::kInitial, {5})}, SGDOptions(0.1).momentum(0.9).nesterov(true));
  expect_trajectory(opt, expected::sgd_nesterov);
}

TEST(SGD, MomentumWeightDecayAndNesterovTogetherMatchPyTorch) {
  SGD opt({parameter(expected::kInitial, {5})},
          SGDOptions(0.05).momentum(0.8).weight_decay(0.1).nesterov(true));
  expect_trajectory(opt, expected::sgd_all);
}

TEST(SGD, TwoParametersKeepSeparateMomentumBuffers) {
  const Tensor a = parameter(expected::kInitial, {5});
  const Tensor b = parameter(expected::kInitialB, {2, 2});
  SGD opt({a, b}, SGDOptions(0.1).momentum(0.9));
  for (int step = 0; step < expected::kSteps; ++step) {
    a.set_grad(from_vector(expected::kGrads[step], {5}));
    b.set_grad(from_vector(expected::kGradsB[step], {2, 2}));
    opt.step();
    expect_values_near(a, expected::sgd_momentum_two_a[step], "a, step " + std::to_string(step));
    expect_values_near(b, expected::sgd_momentum_two_b[step], "b, step " + std::to_string(step));
  }
}

TEST(SGD, FirstMomentumStepIsAPlainStep) {
  // The buffer starts as the gradient itself (b = g), not mu * 0 + (1 - dampening) g:
  // p = 1 - 0.5 * 2 = 0 even with dampening 0.9.
  const Tensor p = parameter({1}, {1});
  SGD opt({p}, SGDOptions(0.5).momentum(0.9).dampening(0.9));
  p.set_grad(tensor({2}));
  opt.step();
  EXPECT_FLOAT_EQ(p.to_vector()[0], 0.0f);
}

// ---- Adam and AdamW against PyTorch ---------------------------------------------------------

TEST(Adam, DefaultOptionsMatchPyTorch) {
  Adam opt({parameter(expected::kInitial, {5})}, AdamOptions());
  expect_trajectory(opt, expected::adam_default);
}

TEST(Adam, LearningRateMatchesPyTorch) {
  Adam opt({parameter(expected::kInitial, {5})}, AdamOptions(0.1));
  expect_trajectory(opt, expected::adam_lr);
}

TEST(Adam, BetasMatchPyTorch) {
  Adam opt({parameter(expected::kInitial, {5})}, AdamOptions(0.1).betas(0.5, 0.75));
  expect_trajectory(opt, expected::adam_betas);
}

TEST(Adam, EpsMatchesPyTorch) {
  Adam opt({parameter(expected::kInitial, {5})}, AdamOptions(0.1).eps(0.5));
  expect_trajectory(opt, expected::adam_eps);
}

TEST(Adam, WeightDecayIsAddedToTheGradientAsPyTorchDoes) {
  Adam opt({parameter(expected::kInitial, {5})}, AdamOptions(0.1).weight_decay(0.5));
  expect_trajectory(opt, expected::adam_weight_decay);
}

TEST(Adam, TwoParametersKeepSeparateMoments) {
  const Tensor a = parameter(expected::kInitial, {5});
  const Tensor b = parameter(expected::kInitialB, {2, 2});
  Adam opt({a, b}, AdamOptions());
  for (int step = 0; step < expected::kSteps; ++step) {
    a.set_grad(from_vector(expected::kGrads[step], {5}));
    b.set_grad(from_vector(expected::kGradsB[step], {2, 2}));
    opt.step();
    expect_values_near(a, expected::adam_default_two_a[step], "a, step " + std::to_string(step));
    expect_values_near(b, expected::adam_default_two_b[step], "b, step " + std::to_string(step));
  }
}

TEST(Adam, FirstStepMovesEachWeightByAboutTheLearningRate) {
  // Step 1 with bias correction: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps), which is
  // lr * sign(g) up to eps: 1 - 0.1 * 4 / (4 + 1e-8) = 0.9 and -2 + 0.1 = -1.9.
  // Without bias correction the first step would be lr * 0.1 g / sqrt(0.001 g^2) = 0.316 lr.
  const Tensor p = parameter({1, -2}, {2});
  Adam opt({p}, AdamOptions(0.1));
  p.set_grad(tensor({4, -0.01f}));
  opt.step();
  expect_values_near(p, {0.9f, -1.9f}, "after one step");
}

TEST(AdamW, DefaultOptionsMatchPyTorch) {
  AdamW opt({parameter(expected::kInitial, {5})});
  EXPECT_DOUBLE_EQ(opt.options().weight_decay(), 0.01);
  expect_trajectory(opt, expected::adamw_default);
}

TEST(AdamW, DecoupledWeightDecayMatchesPyTorch) {
  AdamW opt({parameter(expected::kInitial, {5})}, AdamOptions(0.1).weight_decay(0.5));
  expect_trajectory(opt, expected::adamw_weight_decay);
}

TEST(AdamW, WithoutWeightDecayIsAdam) {
  AdamW opt({parameter(expected::kInitial, {5})}, AdamOptions(0.1).weight_decay(0));
  expect_trajectory(opt, expected::adamw_no_decay);
  expect_values_near(opt.parameters()[0], expected::adam_lr.back(), "AdamW(wd 0) vs Adam");
}

TEST(AdamW, DecayShrinksAWeightWhoseGradientIsZero) {
  // g = 0 keeps m = v = 0, so the Adam part adds 0 / (0 + eps) = 0; only the decay acts:
  // p = 2 * (1 - lr * wd) = 2 * (1 - 0.1 * 0.5) = 1.9, then 1.9 * 0.95 = 1.805.
  const Tensor p = parameter({2}, {1});
  AdamW opt({p}, AdamOptions(0.1).weight_decay(0.5));
  for (int i = 0; i < 2; ++i) {
    p.set_grad(zeros({1}));
    opt.step();
  }
  EXPECT_NEAR(p.to_vector()[0], 1.805f, 1e-6f);
}

// ---- the Optimizer base: step(), zero_grad(), step_count(), lr ----------------------------

TEST(Optimizer, StepSkipsParametersWithoutAGradient) {
  const Tensor with = parameter({1, 2}, {2});
  const Tensor without = parameter({3, 4}, {2});
  SGD opt({with, without}, SGDOptions(0.5));
  with.set_grad(tensor({2, 2}));
  opt.step();
  EXPECT_EQ(with.to_vector(), (Values{0, 1}));  // 1 - 0.5 * 2, 2 - 0.5 * 2
  EXPECT_EQ(without.to_vector(), (Values{3, 4}));
  EXPECT_FALSE(without.grad().defined());
}

TEST(Optimizer, AdamLeavesAParameterWithoutAGradientUntouchedEvenWithWeightDecay) {
  // Weight decay acts through the update: no gradient, no update, so no decay either.
  const Tensor with = parameter({1}, {1});
  const Tensor without = parameter({5, -5}, {2});
  AdamW opt({with, without}, AdamOptions(0.1).weight_decay(0.5));
  with.set_grad(tensor({1}));
  opt.step();
  opt.step();
  EXPECT_EQ(without.to_vector(), (Values{5, -5}));
}

TEST(Optimizer, StepCountAdvancesOncePerStepWhateverTheNumberOfParameters) {
  const Tensor a = parameter({1}, {1}), b = parameter({1, 2}, {2}), c = parameter({0}, {1});
  Adam opt({a, b, c}, AdamOptions());
  EXPECT_EQ(opt.step_count(), 0);
  for (int i = 0; i < 3; ++i) {
    a.set_grad(tensor({1}));
    b.set_grad(tensor({1, 1}));  // c never gets a gradient
    opt.step();
  }
  EXPECT_EQ(opt.step_count(), 3);
}

TEST(Optimizer, ZeroGradMakesEveryGradientUndefined) {
  const Tensor a = parameter({1}, {1}), b = parameter({1, 2}, {2});
  SGD opt({a, b}, SGDOptions(0.1));
  a.set_grad(tensor({1}));
  b.set_grad(tensor({1, 1}));
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(Optimizer, AStepAfterZeroGradChangesNothing) {
  const Tensor p = parameter({1, 2}, {2});
  SGD opt({p}, SGDOptions(0.1).momentum(0.9));
  p.set_grad(tensor({1, 1}));
  opt.step();
  const Values after_first = p.to_vector();
  opt.zero_grad();
  opt.step();
  EXPECT_EQ(p.to_vector(), after_first);
}

TEST(Optimizer, SetLrChangesTheNextUpdate) {
  // lr 0.1 then 0.5 on g = 1: 1 - 0.1 = 0.9, then 0.9 - 0.5 = 0.4.
  const Tensor p = parameter({1}, {1});
  SGD opt({p}, SGDOptions(0.1));
  p.set_grad(tensor({1}));
  opt.step();
  opt.set_lr(0.5);
  EXPECT_DOUBLE_EQ(opt.lr(), 0.5);
  opt.step();
  EXPECT_NEAR(p.to_vector()[0], 0.4f, 1e-6f);
}

TEST(Optimizer, SetLrWorksThroughTheBaseClassForAdam) {
  // An LR schedule (module 08) only knows Optimizer&. lr 0 freezes the weights.
  const Tensor p = parameter({1, 2}, {2});
  auto opt = std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions(0.1));
  Optimizer& base = *opt;
  base.set_lr(0.0);
  EXPECT_DOUBLE_EQ(base.lr(), 0.0);
  p.set_grad(tensor({3, -3}));
  base.step();
  EXPECT_EQ(p.to_vector(), (Values{1, 2}));
}

TEST(Optimizer, UpdatesTheParameterInPlaceWithoutRecordingAGraph) {
  // The model holds handles to the same storage: the update must write into it, and the parameter
  // must stay a leaf that still requires grad.
  const Tensor p = parameter({1, 2}, {2});
  const Tensor model_handle = p;
  SGD opt({p}, SGDOptions(1.0));
  p.set_grad(tensor({1, 1}));
  opt.step();
  EXPECT_EQ(model_handle.to_vector(), (Values{0, 1}));
  EXPECT_TRUE(p.is_leaf());
  EXPECT_TRUE(p.requires_grad());
  EXPECT_EQ(opt.parameters()[0].to_vector(), (Values{0, 1}));
}

TEST(Optimizer, ReadsAGradientThatIsAStridedView) {
  // grad = [[1, 2], [3, 4]]^T = [[1, 3], [2, 4]]; p - 1 * grad = 0 for p = [[1, 3], [2, 4]].
  const Tensor p = parameter({1, 3, 2, 4}, {2, 2});
  SGD opt({p}, SGDOptions(1.0));
  p.set_grad(tensor({{1, 2}, {3, 4}}).transpose(0, 1));
  opt.step();
  EXPECT_EQ(p.to_vector(), (Values{0, 0, 0, 0}));
}

TEST(Optimizer, RejectsAGradientOfTheWrongShapeNamingBothShapes) {
  const Tensor p = parameter({1, 2, 3}, {3});
  Adam opt({p}, AdamOptions());
  p.set_grad(zeros({2}));
  const std::string message = invalid_argument_message([&] { opt.step(); });
  EXPECT_TRUE(contains(message, "[3]") && contains(message, "[2]")) << message;
}

TEST(Optimizer, RejectsAnUndefinedParameterNamingItsIndex) {
  // A default-constructed Tensor (say, Linear's bias with bias = false) would crash the first step.
  const std::string message = invalid_argument_message([] {
    SGD opt({parameter({1}, {1}), Tensor()}, SGDOptions(0.1));
  });
  EXPECT_TRUE(contains(message, "1")) << message;
}

// ---- options validation --------------------------------------------------------------------

TEST(SGDOptionsValidation, NegativeLearningRateIsRejectedNamingLr) {
  const std::string message =
      invalid_argument_message([] { SGD opt({parameter({1}, {1})}, SGDOptions(-0.1)); });
  EXPECT_TRUE(contains(message, "lr")) << message;
}

TEST(SGDOptionsValidation, NegativeMomentumIsRejectedNamingMomentum) {
  const std::string message = invalid_argument_message(
      [] { SGD opt({parameter({1}, {1})}, SGDOptions(0.1).momentum(-0.5)); });
  EXPECT_TRUE(contains(message, "momentum")) << message;
}

TEST(SGDOptionsValidation, NegativeWeightDecayIsRejectedNamingIt) {
  const std::string message = invalid_argument_message(
      [] { SGD opt({parameter({1}, {1})}, SGDOptions(0.1).weight_decay(-1e-4)); });
  EXPECT_TRUE(contains(message, "weight_decay")) << message;
}

TEST(SGDOptionsValidation, NesterovWithoutMomentumIsRejected) {
  // As torch.optim.SGD: Nesterov looks ahead along the momentum, so it needs one (and no
  // dampening).
  const std::string message = invalid_argument_message(
      [] { SGD opt({parameter({1}, {1})}, SGDOptions(0.1).nesterov(true)); });
  EXPECT_TRUE(contains(message, "nesterov")) << message;
}

TEST(AdamOptionsValidation, NegativeLearningRateIsRejectedNamingLr) {
  const std::string message =
      invalid_argument_message([] { Adam opt({parameter({1}, {1})}, AdamOptions(-1e-3)); });
  EXPECT_TRUE(contains(message, "lr")) << message;
}

TEST(AdamOptionsValidation, BetaOfOneOrMoreIsRejectedNamingBeta) {
  // beta = 1 would make 1 - beta^t = 0 in the bias correction: a division by zero.
  const std::string message = invalid_argument_message(
      [] { Adam opt({parameter({1}, {1})}, AdamOptions().betas(0.9, 1.0)); });
  EXPECT_TRUE(contains(message, "beta")) << message;
}

TEST(AdamOptionsValidation, NegativeBetaIsRejected) {
  EXPECT_THROW(AdamW({parameter({1}, {1})}, AdamOptions().betas(-0.1, 0.999)),
               std::invalid_argument);
}

TEST(AdamOptionsValidation, NegativeEpsIsRejectedNamingEps) {
  const std::string message =
      invalid_argument_message([] { Adam opt({parameter({1}, {1})}, AdamOptions().eps(-1e-8)); });
  EXPECT_TRUE(contains(message, "eps")) << message;
}

TEST(AdamOptionsValidation, NegativeWeightDecayIsRejectedByAdamW) {
  const std::string message = invalid_argument_message(
      [] { AdamW opt({parameter({1}, {1})}, AdamOptions().weight_decay(-0.01)); });
  EXPECT_TRUE(contains(message, "weight_decay")) << message;
}

TEST(AdamOptionsValidation, NanLearningRateIsRejected) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(Adam({parameter({1}, {1})}, AdamOptions(nan)), std::invalid_argument);
}

}  // namespace
}  // namespace tinytorch::optim
