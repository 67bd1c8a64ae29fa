#pragma once
// Module 05: losses, the number training makes small, each with its gradient derived by hand
// (autograd arrives in module 07). Contract for losses.cpp.
//
// Targets are float tensors: class indices for cross_entropy (0, 1, ..., C-1 stored as floats),
// values in [0, 1] for the binary losses. Every loss is the mean over its elements (PyTorch's
// reduction='mean') and returns a 0-d tensor.
#include "tinytorch/layers.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch {

// Differentiable losses (framework-owned layer in losses_ops.cpp over your ops:: code).
[[nodiscard]] Tensor mse_loss(const Tensor& prediction, const Tensor& target);
[[nodiscard]] Tensor cross_entropy(const Tensor& logits, const Tensor& targets);
[[nodiscard]] Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);

/// The forward math; you write these in losses.cpp.
namespace ops {
/// mean((prediction - target)^2); shapes must match (std::invalid_argument naming both otherwise).
[[nodiscard]] Tensor mse_loss(const Tensor& prediction, const Tensor& target);
/// logits (N, C), targets (N) of class indices: mean_n [ -log_softmax(logits_n)[target_n] ].
/// A target outside [0, C) or not a whole number throws std::out_of_range naming it.
[[nodiscard]] Tensor cross_entropy(const Tensor& logits, const Tensor& targets);
/// Same shapes: mean[ max(z, 0) - z t + log(1 + e^-|z|) ], the stable form of
/// -[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))].
[[nodiscard]] Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);
}  // namespace ops

/// Hand-derived gradients dL/d(first argument), same shape as it. You write these in losses.cpp.
namespace grad {
/// 2 (prediction - target) / numel
[[nodiscard]] Tensor mse_loss(const Tensor& prediction, const Tensor& target);
/// (softmax(logits) - one_hot(targets)) / N
[[nodiscard]] Tensor cross_entropy(const Tensor& logits, const Tensor& targets);
/// (sigmoid(z) - t) / numel
[[nodiscard]] Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);
}  // namespace grad

namespace nn {
/// Losses as callables, as torch.nn.MSELoss / CrossEntropyLoss / BCEWithLogitsLoss.
struct MSELoss {
  [[nodiscard]] Tensor operator()(const Tensor& p, const Tensor& t) const { return mse_loss(p, t); }
};
struct CrossEntropyLoss {
  [[nodiscard]] Tensor operator()(const Tensor& logits, const Tensor& targets) const {
    return cross_entropy(logits, targets);
  }
};
struct BCEWithLogitsLoss {
  [[nodiscard]] Tensor operator()(const Tensor& logits, const Tensor& targets) const {
    return binary_cross_entropy_with_logits(logits, targets);
  }
};
}  // namespace nn

}  // namespace tinytorch
