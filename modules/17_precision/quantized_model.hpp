#pragma once
// Module 17, framework-owned (quantized_model.cpp): a whole trained nn::Sequential converted to
// integers with your quantization.cpp, calibrated on real batches, saved to and loaded from
// safetensors. You do not write this file; read it to see how your layers are put to work.
//     auto q = quant::QuantizedModel::from_float(model, calibration_batches);
//     Tensor logits = q.forward(images);           // float in, float out, integers inside
//     q.save(".tito/milestones/mnist/model.int8.safetensors");
//     auto back = quant::QuantizedModel::load(".tito/milestones/mnist/model.int8.safetensors");
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "tinytorch/layers.hpp"
#include "tinytorch/quantization.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch::quant {

/// How activation ranges are chosen from the calibration batches.
enum class Calibration {
  minmax,      // MinMaxObserver: the extremes seen
  percentile,  // PercentileObserver: the extremes clipped to a percentile (outliers ignored)
};

/// max-pool on uint8 values: the maximum of integers is the integer of the maximum (the map is
/// increasing), so pooling needs no rescaling.
struct QuantizedMaxPool2d {
  std::int64_t kernel_size = 2, stride = 2, padding = 0;
};
/// (N, C, H, W) -> (N, C * H * W): the same bytes.
struct QuantizedFlatten {};

using QuantizedStep =
    std::variant<QuantizedLinear, QuantizedConv2d, QuantizedMaxPool2d, QuantizedFlatten>;

class QuantizedModel {
 public:
  /// Converts a trained Sequential of Linear, Conv2d, BatchNorm2d, ReLU, MaxPool2d and Flatten:
  ///   Conv2d [BatchNorm2d] [ReLU]          -> QuantizedConv2d (the batch norm folded, ReLU fused)
  ///   Conv2d MaxPool2d BatchNorm2d ReLU    -> the same, then the pool (valid because a batch norm
  ///                                           with positive multipliers and ReLU both commute
  ///                                           with the max; a negative multiplier is an error)
  ///   Linear [ReLU]                        -> QuantizedLinear
  ///   MaxPool2d, Flatten                   -> their uint8 versions
  /// The float net (batch norms folded) runs on every calibration batch, observing the input and
  /// every quantized layer's output with the chosen method. model is put in eval mode. Anything
  /// else in the Sequential, or no calibration batch: std::invalid_argument naming the child.
  [[nodiscard]] static QuantizedModel from_float(nn::Sequential& model,
                                                 const std::vector<Tensor>& calibration_batches,
                                                 Calibration method = Calibration::minmax,
                                                 double percentile = 99.99);

  /// x (N, ...) float -> output float: quantize with the calibrated input params, run every step
  /// in integers, dequantize the last step's output.
  [[nodiscard]] Tensor forward(const Tensor& x) const;

  /// One safetensors file: per layer "layers.<i>.weight" (I8), "layers.<i>.weight_scale" (F32,
  /// one per output channel), "layers.<i>.bias" (I32); the steps, their shapes and every
  /// activation scale and zero point in the header's __metadata__ ("tinytorch.quantized": JSON).
  /// Written to a temporary file and renamed: a crash never leaves half a model.
  void save(const std::filesystem::path& path) const;
  /// Reads what save wrote. A missing, truncated or malformed file, a tensor of another dtype or
  /// shape than the metadata says, or a file that is not a tinytorch quantized model:
  /// std::runtime_error naming the file (and the tensor).
  [[nodiscard]] static QuantizedModel load(const std::filesystem::path& path);

  [[nodiscard]] const QParams& input_params() const { return input_params_; }
  [[nodiscard]] const std::vector<QuantizedStep>& steps() const { return steps_; }
  /// e.g. "QuantizedConv2d(1, 16, 5, pad 2, relu) QuantizedMaxPool2d(2) ... QuantizedLinear(84,
  /// 10)"
  [[nodiscard]] std::string describe() const;

 private:
  QParams input_params_;
  std::vector<QuantizedStep> steps_;
};

}  // namespace tinytorch::quant
