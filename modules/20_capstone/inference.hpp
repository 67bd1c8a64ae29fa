#pragma once
// Module 20: the inference session, a trained model (float or int8) ready to answer requests. The
// contract for inference.cpp:
//     serve::InferenceSession session(model, {784});               // float: an nn::Module
//     serve::InferenceSession session(std::move(qmodel), {784});   // int8: module 17's model
//     session.warmup();
//     Tensor logits = session.predict(images);                     // (N, 784) -> (N, 10)
//     serve::DynamicBatcher batcher(session.batch_function(), serve::BatcherOptions());
// A session predicts exactly what the model predicts offline (eval mode, grad mode off) on the
// same batch: the same bits. Loading a saved model from disk is the framework's (the milestones'
// load_inference_session, milestones/common/inference_loader.hpp).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tinytorch/layers.hpp"
#include "tinytorch/quantized_model.hpp"
#include "tinytorch/serving.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch::serve {

/// The arithmetic a session runs in.
enum class Precision {
  float32,  // the trained nn::Module as it is
  int8,     // module 17's QuantizedModel: integers inside, float in and out
};

[[nodiscard]] inline std::string_view to_string(Precision precision) {
  return precision == Precision::int8 ? "int8" : "float32";
}

/// Copies share the model (like nn::Module handles). predict is not meant for many threads at once:
/// a DynamicBatcher calls it from its one worker thread.
class InferenceSession {
 public:
  /// A float session. The model is put in eval mode (dropout off, batch norm on its running
  /// statistics). A null model, or a sample shape with no dimension or a dimension below 1:
  /// std::invalid_argument naming it.
  InferenceSession(std::shared_ptr<nn::Module> model, Shape sample_shape);
  /// An int8 session over module 17's quantized model; the same checks of sample_shape.
  InferenceSession(quant::QuantizedModel model, Shape sample_shape);

  /// batch (N, sample_shape...) with N >= 1 -> the model's output (N, ...): model->forward(batch)
  /// in eval mode with grad mode off (the output records no graph and does not require grad),
  /// whatever the caller's grad mode and whatever train() was called on the model since. A batch
  /// of another shape: InvalidRequest naming the batch's shape and the expected one.
  [[nodiscard]] Tensor predict(const Tensor& batch) const;

  /// The batcher's function: samples[i] (each of sample_shape) -> outputs[i], row i of
  /// predict(the samples stacked in order into one (N, sample_shape...) batch), each output of the
  /// model's output shape without the batch dimension. One forward pass for the whole group: that
  /// is the point of batching. No samples: no outputs. A sample of another shape: InvalidRequest
  /// naming its index and both shapes.
  [[nodiscard]] std::vector<Tensor> predict_batch(const std::vector<Tensor>& samples) const;

  /// Runs `batches` batches of `batch_size` zero samples through predict and drops the outputs,
  /// so the first real request does not pay for first-touch allocations. batches < 0 or
  /// batch_size < 1: std::invalid_argument.
  void warmup(std::int64_t batches = 2, std::int64_t batch_size = 1) const;

  /// predict_batch of a copy of this session (copies share the model), for DynamicBatcher.
  [[nodiscard]] BatchFunction batch_function() const;

  [[nodiscard]] Precision precision() const { return precision_; }
  [[nodiscard]] const Shape& sample_shape() const { return sample_shape_; }
  /// The request limits of a served model: sample_shape with InputSpec's default limits.
  [[nodiscard]] InputSpec input_spec() const { return InputSpec{sample_shape_}; }

 private:
  Precision precision_;
  std::shared_ptr<nn::Module> float_model_;                  // set when precision_ is float32
  std::shared_ptr<const quant::QuantizedModel> int8_model_;  // set when precision_ is int8
  Shape sample_shape_;
};

}  // namespace tinytorch::serve
