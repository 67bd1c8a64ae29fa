// Module 17 — reference solution.
#include "tinytorch/quantization.hpp"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "tinytorch/kernels/im2row.hpp"
#include "tinytorch/kernels/parallel.hpp"

namespace tinytorch::quant {

namespace {

// PyTorch's observer epsilon: torch.finfo(torch.float32).eps.
constexpr float kEps = std::numeric_limits<float>::epsilon();

void check_values(const Tensor& x, const char* where) {
  if (x.numel() == 0) {
    throw std::invalid_argument(std::string(where) + ": the tensor is empty (shape " +
                                shape_to_string(x.shape()) + "): there is no range to quantize");
  }
  const Tensor c = x.contiguous();
  const float* v = c.data_ptr();
  for (std::int64_t i = 0; i < c.numel(); ++i) {
    if (!std::isfinite(v[i])) {
      throw std::invalid_argument(std::string(where) + ": element " + std::to_string(i) + " is " +
                                  std::to_string(v[i]) + ": only finite values can be quantized");
    }
  }
}

// Elements per step of `axis` in a contiguous tensor of this shape.
std::int64_t inner_size(const Shape& shape, std::int64_t axis) {
  std::int64_t inner = 1;
  for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  return inner;
}

void check_activation_params(const QParams& p, const char* what) {
  if (p.per_channel() || p.dtype != QDType::quint8 || p.scale.size() != 1 ||
      p.zero_point.size() != 1) {
    throw std::invalid_argument(std::string(what) +
                                ": activations are quantized per tensor to quint8 (one scale and "
                                "one zero point)");
  }
}

void check_same_params(const QParams& got, const QParams& want, const char* what) {
  if (got.dtype != want.dtype || got.per_channel() || got.scale != want.scale ||
      got.zero_point != want.zero_point) {
    throw std::invalid_argument(
        std::string(what) + ": the input is quantized with scale " +
        (got.scale.empty() ? std::string("?") : std::to_string(got.scale[0])) + ", zero point " +
        (got.zero_point.empty() ? std::string("?") : std::to_string(got.zero_point[0])) +
        " but the layer was calibrated for scale " + std::to_string(want.scale[0]) +
        ", zero point " + std::to_string(want.zero_point[0]) +
        ": quantize the input with the layer's input_params");
  }
}

// Per output channel j of a weight (O, K) stored row-major: int32 bias at scale s_x * s_j and
// the row sums used to subtract the input zero point.
void integer_bias_and_sums(const QTensor& w, const Tensor& bias, float input_scale,
                           std::vector<std::int32_t>& bias_q, std::vector<std::int32_t>& sums) {
  const std::int64_t out = w.shape()[0];
  const std::int64_t k = w.numel() / std::max<std::int64_t>(out, 1);
  bias_q.assign(static_cast<std::size_t>(out), 0);
  sums.assign(static_cast<std::size_t>(out), 0);
  const Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  for (std::int64_t j = 0; j < out; ++j) {
    std::int32_t s = 0;
    for (std::int64_t p = 0; p < k; ++p) s += w.int8_data()[j * k + p];
    sums[j] = s;
    if (b.defined()) {
      const double acc_scale = static_cast<double>(input_scale) * w.qparams().scale[j];
      bias_q[j] = static_cast<std::int32_t>(std::nearbyint(b.data_ptr()[j] / acc_scale));
    }
  }
}

// clamp(zero_point + round(acc * multiplier), low, 255): requantize's arithmetic, inline so that
// the loops over a layer's outputs vectorize.
inline std::uint8_t requantize_value(std::int32_t acc, float multiplier, float zero_point,
                                     float low) {
  const float r = std::nearbyint(static_cast<float>(acc) * multiplier) + zero_point;
  return static_cast<std::uint8_t>(std::clamp(r, low, 255.0f));
}

// One output row (out values) from the GEMM's int32 sums: subtract the zero-point term, add the
// bias, requantize. __restrict: y is a uint8_t*, which may alias anything as far as the compiler
// knows; promising it does not lets the loop vectorize.
void requantize_row(const std::int32_t* __restrict acc, std::int64_t out, std::int32_t input_zero,
                    const std::int32_t* __restrict sums, const std::int32_t* __restrict bias,
                    const float* __restrict multipliers, std::int32_t out_zero, std::int32_t low,
                    std::uint8_t* __restrict y) {
  const auto zero = static_cast<float>(out_zero);
  const auto floor = static_cast<float>(low);
  for (std::int64_t j = 0; j < out; ++j) {
    const std::int32_t a = acc[j] - input_zero * sums[j] + bias[j];
    y[j] = requantize_value(a, multipliers[j], zero, floor);
  }
}

std::vector<float> multipliers(const QParams& input, const QTensor& weight, const QParams& output) {
  std::vector<float> m(weight.qparams().scale.size());
  for (std::size_t j = 0; j < m.size(); ++j) {
    m[j] = input.scale[0] * weight.qparams().scale[j] / output.scale[0];
  }
  return m;
}

}  // namespace

// ---- choosing scale and zero point
// ---------------------------------------------------------------

QParams choose_qparams(float min_val, float max_val, QDType dtype, bool symmetric) {
  if (!std::isfinite(min_val) || !std::isfinite(max_val) || min_val > max_val) {
    throw std::invalid_argument("choose_qparams: need finite min <= max, got min " +
                                std::to_string(min_val) + ", max " + std::to_string(max_val));
  }
  const float lo = std::min(min_val, 0.0f);  // 0 must be exactly representable
  const float hi = std::max(max_val, 0.0f);
  const auto qlo = static_cast<float>(qmin(dtype));
  const auto qhi = static_cast<float>(qmax(dtype));
  QParams p;
  p.dtype = dtype;
  if (symmetric) {
    const float scale = std::max(std::max(-lo, hi) / ((qhi - qlo) / 2.0f), kEps);
    p.scale = {scale};
    p.zero_point = {dtype == QDType::qint8 ? 0 : 128};
  } else {
    const float scale = std::max((hi - lo) / (qhi - qlo), kEps);
    p.scale = {scale};
    const float zero = qlo - std::nearbyint(lo / scale);
    p.zero_point = {static_cast<std::int32_t>(std::clamp(zero, qlo, qhi))};
  }
  return p;
}

QParams choose_qparams_per_channel(const Tensor& x, std::int64_t axis, QDType dtype,
                                   bool symmetric) {
  if (axis < 0 || axis >= x.dim()) {
    throw std::invalid_argument("choose_qparams_per_channel: axis " + std::to_string(axis) +
                                " is outside the shape " + shape_to_string(x.shape()));
  }
  check_values(x, "choose_qparams_per_channel");
  const Tensor c = x.contiguous();
  const std::int64_t channels = x.shape()[axis];
  const std::int64_t inner = inner_size(x.shape(), axis);
  std::vector<float> lo(channels, std::numeric_limits<float>::infinity());
  std::vector<float> hi(channels, -std::numeric_limits<float>::infinity());
  for (std::int64_t i = 0; i < c.numel(); ++i) {
    const std::int64_t ch = (i / inner) % channels;
    lo[ch] = std::min(lo[ch], c.data_ptr()[i]);
    hi[ch] = std::max(hi[ch], c.data_ptr()[i]);
  }
  QParams p;
  p.dtype = dtype;
  p.axis = axis;
  for (std::int64_t ch = 0; ch < channels; ++ch) {
    const QParams one = choose_qparams(lo[ch], hi[ch], dtype, symmetric);
    p.scale.push_back(one.scale[0]);
    p.zero_point.push_back(one.zero_point[0]);
  }
  return p;
}

// ---- quantize and dequantize
// -----------------------------------------------------------------------

QTensor quantize(const Tensor& x, const QParams& params) {
  if (x.numel() == 0) {
    throw std::invalid_argument("quantize: the tensor is empty (shape " +
                                shape_to_string(x.shape()) + "): there is nothing to quantize");
  }
  QTensor q(x.shape(), params);  // checks the params against the shape
  const Tensor c = x.contiguous();
  const float* v = c.data_ptr();
  // Runs of `inner` elements share a channel (per tensor: one run of everything).
  const std::int64_t channels = params.per_channel() ? x.shape()[params.axis] : 1;
  const std::int64_t inner = params.per_channel() ? inner_size(x.shape(), params.axis) : c.numel();
  const auto low = static_cast<float>(qmin(params.dtype));
  const auto high = static_cast<float>(qmax(params.dtype));
  bool finite = true;
  auto run = [&](auto* out) {
    for (std::int64_t begin = 0; begin < c.numel(); begin += inner) {
      const std::int64_t ch = (begin / inner) % channels;
      const float inv_scale = 1.0f / params.scale[ch];  // as torch: multiply by 1 / scale
      const auto zero = static_cast<float>(params.zero_point[ch]);
      for (std::int64_t i = begin; i < begin + inner; ++i) {
        finite &= std::abs(v[i]) <= std::numeric_limits<float>::max();  // false for NaN, inf
        // Clamp in float before converting: 1e30 / scale fits no integer type.
        const float r = std::clamp(std::nearbyint(v[i] * inv_scale) + zero, low, high);
        out[i] = static_cast<std::remove_pointer_t<decltype(out)>>(r);
      }
    }
  };
  if (params.dtype == QDType::qint8) {
    run(q.int8_data());
  } else {
    run(q.uint8_data());
  }
  if (!finite) check_values(c, "quantize");  // names the first element that is not finite
  return q;
}

Tensor dequantize(const QTensor& q) {
  const QParams& p = q.qparams();
  Tensor out = empty(q.shape());
  float* y = out.data_ptr();
  const std::int64_t channels = p.per_channel() ? q.shape()[p.axis] : 1;
  const std::int64_t inner = p.per_channel() ? inner_size(q.shape(), p.axis) : q.numel();
  auto run = [&](const auto* in) {
    for (std::int64_t begin = 0; begin < q.numel(); begin += inner) {
      const std::int64_t ch = (begin / inner) % channels;
      const float scale = p.scale[ch];
      const auto zero = static_cast<float>(p.zero_point[ch]);
      for (std::int64_t i = begin; i < begin + inner; ++i) {
        y[i] = (static_cast<float>(in[i]) - zero) * scale;
      }
    }
  };
  if (p.dtype == QDType::qint8) {
    run(q.int8_data());
  } else {
    run(q.uint8_data());
  }
  return out;
}

// ---- calibration
// -----------------------------------------------------------------------------------

MinMaxObserver::MinMaxObserver(QDType dtype, bool symmetric)
    : dtype_(dtype), symmetric_(symmetric) {}

void MinMaxObserver::observe(const Tensor& x) {
  check_values(x, "MinMaxObserver::observe");
  const Tensor c = x.contiguous();
  const auto [lo, hi] = std::minmax_element(c.data_ptr(), c.data_ptr() + c.numel());
  min_ = seen_ ? std::min(min_, *lo) : *lo;
  max_ = seen_ ? std::max(max_, *hi) : *hi;
  seen_ = true;
}

QParams MinMaxObserver::qparams() const {
  if (!seen_) throw std::logic_error("MinMaxObserver::qparams: observe at least one batch first");
  return choose_qparams(min_, max_, dtype_, symmetric_);
}

PercentileObserver::PercentileObserver(double percentile, QDType dtype, bool symmetric)
    : percentile_(percentile), dtype_(dtype), symmetric_(symmetric) {
  if (!(percentile > 50.0 && percentile <= 100.0)) {
    throw std::invalid_argument("PercentileObserver: percentile " + std::to_string(percentile) +
                                " is outside (50, 100]");
  }
}

void PercentileObserver::observe(const Tensor& x) {
  check_values(x, "PercentileObserver::observe");
  const Tensor c = x.contiguous();
  values_.insert(values_.end(), c.data_ptr(), c.data_ptr() + c.numel());
}

std::pair<float, float> PercentileObserver::range() const {
  if (values_.empty()) {
    throw std::logic_error("PercentileObserver: observe at least one batch first");
  }
  std::vector<float> v = values_;
  std::sort(v.begin(), v.end());
  // numpy.percentile's linear interpolation between the two nearest ranks.
  auto at = [&](double p) {
    const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(rank));
    const std::size_t above = std::min(below + 1, v.size() - 1);
    const double t = rank - static_cast<double>(below);
    return static_cast<float>(v[below] + t * (static_cast<double>(v[above]) - v[below]));
  };
  return {at(100.0 - percentile_), at(percentile_)};
}

