// Module 04 reference solution: Module, Linear, Sequential, Dropout, Flatten and activation
// modules.
//
// Every forward is written with the recorded Tensor operations (matmul, transpose, *, +, flatten)
// and module 03's differentiable activations, so module 07's autograd differentiates these layers
// without a line of backward code here.
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/layers.hpp"

namespace tinytorch::nn {
namespace {

// A name registered on a module must be usable as one segment of a dotted path ("0.weight").
void check_name(const std::string& name, const char* what) {
  if (name.empty() || name.find('.') != std::string::npos) {
    throw std::invalid_argument(std::string(what) + " name '" + name +
                                "' is invalid: use a non-empty name without '.' (the dot joins "
                                "the names of nested modules)");
  }
}

template <class T>
bool has_name(const std::vector<std::pair<std::string, T>>& entries, const std::string& name) {
  for (const auto& [n, _] : entries) {
    if (n == name) return true;
  }
  return false;
}

// "encoder" + "weight" -> "encoder.weight": the keys of saved checkpoints.
std::string join(const std::string& prefix, const std::string& name) {
  return prefix + "." + name;
}

}  // namespace

// ---- Module -------------------------------------------------------------------------------------

// Depth first: own entries in registration order, then each child's under "child_name.".
std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  auto out = parameters_;
  if (!recurse) return out;
  for (const auto& [child_name, child] : children_) {
    for (auto& [name, t] : child->named_parameters(true))
      out.emplace_back(join(child_name, name), t);
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  auto out = buffers_;
  if (!recurse) return out;
  for (const auto& [child_name, child] : children_) {
    for (auto& [name, t] : child->named_buffers(true)) out.emplace_back(join(child_name, name), t);
  }
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [_, child] : children_) out.push_back(child);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  return children_;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.set_grad(Tensor());
}

std::int64_t Module::num_parameters() const {
  std::int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

Tensor& Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_name(name, "parameter");
  if (has_name(parameters_, name) || has_name(buffers_, name) || has_name(children_, name)) {
    throw std::invalid_argument("register_parameter: the name '" + name +
                                "' is already taken on this module; choose another name");
  }
  if (!t.defined()) {
    throw std::invalid_argument("register_parameter: parameter '" + name + "' is undefined");
  }
  t.requires_grad_(requires_grad);
  parameters_.emplace_back(name, std::move(t));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name, "buffer");
  if (has_name(parameters_, name) || has_name(buffers_, name) || has_name(children_, name)) {
    throw std::invalid_argument("register_buffer: the name '" + name +
                                "' is already taken on this module; choose another name");
  }
  if (!t.defined()) {
    throw std::invalid_argument("register_buffer: buffer '" + name + "' is undefined");
  }
  buffers_.emplace_back(name, std::move(t));
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, "module");
  if (!module) {
    throw std::invalid_argument("register_module: module '" + name + "' is a null pointer");
  }
  if (has_name(parameters_, name) || has_name(buffers_, name) || has_name(children_, name)) {
    throw std::invalid_argument("register_module: the name '" + name +
                                "' is already taken on this module; choose another name");
  }
  children_.emplace_back(name, std::move(module));
}

// ---- Linear -------------------------------------------------------------------------------------

namespace {

// (out, in) weights drawn in row-major order from the generator: U(-bound, bound) or N(0, std^2).
Tensor uniform(const Shape& shape, float bound, Generator& gen) {
  Tensor t = empty(shape);
  for (float& v : t.data()) v = (2.0f * gen.uniform() - 1.0f) * bound;
  return t;
}
Tensor normal(const Shape& shape, float std, Generator& gen) {
  Tensor t = empty(shape);
  for (float& v : t.data()) v = gen.normal() * std;
  return t;
}

// PyTorch's formulas (torch.nn.init), with fan_in = in and fan_out = out for a (out, in) weight:
//   kaiming_uniform(a = sqrt(5)): gain = sqrt(2 / (1 + a^2)) = sqrt(1/3),
//                                 bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in)
//   kaiming_normal (a = 0, ReLU): std = sqrt(2 / fan_in)   keeps E[y^2] = E[x^2] through ReLU
//   xavier_uniform:               bound = sqrt(6 / (fan_in + fan_out))
//   xavier_normal:                std = sqrt(2 / (fan_in + fan_out))  keeps the variance both ways
Tensor init_weight(std::int64_t in, std::int64_t out, Init init, Generator& gen) {
  const auto fan_in = static_cast<float>(in), fan_out = static_cast<float>(out);
  switch (init) {
    case Init::kaiming_uniform:
      return uniform({out, in}, 1.0f / std::sqrt(fan_in), gen);
    case Init::kaiming_normal:
      return normal({out, in}, std::sqrt(2.0f / fan_in), gen);
    case Init::xavier_uniform:
      return uniform({out, in}, std::sqrt(6.0f / (fan_in + fan_out)), gen);
    case Init::xavier_normal:
      return normal({out, in}, std::sqrt(2.0f / (fan_in + fan_out)), gen);
  }
  throw std::invalid_argument("Linear: unknown Init value " +
                              std::to_string(static_cast<int>(init)));
}

}  // namespace

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Init init,
               Generator& generator)
    : in_features(in_features), out_features(out_features) {
  if (in_features <= 0 || out_features <= 0) {
    throw std::invalid_argument("Linear(" + std::to_string(in_features) + ", " +
                                std::to_string(out_features) +
                                "): in_features and out_features must be positive");
  }
  // The weight is drawn first, then the bias, each in row-major order: one seed, one layer.
  weight = register_parameter("weight", init_weight(in_features, out_features, init, generator));
  if (bias) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
    this->bias = register_parameter("bias", uniform({out_features}, bound, generator));
  }
}

