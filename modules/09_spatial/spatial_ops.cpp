// Framework-owned: the differentiable spatial functions, recorded for autograd around your ops::
// forward code (exactly like activations_ops.cpp). Your work is in spatial.cpp.
#include "tinytorch/autograd.hpp"
#include "tinytorch/spatial.hpp"

namespace tinytorch {

using autograd::attach;
using autograd::needs_grad;

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, std::int64_t stride,
              std::int64_t padding) {
  Tensor out = ops::conv2d(input, weight, bias, stride, padding);
  if (needs_grad({&input, &weight, &bias})) {
    attach(out,
           std::make_shared<autograd::Conv2dBackward>(input.detach(), weight.detach(),
                                                      bias.defined(), stride, padding),
           {input, weight, bias});
  }
  return out;
}

Tensor max_pool2d(const Tensor& input, std::int64_t kernel_size, std::int64_t stride,
                  std::int64_t padding) {
  auto [out, indices] = ops::max_pool2d(input, kernel_size, stride, padding);
  if (needs_grad({&input})) {
    attach(out, std::make_shared<autograd::MaxPool2dBackward>(input.shape(), indices), {input});
  }
  return out;
}

Tensor avg_pool2d(const Tensor& input, std::int64_t kernel_size, std::int64_t stride,
                  std::int64_t padding) {
  Tensor out = ops::avg_pool2d(input, kernel_size, stride, padding);
  if (needs_grad({&input})) {
    const std::int64_t s = stride == 0 ? kernel_size : stride;
    attach(out,
           std::make_shared<autograd::AvgPool2dBackward>(input.shape(), kernel_size, s, padding),
           {input});
  }
  return out;
}

Tensor batch_norm2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    float momentum, float eps) {
  auto [out, mean, invstd] =
      ops::batch_norm2d(input, weight, bias, running_mean, running_var, training, momentum, eps);
  if (needs_grad({&input, &weight, &bias})) {
    const Tensor w = weight.defined() ? weight.detach() : Tensor();
    attach(out,
           std::make_shared<autograd::BatchNorm2dBackward>(input.detach(), w, mean.detach(),
                                                           invstd.detach(), training),
           {input, weight, bias});
  }
  return out;
}

}  // namespace tinytorch
