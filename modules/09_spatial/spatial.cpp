// Module 09 — fill in each TODO. The contract is spatial.hpp: read each declaration's comment
// first.
#include "tinytorch/spatial.hpp"

#include "tinytorch/errors.hpp"

namespace tinytorch {

std::int64_t conv_output_size(std::int64_t, std::int64_t, std::int64_t, std::int64_t) {
  throw NotImplemented("09_spatial", "conv_output_size");
}

namespace ops {
Tensor conv2d(const Tensor&, const Tensor&, const Tensor&, std::int64_t, std::int64_t) {
  throw NotImplemented("09_spatial", "ops::conv2d");
}
MaxPool2dResult max_pool2d(const Tensor&, std::int64_t, std::int64_t, std::int64_t) {
  throw NotImplemented("09_spatial", "ops::max_pool2d");
}
Tensor avg_pool2d(const Tensor&, std::int64_t, std::int64_t, std::int64_t) {
  throw NotImplemented("09_spatial", "ops::avg_pool2d");
}
BatchNorm2dResult batch_norm2d(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                               const Tensor&, bool, float, float) {
  throw NotImplemented("09_spatial", "ops::batch_norm2d");
}
}  // namespace ops

namespace autograd {
std::vector<Tensor> Conv2dBackward::backward(const Tensor&) {
  throw NotImplemented("09_spatial", "Conv2dBackward::backward");
}
std::vector<Tensor> MaxPool2dBackward::backward(const Tensor&) {
  throw NotImplemented("09_spatial", "MaxPool2dBackward::backward");
}
std::vector<Tensor> AvgPool2dBackward::backward(const Tensor&) {
  throw NotImplemented("09_spatial", "AvgPool2dBackward::backward");
}
std::vector<Tensor> BatchNorm2dBackward::backward(const Tensor&) {
  throw NotImplemented("09_spatial", "BatchNorm2dBackward::backward");
}
}  // namespace autograd

namespace nn {
Conv2d::Conv2d(std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, bool,
               Generator&) {
  throw NotImplemented("09_spatial", "Conv2d::Conv2d");
}
Tensor Conv2d::forward(const Tensor&) {
  throw NotImplemented("09_spatial", "Conv2d::forward");
}
MaxPool2d::MaxPool2d(std::int64_t, std::int64_t, std::int64_t) {
  throw NotImplemented("09_spatial", "MaxPool2d::MaxPool2d");
}
Tensor MaxPool2d::forward(const Tensor&) {
  throw NotImplemented("09_spatial", "MaxPool2d::forward");
}
AvgPool2d::AvgPool2d(std::int64_t, std::int64_t, std::int64_t) {
  throw NotImplemented("09_spatial", "AvgPool2d::AvgPool2d");
}
Tensor AvgPool2d::forward(const Tensor&) {
  throw NotImplemented("09_spatial", "AvgPool2d::forward");
}
BatchNorm2d::BatchNorm2d(std::int64_t, float, float) {
  throw NotImplemented("09_spatial", "BatchNorm2d::BatchNorm2d");
}
Tensor BatchNorm2d::forward(const Tensor&) {
  throw NotImplemented("09_spatial", "BatchNorm2d::forward");
}
}  // namespace nn
}  // namespace tinytorch
