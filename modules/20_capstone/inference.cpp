// Module 20 — the inference session. The contract is inference.hpp: read each function's comment
// there first, and "The inference session" in README.md for the why.
//
// Every body below throws NotImplemented until you replace it. Suggested order: the constructors,
// predict, predict_batch, warmup, batch_function.
#include "tinytorch/inference.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/errors.hpp"

namespace tinytorch::serve {

InferenceSession::InferenceSession(std::shared_ptr<nn::Module> model, Shape sample_shape)
    : precision_(Precision::float32),
      float_model_(std::move(model)),
      sample_shape_(std::move(sample_shape)) {
  // TODO: refuse a null model and a sample shape that is empty or has a dimension below 1
  //   (std::invalid_argument naming it). Put the model in eval mode.
  throw NotImplemented("20_capstone", "InferenceSession::InferenceSession (float)");
}

InferenceSession::InferenceSession(quant::QuantizedModel model, Shape sample_shape)
    : precision_(Precision::int8), sample_shape_(std::move(sample_shape)) {
  // TODO: the same checks of sample_shape; keep the model in int8_model_ (make_shared of it,
  //   moved).
  (void)model;
  throw NotImplemented("20_capstone", "InferenceSession::InferenceSession (int8)");
}

Tensor InferenceSession::predict(const Tensor& batch) const {
  // TODO: InvalidRequest unless batch is (N, sample_shape...) with N >= 1, naming both shapes.
  //   Then, with grad mode off (NoGradGuard): the int8 model's forward, or the float model's in
  //   eval mode (train() may have been called on it since the constructor).
  (void)batch;
  throw NotImplemented("20_capstone", "InferenceSession::predict");
}

std::vector<Tensor> InferenceSession::predict_batch(const std::vector<Tensor>& samples) const {
  // TODO: no samples -> no outputs. Check each sample's shape (InvalidRequest naming its index),
  //   copy the samples in order into one (N, sample_shape...) tensor, predict once, and cut the
  //   output into N tensors, row i for sample i (the output's shape without its first dimension).
  (void)samples;
  throw NotImplemented("20_capstone", "InferenceSession::predict_batch");
}

void InferenceSession::warmup(std::int64_t batches, std::int64_t batch_size) const {
  // TODO: std::invalid_argument for batches < 0 or batch_size < 1; then predict `batches` times
  //   on zeros of (batch_size, sample_shape...).
  (void)batches;
  (void)batch_size;
  throw NotImplemented("20_capstone", "InferenceSession::warmup");
}

BatchFunction InferenceSession::batch_function() const {
  // TODO: a lambda that calls predict_batch on a copy of this session (capture *this by value),
  //   so that it stays valid when this object is moved or destroyed.
  throw NotImplemented("20_capstone", "InferenceSession::batch_function");
}

}  // namespace tinytorch::serve
