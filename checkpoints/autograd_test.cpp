// Checkpoint "autograd": Can my framework compute every gradient for me?
//
// Answered end to end with your module 07 engine: the gradients of a linear model's loss agree with
// the ones written by hand in modules 05-06, and then networks no hand-written gradient would be
// fun for (two layers, tanh, a loss) learn XOR from nothing but loss.backward() and an optimizer.
#include <gtest/gtest.h>

#include <vector>

#include "tinytorch/activations.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

namespace {

using namespace tinytorch;

// The four XOR points and their labels: 1 when exactly one coordinate is 1.
Tensor xor_inputs() {
  return tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
}
Tensor xor_labels() {
  return tensor({{0}, {1}, {1}, {0}});
}

TEST(AutogradCheckpoint, BackwardGivesTheGradientsOfAHandDerivedLinearModel) {
  // y = X w + b, L = mse(y, t). By hand (module 05's gradient and the chain rule):
  //     dL/dy = grad::mse_loss(y, t),  dL/dw = X^T dL/dy,  dL/db = sum over the batch of dL/dy.
  Generator gen(1);
  const Tensor X = randn({5, 3}, gen), t = randn({5, 1}, gen);
  Tensor w = randn({3, 1}, gen).requires_grad_(), b = zeros({1}).requires_grad_();
  const Tensor y = X.matmul(w) + b;
  mse_loss(y, t).backward();

  const Tensor dy = grad::mse_loss(y.detach(), t);
  EXPECT_TRUE(allclose(w.grad(), X.transpose(0, 1).matmul(dy), 1e-5f, 1e-6f));
  EXPECT_TRUE(allclose(b.grad(), dy.sum(0), 1e-5f, 1e-6f));
}

TEST(AutogradCheckpoint, ATwoLayerNetLearnsXorFromBackwardAlone) {
  // 2 -> 8 (tanh) -> 1 logit, trained with plain gradient descent; the update runs under
  // NoGradGuard, as every optimizer's does.
  Generator gen(0);
  Tensor W1 = (randn({2, 8}, gen) * 0.7f).detach().requires_grad_();
  Tensor b1 = zeros({8}).requires_grad_();
  Tensor W2 = (randn({8, 1}, gen) * 0.7f).detach().requires_grad_();
  Tensor b2 = zeros({1}).requires_grad_();
  const std::vector<Tensor> params = {W1, b1, W2, b2};
  const Tensor X = xor_inputs(), t = xor_labels();

  const auto forward = [&] { return tanh(X.matmul(W1) + b1).matmul(W2) + b2; };
  float first_loss = 0, last_loss = 0;
  for (int step = 0; step < 500; ++step) {
    for (const Tensor& p : params) p.set_grad(Tensor());
    const Tensor loss = binary_cross_entropy_with_logits(forward(), t);
    loss.backward();
    autograd::NoGradGuard no_grad;
    for (Tensor p : params) p.add_(p.grad(), -0.5f);
    (step == 0 ? first_loss : last_loss) = loss.item();
  }
  EXPECT_LT(last_loss, 0.1f * first_loss);

  const std::vector<float> logits = forward().to_vector(), labels = t.to_vector();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    EXPECT_EQ(logits[i] > 0, labels[i] > 0.5f) << "XOR point " << i << ": logit " << logits[i];
  }
}

TEST(AutogradCheckpoint, ASequentialModelTrainsWithAnOptimizerAndCrossEntropy) {
  // The same problem as two classes, the way later modules train: model, loss, backward, step.
  Generator gen(2);
  nn::Sequential model(nn::Linear(2, 8, true, nn::Init::xavier_uniform, gen), nn::Tanh(),
                       nn::Linear(8, 2, true, nn::Init::xavier_uniform, gen));
  optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.3).momentum(0.9));
  const Tensor X = xor_inputs(), classes = xor_labels().reshape({4});

  float loss_value = 0;
  for (int step = 0; step < 300; ++step) {
    optimizer.zero_grad();
    const Tensor loss = cross_entropy(model(X), classes);
    loss.backward();
    optimizer.step();
    loss_value = loss.item();
  }
  EXPECT_LT(loss_value, 0.05f);
  const Tensor predicted = model(X).argmax(1);
  EXPECT_EQ(predicted.to_vector(), classes.to_vector());
}

}  // namespace
