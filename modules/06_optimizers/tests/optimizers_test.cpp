// Visible tests for module 06: run them with `tito module test 06`.
//
// Each test steps an optimizer by hand on a parameter of one or two numbers, with the arithmetic of
// every step written out in the comments: when a test fails, redo that arithmetic next to your
// update. The hidden suite compares longer runs with PyTorch's own torch.optim.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "tinytorch/optimizers.hpp"

namespace tinytorch::optim {
namespace {

using Values = std::vector<float>;

Tensor parameter(const Values& values) {
  Tensor p = from_vector(values, {static_cast<std::int64_t>(values.size())});
  p.requires_grad_(true);
  return p;
}

float first(const Tensor& t) {
  return t.to_vector().at(0);
}

TEST(Optimizers, ZeroGradMakesGradientsUndefined) {
  const Tensor p = parameter({1});
  SGD opt({p}, SGDOptions(0.1));
  p.set_grad(tensor({1}));
  opt.zero_grad();
  EXPECT_FALSE(p.grad().defined());
}

TEST(Optimizers, SgdStepsAgainstTheGradient) {
  // p = 1 - 0.1 * 2 = 0.8; the same handle the model holds sees the change.
  const Tensor p = parameter({1});
  SGD opt({p}, SGDOptions(0.1));
  p.set_grad(tensor({2}));
  opt.step();
  EXPECT_FLOAT_EQ(first(p), 0.8f);
  EXPECT_EQ(opt.step_count(), 1);
}

TEST(Optimizers, SgdWeightDecayAddsTheWeightToTheGradient) {
  // d = g + wd p = 0 + 0.5 * 2 = 1; p = 2 - 0.1 * 1 = 1.9
  const Tensor p = parameter({2});
  SGD opt({p}, SGDOptions(0.1).weight_decay(0.5));
  p.set_grad(tensor({0}));
  opt.step();
  EXPECT_FLOAT_EQ(first(p), 1.9f);
}

TEST(Optimizers, SgdMomentumAccumulatesVelocity) {
  // g = 1 every step, lr 0.1, momentum 0.9:
  //   step 1: b = g = 1            p = 0 - 0.1 * 1   = -0.1
  //   step 2: b = 0.9 * 1 + 1 = 1.9 p = -0.1 - 0.19 = -0.29
  const Tensor p = parameter({0});
  SGD opt({p}, SGDOptions(0.1).momentum(0.9));
  p.set_grad(tensor({1}));
  opt.step();
  EXPECT_NEAR(first(p), -0.1f, 1e-6f);
  opt.step();
  EXPECT_NEAR(first(p), -0.29f, 1e-6f);
}

TEST(Optimizers, SgdNesterovLooksAhead) {
  // g = 1, lr 0.1, momentum 0.9, nesterov: b = 1, d = g + 0.9 b = 1.9, p = 0 - 0.19 = -0.19
  const Tensor p = parameter({0});
  SGD opt({p}, SGDOptions(0.1).momentum(0.9).nesterov(true));
  p.set_grad(tensor({1}));
  opt.step();
  EXPECT_NEAR(first(p), -0.19f, 1e-6f);
}

TEST(Optimizers, StepSkipsParametersWithoutAGradient) {
  const Tensor a = parameter({1}), b = parameter({5});
  SGD opt({a, b}, SGDOptions(0.1));
  a.set_grad(tensor({1}));
  opt.step();
  EXPECT_FLOAT_EQ(first(b), 5.0f);  // b had no gradient: untouched
}

TEST(Optimizers, AdamFirstStepIsTheLearningRateTimesTheSignOfTheGradient) {
  // t = 1: m = 0.1 g, v = 0.001 g^2; bias-corrected m / (1 - 0.9) = g, v / (1 - 0.999) = g^2,
  // so p -= lr * g / (|g| + eps): 1 - 0.01 * 5 / (5 + 1e-8) = 0.99
  const Tensor p = parameter({1});
  Adam opt({p}, AdamOptions(0.01));
  p.set_grad(tensor({5}));
  opt.step();
  EXPECT_NEAR(first(p), 0.99f, 1e-6f);
}

TEST(Optimizers, AdamWeightDecayEntersThroughTheGradient) {
  // g = 0 + wd p = 0.5 * 2 = 1, so step 1 is as above with g = 1: p = 2 - 0.1 = 1.9
  const Tensor p = parameter({2});
  Adam opt({p}, AdamOptions(0.1).weight_decay(0.5));
  p.set_grad(tensor({0}));
  opt.step();
  EXPECT_NEAR(first(p), 1.9f, 1e-6f);
}

TEST(Optimizers, AdamWDecaysTheWeightApartFromTheGradient) {
  // g = 0 leaves m = v = 0, so only the decay acts: p = 2 * (1 - 0.1 * 0.5) = 1.9
  // (compare with Adam above, where the same decay passed through m / sqrt(v)).
  const Tensor p = parameter({2});
  AdamW opt({p}, AdamOptions(0.1).weight_decay(0.5));
  p.set_grad(tensor({0}));
  opt.step();
  EXPECT_NEAR(first(p), 1.9f, 1e-6f);
}

TEST(Optimizers, SetLrChangesTheLearningRate) {
  const Tensor p = parameter({1});
  SGD opt({p}, SGDOptions(0.1));
  opt.set_lr(0.01);
  EXPECT_DOUBLE_EQ(opt.lr(), 0.01);
}

TEST(Optimizers, NegativeLearningRateIsRejected) {
  EXPECT_THROW(SGD({parameter({1})}, SGDOptions(-1.0)), std::invalid_argument);
}

TEST(Optimizers, BetaOfOneIsRejected) {
  EXPECT_THROW(Adam({parameter({1})}, AdamOptions().betas(1.0, 0.999)), std::invalid_argument);
}

}  // namespace
}  // namespace tinytorch::optim
