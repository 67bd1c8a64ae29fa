#pragma once
// Module 17: precision. int8 quantization: a float32 model stored and run as 8-bit integers, four
// times smaller and several times faster, at almost the same accuracy. The contract for
// quantization.cpp:
//     QParams p = choose_qparams(-1.0f, 3.0f, QDType::quint8, /*symmetric=*/false);
//     QTensor q = quantize(x, p);                 // x float -> q uint8, with p's scale / zero
//     point Tensor back = dequantize(q);                // back ~= x, within scale / 2 inside the
//     range auto layer = QuantizedLinear::from_float(linear, input_params, output_params,
//     /*relu=*/true); QTensor y = layer.forward(q_input);         // uint8 in, int32 accumulation,
//     uint8 out
//
// The affine map, as PyTorch's:   real = scale * (q - zero_point)
//                                 q    = clamp(round_half_even(real / scale) + zero_point, qmin,
//                                 qmax)
// QDType::qint8 is [-128, 127], QDType::quint8 is [0, 255]. Weights are qint8, symmetric (zero
// point 0), one scale per output channel; activations are quint8, asymmetric, one scale per tensor
// (PyTorch's fbgemm convention, and the one the int8 GEMM of kernels/qgemm.hpp multiplies).
#include <cstdint>
#include <memory>
#include <vector>

#include "tinytorch/kernels/qgemm.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/spatial.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch::quant {

enum class QDType { qint8, quint8 };

/// The integer range of a dtype: qint8 [-128, 127], quint8 [0, 255].
[[nodiscard]] constexpr std::int32_t qmin(QDType dtype) {
  return dtype == QDType::qint8 ? -128 : 0;
}
[[nodiscard]] constexpr std::int32_t qmax(QDType dtype) {
  return dtype == QDType::qint8 ? 127 : 255;
}

/// Scales and zero points: one of each per tensor (axis = -1), or one per slice along `axis` (per
/// channel: a weight's output channels, axis 0).
struct QParams {
  std::vector<float> scale;
  std::vector<std::int32_t> zero_point;
  std::int64_t axis = -1;
  QDType dtype = QDType::quint8;

  [[nodiscard]] bool per_channel() const { return axis >= 0; }
};

/// Framework-owned (qtensor.cpp): an int8 or uint8 tensor with its QParams. Its own storage, one
/// byte per element, contiguous row-major: the float Tensor is untouched by quantization.
/// The constructor checks the parameters and throws std::invalid_argument naming the fault: a
/// scale that is zero, negative or not finite; a zero point outside [qmin, qmax]; per channel, an
/// axis outside the shape or a count of scales other than shape[axis].
class QTensor {
 public:
  QTensor() = default;
  /// Zero-filled integers of the given shape.
  QTensor(Shape shape, QParams params);

  [[nodiscard]] const Shape& shape() const { return shape_; }
  [[nodiscard]] std::int64_t numel() const { return static_cast<std::int64_t>(bytes_.size()); }
  [[nodiscard]] const QParams& qparams() const { return params_; }
  [[nodiscard]] QDType dtype() const { return params_.dtype; }
  /// The integers; int8_data() needs qint8, uint8_data() needs quint8 (else std::logic_error).
  [[nodiscard]] std::int8_t* int8_data();
  [[nodiscard]] const std::int8_t* int8_data() const;
  [[nodiscard]] std::uint8_t* uint8_data();
  [[nodiscard]] const std::uint8_t* uint8_data() const;
  /// Integer i as int32 (either dtype), as torch.Tensor.int_repr()[i] of the flattened tensor.
  [[nodiscard]] std::int32_t int_at(std::int64_t i) const;
  /// The same integers under another shape with as many elements (a per-tensor QTensor only).
  [[nodiscard]] QTensor reshape(Shape shape) const;
  /// Storage in bytes (the integers; the scales are a few more floats).
  [[nodiscard]] std::int64_t nbytes() const { return numel(); }

 private:
  Shape shape_;
  QParams params_;
  std::vector<std::uint8_t> bytes_;
};

// ---- choosing scale and zero point
// ---------------------------------------------------------------

