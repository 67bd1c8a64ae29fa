// Module 06 reference solution: SGD, Adam and AdamW. The contract is
// modules/06_optimizers/optimizers.hpp.
//
// Each update is PyTorch's (torch/optim/{sgd,adam,adamw}.py, the single-tensor path), operation
// for operation, so a run here and a run in PyTorch agree to float rounding. The updates are plain
// loops over the contiguous float spans of a parameter, its gradient and its state: they write the
// parameter's storage in place, which autograd never records, so no NoGradGuard is needed, and
// they allocate nothing per step (the state buffers are made once).
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/optimizers.hpp"

namespace tinytorch::optim {
namespace {

// `value >= low` written so that NaN fails too.
void check_at_least(double value, double low, const char* option) {
  if (!(value >= low)) {
    throw std::invalid_argument(std::string("invalid ") + option + " " + std::to_string(value) +
                                ": it must be >= " + std::to_string(low));
  }
}

void check_beta(double value, const char* option) {
  if (!(value >= 0.0 && value < 1.0)) {
    throw std::invalid_argument(std::string("invalid ") + option + " " + std::to_string(value) +
                                ": it must be in [0, 1)");
  }
}

void check_adam_options(const AdamOptions& o) {
  check_at_least(o.lr(), 0.0, "lr");
  check_at_least(o.eps(), 0.0, "eps");
  check_beta(o.beta1(), "beta1 (betas[0])");
  check_beta(o.beta2(), "beta2 (betas[1])");
  check_at_least(o.weight_decay(), 0.0, "weight_decay");
}

std::vector<Tensor> zeros_like_each(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> state;
  state.reserve(parameters.size());
  for (const Tensor& p : parameters) state.push_back(zeros_like(p));
  return state;
}

// The Adam update of one parameter (PyTorch's _single_tensor_adam), with the raw gradient g and an
// L2 term wd * p added to it (wd = 0 for AdamW, which decays the weights separately).
void adam_update(std::span<float> p, std::span<const float> g, std::span<float> m,
                 std::span<float> v, const AdamOptions& o, double l2, std::int64_t step) {
  const auto b1 = static_cast<float>(o.beta1()), b2 = static_cast<float>(o.beta2());
  const auto wd = static_cast<float>(l2), eps = static_cast<float>(o.eps());
  // Bias correction: m and v start at 0, so after t steps they are shrunk by (1 - beta^t);
  // dividing it out makes the first steps full size.
  const double bias_correction1 = 1.0 - std::pow(o.beta1(), static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(o.beta2(), static_cast<double>(step));
  const auto step_size = static_cast<float>(o.lr() / bias_correction1);
  const auto bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  // Every element on its own: split over the threads for a large parameter.
  kernels::parallel_for(
      0, static_cast<std::int64_t>(p.size()), std::int64_t{1} << 15,
      [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) {
          const float gi = g[i] + wd * p[i];
          m[i] = b1 * m[i] + (1.0f - b1) * gi;       // first moment: a running mean of g
          v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;  // second moment: a running mean of g^2
          const float denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
          p[i] -= step_size * (m[i] / denom);  // p -= lr * m_hat / (sqrt(v_hat) + eps)
        }
      });
}

}  // namespace

// ---- Optimizer: the template method --------------------------------------------------------

Optimizer::Optimizer(std::vector<Tensor> parameters) : parameters_(std::move(parameters)) {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (!parameters_[i].defined()) {
      throw std::invalid_argument("optimizer parameter " + std::to_string(i) +
                                  " is an undefined Tensor; pass the model's parameters()");
    }
  }
}

void Optimizer::zero_grad() {
  // Undefined, not zeros: backward then creates the gradient instead of adding into a stale one.
  for (const Tensor& p : parameters_) p.set_grad(Tensor());
}

void Optimizer::step() {
  ++step_count_;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor& p = parameters_[i];
    const Tensor g = p.grad();
    if (!g.defined()) continue;  // no gradient reached it (frozen, or unused this step)
    if (g.shape() != p.shape()) {
      throw std::invalid_argument("optimizer step: parameter " + std::to_string(i) + " has shape " +
                                  shape_to_string(p.shape()) + " but its gradient has shape " +
                                  shape_to_string(g.shape()));
    }
    update(i, p, ops::contiguous(g));  // the updates read the gradient as one flat span
  }
}

// ---- SGD -----------------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> parameters, SGDOptions options)
    : Optimizer(std::move(parameters)), options_(options) {
  check_at_least(options_.lr(), 0.0, "lr");
  check_at_least(options_.momentum(), 0.0, "momentum");
  check_at_least(options_.dampening(), 0.0, "dampening");
  check_at_least(options_.weight_decay(), 0.0, "weight_decay");
  if (options_.nesterov() && (options_.momentum() <= 0.0 || options_.dampening() != 0.0)) {
    throw std::invalid_argument(
        "nesterov momentum needs momentum > 0 and dampening 0 (got momentum " +
        std::to_string(options_.momentum()) + ", dampening " +
        std::to_string(options_.dampening()) + ")");
  }
  momentum_buffers_.resize(parameters_.size());  // made on first use: b = g on the first step
}

// d = g + wd p;  b = mu b + (1 - dampening) d  (b = d on the first step);
// d = nesterov ? d + mu b : b;  p -= lr d
void SGD::update(std::size_t index, const Tensor& param, const Tensor& grad) {
  const std::span<float> p = param.data();
  const std::span<const float> g = grad.data();
  const auto lr = static_cast<float>(options_.lr()),
             wd = static_cast<float>(options_.weight_decay());
  const auto mu = static_cast<float>(options_.momentum());
  if (mu == 0.0f) {  // plain SGD: no state at all
    for (std::size_t i = 0; i < p.size(); ++i) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
  const auto dampening = static_cast<float>(options_.dampening());
  Tensor& buffer = momentum_buffers_[index];
  const bool first = !buffer.defined();
  if (first) buffer = empty(param.shape());
  const std::span<float> b = buffer.data();
  for (std::size_t i = 0; i < p.size(); ++i) {
    const float d = g[i] + wd * p[i];
    b[i] = first ? d : mu * b[i] + (1.0f - dampening) * d;
    p[i] -= lr * (options_.nesterov() ? d + mu * b[i] : b[i]);
  }
}

// ---- Adam and AdamW ------------------------------------------------------------------------

Adam::Adam(std::vector<Tensor> parameters, AdamOptions options)
    : Optimizer(std::move(parameters)),
      options_(options),
      exp_avg_(zeros_like_each(parameters_)),
      exp_avg_sq_(zeros_like_each(parameters_)) {
  check_adam_options(options_);
}

void Adam::update(std::size_t index, const Tensor& param, const Tensor& grad) {
  adam_update(param.data(), grad.data(), exp_avg_[index].data(), exp_avg_sq_[index].data(),
              options_, options_.weight_decay(), step_count_);
}

AdamW::AdamW(std::vector<Tensor> parameters, AdamOptions options)
    : Adam(std::move(parameters), options) {}

// Decoupled weight decay: shrink the weights by lr * wd, apart from the gradient, so the decay is
// not divided by sqrt(v) like the gradient is (Loshchilov & Hutter); then Adam without an L2 term.
void AdamW::update(std::size_t index, const Tensor& param, const Tensor& grad) {
  const std::span<float> p = param.data();
  const auto decay = static_cast<float>(1.0 - options_.lr() * options_.weight_decay());
  for (float& x : p) x *= decay;
  adam_update(p, grad.data(), exp_avg_[index].data(), exp_avg_sq_[index].data(), options_, 0.0,
              step_count_);
}

}  // namespace tinytorch::optim
