// Module 09 — fill in each TODO. The contract is spatial.hpp: read each declaration's comment there
// first, and the lesson (README.md) for the formulas.
//
// Every body below throws NotImplemented until you replace it. Suggested order: conv_output_size,
// ops::conv2d, Conv2dBackward, nn::Conv2d, then the pools, then batch norm. Run `tito module test
// 09` after each one: its tests turn green one by one.
//
// Speed matters here: milestone 'cifar10' trains 50,000 images with this code. Read data through
// raw pointers of contiguous tensors (call contiguous() first, then data_ptr()), never Tensor::at()
// in an inner loop, and let kernels::sgemm do the multiply-adds.
#include "tinytorch/spatial.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/errors.hpp"
#include "tinytorch/kernels/gemm.hpp"      // kernels::sgemm: C = alpha op(A) op(B) + beta C
#include "tinytorch/kernels/im2col.hpp"    // kernels::im2col / col2im and ConvGeometry
#include "tinytorch/kernels/parallel.hpp"  // kernels::parallel_for, for the pooling loops

namespace tinytorch {

std::int64_t conv_output_size(std::int64_t size, std::int64_t kernel, std::int64_t stride,
                              std::int64_t padding) {
  // TODO: How many positions does a window of `kernel` take along a line of `size` values padded
  //   with `padding` on both ends, moving `stride` at a time?
  //   - Draw it for size 5, kernel 3, stride 2, padding 1: the padded line has 7 cells; the
  //     window starts at 0, 2, 4. Turn that count into a formula (integer division floors).
  //   - Validate first and throw std::invalid_argument with the numbers in the message: kernel
  //     and stride must be at least 1, padding at least 0, and the kernel must fit in the padded
  //     line. Every other function of this module will call this one, so its checks protect all.
  (void)size, (void)kernel, (void)stride, (void)padding;
  throw NotImplemented("09_spatial", "conv_output_size");
}

namespace ops {

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, std::int64_t stride,
              std::int64_t padding) {
  // TODO: The convolution, by im2col + one matrix multiply (README, "From seven loops to one
  //   GEMM").
  //   1. Check the arguments (std::invalid_argument, naming the shapes): input 4-d (N, C, H, W);
  //      weight 4-d (O, C, kh, kw) with the same C; bias undefined or of shape (O); stride >= 1.
  //      Get Ho and Wo from conv_output_size (its checks cover the kernel size and padding).
  //   2. Take contiguous versions of input and weight, and make the output with empty({N, O, Ho,
  //      Wo}).
  //   3. Describe one image to the kernel layer: kernels::ConvGeometry g{C, H, W, kh, kw, stride,
  //      padding}. g.col_rows() is K = C*kh*kw and g.out_pixels() is L = Ho*Wo.
  //   4. Process the batch in chunks of b images (b chosen so that the columns, K * b*L floats,
  //      stay within a few tens of megabytes whatever N is). For each chunk:
  //        kernels::im2col(first image of the chunk, b, g, cols)        cols: (K, b*L)
  //        kernels::sgemm(false, false, O, b*L, K, 1, W, K, cols, b*L, 0, Y, b*L)   Y: (O, b*L)
  //      Y holds image n's output channel o at Y[o * b*L + n*L ...]: copy each of those runs of L
  //      floats to out[n][o] (NCHW), adding bias[o] as you copy.
  //   - Buffers: std::vector<float> is fine; if you want more speed, reuse them between calls.
  //   - First write it with seven loops if you like (it is the test's oracle too), then replace it.
  (void)input, (void)weight, (void)bias, (void)stride, (void)padding;
  throw NotImplemented("09_spatial", "ops::conv2d");
}

MaxPool2dResult max_pool2d(const Tensor& input, std::int64_t kernel_size, std::int64_t stride,
                           std::int64_t padding) {
  // TODO: The max of every window, and where it was.
  //   - Check: input 4-d; kernel_size >= 1, stride >= 0, padding >= 0 and padding <= kernel_size/2
  //     (std::invalid_argument). stride 0 means stride = kernel_size.
  //   - Each (n, c) plane of H*W floats is independent: loop over the N*C planes (this loop is a
  //     good one for kernels::parallel_for(0, planes, grain, [&](lo, hi) { ... })).
  //   - Window (oy, ox) covers rows oy*stride - padding ... + kernel_size - 1 (and the same for
  //     columns). Padding is -infinity, so simply clip the window to [0, H) x [0, W) and search
  //     what is left. Start from the window's first valid element and replace it only on a
  //     strictly larger value: ties keep the first, as PyTorch does.
  //   - Store the value in output and the flat position y*W + x inside the plane in indices (as a
  //     float): backward needs nothing else.
  (void)input, (void)kernel_size, (void)stride, (void)padding;
  throw NotImplemented("09_spatial", "ops::max_pool2d");
}

Tensor avg_pool2d(const Tensor& input, std::int64_t kernel_size, std::int64_t stride,
                  std::int64_t padding) {
  // TODO: The mean of every window. Same checks, sizes and plane loop as max_pool2d.
  //   - Sum the window clipped to the input (padding contributes zeros) and divide by
  //     kernel_size * kernel_size, not by the number of elements you summed: PyTorch's default
  //     count_include_pad = true counts the padding in the mean.
  (void)input, (void)kernel_size, (void)stride, (void)padding;
  throw NotImplemented("09_spatial", "ops::avg_pool2d");
}

BatchNorm2dResult batch_norm2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                               const Tensor& running_mean, const Tensor& running_var, bool training,
                               float momentum, float eps) {
  // TODO: Normalise each channel, then scale and shift it (README, "Batch normalisation").
  //   - Check: input 4-d; weight, bias, running_mean, running_var undefined or of shape (C);
  //     weight and bias both defined or both undefined; in training M = N*H*W > 1; in eval the
  //     running statistics must be defined (all std::invalid_argument).
  //   - Channel c's values are N runs of H*W floats: x[n][c] for n = 0..N-1.
  //   - training: mean_c = sum / M, then var_c = sum((x - mean_c)^2) / M (two passes: the one-pass
  //     E[x^2] - E[x]^2 cancels badly). Sum in double: M is large. If the running statistics are
  //     defined, update them IN PLACE (their data_ptr()):
  //         running_mean = (1 - momentum) * running_mean + momentum * mean_c
  //         running_var  = (1 - momentum) * running_var  + momentum * var_c * M / (M - 1)
  //     (the running variance is the unbiased one, as in PyTorch).
  //   - eval: mean_c and var_c are the running statistics; nothing is updated.
  //   - invstd_c = 1 / sqrt(var_c + eps); y = (x - mean_c) * invstd_c * weight_c + bias_c
  //     (weight 1 and bias 0 when undefined). Fold it into y = x * scale_c + shift_c: one
  //     multiply-add per element.
  //   - Return {output, mean (C), invstd (C)}: the backward node receives the last two.
  (void)input, (void)weight, (void)bias, (void)running_mean, (void)running_var, (void)training,
      (void)momentum, (void)eps;
  throw NotImplemented("09_spatial", "ops::batch_norm2d");
}

}  // namespace ops