/// The QParams that map [min_val, max_val] onto dtype's integers, as PyTorch's observers
/// (torch.ao.quantization.MinMaxObserver._calculate_qparams):
///   the range is first widened to contain 0 (0 must be exactly representable: zero padding and
///   ReLU's zeros must stay exact);
///   asymmetric: scale = (max - min) / (qmax - qmin), zero_point = qmin - round(min / scale),
///               clamped to [qmin, qmax];
///   symmetric:  scale = max(|min|, max) / ((qmax - qmin) / 2), zero_point = 0 for qint8 and
///               128 for quint8;
///   a scale below float epsilon (an all-zero range) becomes float epsilon (1.1920929e-07).
/// min_val > max_val, or either not finite: std::invalid_argument naming both.
[[nodiscard]] QParams choose_qparams(float min_val, float max_val, QDType dtype, bool symmetric);

/// One QParams entry per slice of x along axis (per output channel for axis 0), each from the
/// slice's own min and max as choose_qparams. Empty x, non-finite values or axis outside x's
/// dimensions: std::invalid_argument.
[[nodiscard]] QParams choose_qparams_per_channel(const Tensor& x, std::int64_t axis, QDType dtype,
                                                 bool symmetric);

// ---- quantize and dequantize
// -----------------------------------------------------------------------

/// q = clamp(round_half_even(x * (1 / scale)) + zero_point, qmin, qmax) for every element, with
/// the scale and zero point of the element's channel when params is per channel, as
/// torch.quantize_per_tensor / torch.quantize_per_channel (which multiply by the float 1.0f / scale
/// rather than divide; the two can differ in the last bit). x may be non-contiguous.
/// An empty x, a NaN or infinite element (named by its index), or params that do not fit x's
/// shape: std::invalid_argument.
[[nodiscard]] QTensor quantize(const Tensor& x, const QParams& params);

/// real = scale * (q - zero_point) for every element: a new float Tensor of q's shape.
[[nodiscard]] Tensor dequantize(const QTensor& q);

// ---- calibration: which range should the activations be quantized over?
// --------------------------

/// Tracks the smallest and largest value over every observed batch (torch's MinMaxObserver).
class MinMaxObserver {
 public:
  explicit MinMaxObserver(QDType dtype = QDType::quint8, bool symmetric = false);
  /// Widens the range to cover x. Empty x or non-finite values: std::invalid_argument.
  void observe(const Tensor& x);
  /// choose_qparams over the range seen so far; nothing observed yet: std::logic_error.
  [[nodiscard]] QParams qparams() const;
  [[nodiscard]] float min() const { return min_; }
  [[nodiscard]] float max() const { return max_; }

 private:
  QDType dtype_;
  bool symmetric_;
  bool seen_ = false;
  float min_ = 0.0f;
  float max_ = 0.0f;
};

/// Clips the range to percentiles of the observed values instead of their extremes: one outlier
/// in a million no longer stretches the scale for everyone else. Keeps every observed value; the
/// range is [P(100 - percentile), P(percentile)] with P the linearly interpolated percentile of
/// the sorted values (numpy.percentile's default): for sorted v of n values, P(p) at rank
/// r = p / 100 * (n - 1) is v[floor(r)] + (r - floor(r)) * (v[floor(r) + 1] - v[floor(r)]).
class PercentileObserver {
 public:
  /// percentile in (50, 100]; 100 gives the min/max range. Else std::invalid_argument.
  explicit PercentileObserver(double percentile = 99.99, QDType dtype = QDType::quint8,
                              bool symmetric = false);
  void observe(const Tensor& x);  // as MinMaxObserver::observe
  [[nodiscard]] QParams qparams() const;
  /// The clipped range [low, high] (before choose_qparams widens it to contain 0).
  [[nodiscard]] std::pair<float, float> range() const;

 private:
  double percentile_;
  QDType dtype_;
  bool symmetric_;
  std::vector<float> values_;
};

// ---- integer layers
// --------------------------------------------------------------------------------

/// The output integer of a quantized layer from its int32 accumulator:
///   q = clamp(zero_point + round_half_even(acc * multiplier), low, 255)
/// where multiplier = input_scale * weight_scale / output_scale, and low is 0, or zero_point when
/// the layer's ReLU is fused (a real value below 0 maps below the zero point).
[[nodiscard]] std::uint8_t requantize(std::int32_t acc, float multiplier, std::int32_t zero_point,
                                      std::int32_t low);

