#include "binary.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tinytorch/autograd.hpp"

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

std::vector<std::string> parts_to_run(const Run& run, const std::vector<std::string>& known) {
  const auto given = run.option("--parts");
  if (!given) return known;
  std::vector<std::string> parts;
  std::istringstream list(*given);
  for (std::string part; std::getline(list, part, ',');) {
    if (std::find(known.begin(), known.end(), part) == known.end()) {
      throw std::invalid_argument(
          fmt::format("--parts: '{}' is not a part of this milestone; "
                      "valid: {}",
                      part, fmt::join(known, ", ")));
    }
    parts.push_back(part);
  }
  if (parts.empty()) throw std::invalid_argument("--parts needs at least one part");
  return parts;
}

ExtraOption parts_option() {
  return {"--parts", "LIST", "comma-separated parts to run: by-hand, autograd (default: both)"};
}

GradModeOff::GradModeOff() : previous_(tinytorch::autograd::GradMode::is_enabled()) {
  tinytorch::autograd::GradMode::set_enabled(false);
}

GradModeOff::~GradModeOff() {
  tinytorch::autograd::GradMode::set_enabled(previous_);
}

tinytorch::Tensor linear_backward(const tinytorch::nn::Linear& layer, const tinytorch::Tensor& x,
                                  const tinytorch::Tensor& dy) {
  layer.weight.set_grad(dy.transpose(0, 1).matmul(x));       // (out, N) @ (N, in) = (out, in)
  if (layer.bias.defined()) layer.bias.set_grad(dy.sum(0));  // b was broadcast over the rows
  return dy.matmul(layer.weight);                            // (N, out) @ (out, in) = (N, in)
}

}  // namespace milestones
