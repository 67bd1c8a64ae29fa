// Framework-owned: the differentiable layer_norm, recorded for autograd around your ops:: code.
#include "tinytorch/autograd.hpp"
#include "tinytorch/transformers.hpp"

namespace tinytorch {

using autograd::attach;
using autograd::needs_grad;

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  ops::LayerNormResult r = ops::layer_norm(x, weight, bias, eps);
  if (needs_grad({&x, &weight, &bias})) {
    attach(
        r.output,
        std::make_shared<autograd::LayerNormBackward>(x.detach(), weight.detach(), r.mean, r.rstd),
        {x, weight, bias});
  }
  return r.output;
}

}  // namespace tinytorch