/// nn::Linear run in integers: uint8 activations times int8 weights, int32 sums, requantized to
/// uint8. For input x (quint8, scale s_x, zero point z_x) and weight row j (qint8, scale s_j):
///   acc_j = sum_k (x_k - z_x) w_jk + bias_q_j
///         = sum_k x_k w_jk  -  z_x * sum_k w_jk  +  bias_q_j        (the GEMM does the first term)
///   bias_q_j = round(bias_j / (s_x * s_j))                          (int32, the accumulator's
///   scale) y_j = requantize(acc_j, s_x * s_j / s_out, z_out, relu ? z_out : 0)
class QuantizedLinear {
 public:
  /// From a trained layer: weight quantized per output channel, symmetric qint8; bias to int32.
  /// input and output are per-tensor quint8 QParams from calibration; relu fuses a following ReLU.
  /// Non-per-tensor or non-quint8 input/output params: std::invalid_argument.
  [[nodiscard]] static QuantizedLinear from_float(const nn::Linear& layer, const QParams& input,
                                                  const QParams& output, bool relu = false);
  /// x (N, in_features) quint8 with the input params -> (N, out_features) quint8 with the output
  /// params. Another shape or other params than the layer was built for: std::invalid_argument.
  [[nodiscard]] QTensor forward(const QTensor& x) const;

  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  QTensor weight;                         // (out, in) qint8, per channel along axis 0
  std::vector<std::int32_t> bias;         // (out) int32 at scale s_x * s_j (zeros without bias)
  std::vector<std::int32_t> weight_sums;  // (out): sum_k w_jk, for the zero-point term
  QParams input_params, output_params;
  bool relu = false;
  kernels::QGemmPackedB packed;  // the weight, packed once for kernels::qgemm_u8s8s32
};

/// A convolution's weight (O, C, k, k) and bias (O), as fold_batchnorm returns them.
struct ConvWeights {
  Tensor weight;
  Tensor bias;
};

/// Folds a BatchNorm2d in eval mode into the convolution before it (inference only):
///   m_c = gamma_c / sqrt(running_var_c + eps)
///   weight'_c = weight_c * m_c,   bias'_c = (bias_c - running_mean_c) * m_c + beta_c
/// (bias_c = 0 for a convolution without bias). New tensors; the layers are unchanged. Channel
/// counts that differ: std::invalid_argument naming both.
[[nodiscard]] ConvWeights fold_batchnorm(const nn::Conv2d& conv, const nn::BatchNorm2d& bn);

/// nn::Conv2d run in integers, as QuantizedLinear on the im2row matrix: each output pixel's
/// receptive field (C * k * k uint8 values; padding filled with the input's zero point, which is
/// real 0) is one row, each output channel one weight row.
class QuantizedConv2d {
 public:
  [[nodiscard]] static QuantizedConv2d from_float(const nn::Conv2d& layer, const QParams& input,
                                                  const QParams& output, bool relu = false);
  /// The same from a weight (O, C, k, k) and bias (O; undefined for none), e.g. fold_batchnorm's.
  [[nodiscard]] static QuantizedConv2d from_weights(const Tensor& weight, const Tensor& bias,
                                                    std::int64_t stride, std::int64_t padding,
                                                    const QParams& input, const QParams& output,
                                                    bool relu = false);
  /// x (N, C, H, W) quint8 -> (N, O, Ho, Wo) quint8. Another channel count or other params than
  /// the layer was built for: std::invalid_argument.
  [[nodiscard]] QTensor forward(const QTensor& x) const;

  std::int64_t in_channels = 0, out_channels = 0, kernel_size = 0, stride = 1, padding = 0;
  QTensor weight;  // (O, C, k, k) qint8, per channel along axis 0
  std::vector<std::int32_t> bias;
  std::vector<std::int32_t> weight_sums;
  QParams input_params, output_params;
  bool relu = false;
  kernels::QGemmPackedB packed;  // the weight as (O, C * k * k)
};

}  // namespace tinytorch::quant
