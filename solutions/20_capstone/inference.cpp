// Module 20 reference: the inference session (see inference.hpp).
#include "tinytorch/inference.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/autograd.hpp"

namespace tinytorch::serve {

namespace {

Shape checked_sample_shape(Shape shape) {
  if (shape.empty()) {
    throw std::invalid_argument(
        "InferenceSession: the sample shape has no dimension; give the "
        "shape of one input without the batch dimension, e.g. {784}");
  }
  for (const std::int64_t d : shape) {
    if (d < 1) {
      throw std::invalid_argument("InferenceSession: sample shape " + shape_to_string(shape) +
                                  " has a dimension below 1");
    }
  }
  return shape;
}

// (N, sample...) -> true when the dimensions after the first are the sample shape.
bool holds_samples(const Shape& batch, const Shape& sample) {
  return batch.size() == sample.size() + 1 && batch[0] >= 1 &&
         Shape(batch.begin() + 1, batch.end()) == sample;
}

}  // namespace

InferenceSession::InferenceSession(std::shared_ptr<nn::Module> model, Shape sample_shape)
    : precision_(Precision::float32),
      float_model_(std::move(model)),
      sample_shape_(checked_sample_shape(std::move(sample_shape))) {
  if (!float_model_) throw std::invalid_argument("InferenceSession: the model is null");
  float_model_->eval();
}

InferenceSession::InferenceSession(quant::QuantizedModel model, Shape sample_shape)
    : precision_(Precision::int8),
      int8_model_(std::make_shared<const quant::QuantizedModel>(std::move(model))),
      sample_shape_(checked_sample_shape(std::move(sample_shape))) {}

Tensor InferenceSession::predict(const Tensor& batch) const {
  if (!holds_samples(batch.shape(), sample_shape_)) {
    throw InvalidRequest("input shape " + shape_to_string(batch.shape()) + " is not (N, " +
                         shape_to_string(sample_shape_) + ") with N >= 1");
  }
  autograd::NoGradGuard no_grad;  // a served request must not build (and hold) an autograd graph
  if (precision_ == Precision::int8) return int8_model_->forward(batch);
  // Someone may have called train() on the shared model since: batch norm would then use the
  // statistics of whatever batch the batcher built, so one client's answer would depend on
  // another's images.
  if (float_model_->is_training()) float_model_->eval();
  return float_model_->forward(batch);
}

std::vector<Tensor> InferenceSession::predict_batch(const std::vector<Tensor>& samples) const {
  if (samples.empty()) return {};
  const auto per_sample = static_cast<std::size_t>(shape_numel(sample_shape_));
  std::vector<float> stacked;  // (N, sample...) row-major
  stacked.reserve(per_sample * samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].shape() != sample_shape_) {
      throw InvalidRequest("sample " + std::to_string(i) + " has shape " +
                           shape_to_string(samples[i].shape()) + "; the model takes " +
                           shape_to_string(sample_shape_));
    }
    const std::vector<float> values = samples[i].to_vector();
    stacked.insert(stacked.end(), values.begin(), values.end());
  }
  Shape batch_shape{static_cast<std::int64_t>(samples.size())};
  batch_shape.insert(batch_shape.end(), sample_shape_.begin(), sample_shape_.end());
  const Tensor output = predict(from_vector(std::move(stacked), batch_shape));

  const Shape row_shape(output.shape().begin() + 1, output.shape().end());
  const auto per_row = static_cast<std::size_t>(shape_numel(row_shape));
  const std::vector<float> values = output.to_vector();  // (N, out...) row-major
  std::vector<Tensor> rows;
  rows.reserve(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto begin = values.begin() + static_cast<std::ptrdiff_t>(i * per_row);
    rows.push_back(from_vector(
        std::vector<float>(begin, begin + static_cast<std::ptrdiff_t>(per_row)), row_shape));
  }
  return rows;
}

void InferenceSession::warmup(std::int64_t batches, std::int64_t batch_size) const {
  if (batches < 0 || batch_size < 1) {
    throw std::invalid_argument("InferenceSession::warmup: batches is " + std::to_string(batches) +
                                " and batch_size " + std::to_string(batch_size) +
                                "; give batches >= 0 and batch_size >= 1");
  }
  Shape shape{batch_size};
  shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
  for (std::int64_t i = 0; i < batches; ++i) (void)predict(zeros(shape));
}

BatchFunction InferenceSession::batch_function() const {
  // A copy of the session (it shares the model): the function outlives a moved-from session.
  return [session = *this](const std::vector<Tensor>& samples) {
    return session.predict_batch(samples);
  };
}

}  // namespace tinytorch::serve
