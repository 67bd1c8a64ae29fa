// Module 06 — fill in each TODO. The contract is optimizers.hpp: read each class's comment there
// first, then the lesson (README.md) for the update rules.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 06` after each
// function. Suggested order: Optimizer (constructor, zero_grad, step), then SGD, Adam, AdamW.
//
// How to write an update so that it is fast and never touches autograd:
//   - param.data() is a std::span<float> over the parameter's own storage: writing p[i] changes the
//     model's weight in place (every handle to it sees the change). Raw writes are not operations,
//     so autograd records nothing, and a loop allocates nothing.
//   - Do NOT write `param - lr * grad`: that makes a new tensor (and, for a parameter that requires
//     grad, records a graph node) instead of changing the weight.
//   - The hyper-parameters are doubles in the options; cast them to float once, before the loop.
// Small helpers of your own (option checks, the shared Adam loop) belong in an anonymous
// namespace at the top of this file.
#include "tinytorch/optimizers.hpp"

#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include "tinytorch/errors.hpp"

namespace tinytorch::optim {

// ---- Optimizer: the template method --------------------------------------------------------

Optimizer::Optimizer(std::vector<Tensor> parameters) : parameters_(std::move(parameters)) {
  // TODO: Keep the parameters (done above: they are handles, so the optimizer and the model share
  //   the same storage). Reject an undefined Tensor among them with std::invalid_argument naming
  //   its index: it would crash the first step() far from the real mistake.
  throw NotImplemented("06_optimizers", "Optimizer::Optimizer");
}

void Optimizer::zero_grad() {
  // TODO: Make every parameter's gradient *undefined* (set_grad with a default Tensor()), not a
  //   tensor of zeros: backward then creates the gradient fresh, and step() can tell "no gradient
  //   this time" apart from "a gradient of zero".
  throw NotImplemented("06_optimizers", "Optimizer::zero_grad");
}

void Optimizer::step() {
  // TODO: The template method that every optimizer shares:
  //   1. Advance step_count_ once per call (Adam's bias correction reads it as t = 1, 2, ...).
  //   2. For each parameter i: skip it when its grad() is undefined (frozen, or unused this step).
  //   3. A gradient whose shape differs from the parameter's is a bug upstream: throw
  //      std::invalid_argument naming both shapes.
  //   4. Call update(i, parameter, gradient), handing it a contiguous gradient (ops::contiguous)
  //      so that every update can read grad.data() as one flat span.
  throw NotImplemented("06_optimizers", "Optimizer::step");
}

// ---- SGD -----------------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> parameters, SGDOptions options)
    : Optimizer(std::move(parameters)), options_(options) {
  // TODO: Validate the options, each failure a std::invalid_argument whose message names the
  //   option ("lr", "momentum", "dampening", "weight_decay"): none may be negative. Write the test
  //   as !(value >= 0) so that NaN is rejected too.
  //   Nesterov needs momentum > 0 and dampening 0, as in PyTorch (name "nesterov").
  //   Then size momentum_buffers_ to the parameters: one *undefined* Tensor each, because the first
  //   momentum step sets the buffer to the gradient itself (see update).
  throw NotImplemented("06_optimizers", "SGD::SGD");
}

void SGD::update(std::size_t index, const Tensor& param, const Tensor& grad) {
  // TODO: PyTorch's SGD, element by element (d is the direction, b the momentum buffer):
  //     d = g + weight_decay * p
  //     if momentum != 0:
  //         b = d                                  on the buffer's first use (then it is defined)
  //         b = momentum * b + (1 - dampening) * d  afterwards
  //         d = nesterov ? d + momentum * b : b
  //     p = p - lr * d
  //   - Without momentum, use no buffer at all.
  //   - The buffer is momentum_buffers_[index]; create it with empty(param.shape()) on first use.
  (void)index;
  (void)param;
  (void)grad;
  throw NotImplemented("06_optimizers", "SGD::update");
}

// ---- Adam and AdamW ------------------------------------------------------------------------

Adam::Adam(std::vector<Tensor> parameters, AdamOptions options)
    : Optimizer(std::move(parameters)), options_(options) {
  // TODO: Validate: lr, eps and weight_decay not negative; beta1 and beta2 in [0, 1) (name
  //   "beta1"/"beta2" in the message). Then make the state, once: exp_avg_ and exp_avg_sq_ get one
  //   zeros_like(parameter) each, so step() never allocates.
  throw NotImplemented("06_optimizers", "Adam::Adam");
}

void Adam::update(std::size_t index, const Tensor& param, const Tensor& grad) {
  // TODO: PyTorch's Adam with t = step_count_ (already 1 on the first step):
  //     g = grad + weight_decay * p                         (L2, added to the gradient)
  //     m = beta1 * m + (1 - beta1) * g                     exp_avg_[index]
  //     v = beta2 * v + (1 - beta2) * g * g                 exp_avg_sq_[index]
  //     step_size = lr / (1 - beta1^t)
  //     denom = sqrt(v) / sqrt(1 - beta2^t) + eps
  //     p = p - step_size * (m / denom)
  //   - The two bias corrections are the same for every element: compute them once, in double.
  //   - AdamW reuses this loop without the L2 term: write it once, as a helper that takes the
  //     weight decay to add, and call it from both updates.
  (void)index;
  (void)param;
  (void)grad;
  throw NotImplemented("06_optimizers", "Adam::update");
}

AdamW::AdamW(std::vector<Tensor> parameters, AdamOptions options)
    : Adam(std::move(parameters), options) {
  // TODO: Nothing beyond Adam's constructor is needed; delete this throw once Adam's is written.
  throw NotImplemented("06_optimizers", "AdamW::AdamW");
}

void AdamW::update(std::size_t index, const Tensor& param, const Tensor& grad) {
  // TODO: Decoupled weight decay (Loshchilov & Hutter), PyTorch's AdamW:
  //     p = p * (1 - lr * weight_decay)     first, apart from the gradient
  //     then the Adam update above with the raw gradient (no L2 term added to g).
  //   Why not Adam's L2? There the decay passes through m / sqrt(v) and is rescaled per weight;
  //   here every weight shrinks by the same factor. See the README.
  (void)index;
  (void)param;
  (void)grad;
  throw NotImplemented("06_optimizers", "AdamW::update");
}

}  // namespace tinytorch::optim
