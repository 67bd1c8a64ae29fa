#pragma once
// Helpers for the two-class milestones (perceptron, XOR): seeded point clouds and an accuracy
// counted from raw logits by milestone code.
#include <cstdint>
#include <vector>

#include "tinytorch/tensor.hpp"

namespace milestones {

struct Points {
  tinytorch::Tensor x;  // (N, 2)
  tinytorch::Tensor y;  // (N, 1), 0 or 1
  std::vector<float> labels;
};

/// n points around each centre (cx, cy) with normal noise of the given sd; label[i] for centre i.
[[nodiscard]] Points make_clusters(const std::vector<std::pair<float, float>>& centres,
                                   const std::vector<float>& labels, std::int64_t per_centre,
                                   float sd, tinytorch::Generator& generator);

/// Fraction of rows where (logit > 0) == (label > 0.5), read from the tensor's raw storage.
[[nodiscard]] double binary_accuracy(const tinytorch::Tensor& logits,
                                     const std::vector<float>& labels);

}  // namespace milestones