QParams PercentileObserver::qparams() const {
  const auto [lo, hi] = range();
  return choose_qparams(lo, hi, dtype_, symmetric_);
}

// ---- integer layers
// --------------------------------------------------------------------------------

std::uint8_t requantize(std::int32_t acc, float multiplier, std::int32_t zero_point,
                        std::int32_t low) {
  return requantize_value(acc, multiplier, static_cast<float>(zero_point), static_cast<float>(low));
}

QuantizedLinear QuantizedLinear::from_float(const nn::Linear& layer, const QParams& input,
                                            const QParams& output, bool relu) {
  check_activation_params(input, "QuantizedLinear input params");
  check_activation_params(output, "QuantizedLinear output params");
  QuantizedLinear q;
  q.in_features = layer.in_features;
  q.out_features = layer.out_features;
  q.weight = quantize(layer.weight, choose_qparams_per_channel(layer.weight, 0, QDType::qint8,
                                                               /*symmetric=*/true));
  integer_bias_and_sums(q.weight, layer.bias, input.scale[0], q.bias, q.weight_sums);
  q.input_params = input;
  q.output_params = output;
  q.relu = relu;
  q.packed =
      kernels::QGemmPackedB(q.weight.int8_data(), q.out_features, q.in_features, q.in_features);
  return q;
}

