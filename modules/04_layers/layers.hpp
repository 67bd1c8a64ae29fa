#pragma once
// Module 04: layers. The contract for layers.cpp, shaped like the PyTorch C++ frontend:
//     auto model = std::make_shared<Sequential>(Linear(784, 128), ReLU(), Linear(128, 10));
//     Tensor logits = model->forward(x);          // or (*model)(x)
//     for (auto& [name, p] : model->named_parameters()) ...   // "0.weight", "0.bias", "2.weight",
//     ...
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/activations.hpp"
#include "tinytorch/hooks.hpp"
#include "tinytorch/random.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch::nn {

/// Base of every layer and model. Parameters, buffers and children are registered by name, in
/// order; named_parameters() walks them depth first and joins names with '.', which are the keys
/// of saved checkpoints ("encoder.0.weight").
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = default;  // copies share parameters, like torch::nn handles
  Module& operator=(const Module&) = default;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  [[nodiscard]] virtual Tensor forward(const Tensor& input) = 0;
  /// Calling a module runs forward, watched by the hooks installed on this thread (hooks.hpp;
  /// module 19's profiler). Call children this way, (*child)(x), so that the hooks see them.
  [[nodiscard]] Tensor operator()(const Tensor& input) {
    if (hooks::installed()) return hooks::call(*this, input);
    return forward(input);
  }

  // ---- you write these in layers.cpp ----
  /// Own parameters first (registration order), then each child's, depth first.
  [[nodiscard]] std::vector<Tensor> parameters(bool recurse = true) const;
  [[nodiscard]] std::vector<std::pair<std::string, Tensor>> named_parameters(
      bool recurse = true) const;
  [[nodiscard]] std::vector<std::pair<std::string, Tensor>> named_buffers(
      bool recurse = true) const;
  [[nodiscard]] std::vector<std::shared_ptr<Module>> children() const;
  [[nodiscard]] std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// Sets training mode on this module and every descendant (Dropout and BatchNorm read it).
  void train(bool on = true);
  void eval() { train(false); }
  [[nodiscard]] bool is_training() const { return training_; }
  /// Makes every parameter's gradient undefined (nothing accumulated yet).
  void zero_grad();
  /// Total number of parameter elements (the "size" of a model).
  [[nodiscard]] std::int64_t num_parameters() const;

 protected:
  /// Registers t (sets requires_grad) under name; a duplicate name throws std::invalid_argument.
  Tensor& register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  /// A buffer is state that is saved but not trained (BatchNorm's running mean).
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> module);

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

/// How Linear initialises its weight (bias: uniform(-1/sqrt(in), 1/sqrt(in)) as in PyTorch).
enum class Init {
  kaiming_uniform,  // PyTorch's default: U(-b, b), b = 1/sqrt(in) (He init with a = sqrt(5))
  kaiming_normal,   // N(0, 2/in): for ReLU networks
  xavier_uniform,   // U(-b, b), b = sqrt(6/(in + out)): for tanh/sigmoid networks
  xavier_normal,    // N(0, 2/(in + out))
};

/// y = x W^T + b, with W of shape (out, in) and b of shape (out), as torch.nn.Linear.
/// Input (..., in) -> output (..., out).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true,
         Init init = Init::kaiming_uniform, Generator& generator = default_generator());
  [[nodiscard]] Tensor forward(const Tensor& input) override;

  std::int64_t in_features;
  std::int64_t out_features;
  Tensor weight;  // (out, in)
  Tensor bias;    // (out), undefined when bias = false
};

/// Applies its children in order; named "0", "1", ... like torch.nn.Sequential.
class Sequential : public Module {
 public:
  Sequential() = default;
  /// Sequential(Linear(2, 4), ReLU(), Linear(4, 1)): each module is moved into a shared_ptr.
  template <class... Modules>
  explicit Sequential(Modules&&... modules) {
    (push_back(std::make_shared<std::decay_t<Modules>>(std::forward<Modules>(modules))), ...);
  }
  void push_back(std::shared_ptr<Module> module);
  [[nodiscard]] Tensor forward(const Tensor& input) override;
  [[nodiscard]] std::size_t size() const { return children_.size(); }
  [[nodiscard]] std::shared_ptr<Module> operator[](std::size_t index) const;
};

/// Inverted dropout: in training, zeroes each element with probability p and scales the rest by
/// 1/(1-p) so the expected value is unchanged; in eval, the identity. p must be in [0, 1).
class Dropout : public Module {
 public:
  explicit Dropout(float p = 0.5f, Generator& generator = default_generator());
  [[nodiscard]] Tensor forward(const Tensor& input) override;

  float p;

 private:
  Generator* generator_;
};

/// (N, d1, d2, ...) -> (N, d1*d2*...): flatten(start_dim = 1).
class Flatten : public Module {
 public:
  [[nodiscard]] Tensor forward(const Tensor& input) override;
};

// Activations as modules, so they can sit in a Sequential (forward calls module 03's functions).
class ReLU : public Module {
 public:
  [[nodiscard]] Tensor forward(const Tensor& input) override;
};
class Sigmoid : public Module {
 public:
  [[nodiscard]] Tensor forward(const Tensor& input) override;
};
class Tanh : public Module {
 public:
  [[nodiscard]] Tensor forward(const Tensor& input) override;
};
class GELU : public Module {
 public:
  [[nodiscard]] Tensor forward(const Tensor& input) override;
};

}  // namespace tinytorch::nn
