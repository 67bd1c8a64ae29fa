// Module 05 reference solution: losses and their hand-derived gradients. The contract is
// modules/05_losses/losses.hpp.
//
// Every loss is a mean, so every gradient carries a 1/count factor. The sums are accumulated in
// double: a batch of 60,000 float terms summed in float would lose about three digits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "tinytorch/losses.hpp"

namespace tinytorch {
namespace {

using std::int64_t;

void check_same_shape(const Tensor& a, const Tensor& b, const char* op, const char* a_name,
                      const char* b_name) {
  if (a.shape() != b.shape()) {
    throw std::invalid_argument(std::string(op) + ": " + a_name + " has shape " +
                                shape_to_string(a.shape()) + " but " + b_name + " has shape " +
                                shape_to_string(b.shape()) +
                                "; they must match element for element");
  }
}

// The (N, C) logits and (N) targets of cross-entropy, checked, with every target read as a class.
struct ClassBatch {
  Tensor logits;   // (N, C), contiguous
  Tensor targets;  // (N), contiguous
  int64_t n;
  int64_t c;
};

ClassBatch check_class_batch(const Tensor& logits, const Tensor& targets, const char* op) {
  if (logits.dim() != 2 || targets.dim() != 1 || targets.size(0) != logits.size(0)) {
    throw std::invalid_argument(std::string(op) + ": expected logits (N, C) and targets (N), got " +
                                "logits " + shape_to_string(logits.shape()) + " and targets " +
                                shape_to_string(targets.shape()));
  }
  ClassBatch batch{ops::contiguous(logits), ops::contiguous(targets), logits.size(0),
                   logits.size(1)};
  const std::span<const float> t = batch.targets.data();
  for (int64_t i = 0; i < batch.n; ++i) {
    // A class id is a whole number in [0, C); anything else would index outside the row.
    const float k = t[i];
    if (!(k >= 0.0f && k < static_cast<float>(batch.c)) || k != std::floor(k)) {
      throw std::out_of_range(std::string(op) + ": target " + std::to_string(k) + " at index " +
                              std::to_string(i) + " is not a class id in [0, " +
                              std::to_string(batch.c) + "); targets hold whole numbers 0..C-1");
    }
  }
  return batch;
}

// The two numbers behind a stable softmax of one row z (C values): its max m and
// sum_j e^(z_j - m). Every exponent is <= 0, so nothing overflows, and the largest term is e^0 = 1,
// so the sum is >= 1 and its log is finite. Then logsumexp(z) = m + log(sum).
struct RowSoftmax {
  float max;
  double sum;
};

RowSoftmax row_softmax(const float* z, int64_t c) {
  float m = z[0];
  for (int64_t j = 1; j < c; ++j) m = std::max(m, z[j]);
  double sum = 0.0;
  for (int64_t j = 0; j < c; ++j) sum += std::exp(z[j] - m);
  return {m, sum};
}

// sigmoid without overflow: for z < 0 use e^z / (1 + e^z), whose exponent is negative.
float stable_sigmoid(float z) {
  if (z >= 0.0f) return 1.0f / (1.0f + std::exp(-z));
  const float e = std::exp(z);
  return e / (1.0f + e);
}

}  // namespace

namespace ops {

// mean((p - t)^2)
Tensor mse_loss(const Tensor& prediction, const Tensor& target) {
  check_same_shape(prediction, target, "mse_loss", "prediction", "target");
  const Tensor p = contiguous(prediction), t = contiguous(target);
  const std::span<const float> pv = p.data(), tv = t.data();
  double sum = 0.0;
  for (std::size_t i = 0; i < pv.size(); ++i) {
    const double d = pv[i] - tv[i];
    sum += d * d;
  }
  return scalar_tensor(static_cast<float>(sum / static_cast<double>(pv.size())));
}

// mean_n [ logsumexp(z_n) - z_n[target_n] ]  (= -log softmax(z_n)[target_n], without the softmax)
Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  const ClassBatch b = check_class_batch(logits, targets, "cross_entropy");
  const float* z = b.logits.data_ptr();
  const float* t = b.targets.data_ptr();
  double sum = 0.0;
  for (int64_t i = 0; i < b.n; ++i) {
    const float* row = z + i * b.c;
    const RowSoftmax r = row_softmax(row, b.c);
    // (m - z_k) first: two nearby large logits (1000, 1001) cancel exactly before the log is added.
    sum += static_cast<double>(r.max - row[static_cast<int64_t>(t[i])]) + std::log(r.sum);
  }
  return scalar_tensor(static_cast<float>(sum / static_cast<double>(b.n)));
}

// mean[ max(z, 0) - z t + log(1 + e^-|z|) ]: the same as -[t log s + (1-t) log(1-s)], s =
// sigmoid(z), but e^-|z| <= 1 never overflows and log1p keeps the digits when it is tiny.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  check_same_shape(logits, targets, "binary_cross_entropy_with_logits", "logits", "targets");
  const Tensor zc = contiguous(logits), tc = contiguous(targets);
  const std::span<const float> z = zc.data(), t = tc.data();
  double sum = 0.0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    sum += std::max(z[i], 0.0f) - z[i] * t[i] + std::log1p(std::exp(-std::abs(z[i])));
  }
  return scalar_tensor(static_cast<float>(sum / static_cast<double>(z.size())));
}

}  // namespace ops