// (..., in) @ (in, out) + (out) -> (..., out). weight.transpose(0, 1) is a view that BLAS reads
// in place (no copy), and the bias broadcasts over every leading dimension.
Tensor Linear::forward(const Tensor& input) {
  if (input.dim() == 0 || input.size(-1) != in_features) {
    throw std::invalid_argument("Linear(" + std::to_string(in_features) + ", " +
                                std::to_string(out_features) + "): input of shape " +
                                shape_to_string(input.shape()) + " does not end in " +
                                std::to_string(in_features) + " features (weight shape " +
                                shape_to_string(weight.shape()) + ")");
  }
  // A single sample (in) is treated as a batch of one, (1, in), as torch.nn.Linear does.
  const bool single = input.dim() == 1;
  const Tensor x = single ? input.unsqueeze(0) : input;
  Tensor y = x.matmul(weight.transpose(0, 1));
  if (bias.defined()) y = y + bias;
  return single ? y.squeeze(0) : y;
}

// ---- Sequential ---------------------------------------------------------------------------------

void Sequential::push_back(std::shared_ptr<Module> module) {
  add_child(std::to_string(children_.size()), std::move(module));
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  // Called, not child->forward(x): a call is what module hooks (the profiler) see.
  for (auto& [_, child] : children_) x = (*child)(x);
  return x;
}

std::shared_ptr<Module> Sequential::operator[](std::size_t index) const {
  if (index >= children_.size()) {
    throw std::out_of_range("Sequential: index " + std::to_string(index) +
                            " is out of range for a Sequential of " +
                            std::to_string(children_.size()) + " modules");
  }
  return children_[index].second;
}

// ---- Dropout ------------------------------------------------------------------------------------

Dropout::Dropout(float p, Generator& generator) : p(p), generator_(&generator) {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw std::invalid_argument("Dropout: p = " + std::to_string(p) +
                                " is not a probability in [0, 1) (p = 1 would zero everything)");
  }
}

// Inverted dropout: mask_i = 1/(1-p) with probability 1-p, else 0, so E[x_i * mask_i] = x_i and
// eval needs no rescaling. Multiplying by a mask tensor (a recorded op) lets the gradient flow
// through exactly the kept elements.
Tensor Dropout::forward(const Tensor& input) {
  if (!is_training() || p == 0.0f) return input;
  Tensor mask = empty(input.shape());
  const float scale = 1.0f / (1.0f - p);
  for (float& m : mask.data()) m = generator_->uniform() < p ? 0.0f : scale;
  return input * mask;
}

// ---- Flatten and activations --------------------------------------------------------------------

Tensor Flatten::forward(const Tensor& input) {
  if (input.dim() < 2) {
    throw std::invalid_argument(
        "Flatten: expected a batch (N, d1, ...) of at least 2 dimensions, "
        "got shape " +
        shape_to_string(input.shape()));
  }
  return input.flatten(1);  // (N, d1, d2, ...) -> (N, d1 * d2 * ...), a view when contiguous
}

Tensor ReLU::forward(const Tensor& input) {
  return relu(input);
}
Tensor Sigmoid::forward(const Tensor& input) {
  return sigmoid(input);
}
Tensor Tanh::forward(const Tensor& input) {
  return tanh(input);
}
Tensor GELU::forward(const Tensor& input) {
  return gelu(input);
}

}  // namespace tinytorch::nn
