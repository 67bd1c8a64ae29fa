#pragma once
// Module 09: spatial layers, the contract for spatial.cpp. Images are batches in NCHW layout:
// (N, C, H, W) = (images, channels, height, width), contiguous, as in PyTorch.
//
//     auto net = std::make_shared<nn::Sequential>(
//         nn::Conv2d(3, 32, 3, /*stride=*/1, /*padding=*/1), nn::BatchNorm2d(32), nn::ReLU(),
//         nn::MaxPool2d(2), nn::Flatten(), nn::Linear(32 * 16 * 16, 10));
//
// Three layers, as everywhere in the course:
//   ops::conv2d, ops::max_pool2d, ...   the forward math, no autograd (you write these)
//   autograd::Conv2dBackward, ...       one node per operation: its backward (you write these)
//   conv2d, max_pool2d, ...             the differentiable functions: run ops:: and record the node
//                                       (framework-owned, spatial_ops.cpp)
//   nn::Conv2d, nn::MaxPool2d, ...      modules holding parameters and buffers (you write these)
//
// Sizes: a window of size k moved with `stride` over a dimension of size n padded by `padding` on
// both sides fits  out = floor((n + 2 padding - k) / stride) + 1  times (conv_output_size below).
// Every function checks its arguments and throws std::invalid_argument naming the argument or
// shape at fault: an input that is not 4-d, channels that do not match the weight, a kernel larger
// than the padded input, stride < 1, padding < 0.
#include <cstdint>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/random.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch {

/// floor((size + 2 padding - kernel) / stride) + 1: how many windows fit along one dimension.
/// kernel < 1, stride < 1, padding < 0, or a kernel larger than size + 2 padding throw
/// std::invalid_argument.
[[nodiscard]] std::int64_t conv_output_size(std::int64_t size, std::int64_t kernel,
                                            std::int64_t stride, std::int64_t padding);

// ---- differentiable functions (framework-owned: spatial_ops.cpp) -------------------------------

/// 2-d cross-correlation, as torch.nn.functional.conv2d:
///   input (N, C, H, W), weight (O, C, kh, kw), bias (O) or undefined -> (N, O, Ho, Wo)
///   out[n][o][y][x] = bias[o] + sum_{c,i,j} weight[o][c][i][j] * in[n][c][y*s - p + i][x*s - p +
///   j]
/// (positions outside the input read as 0).
[[nodiscard]] Tensor conv2d(const Tensor& input, const Tensor& weight,
                            const Tensor& bias = Tensor(), std::int64_t stride = 1,
                            std::int64_t padding = 0);
/// The largest value of each kernel x kernel window; padding pads with -infinity (so a padded
/// position is never the max) and must be at most kernel / 2, as in PyTorch. stride 0 means
/// stride = kernel_size (PyTorch's default). (N, C, H, W) -> (N, C, Ho, Wo).
[[nodiscard]] Tensor max_pool2d(const Tensor& input, std::int64_t kernel_size,
                                std::int64_t stride = 0, std::int64_t padding = 0);
/// The mean of each window, padding counted as zeros in the mean (count_include_pad = true, the
/// PyTorch default): every window is divided by kernel_size^2. Same sizes as max_pool2d.
[[nodiscard]] Tensor avg_pool2d(const Tensor& input, std::int64_t kernel_size,
                                std::int64_t stride = 0, std::int64_t padding = 0);
/// Batch normalisation over (N, H, W) for each channel, as torch.nn.functional.batch_norm:
///   y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c
/// training: mean_c, var_c are the batch's (var biased: divided by M = N*H*W), and the running
///   statistics (C) are updated in place:  running = (1 - momentum) * running + momentum * batch,
///   with the UNBIASED batch variance (divided by M - 1) for running_var. M = 1 throws
///   std::invalid_argument (one value per channel has no variance).
/// eval: running_mean and running_var are used and left unchanged.
/// weight and bias (C) may both be undefined (no affine transform); running_mean/var (C) are
/// required in eval and optional (undefined: not updated) in training.
[[nodiscard]] Tensor batch_norm2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var,
                                  bool training, float momentum = 0.1f, float eps = 1e-5f);

// ---- module 09: the forward math you write in spatial.cpp ---------------------------------------
namespace ops {

/// conv2d's forward, by im2col + one matrix multiply per chunk of the batch (see the lesson).
/// Returns a new contiguous (N, O, Ho, Wo) tensor.
[[nodiscard]] Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                            std::int64_t stride, std::int64_t padding);

/// max_pool2d's forward: the output and, for backward, where each maximum came from.
struct MaxPool2dResult {
  Tensor output;   // (N, C, Ho, Wo)
  Tensor indices;  // (N, C, Ho, Wo): h * W + w of the max inside its (H, W) input plane, as floats
                   // (ties: the first in row-major window order), like PyTorch's return_indices
};
[[nodiscard]] MaxPool2dResult max_pool2d(const Tensor& input, std::int64_t kernel_size,
                                         std::int64_t stride, std::int64_t padding);

[[nodiscard]] Tensor avg_pool2d(const Tensor& input, std::int64_t kernel_size, std::int64_t stride,
                                std::int64_t padding);