namespace grad {

// d/dp mean((p - t)^2) = 2 (p - t) / numel
Tensor mse_loss(const Tensor& prediction, const Tensor& target) {
  check_same_shape(prediction, target, "grad::mse_loss", "prediction", "target");
  const Tensor p = ops::contiguous(prediction), t = ops::contiguous(target);
  Tensor g = empty(prediction.shape());
  const std::span<const float> pv = p.data(), tv = t.data();
  const std::span<float> gv = g.data();
  const float scale = 2.0f / static_cast<float>(pv.size());
  for (std::size_t i = 0; i < pv.size(); ++i) gv[i] = scale * (pv[i] - tv[i]);
  return g;
}

// d/dz_nj of mean_n [logsumexp(z_n) - z_n[k_n]] = (softmax(z_n)_j - [j == k_n]) / N
Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  const ClassBatch b = check_class_batch(logits, targets, "grad::cross_entropy");
  Tensor g = empty(b.logits.shape());  // (N, C)
  const float* z = b.logits.data_ptr();
  const float* t = b.targets.data_ptr();
  float* out = g.data_ptr();
  const float inv_n = 1.0f / static_cast<float>(b.n);
  for (int64_t i = 0; i < b.n; ++i) {
    const float* row = z + i * b.c;
    float* grow = out + i * b.c;
    const RowSoftmax r = row_softmax(row, b.c);
    const float scale = static_cast<float>(1.0 / r.sum) * inv_n;  // softmax_j = e^(z_j - m) / sum
    for (int64_t j = 0; j < b.c; ++j) grow[j] = std::exp(row[j] - r.max) * scale;
    grow[static_cast<int64_t>(t[i])] -= inv_n;
  }
  return g;
}

// d/dz [max(z, 0) - z t + log(1 + e^-|z|)] = sigmoid(z) - t, averaged: / numel
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  check_same_shape(logits, targets, "grad::binary_cross_entropy_with_logits", "logits", "targets");
  const Tensor zc = ops::contiguous(logits), tc = ops::contiguous(targets);
  Tensor g = empty(logits.shape());
  const std::span<const float> z = zc.data(), t = tc.data();
  const std::span<float> gv = g.data();
  const float inv_n = 1.0f / static_cast<float>(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) gv[i] = (stable_sigmoid(z[i]) - t[i]) * inv_n;
  return g;
}

}  // namespace grad

}  // namespace tinytorch
