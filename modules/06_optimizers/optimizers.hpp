#pragma once
// Module 06: optimizers. The contract for optimizers.cpp, shaped like torch::optim:
//     SGD optimizer(model->parameters(), SGDOptions(0.1).momentum(0.9));
//     optimizer.zero_grad(); loss.backward(); optimizer.step();
// Each update matches PyTorch's update rule exactly (torch/optim/{sgd,adam,adamw}.py).
#include <cstdint>
#include <vector>

#include "tinytorch/tensor.hpp"

namespace tinytorch::optim {

/// Options are set by chained calls: SGDOptions(0.01).momentum(0.9).weight_decay(1e-4).
/// A negative learning rate, momentum, dampening, weight decay or eps, betas outside [0, 1), or
/// nesterov without momentum (or with dampening, as in PyTorch) throws std::invalid_argument naming
/// the option, when the optimizer is constructed.
class SGDOptions {
 public:
  explicit SGDOptions(double lr) : lr_(lr) {}
  SGDOptions& lr(double v) {
    lr_ = v;
    return *this;
  }
  SGDOptions& momentum(double v) {
    momentum_ = v;
    return *this;
  }
  SGDOptions& dampening(double v) {
    dampening_ = v;
    return *this;
  }
  SGDOptions& weight_decay(double v) {
    weight_decay_ = v;
    return *this;
  }
  SGDOptions& nesterov(bool v) {
    nesterov_ = v;
    return *this;
  }
  [[nodiscard]] double lr() const { return lr_; }
  [[nodiscard]] double momentum() const { return momentum_; }
  [[nodiscard]] double dampening() const { return dampening_; }
  [[nodiscard]] double weight_decay() const { return weight_decay_; }
  [[nodiscard]] bool nesterov() const { return nesterov_; }

 private:
  double lr_;
  double momentum_ = 0.0;
  double dampening_ = 0.0;
  double weight_decay_ = 0.0;
  bool nesterov_ = false;
};

class AdamOptions {
 public:
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  AdamOptions& lr(double v) {
    lr_ = v;
    return *this;
  }
  AdamOptions& betas(double beta1, double beta2) {
    beta1_ = beta1;
    beta2_ = beta2;
    return *this;
  }
  AdamOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  AdamOptions& weight_decay(double v) {
    weight_decay_ = v;
    return *this;
  }
  [[nodiscard]] double lr() const { return lr_; }
  [[nodiscard]] double beta1() const { return beta1_; }
  [[nodiscard]] double beta2() const { return beta2_; }
  [[nodiscard]] double eps() const { return eps_; }
  [[nodiscard]] double weight_decay() const { return weight_decay_; }

 private:
  double lr_;
  double beta1_ = 0.9;
  double beta2_ = 0.999;
  double eps_ = 1e-8;
  double weight_decay_ = 0.0;  // Adam: L2 added to the gradient; AdamW: decoupled (see below)
};

/// The template method: step() skips parameters without a gradient, advances the step counter and
/// calls update() for each parameter; subclasses write only the update rule.
class Optimizer {
 public:
  /// Shares the parameters (handles); an undefined Tensor among them throws std::invalid_argument.
  explicit Optimizer(std::vector<Tensor> parameters);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Makes every parameter's gradient undefined.
  void zero_grad();
  /// One update of every parameter that has a gradient, without recording any graph.
  void step();
  [[nodiscard]] std::int64_t step_count() const { return step_count_; }
  [[nodiscard]] const std::vector<Tensor>& parameters() const { return parameters_; }
  /// The learning rate, read and changed by LR schedules (module 08).
  [[nodiscard]] virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;

 protected:
  /// Updates parameters_[index] in place from its gradient; step_count() is already the new step
  /// (1 on the first call), which Adam's bias correction needs.
  virtual void update(std::size_t index, const Tensor& param, const Tensor& grad) = 0;

  std::vector<Tensor> parameters_;
  std::int64_t step_count_ = 0;
};

/// g = grad + wd * p;  with momentum: b = mu * b + (1 - dampening) * g (b = g on the first step),
/// g = nesterov ? g + mu * b : b;  p -= lr * g.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, SGDOptions options);
  [[nodiscard]] double lr() const override { return options_.lr(); }
  void set_lr(double lr) override { options_.lr(lr); }
  [[nodiscard]] const SGDOptions& options() const { return options_; }

 protected:
  void update(std::size_t index, const Tensor& param, const Tensor& grad) override;

 private:
  SGDOptions options_;
  std::vector<Tensor> momentum_buffers_;  // one per parameter, undefined until first used
};

/// g = grad + wd * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
/// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> parameters, AdamOptions options);
  [[nodiscard]] double lr() const override { return options_.lr(); }
  void set_lr(double lr) override { options_.lr(lr); }
  [[nodiscard]] const AdamOptions& options() const { return options_; }

 protected:
  void update(std::size_t index, const Tensor& param, const Tensor& grad) override;

  AdamOptions options_;
  std::vector<Tensor> exp_avg_;     // m, one per parameter
  std::vector<Tensor> exp_avg_sq_;  // v
};

/// Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * wd first, then the Adam
/// update with the raw gradient. Default weight decay 0.01 as in PyTorch.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> parameters, AdamOptions options = AdamOptions().weight_decay(0.01));

 protected:
  void update(std::size_t index, const Tensor& param, const Tensor& grad) override;
};

}  // namespace tinytorch::optim