QTensor QuantizedLinear::forward(const QTensor& x) const {
  if (x.shape().size() != 2 || x.shape()[1] != in_features) {
    throw std::invalid_argument("QuantizedLinear: input " + shape_to_string(x.shape()) +
                                ", expected (N, " + std::to_string(in_features) + ")");
  }
  check_same_params(x.qparams(), input_params, "QuantizedLinear");
  const std::int64_t n = x.shape()[0];
  QTensor y({n, out_features}, output_params);
  std::vector<std::int32_t> acc(static_cast<std::size_t>(n * out_features));
  kernels::qgemm_u8s8s32(n, x.uint8_data(), in_features, packed, acc.data(), out_features);
  const std::vector<float> m = multipliers(input_params, weight, output_params);
  const std::int32_t zero = output_params.zero_point[0];
  const std::int32_t low = relu ? zero : 0;
  for (std::int64_t i = 0; i < n; ++i) {
    requantize_row(acc.data() + i * out_features, out_features, input_params.zero_point[0],
                   weight_sums.data(), bias.data(), m.data(), zero, low,
                   y.uint8_data() + i * out_features);
  }
  return y;
}

ConvWeights fold_batchnorm(const nn::Conv2d& conv, const nn::BatchNorm2d& bn) {
  const std::int64_t channels = conv.out_channels;
  if (bn.weight.numel() != channels) {
    throw std::invalid_argument("fold_batchnorm: the convolution has " + std::to_string(channels) +
                                " output channels, the batch norm " +
                                std::to_string(bn.weight.numel()));
  }
  ConvWeights folded{conv.weight.contiguous().clone(), zeros({channels})};
  const Tensor gamma = bn.weight.contiguous(), beta = bn.bias.contiguous();
  const Tensor mean = bn.running_mean.contiguous(), var = bn.running_var.contiguous();
  const Tensor bias = conv.bias.defined() ? conv.bias.contiguous() : zeros({channels});
  const std::int64_t per_channel = folded.weight.numel() / channels;
  for (std::int64_t c = 0; c < channels; ++c) {
    const float m = gamma.data_ptr()[c] / std::sqrt(var.data_ptr()[c] + bn.eps);
    float* w = folded.weight.data_ptr() + c * per_channel;
    for (std::int64_t i = 0; i < per_channel; ++i) w[i] *= m;
    folded.bias.data_ptr()[c] = (bias.data_ptr()[c] - mean.data_ptr()[c]) * m + beta.data_ptr()[c];
  }
  return folded;
}

