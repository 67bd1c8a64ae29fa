// Module 17 — fill in each TODO. The contract is quantization.hpp: read each function's comment
// there first, and the lesson in README.md for the formulas.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 17` after
// each function: the tests for the functions you have written turn green one by one.
//
// Suggested order: choose_qparams, quantize, dequantize, choose_qparams_per_channel, the two
// observers, requantize, then QuantizedLinear, fold_batchnorm and QuantizedConv2d. The QTensor
// type (qtensor.cpp) and the whole-model conversion (quantized_model.cpp) are given.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "tinytorch/errors.hpp"
#include "tinytorch/kernels/im2row.hpp"
#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/quantization.hpp"

namespace tinytorch::quant {

// ---- choosing scale and zero point
// ---------------------------------------------------------------

QParams choose_qparams(float min_val, float max_val, QDType dtype, bool symmetric) {
  // TODO: the scale and zero point that map [min_val, max_val] onto dtype's integers.
  //   1. Non-finite bounds or min_val > max_val: std::invalid_argument naming both.
  //   2. Widen the range to contain 0: lo = min(min_val, 0), hi = max(max_val, 0). Why: real 0
  //      (zero padding, every ReLU zero) must be an exact integer, the zero point.
  //   3. Asymmetric: scale = (hi - lo) / (qmax - qmin); zero_point = qmin - round(lo / scale)
  //      (std::nearbyint: round half to even), clamped to [qmin, qmax].
  //      Symmetric: scale = max(-lo, hi) / ((qmax - qmin) / 2); zero_point 0 (qint8) or 128
  //      (quint8).
  //   4. A scale below std::numeric_limits<float>::epsilon() becomes that epsilon (all zeros).
  //   Compute in float, as PyTorch does, so your scales match its to the bit.
  (void)min_val;
  (void)max_val;
  (void)dtype;
  (void)symmetric;
  throw NotImplemented("17_precision", "choose_qparams");
}

QParams choose_qparams_per_channel(const Tensor& x, std::int64_t axis, QDType dtype,
                                   bool symmetric) {
  // TODO: one scale and zero point per slice of x along axis.
  //   1. axis outside [0, x.dim()), an empty x or a non-finite value: std::invalid_argument.
  //   2. In a contiguous copy, element i belongs to channel (i / inner) % x.size(axis), where
  //      inner is the product of the sizes after axis. Track each channel's min and max.
  //   3. choose_qparams per channel; set axis in the result. Why per channel: one output channel
  //      with large weights would otherwise coarsen the grid of every other channel.
  (void)x;
  (void)axis;
  (void)dtype;
  (void)symmetric;
  throw NotImplemented("17_precision", "choose_qparams_per_channel");
}

// ---- quantize and dequantize
// -----------------------------------------------------------------------

QTensor quantize(const Tensor& x, const QParams& params) {
  // TODO: q = clamp(round(x * (1 / scale)) + zero_point, qmin, qmax) per element.
  //   1. An empty x, or a NaN / infinite element (name its index): std::invalid_argument.
  //   2. QTensor q(x.shape(), params) checks the params against the shape for you.
  //   3. Per channel, element i uses the scale and zero point of channel (i / inner) % size.
  //   4. Round with std::nearbyint (half to even, as torch), and clamp BEFORE converting to an
  //      integer: 1e30 / scale does not fit any integer type.
  //   5. Write into q.int8_data() or q.uint8_data() according to params.dtype.
  (void)x;
  (void)params;
  throw NotImplemented("17_precision", "quantize");
}

Tensor dequantize(const QTensor& q) {
  // TODO: real = (q - zero_point) * scale per element (per channel as in quantize), into a new
  // float Tensor of q's shape. q.int_at(i) reads either dtype as int32.
  (void)q;
  throw NotImplemented("17_precision", "dequantize");
}

// ---- calibration
// -----------------------------------------------------------------------------------

MinMaxObserver::MinMaxObserver(QDType dtype, bool symmetric)
    : dtype_(dtype), symmetric_(symmetric) {}

void MinMaxObserver::observe(const Tensor& x) {
  // TODO: widen [min_, max_] to cover x (the first batch sets both; mark seen_). An empty x or a
  // non-finite value: std::invalid_argument.
  (void)x;
  throw NotImplemented("17_precision", "MinMaxObserver::observe");
}

QParams MinMaxObserver::qparams() const {
  // TODO: std::logic_error when nothing was observed; else choose_qparams over [min_, max_].
  throw NotImplemented("17_precision", "MinMaxObserver::qparams");
}

PercentileObserver::PercentileObserver(double percentile, QDType dtype, bool symmetric)
    : percentile_(percentile), dtype_(dtype), symmetric_(symmetric) {
  // TODO: percentile outside (50, 100]: std::invalid_argument naming it.
  throw NotImplemented("17_precision", "PercentileObserver::PercentileObserver");
}

void PercentileObserver::observe(const Tensor& x) {
  // TODO: check x as MinMaxObserver::observe does, then keep every value in values_.
  (void)x;
  throw NotImplemented("17_precision", "PercentileObserver::observe");
}

std::pair<float, float> PercentileObserver::range() const {
  // TODO: [P(100 - percentile_), P(percentile_)] of the sorted values, with P interpolated
  // linearly between ranks (see the header). std::logic_error when nothing was observed.
  throw NotImplemented("17_precision", "PercentileObserver::range");
}

QParams PercentileObserver::qparams() const {
  // TODO: choose_qparams over range().
  throw NotImplemented("17_precision", "PercentileObserver::qparams");
}

// ---- integer layers
// --------------------------------------------------------------------------------

std::uint8_t requantize(std::int32_t acc, float multiplier, std::int32_t zero_point,
                        std::int32_t low) {
  // TODO: clamp(zero_point + round(acc * multiplier), low, 255), rounding half to even.
  (void)acc;
  (void)multiplier;
  (void)zero_point;
  (void)low;
  throw NotImplemented("17_precision", "requantize");
}

QuantizedLinear QuantizedLinear::from_float(const nn::Linear& layer, const QParams& input,
                                            const QParams& output, bool relu) {
  // TODO: the integer layer.
  //   1. input and output must be per-tensor quint8 params: else std::invalid_argument.
  //   2. weight = quantize(layer.weight, per-channel symmetric qint8 params along axis 0).
  //   3. weight_sums[j] = sum_k w_jk (int32); bias[j] = round(layer.bias[j] / (s_x * s_j)), or
  //      zeros when the layer has no bias (layer.bias.defined() is false).
  //   4. Keep the params and relu; pack the weight once:
  //      packed = kernels::QGemmPackedB(weight.int8_data(), out_features, in_features, in_features)
  (void)layer;
  (void)input;
  (void)output;
  (void)relu;
  throw NotImplemented("17_precision", "QuantizedLinear::from_float");
}

QTensor QuantizedLinear::forward(const QTensor& x) const {
  // TODO: x (N, in) quint8 -> (N, out) quint8.
  //   1. Another shape, or params other than input_params: std::invalid_argument.
  //   2. acc (N, out) int32 = kernels::qgemm_u8s8s32(N, x.uint8_data(), in, packed, acc, out).
  //   3. acc_ij -= z_x * weight_sums[j]; acc_ij += bias[j]. Why: the GEMM multiplied the raw
  //      integers x_k, but the real input is s_x (x_k - z_x).
  //   4. y_ij = requantize(acc_ij, s_x * s_j / s_out, z_out, relu ? z_out : 0).
  (void)x;
  throw NotImplemented("17_precision", "QuantizedLinear::forward");
}

ConvWeights fold_batchnorm(const nn::Conv2d& conv, const nn::BatchNorm2d& bn) {
  // TODO: m_c = gamma_c / sqrt(running_var_c + eps); weight'_c = weight_c * m_c;
  // bias'_c = (bias_c - running_mean_c) * m_c + beta_c (bias_c = 0 without a bias). New tensors
  // (clone the weight): the layers must not change. Channel counts that differ:
  // std::invalid_argument.
  (void)conv;
  (void)bn;
  throw NotImplemented("17_precision", "fold_batchnorm");
}

QuantizedConv2d QuantizedConv2d::from_float(const nn::Conv2d& layer, const QParams& input,
                                            const QParams& output, bool relu) {
  // TODO: from_weights with the layer's weight, bias, stride and padding.
  (void)layer;
  (void)input;
  (void)output;
  (void)relu;
  throw NotImplemented("17_precision", "QuantizedConv2d::from_float");
}

QuantizedConv2d QuantizedConv2d::from_weights(const Tensor& weight, const Tensor& bias,
                                              std::int64_t stride, std::int64_t padding,
                                              const QParams& input, const QParams& output,
                                              bool relu) {
  // TODO: as QuantizedLinear::from_float, with the weight (O, C, k, k) seen as (O, C * k * k):
  // check the shape (4 dimensions, square kernel) and the params, quantize per output channel,
  // integer bias and row sums, and pack (O rows of C * k * k).
  (void)weight;
  (void)bias;
  (void)stride;
  (void)padding;
  (void)input;
  (void)output;
  (void)relu;
  throw NotImplemented("17_precision", "QuantizedConv2d::from_weights");
}

QTensor QuantizedConv2d::forward(const QTensor& x) const {
  // TODO: x (N, C, H, W) quint8 -> (N, O, Ho, Wo) quint8, one image at a time:
  //   1. Check C and the params as QuantizedLinear::forward does.
  //   2. rows (Ho * Wo, C * k * k) = kernels::im2row_u8(image, ..., pad_value, rows). The pad
  //      value is the input's zero point: the quantized integer of real 0, NOT 0.
  //   3. acc (Ho * Wo, O) = kernels::qgemm_u8s8s32(Ho * Wo, rows, C * k * k, packed, acc, O).
  //   4. Correct and requantize each acc as in QuantizedLinear, writing output channel o of
  //      pixel p to y[n][o][p]: the GEMM's (pixels, O) becomes (O, pixels).
  //   kernels::parallel_for over the images makes it fast; get it right first.
  (void)x;
  throw NotImplemented("17_precision", "QuantizedConv2d::forward");
}

}  // namespace tinytorch::quant