/// batch_norm2d's forward: the output and the statistics that normalised it, for backward.
struct BatchNorm2dResult {
  Tensor output;  // (N, C, H, W)
  Tensor mean;    // (C): the batch mean in training, running_mean in eval
  Tensor invstd;  // (C): 1 / sqrt(var + eps), var the biased batch variance (training) or
                  //      running_var (eval)
};
[[nodiscard]] BatchNorm2dResult batch_norm2d(const Tensor& input, const Tensor& weight,
                                             const Tensor& bias, const Tensor& running_mean,
                                             const Tensor& running_var, bool training,
                                             float momentum, float eps);

}  // namespace ops

// ---- module 09: one backward node per operation, written in spatial.cpp -------------------------
namespace autograd {

/// inputs: {input, weight, bias} (bias may be undefined). Returns {dX, dW, db}:
///   dW = sum_n dY_n (O, L) @ cols_n^T (L, K)   db = sum over n, y, x of dY
///   dX = col2im(W^T (K, O) @ dY_n (O, L))      with cols = im2col(input), K = C*kh*kw, L = Ho*Wo
struct Conv2dBackward : Node {
  Tensor input, weight;  // saved at forward: im2col(input) is recomputed here, not stored
  bool has_bias;
  std::int64_t stride, padding;
  Conv2dBackward(Tensor x, Tensor w, bool bias, std::int64_t s, std::int64_t p)
      : input(std::move(x)), weight(std::move(w)), has_bias(bias), stride(s), padding(p) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "Conv2dBackward"; }
};

/// inputs: {input}. Each output gradient goes to the one input position that was the max.
struct MaxPool2dBackward : Node {
  Shape input_shape;
  Tensor indices;  // ops::MaxPool2dResult::indices
  MaxPool2dBackward(Shape shape, Tensor idx)
      : input_shape(std::move(shape)), indices(std::move(idx)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "MaxPool2dBackward"; }
};

/// inputs: {input}. Each output gradient is shared equally (1 / kernel_size^2) by its window.
struct AvgPool2dBackward : Node {
  Shape input_shape;
  std::int64_t kernel_size, stride, padding;  // stride already resolved (never 0)
  AvgPool2dBackward(Shape shape, std::int64_t k, std::int64_t s, std::int64_t p)
      : input_shape(std::move(shape)), kernel_size(k), stride(s), padding(p) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "AvgPool2dBackward"; }
};

/// inputs: {input, weight, bias} (weight and bias may be undefined). In training the batch
/// statistics depend on every input, so dX has three terms (see the lesson); in eval mean and
/// invstd are constants and dX = dY * weight * invstd.
struct BatchNorm2dBackward : Node {
  Tensor input, weight, mean, invstd;  // mean, invstd: ops::BatchNorm2dResult's
  bool training;
  BatchNorm2dBackward(Tensor x, Tensor w, Tensor m, Tensor is, bool train)
      : input(std::move(x)),
        weight(std::move(w)),
        mean(std::move(m)),
        invstd(std::move(is)),
        training(train) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "BatchNorm2dBackward"; }
};

}  // namespace autograd

// ---- module 09: the layers, written in spatial.cpp ----------------------------------------------
namespace nn {

/// torch.nn.Conv2d with a square kernel: weight (out, in, k, k) and bias (out), both drawn from
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in * k * k (PyTorch's default init: kaiming
/// uniform with a = sqrt(5)), weight first, each in row-major order from `generator`.
/// Parameters "weight", "bias" (no bias when bias = false).
class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
         std::int64_t stride = 1, std::int64_t padding = 0, bool bias = true,
         Generator& generator = default_generator());
  [[nodiscard]] Tensor forward(const Tensor& input) override;

  std::int64_t in_channels, out_channels, kernel_size, stride, padding;
  Tensor weight;  // (out, in, k, k)
  Tensor bias;    // (out), undefined when bias = false
};

/// torch.nn.MaxPool2d(kernel_size, stride = kernel_size, padding = 0); no parameters.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(std::int64_t kernel_size, std::int64_t stride = 0, std::int64_t padding = 0);
  [[nodiscard]] Tensor forward(const Tensor& input) override;

  std::int64_t kernel_size, stride, padding;  // stride 0 in the constructor becomes kernel_size
};

/// torch.nn.AvgPool2d(kernel_size, stride = kernel_size, padding = 0); no parameters.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(std::int64_t kernel_size, std::int64_t stride = 0, std::int64_t padding = 0);
  [[nodiscard]] Tensor forward(const Tensor& input) override;

  std::int64_t kernel_size, stride, padding;
};

/// torch.nn.BatchNorm2d(channels, eps, momentum): parameters "weight" (ones) and "bias" (zeros),
/// buffers "running_mean" (zeros) and "running_var" (ones), all (channels). forward uses batch
/// statistics and updates the running ones in training mode, and the running ones in eval mode.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(std::int64_t num_features, float eps = 1e-5f, float momentum = 0.1f);
  [[nodiscard]] Tensor forward(const Tensor& input) override;

  std::int64_t num_features;
  float eps, momentum;
  Tensor weight, bias;               // (C), trained
  Tensor running_mean, running_var;  // (C), buffers: saved in checkpoints, not trained
};

}  // namespace nn
}  // namespace tinytorch
