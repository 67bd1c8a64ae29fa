// Checkpoint "losses": Can I measure how wrong a model is and compute which way to improve it?
//
// Answered end to end with your module 02 tensors and module 05 losses: small models are trained by
// plain gradient descent, the gradient of each loss coming from your grad:: functions and the
// chain rule through the model written out by hand (the loop of the module 05 lesson). The data are
// built so that the answer is known exactly: points on a line, separable clusters.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tinytorch/losses.hpp"

namespace {

using namespace tinytorch;

TEST(LossesCheckpoint, CrossEntropyRanksConfidentRightBelowUnsureBelowConfidentWrong) {
  // Three classes, the target is class 0.
  //   confident and right (5, 0, 0):  -log(e^5 / (e^5 + 2)) = log(1 + 2 e^-5) = 0.0134
  //   unsure (0, 0, 0):               log 3 = 1.0986
  //   confident and wrong (0, 5, 0):  log(e^5 + 2) = 5.0134
  const Tensor target = tensor({0});
  const float right = ops::cross_entropy(tensor({{5, 0, 0}}), target).item();
  const float unsure = ops::cross_entropy(tensor({{0, 0, 0}}), target).item();
  const float wrong = ops::cross_entropy(tensor({{0, 5, 0}}), target).item();
  EXPECT_NEAR(right, std::log1p(2 * std::exp(-5.0f)), 1e-5f);
  EXPECT_NEAR(unsure, std::log(3.0f), 1e-5f);
  EXPECT_NEAR(wrong, std::log(std::exp(5.0f) + 2), 1e-4f);
}

TEST(LossesCheckpoint, GradientDescentOnMseFitsALine) {
  // Eight points on y = 2x + 1. The model pred = X W + b starts at W = 0, b = 0; the loss is
  // convex, so gradient descent reaches its minimum W = 2, b = 1, where the MSE is 0.
  const Tensor X = tensor({{-1.5f}, {-1}, {-0.5f}, {0}, {0.25f}, {0.5f}, {1}, {1.5f}});  // (8, 1)
  const Tensor y = X * 2.0f + 1.0f;                                                      // (8, 1)
  Tensor W = zeros({1, 1}), b = zeros({1});
  const float lr = 0.1f;
  const float initial_loss = ops::mse_loss(X.matmul(W) + b, y).item();
  for (int step = 0; step < 500; ++step) {
    const Tensor pred = X.matmul(W) + b;                // (8, 1)
    const Tensor dpred = grad::mse_loss(pred, y);       // dL/dpred, (8, 1)
    const Tensor dW = X.transpose(0, 1).matmul(dpred);  // X^T dL/dpred, (1, 1)
    const Tensor db = dpred.sum(0);                     // b broadcast over the rows: sum them, (1)
    W.add_(dW, -lr);
    b.add_(db, -lr);
  }
  EXPECT_NEAR(W.item(), 2.0f, 1e-3f);
  EXPECT_NEAR(b.item(), 1.0f, 1e-3f);
  EXPECT_LT(ops::mse_loss(X.matmul(W) + b, y).item(), 1e-6f * initial_loss);
}

TEST(LossesCheckpoint, GradientDescentOnCrossEntropyClassifiesThreeClusters) {
  // Three clusters of two points, around (2, 0), (-1, 2) and (-1, -2): a linear softmax classifier
  // (logits = X W + b) can separate them, and the loss falls from log 3 toward 0.
  const Tensor X =
      tensor({{2, 0.5f}, {2.5f, -0.5f}, {-1, 2.5f}, {-1.5f, 1.5f}, {-0.5f, -2}, {-1.5f, -2.5f}});
  const Tensor labels = tensor({0, 0, 1, 1, 2, 2});
  Tensor W = zeros({2, 3}), b = zeros({3});
  const float start = ops::cross_entropy(X.matmul(W) + b, labels).item();
  EXPECT_NEAR(start, std::log(3.0f), 1e-5f);  // all-zero logits: uniform
  for (int step = 0; step < 200; ++step) {
    const Tensor dlogits = grad::cross_entropy(X.matmul(W) + b, labels);  // (6, 3)
    W.add_(X.transpose(0, 1).matmul(dlogits), -0.5f);                     // (2, 6) @ (6, 3)
    b.add_(dlogits.sum(0), -0.5f);
  }
  const Tensor logits = X.matmul(W) + b;
  EXPECT_LT(ops::cross_entropy(logits, labels).item(), 0.1f);
  EXPECT_EQ(logits.argmax(1).to_vector(), labels.to_vector());  // every point classified right
}

TEST(LossesCheckpoint, GradientDescentOnBinaryCrossEntropySeparatesTwoClasses) {
  // Logistic regression on one feature: negative x -> label 0, positive x -> label 1.
  const Tensor X = tensor({{-2}, {-1}, {-0.5f}, {0.5f}, {1}, {2}});  // (6, 1)
  const Tensor t = tensor({{0}, {0}, {0}, {1}, {1}, {1}});           // (6, 1)
  Tensor w = zeros({1, 1}), b = zeros({1});
  for (int step = 0; step < 300; ++step) {
    const Tensor dz = grad::binary_cross_entropy_with_logits(X.matmul(w) + b, t);  // (6, 1)
    w.add_(X.transpose(0, 1).matmul(dz), -1.0f);
    b.add_(dz.sum(0), -1.0f);
  }
  const Tensor z = X.matmul(w) + b;
  EXPECT_LT(ops::binary_cross_entropy_with_logits(z, t).item(), 0.05f);  // from log 2 = 0.69
  const std::vector<float> logits = z.to_vector();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(logits[i] > 0, i >= 3) << "point " << i;
}

}  // namespace
