// Framework-owned: the QTensor type of quantization.hpp (storage, checks, access). Students do not
// edit this file; their code is quantization.cpp.
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "tinytorch/quantization.hpp"

namespace tinytorch::quant {

namespace {

std::string dtype_name(QDType dtype) {
  return dtype == QDType::qint8 ? "qint8" : "quint8";
}

// Every check the constructor promises, each naming the value at fault.
void check_params(const Shape& shape, const QParams& p) {
  if (p.per_channel() && p.axis >= static_cast<std::int64_t>(shape.size())) {
    throw std::invalid_argument("QTensor: per-channel axis " + std::to_string(p.axis) +
                                " is outside the shape " + shape_to_string(shape));
  }
  const std::size_t count = p.per_channel() ? static_cast<std::size_t>(shape[p.axis]) : 1;
  if (p.scale.size() != count || p.zero_point.size() != count) {
    throw std::invalid_argument(
        "QTensor: " + std::to_string(p.scale.size()) + " scales and " +
        std::to_string(p.zero_point.size()) + " zero points for shape " + shape_to_string(shape) +
        (p.per_channel() ? " along axis " + std::to_string(p.axis) : std::string(" per tensor")) +
        ": need " + std::to_string(count) + " of each");
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (!(p.scale[i] > 0.0f) || !std::isfinite(p.scale[i])) {
      throw std::invalid_argument("QTensor: scale " + std::to_string(i) + " is " +
                                  std::to_string(p.scale[i]) +
                                  ": a scale must be finite and > 0 (a scale of 0 maps every "
                                  "value to the zero point and cannot be inverted)");
    }
    if (p.zero_point[i] < qmin(p.dtype) || p.zero_point[i] > qmax(p.dtype)) {
      throw std::invalid_argument("QTensor: zero point " + std::to_string(p.zero_point[i]) +
                                  " is outside " + dtype_name(p.dtype) + "'s range [" +
                                  std::to_string(qmin(p.dtype)) + ", " +
                                  std::to_string(qmax(p.dtype)) + "]");
    }
  }
}

}  // namespace

QTensor::QTensor(Shape shape, QParams params)
    : shape_(std::move(shape)), params_(std::move(params)) {
  for (std::int64_t d : shape_) {
    if (d < 0) throw std::invalid_argument("QTensor: negative size in " + shape_to_string(shape_));
  }
  check_params(shape_, params_);
  bytes_.assign(static_cast<std::size_t>(shape_numel(shape_)), 0);
}

std::int8_t* QTensor::int8_data() {
  if (dtype() != QDType::qint8) throw std::logic_error("QTensor::int8_data on a quint8 tensor");
  return reinterpret_cast<std::int8_t*>(bytes_.data());
}
const std::int8_t* QTensor::int8_data() const {
  if (dtype() != QDType::qint8) throw std::logic_error("QTensor::int8_data on a quint8 tensor");
  return reinterpret_cast<const std::int8_t*>(bytes_.data());
}
std::uint8_t* QTensor::uint8_data() {
  if (dtype() != QDType::quint8) throw std::logic_error("QTensor::uint8_data on a qint8 tensor");
  return bytes_.data();
}
const std::uint8_t* QTensor::uint8_data() const {
  if (dtype() != QDType::quint8) throw std::logic_error("QTensor::uint8_data on a qint8 tensor");
  return bytes_.data();
}

std::int32_t QTensor::int_at(std::int64_t i) const {
  if (i < 0 || i >= numel()) {
    throw std::out_of_range("QTensor::int_at(" + std::to_string(i) + ") of " +
                            std::to_string(numel()) + " elements");
  }
  const std::uint8_t byte = bytes_[static_cast<std::size_t>(i)];
  return dtype() == QDType::qint8 ? static_cast<std::int32_t>(static_cast<std::int8_t>(byte))
                                  : static_cast<std::int32_t>(byte);
}

QTensor QTensor::reshape(Shape shape) const {
  if (params_.per_channel()) {
    throw std::invalid_argument(
        "QTensor::reshape: a per-channel tensor keeps its shape (its "
        "scales follow axis " +
        std::to_string(params_.axis) + ")");
  }
  if (shape_numel(shape) != numel()) {
    throw std::invalid_argument("QTensor::reshape: " + shape_to_string(shape_) + " has " +
                                std::to_string(numel()) + " elements, " + shape_to_string(shape) +
                                " needs " + std::to_string(shape_numel(shape)));
  }
  QTensor out;
  out.shape_ = std::move(shape);
  out.params_ = params_;
  out.bytes_ = bytes_;
  return out;
}

}  // namespace tinytorch::quant