QuantizedConv2d QuantizedConv2d::from_float(const nn::Conv2d& layer, const QParams& input,
                                            const QParams& output, bool relu) {
  return from_weights(layer.weight, layer.bias, layer.stride, layer.padding, input, output, relu);
}

QuantizedConv2d QuantizedConv2d::from_weights(const Tensor& weight, const Tensor& bias,
                                              std::int64_t stride, std::int64_t padding,
                                              const QParams& input, const QParams& output,
                                              bool relu) {
  if (weight.dim() != 4 || weight.shape()[2] != weight.shape()[3]) {
    throw std::invalid_argument("QuantizedConv2d: weight " + shape_to_string(weight.shape()) +
                                ", expected (O, C, k, k)");
  }
  check_activation_params(input, "QuantizedConv2d input params");
  check_activation_params(output, "QuantizedConv2d output params");
  QuantizedConv2d q;
  q.out_channels = weight.shape()[0];
  q.in_channels = weight.shape()[1];
  q.kernel_size = weight.shape()[2];
  q.stride = stride;
  q.padding = padding;
  q.weight = quantize(weight, choose_qparams_per_channel(weight, 0, QDType::qint8, true));
  integer_bias_and_sums(q.weight, bias, input.scale[0], q.bias, q.weight_sums);
  q.input_params = input;
  q.output_params = output;
  q.relu = relu;
  const std::int64_t k = q.in_channels * q.kernel_size * q.kernel_size;
  q.packed = kernels::QGemmPackedB(q.weight.int8_data(), q.out_channels, k, k);
  return q;
}

