// Framework-owned: grad mode and the recording of graph nodes. Your work is in engine.cpp and
// functions.cpp.
#include "tinytorch/autograd.hpp"

namespace tinytorch::autograd {
namespace {
thread_local bool grad_mode_enabled = true;
}  // namespace

bool GradMode::is_enabled() {
  return grad_mode_enabled;
}
void GradMode::set_enabled(bool enabled) {
  grad_mode_enabled = enabled;
}

bool needs_grad(std::initializer_list<const Tensor*> operands) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : operands) {
    if (t->defined() && t->requires_grad()) return true;
  }
  return false;
}

void attach(const Tensor& output, std::shared_ptr<Node> node, std::vector<Tensor> operands) {
  node->inputs = std::move(operands);
  output.impl().requires_grad = true;
  output.set_grad_fn(std::move(node));
}

}  // namespace tinytorch::autograd

namespace tinytorch {

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::backward(*this, gradient, retain_graph);
}

}  // namespace tinytorch