namespace autograd {

std::vector<Tensor> Conv2dBackward::backward(const Tensor& grad_output) {
  // TODO: Return {dX, dW, db} for dY = grad_output (N, O, Ho, Wo) (README, "Convolution
  //   backward"). Y = W @ cols, so, chunk by chunk, with dYt the chunk's dY laid out as (O, b*L)
  //   (the layout your forward's Y had: copy runs of L floats):
  //       db += the sum of each row of dYt                                 (O)
  //       dW += dYt (O, b*L) @ cols^T (b*L, K)      sgemm with trans_b, beta = 1 to accumulate
  //       dcols = W^T (K, O) @ dYt (O, b*L)         sgemm with trans_a
  //       dX[chunk] = kernels::col2im(dcols)        col2im ADDS into dX: start from zeros
  //   - cols = im2col(input) is recomputed here from the saved input (storing it at forward time
  //     would cost K*L floats per image for every layer).
  //   - Only compute what is needed: input i needs a gradient when inputs[i] is defined and
  //     requires_grad() (a node called directly, with no inputs recorded, computes all). The first
  //     layer's input is data: skipping its dX skips the most expensive col2im. Return an
  //     undefined Tensor() for a gradient you skip, and for db when has_bias is false.
  (void)grad_output;
  throw NotImplemented("09_spatial", "Conv2dBackward::backward");
}

std::vector<Tensor> MaxPool2dBackward::backward(const Tensor& grad_output) {
  // TODO: Only the max of a window affected the output, so dY flows to it alone: start from
  //   zeros(input_shape) and, for every output element of plane p, add dY to dX's plane p at the
  //   saved index. Windows may overlap and share a max: add, do not assign. Return {dX}.
  (void)grad_output;
  throw NotImplemented("09_spatial", "MaxPool2dBackward::backward");
}

std::vector<Tensor> AvgPool2dBackward::backward(const Tensor& grad_output) {
  // TODO: Each output was (sum of its window) / kernel_size^2, so each input position of the
  //   window (clipped to the input, as in forward) receives dY / kernel_size^2. Accumulate into
  //   zeros(input_shape): windows overlap when stride < kernel_size. Return {dX}.
  (void)grad_output;
  throw NotImplemented("09_spatial", "AvgPool2dBackward::backward");
}

std::vector<Tensor> BatchNorm2dBackward::backward(const Tensor& grad_output) {
  // TODO: Return {dX, dWeight, dBias} (README, "Batch normalisation backward"). Per channel c, over
  //   its M = N*H*W values, with xhat = (x - mean_c) * invstd_c:
  //       dBias_c   = sum(dy)
  //       dWeight_c = sum(dy * xhat)
  //       training: dx = weight_c * invstd_c / M * (M * dy - sum(dy) - xhat * sum(dy * xhat))
  //                 (term 1: through xhat directly; term 2: through the mean; term 3: through
  //                 the variance. The README derives all three.)
  //       eval:     dx = dy * weight_c * invstd_c   (the statistics were constants)
  //   - weight undefined means weight_c = 1 and no dWeight / dBias (return undefined tensors).
  //   - Two passes: the two sums per channel first, then dx element by element.
  (void)grad_output;
  throw NotImplemented("09_spatial", "BatchNorm2dBackward::backward");
}

}  // namespace autograd