QTensor QuantizedConv2d::forward(const QTensor& x) const {
  if (x.shape().size() != 4 || x.shape()[1] != in_channels) {
    throw std::invalid_argument("QuantizedConv2d: input " + shape_to_string(x.shape()) +
                                ", expected (N, " + std::to_string(in_channels) + ", H, W)");
  }
  check_same_params(x.qparams(), input_params, "QuantizedConv2d");
  const std::int64_t n = x.shape()[0], h = x.shape()[2], w = x.shape()[3];
  const std::int64_t out_h = (h + 2 * padding - kernel_size) / stride + 1;
  const std::int64_t out_w = (w + 2 * padding - kernel_size) / stride + 1;
  if (out_h < 1 || out_w < 1) {
    throw std::invalid_argument("QuantizedConv2d: input " + shape_to_string(x.shape()) +
                                " is smaller than the kernel");
  }
  const std::int64_t pixels = out_h * out_w;
  const std::int64_t k = in_channels * kernel_size * kernel_size;
  QTensor y({n, out_channels, out_h, out_w}, output_params);
  const std::vector<float> m = multipliers(input_params, weight, output_params);
  const std::int32_t zero = output_params.zero_point[0];
  const std::int32_t low = relu ? zero : 0;
  const auto pad = static_cast<std::uint8_t>(input_params.zero_point[0]);  // real 0
  kernels::parallel_for(0, n, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::uint8_t> rows(static_cast<std::size_t>(pixels * k));
    std::vector<std::int32_t> acc(static_cast<std::size_t>(pixels * out_channels));
    std::vector<std::uint8_t> pixel_major(static_cast<std::size_t>(pixels * out_channels));
    for (std::int64_t img = begin; img < end; ++img) {
      kernels::im2row_u8(x.uint8_data() + img * in_channels * h * w, in_channels, h, w, kernel_size,
                         stride, padding, pad, rows.data());
      kernels::qgemm_u8s8s32(pixels, rows.data(), k, packed, acc.data(), out_channels);
      for (std::int64_t p = 0; p < pixels; ++p) {
        requantize_row(acc.data() + p * out_channels, out_channels, input_params.zero_point[0],
                       weight_sums.data(), bias.data(), m.data(), zero, low,
                       pixel_major.data() + p * out_channels);
      }
      // (pixels, O) -> (O, pixels): the GEMM's rows are pixels, the output's planes channels.
      std::uint8_t* out = y.uint8_data() + img * out_channels * pixels;
      for (std::int64_t o = 0; o < out_channels; ++o) {
        for (std::int64_t p = 0; p < pixels; ++p) {
          out[o * pixels + p] = pixel_major[p * out_channels + o];
        }
      }
    }
  });
  return y;
}

}  // namespace tinytorch::quant
