// Framework-owned: the differentiable activations, recorded for autograd around your ops:: code.
#include "tinytorch/activations.hpp"
#include "tinytorch/autograd.hpp"

namespace tinytorch {

using autograd::attach;
using autograd::needs_grad;

Tensor relu(const Tensor& x) {
  Tensor y = ops::relu(x);
  if (needs_grad({&x})) attach(y, std::make_shared<autograd::ReluBackward>(x), {x});
  return y;
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = ops::sigmoid(x);
  if (needs_grad({&x})) attach(y, std::make_shared<autograd::SigmoidBackward>(y.detach()), {x});
  return y;
}

Tensor tanh(const Tensor& x) {
  Tensor y = ops::tanh(x);
  if (needs_grad({&x})) attach(y, std::make_shared<autograd::TanhBackward>(y.detach()), {x});
  return y;
}

Tensor gelu(const Tensor& x) {
  Tensor y = ops::gelu(x);
  if (needs_grad({&x})) attach(y, std::make_shared<autograd::GeluBackward>(x), {x});
  return y;
}

Tensor softmax(const Tensor& x, std::int64_t dim) {
  Tensor y = ops::softmax(x, dim);
  if (needs_grad({&x}))
    attach(y, std::make_shared<autograd::SoftmaxBackward>(y.detach(), dim), {x});
  return y;
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  Tensor y = ops::log_softmax(x, dim);
  if (needs_grad({&x})) {
    attach(y, std::make_shared<autograd::LogSoftmaxBackward>(y.detach(), dim), {x});
  }
  return y;
}

}  // namespace tinytorch
