#pragma once
// Helpers for the two-class milestones (perceptron, XOR): seeded point clouds, an accuracy counted
// from raw logits by milestone code, and what their two parts share. Part "by-hand" trains with
// the gradients of modules 05-06 (grad::binary_cross_entropy_with_logits and the chain rule written
// out below), so it runs before autograd exists; part "autograd" trains the same models with
// loss.backward() (module 07).
#include <cstdint>
#include <string>
#include <vector>

#include "run.hpp"
#include "tinytorch/layers.hpp"
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

/// The parts to run: --parts by-hand,autograd (tito passes the parts whose modules are complete),
/// else every part in `known`. A name not in `known` throws std::invalid_argument naming the valid
/// ones.
[[nodiscard]] std::vector<std::string> parts_to_run(const Run& run,
                                                    const std::vector<std::string>& known);

/// The --parts option, for Run's extra options.
[[nodiscard]] ExtraOption parts_option();

/// Grad mode off for a scope through the framework's own switch (autograd::GradMode, graph.cpp).
/// Not module 07's NoGradGuard: the by-hand part must run on a library whose module 07 is still a
/// stub.
class GradModeOff {
 public:
  GradModeOff();
  ~GradModeOff();
  GradModeOff(const GradModeOff&) = delete;
  GradModeOff& operator=(const GradModeOff&) = delete;

 private:
  bool previous_;
};

/// The chain rule through y = x W^T + b, by hand: sets W.grad = dy^T x (out, in) and
/// b.grad = sum over rows of dy (out), and returns dL/dx = dy W (N, in).
tinytorch::Tensor linear_backward(const tinytorch::nn::Linear& layer, const tinytorch::Tensor& x,
                                  const tinytorch::Tensor& dy);

}  // namespace milestones
