// Checkpoint "optimizers": Can I minimise a function with SGD, momentum and Adam?
//
// Answered end to end with your module 06 optimizers: each one minimises a quadratic whose minimum
// is known, fed the gradient written out by hand (as everything is before autograd), and Adam fits
// a linear model through your module 05 MSE gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

namespace {

using namespace tinytorch;
using namespace tinytorch::optim;

// f(p) = sum_i s_i (p_i - c_i)^2, minimum at p = c; gradient 2 s (p - c). The scales s = (1, 10)
// make one direction steep and one shallow, as in real loss surfaces.
const std::vector<float> kCentre = {3, -2};
const std::vector<float> kScale = {1, 10};

void set_quadratic_gradient(const Tensor& p) {
  const std::vector<float> v = p.to_vector();
  p.set_grad(
      from_vector({2 * kScale[0] * (v[0] - kCentre[0]), 2 * kScale[1] * (v[1] - kCentre[1])}, {2}));
}

// Steps until p is within 1e-3 of the minimum (or max_steps); returns the number of steps taken.
int minimise(Optimizer& optimizer, int max_steps) {
  const Tensor& p = optimizer.parameters()[0];
  for (int step = 1; step <= max_steps; ++step) {
    optimizer.zero_grad();
    set_quadratic_gradient(p);
    optimizer.step();
    const std::vector<float> v = p.to_vector();
    if (std::abs(v[0] - kCentre[0]) < 1e-3f && std::abs(v[1] - kCentre[1]) < 1e-3f) return step;
  }
  return max_steps + 1;
}

Tensor start() {
  Tensor p = zeros({2});
  p.requires_grad_(true);
  return p;
}

TEST(OptimizersCheckpoint, EveryOptimizerFindsTheMinimumOfAQuadratic) {
  std::vector<std::unique_ptr<Optimizer>> optimizers;
  optimizers.push_back(std::make_unique<SGD>(std::vector<Tensor>{start()}, SGDOptions(0.04)));
  optimizers.push_back(
      std::make_unique<SGD>(std::vector<Tensor>{start()}, SGDOptions(0.02).momentum(0.9)));
  optimizers.push_back(std::make_unique<SGD>(std::vector<Tensor>{start()},
                                             SGDOptions(0.02).momentum(0.9).nesterov(true)));
  optimizers.push_back(std::make_unique<Adam>(std::vector<Tensor>{start()}, AdamOptions(0.1)));
  optimizers.push_back(
      std::make_unique<AdamW>(std::vector<Tensor>{start()}, AdamOptions(0.1).weight_decay(0)));
  for (std::size_t i = 0; i < optimizers.size(); ++i) {
    EXPECT_LE(minimise(*optimizers[i], 2000), 2000) << "optimizer " << i << " did not converge";
  }
}

TEST(OptimizersCheckpoint, MomentumReachesTheMinimumInFewerStepsThanPlainSgd) {
  // Plain SGD must keep lr < 1/10 for the steep direction (else it diverges), which makes the
  // shallow direction crawl: its error shrinks by 1 - 2 lr = 0.92 per step. Momentum's velocity
  // builds up along the shallow direction.
  SGD plain({start()}, SGDOptions(0.04));
  SGD heavy_ball({start()}, SGDOptions(0.04).momentum(0.5));
  EXPECT_LT(minimise(heavy_ball, 2000), minimise(plain, 2000));
}

TEST(OptimizersCheckpoint, AdamWDecayPullsTheMinimumTowardZero) {
  // With decoupled decay the fixed point is no longer c. There the decay lr wd p balances the Adam
  // step lr m_hat / sqrt(v_hat), whose size is at most about lr, so |p| <= 1 / wd = 1: each
  // coordinate ends between 0 and its centre, short of the unregularised minimum.
  const Tensor p = start();
  AdamW optimizer({p}, AdamOptions(0.05).weight_decay(1.0));
  for (int step = 0; step < 3000; ++step) {
    optimizer.zero_grad();
    set_quadratic_gradient(p);
    optimizer.step();
  }
  const std::vector<float> v = p.to_vector();
  EXPECT_GT(v[0], 0.0f);
  EXPECT_LT(v[0], kCentre[0] - 1e-2f);
  EXPECT_LT(v[1], 0.0f);
  EXPECT_GT(v[1], kCentre[1] + 1e-2f);
}

TEST(OptimizersCheckpoint, AdamFitsALinearModelFromHandWrittenGradients) {
  // pred = X W + b on points of y = 2x + 1 (as in the losses checkpoint), but the update is now
  // one line, optimizer.step(), however many parameters there are.
  const Tensor X = tensor({{-1.5f}, {-1}, {-0.5f}, {0}, {0.25f}, {0.5f}, {1}, {1.5f}});  // (8, 1)
  const Tensor y = X * 2.0f + 1.0f;
  Tensor W = zeros({1, 1}), b = zeros({1});
  W.requires_grad_(true);
  b.requires_grad_(true);
  Adam optimizer({W, b}, AdamOptions(0.05));
  for (int step = 0; step < 1000; ++step) {
    optimizer.zero_grad();
    const Tensor dpred = grad::mse_loss(X.matmul(W) + b, y);  // (8, 1)
    W.set_grad(X.transpose(0, 1).matmul(dpred));              // (1, 1)
    b.set_grad(dpred.sum(0));                                 // (1)
    optimizer.step();
  }
  EXPECT_NEAR(W.item(), 2.0f, 1e-2f);
  EXPECT_NEAR(b.item(), 1.0f, 1e-2f);
  EXPECT_EQ(optimizer.step_count(), 1000);
}

}  // namespace