namespace nn {

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
               std::int64_t stride, std::int64_t padding, bool bias, Generator& generator) {
  // TODO: Store the hyper-parameters (validate them: std::invalid_argument for channels or
  //   kernel_size or stride below 1, padding below 0), then register
  //   "weight" (out, in, k, k) and, when bias, "bias" (out).
  //   - PyTorch's default init draws both from U(-bound, bound) with bound = 1 / sqrt(fan_in),
  //     fan_in = in_channels * k * k: your Linear from module 04 did the same with fan_in = in.
  //     Draw the weight first, then the bias, in row-major order from `generator`, each value as
  //     (2 * generator.uniform() - 1) * bound.
  (void)in_channels, (void)out_channels, (void)kernel_size, (void)stride, (void)padding, (void)bias,
      (void)generator;
  throw NotImplemented("09_spatial", "Conv2d::Conv2d");
}

Tensor Conv2d::forward(const Tensor& input) {
  // TODO: One call: the differentiable conv2d (not ops::conv2d, which records no graph).
  (void)input;
  throw NotImplemented("09_spatial", "Conv2d::forward");
}

MaxPool2d::MaxPool2d(std::int64_t kernel_size, std::int64_t stride, std::int64_t padding) {
  // TODO: Store the three numbers (stride 0 becomes kernel_size) and validate them like
  //   ops::max_pool2d does, so a bad layer fails when it is built, not in the middle of training.
  (void)kernel_size, (void)stride, (void)padding;
  throw NotImplemented("09_spatial", "MaxPool2d::MaxPool2d");
}

Tensor MaxPool2d::forward(const Tensor& input) {
  // TODO: One call to the differentiable max_pool2d.
  (void)input;
  throw NotImplemented("09_spatial", "MaxPool2d::forward");
}

AvgPool2d::AvgPool2d(std::int64_t kernel_size, std::int64_t stride, std::int64_t padding) {
  // TODO: As MaxPool2d's constructor.
  (void)kernel_size, (void)stride, (void)padding;
  throw NotImplemented("09_spatial", "AvgPool2d::AvgPool2d");
}

Tensor AvgPool2d::forward(const Tensor& input) {
  // TODO: One call to the differentiable avg_pool2d.
  (void)input;
  throw NotImplemented("09_spatial", "AvgPool2d::forward");
}

BatchNorm2d::BatchNorm2d(std::int64_t num_features, float eps, float momentum) {
  // TODO: Store the numbers (num_features >= 1, else std::invalid_argument) and register, in this
  //   order, parameters "weight" = ones and "bias" = zeros, then buffers (register_buffer: saved,
  //   not trained) "running_mean" = zeros and "running_var" = ones, all of shape (num_features).
  (void)num_features, (void)eps, (void)momentum;
  throw NotImplemented("09_spatial", "BatchNorm2d::BatchNorm2d");
}

Tensor BatchNorm2d::forward(const Tensor& input) {
  // TODO: The differentiable batch_norm2d with this layer's tensors; is_training() decides
  //   between batch statistics (and updating the buffers) and the running statistics.
  (void)input;
  throw NotImplemented("09_spatial", "BatchNorm2d::forward");
}

}  // namespace nn
}  // namespace tinytorch
