#pragma once
// Module 03: activations, the nonlinearity between linear layers. Contract for activations.cpp.
#include <cstdint>

#include "tinytorch/tensor.hpp"

namespace tinytorch {

// Differentiable activations (framework-owned layer in activations_ops.cpp: runs your ops:: forward
// and, from module 07 on, records the node whose backward you write there).
[[nodiscard]] Tensor relu(const Tensor& x);
[[nodiscard]] Tensor sigmoid(const Tensor& x);
[[nodiscard]] Tensor tanh(const Tensor& x);
[[nodiscard]] Tensor gelu(const Tensor& x);
[[nodiscard]] Tensor softmax(const Tensor& x, std::int64_t dim);
[[nodiscard]] Tensor log_softmax(const Tensor& x, std::int64_t dim);

/// The forward math; you write these in activations.cpp. Each returns a new contiguous tensor of
/// x's shape and works for any x (views included).
namespace ops {
/// max(0, x)
[[nodiscard]] Tensor relu(const Tensor& x);
/// 1 / (1 + e^-x), computed without overflow for large |x| (for x < 0 use e^x / (1 + e^x)).
[[nodiscard]] Tensor sigmoid(const Tensor& x);
/// (e^x - e^-x) / (e^x + e^-x), in [-1, 1] for every finite x.
[[nodiscard]] Tensor tanh(const Tensor& x);
/// The exact GELU, as torch.nn.functional.gelu: x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2))).
[[nodiscard]] Tensor gelu(const Tensor& x);
/// e^(x_i - max) / sum_j e^(x_j - max) along dim (negative dims count from the end); subtracting
/// the max keeps it finite for large inputs (softmax({1000, 1001}) is {0.2689, 0.7311}).
[[nodiscard]] Tensor softmax(const Tensor& x, std::int64_t dim);
/// x_i - max - log(sum_j e^(x_j - max)) along dim: finite where log(softmax) would give -inf.
[[nodiscard]] Tensor log_softmax(const Tensor& x, std::int64_t dim);
}  // namespace ops

}  // namespace tinytorch
