#include "binary.hpp"

#include <stdexcept>
#include <string>

namespace milestones {

Points make_clusters(const std::vector<std::pair<float, float>>& centres,
                     const std::vector<float>& labels, std::int64_t per_centre, float sd,
                     tinytorch::Generator& generator) {
  std::vector<float> xs;
  std::vector<float> ys;
  // Interleave the clusters so that any prefix of the data holds every class.
  for (std::int64_t i = 0; i < per_centre; ++i) {
    for (std::size_t c = 0; c < centres.size(); ++c) {
      xs.push_back(centres[c].first + sd * generator.normal());
      xs.push_back(centres[c].second + sd * generator.normal());
      ys.push_back(labels[c]);
    }
  }
  const auto n = static_cast<std::int64_t>(ys.size());
  Points points{tinytorch::from_vector(xs, {n, 2}), tinytorch::from_vector(ys, {n, 1}), ys};
  return points;
}

double binary_accuracy(const tinytorch::Tensor& logits, const std::vector<float>& labels) {
  const auto n = static_cast<std::int64_t>(labels.size());
  if (logits.dim() != 2 || logits.shape()[0] != n || logits.shape()[1] != 1) {
    throw std::runtime_error("the model returned logits of shape " +
                             tinytorch::shape_to_string(logits.shape()) + "; expected (" +
                             std::to_string(n) + ", 1)");
  }
  const float* base = logits.data_ptr();
  const std::int64_t stride = logits.strides()[0];
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    correct += (base[i * stride] > 0.0f) == (labels[i] > 0.5f) ? 1 : 0;
  }
  return n == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(n);
}

}  // namespace milestones
