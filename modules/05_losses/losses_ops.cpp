// Framework-owned: the differentiable losses, recorded for autograd around your ops:: code.
// Gradients flow to the predictions/logits only; targets are data.
#include "tinytorch/autograd.hpp"
#include "tinytorch/losses.hpp"

namespace tinytorch {

using autograd::attach;
using autograd::needs_grad;

Tensor mse_loss(const Tensor& prediction, const Tensor& target) {
  Tensor loss = ops::mse_loss(prediction, target);
  if (needs_grad({&prediction})) {
    attach(loss, std::make_shared<autograd::MseLossBackward>(prediction, target.detach()),
           {prediction});
  }
  return loss;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  Tensor loss = ops::cross_entropy(logits, targets);
  if (needs_grad({&logits})) {
    attach(loss, std::make_shared<autograd::CrossEntropyBackward>(logits, targets.detach()),
           {logits});
  }
  return loss;
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  Tensor loss = ops::binary_cross_entropy_with_logits(logits, targets);
  if (needs_grad({&logits})) {
    attach(loss, std::make_shared<autograd::BceWithLogitsBackward>(logits, targets.detach()),
           {logits});
  }
  return loss;
}

}  // namespace tinytorch
