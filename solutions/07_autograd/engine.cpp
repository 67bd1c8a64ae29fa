// Module 07 — the backward engine, NoGradGuard and gradcheck. The contract is autograd.hpp.
#include "tinytorch/autograd.hpp"

namespace tinytorch::autograd {

// TODO: remember GradMode::is_enabled() in previous_, then switch grad mode off.
NoGradGuard::NoGradGuard() : previous_(true) {
  throw NotImplemented("07_autograd", "NoGradGuard::NoGradGuard");
}
// TODO: restore the mode saved by the constructor.
NoGradGuard::~NoGradGuard() = default;

Tensor sum_to_shape(const Tensor& /*grad*/, const Shape& /*shape*/) {
  throw NotImplemented("07_autograd", "sum_to_shape");
}

std::vector<Node*> topological_order(const Tensor& /*root*/) {
  throw NotImplemented("07_autograd", "topological_order");
}

void backward(const Tensor& /*root*/, const Tensor& /*grad_output*/, bool /*retain_graph*/) {
  throw NotImplemented("07_autograd", "backward");
}

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& /*f*/,
                          const std::vector<Tensor>& /*inputs*/, double /*eps*/, double /*atol*/,
                          double /*rtol*/) {
  throw NotImplemented("07_autograd", "gradcheck");
}

}  // namespace tinytorch::autograd
