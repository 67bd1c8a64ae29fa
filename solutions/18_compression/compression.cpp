// Module 18, reference solution. The contract is modules/18_compression/compression.hpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/activations.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/compression.hpp"
#include "tinytorch/losses.hpp"

namespace tinytorch::compress {

namespace {

// Indices 0..n-1 ordered by |value| ascending; stable, so ties keep the lower index first.
std::vector<std::int64_t> order_by_magnitude(const std::vector<float>& values) {
  std::vector<std::int64_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return std::fabs(values[static_cast<std::size_t>(a)]) <
           std::fabs(values[static_cast<std::size_t>(b)]);
  });
  return order;
}

void collect_prunable(const nn::Module& module, const std::string& prefix,
                      std::vector<std::pair<std::string, Tensor>>& out) {
  if (const auto* linear = dynamic_cast<const nn::Linear*>(&module)) {
    out.emplace_back(prefix + "weight", linear->weight);
  } else if (const auto* conv = dynamic_cast<const nn::Conv2d*>(&module)) {
    out.emplace_back(prefix + "weight", conv->weight);
  }
  for (const auto& [name, child] : module.named_children()) {
    collect_prunable(*child, prefix + name + ".", out);
  }
}

}  // namespace

std::int64_t prune_count(double amount, std::int64_t n) {
  if (!std::isfinite(amount) || amount < 0.0 || amount >= 1.0) {
    throw std::invalid_argument("prune amount " + std::to_string(amount) +
                                " is outside [0, 1): give the fraction of weights to remove, "
                                "e.g. 0.9 for 90%");
  }
  return static_cast<std::int64_t>(std::llround(amount * static_cast<double>(n)));
}

Tensor magnitude_mask(const Tensor& weight, double amount) {
  const std::vector<float> values = weight.to_vector();
  const std::int64_t k = prune_count(amount, weight.numel());
  const std::vector<std::int64_t> order = order_by_magnitude(values);
  Tensor mask = ones(weight.shape());
  auto m = mask.data();
  for (std::int64_t i = 0; i < k; ++i) m[static_cast<std::size_t>(order[i])] = 0.0f;
  return mask;
}

std::vector<Tensor> global_magnitude_masks(const std::vector<Tensor>& weights, double amount) {
  // Every weight of every tensor in one list, so one sort gives one threshold.
  std::vector<float> all;
  std::vector<std::size_t> owner;  // which tensor each entry came from
  for (std::size_t t = 0; t < weights.size(); ++t) {
    for (float v : weights[t].to_vector()) {
      all.push_back(v);
      owner.push_back(t);
    }
  }
  const std::int64_t k = prune_count(amount, static_cast<std::int64_t>(all.size()));
  std::vector<Tensor> masks;
  std::vector<std::int64_t> start;  // flat position of each tensor's first weight
  std::int64_t offset = 0;
  for (const Tensor& w : weights) {
    masks.push_back(ones(w.shape()));
    start.push_back(offset);
    offset += w.numel();
  }
  const std::vector<std::int64_t> order = order_by_magnitude(all);
  for (std::int64_t i = 0; i < k; ++i) {
    const auto flat = static_cast<std::size_t>(order[i]);
    const std::size_t t = owner[flat];
    masks[t].data()[static_cast<std::size_t>(static_cast<std::int64_t>(flat) - start[t])] = 0.0f;
  }
  return masks;
}

std::vector<std::pair<std::string, Tensor>> prunable_weights(const nn::Module& model) {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_prunable(model, "", out);
  return out;
}

Pruner Pruner::per_layer(nn::Module& model, double amount) {
  std::vector<PrunedTensor> entries;
  for (auto& [name, weight] : prunable_weights(model)) {
    entries.push_back({name, weight, magnitude_mask(weight, amount)});
  }
  Pruner pruner(std::move(entries));
  pruner.apply();
  return pruner;
}

Pruner Pruner::global(nn::Module& model, double amount) {
  const auto named = prunable_weights(model);
  std::vector<Tensor> weights;
  for (const auto& [name, weight] : named) weights.push_back(weight);
  const std::vector<Tensor> masks = global_magnitude_masks(weights, amount);
  std::vector<PrunedTensor> entries;
  for (std::size_t i = 0; i < named.size(); ++i) {
    entries.push_back({named[i].first, named[i].second, masks[i]});
  }
  Pruner pruner(std::move(entries));
  pruner.apply();
  return pruner;
}

void Pruner::apply() const {
  for (const auto& e : entries_) {
    auto w = e.weight.data();
    const auto m = e.mask.data();
    for (std::size_t i = 0; i < w.size(); ++i) w[i] *= m[i];
  }
}

std::vector<LayerSparsity> Pruner::report() const {
  std::vector<LayerSparsity> rows;
  LayerSparsity total{.name = "total"};
  for (const auto& e : entries_) {
    LayerSparsity row{.name = e.name, .numel = e.weight.numel()};
    for (float v : e.weight.to_vector()) row.zeros += (v == 0.0f) ? 1 : 0;
    row.sparsity = row.numel > 0 ? static_cast<double>(row.zeros) / row.numel : 0.0;
    total.numel += row.numel;
    total.zeros += row.zeros;
    rows.push_back(row);
  }
  total.sparsity = total.numel > 0 ? static_cast<double>(total.zeros) / total.numel : 0.0;
  rows.push_back(total);
  return rows;
}

double pruned_train_step(nn::Module& model, optim::Optimizer& optimizer, const Pruner& pruner,
                         const std::function<Tensor(const Tensor&, const Tensor&)>& loss_fn,
                         const Tensor& x, const Tensor& y) {
  if (x.dim() == 0 || y.dim() == 0 || x.size(0) != y.size(0)) {
    throw std::invalid_argument("pruned_train_step: inputs " + shape_to_string(x.shape()) +
                                " and targets " + shape_to_string(y.shape()) +
                                " are not one batch of the same size");
  }
  optimizer.zero_grad();
  const Tensor loss = loss_fn(model(x), y);
  loss.backward();
  optimizer.step();
  pruner.apply();  // the step moved pruned weights (momentum, Adam): put them back to zero
  return loss.item();
}

// ---- structured pruning ------------------------------------------------------------------------

Tensor output_norms(const Tensor& weight) {
  if (weight.dim() < 2) {
    throw std::invalid_argument("output_norms: a weight of shape " +
                                shape_to_string(weight.shape()) +
                                " has no output units (expected (out, in) or (out, in, k, k))");
  }
  const std::int64_t out = weight.size(0);
  const std::int64_t per = out > 0 ? weight.numel() / out : 0;
  const std::vector<float> w = weight.to_vector();
  Tensor norms = zeros({out});
  auto n = norms.data();
  for (std::int64_t o = 0; o < out; ++o) {
    double sq = 0.0;
    for (std::int64_t i = 0; i < per; ++i) {
      const double v = w[static_cast<std::size_t>(o * per + i)];
      sq += v * v;
    }
    n[static_cast<std::size_t>(o)] = static_cast<float>(std::sqrt(sq));
  }
  return norms;
}

std::vector<std::int64_t> units_to_keep(const Tensor& norms, double amount) {
  const std::vector<float> v = norms.to_vector();
  const auto n = static_cast<std::int64_t>(v.size());
  const std::int64_t keep = std::max<std::int64_t>(1, n - prune_count(amount, n));
  std::vector<std::int64_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return v[static_cast<std::size_t>(a)] > v[static_cast<std::size_t>(b)];
  });
  order.resize(static_cast<std::size_t>(std::min(keep, n)));
  std::sort(order.begin(), order.end());
  return order;
}

Tensor select_outputs(const Tensor& t, const std::vector<std::int64_t>& keep) {
  const Tensor c = t.contiguous();
  const std::int64_t n = c.size(0);
  const std::int64_t per = n > 0 ? c.numel() / n : 0;
  Shape shape = c.shape();
  shape[0] = static_cast<std::int64_t>(keep.size());
  Tensor out = empty(shape);
  const auto src = c.data();
  auto dst = out.data();
  for (std::size_t r = 0; r < keep.size(); ++r) {
    if (keep[r] < 0 || keep[r] >= n) {
      throw std::out_of_range("select_outputs: index " + std::to_string(keep[r]) +
                              " is outside [0, " + std::to_string(n) + ") for shape " +
                              shape_to_string(t.shape()));
    }
    std::copy_n(src.begin() + keep[r] * per, per, dst.begin() + static_cast<std::int64_t>(r) * per);
  }
  return out;
}

Tensor select_inputs(const Tensor& weight, const std::vector<std::int64_t>& keep,
                     std::int64_t units, std::int64_t group) {
  if (weight.dim() < 2 || group < 1 || weight.size(1) != units * group) {
    throw std::invalid_argument(
        "select_inputs: a weight of shape " + shape_to_string(weight.shape()) + " does not read " +
        std::to_string(units) + " units of " + std::to_string(group) +
        " input(s) each (its dimension 1 must be " + std::to_string(units * group) + ")");
  }
  const Tensor c = weight.contiguous();
  const std::int64_t out = c.size(0);
  const std::int64_t in = c.size(1);
  const std::int64_t inner = c.numel() / std::max<std::int64_t>(1, out * in);  // k * k for a conv
  Shape shape = c.shape();
  shape[1] = static_cast<std::int64_t>(keep.size()) * group;
  Tensor result = empty(shape);
  const auto src = c.data();
  auto dst = result.data();
  const std::int64_t block = group * inner;  // the numbers one unit feeds into one output
  for (std::int64_t o = 0; o < out; ++o) {
    for (std::size_t j = 0; j < keep.size(); ++j) {
      if (keep[j] < 0 || keep[j] >= units) {
        throw std::out_of_range("select_inputs: unit " + std::to_string(keep[j]) +
                                " is outside [0, " + std::to_string(units) + ")");
      }
      std::copy_n(src.begin() + (o * in + keep[j] * group) * inner, block,
                  dst.begin() + (o * shape[1] + static_cast<std::int64_t>(j) * group) * inner);
    }
  }
  return result;
}

namespace {

bool carried_over(const nn::Module& m) {
  return dynamic_cast<const nn::ReLU*>(&m) || dynamic_cast<const nn::Sigmoid*>(&m) ||
         dynamic_cast<const nn::Tanh*>(&m) || dynamic_cast<const nn::GELU*>(&m) ||
         dynamic_cast<const nn::MaxPool2d*>(&m) || dynamic_cast<const nn::AvgPool2d*>(&m) ||
         dynamic_cast<const nn::Flatten*>(&m) || dynamic_cast<const nn::Dropout*>(&m);
}

// What the previous Linear/Conv2d left: how many units it had and which of them stay.
struct Kept {
  std::int64_t units = -1;  // -1: no weighted layer yet (the model's input is not pruned)
  std::vector<std::int64_t> keep;
};

// The inputs of a layer after the kept units: all of them for the first layer.
Tensor slice_inputs(const Tensor& weight, const Kept& kept, std::int64_t in, std::size_t index) {
  if (kept.units < 0) return weight;
  if (kept.units == 0 || in % kept.units != 0) {
    throw std::invalid_argument("prune_channels: child " + std::to_string(index) + " reads " +
                                std::to_string(in) + " inputs, which is not a multiple of the " +
                                std::to_string(kept.units) + " units of the layer before it");
  }
  return select_inputs(weight, kept.keep, kept.units, in / kept.units);
}

std::vector<std::int64_t> all_units(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

std::shared_ptr<nn::Sequential> prune_channels(const nn::Sequential& model, double amount) {
  (void)prune_count(amount, 1);  // the amount is checked even for a model with one layer
  const auto children = model.named_children();
  std::size_t last = children.size();
  for (std::size_t i = 0; i < children.size(); ++i) {
    const nn::Module& m = *children[i].second;
    if (dynamic_cast<const nn::Linear*>(&m) || dynamic_cast<const nn::Conv2d*>(&m)) {
      last = i;
    } else if (!dynamic_cast<const nn::BatchNorm2d*>(&m) && !carried_over(m)) {
      throw std::invalid_argument("prune_channels: child " + std::to_string(i) + " (" +
                                  children[i].first +
                                  ") is not a layer it knows how to prune or carry over "
                                  "(Linear, Conv2d, BatchNorm2d, activations, pooling, Flatten, "
                                  "Dropout)");
    }
  }
  Generator scratch(0);  // the new layers' initial values are overwritten at once
  auto result = std::make_shared<nn::Sequential>();
  Kept kept;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const auto& child = children[i].second;
    if (const auto* linear = dynamic_cast<const nn::Linear*>(child.get())) {
      const std::vector<std::int64_t> keep =
          i == last ? all_units(linear->out_features)
                    : units_to_keep(output_norms(linear->weight), amount);
      Tensor w = select_outputs(slice_inputs(linear->weight, kept, linear->in_features, i), keep);
      auto layer = std::make_shared<nn::Linear>(w.size(1), w.size(0), linear->bias.defined(),
                                                nn::Init::kaiming_uniform, scratch);
      layer->weight.copy_(w);
      if (linear->bias.defined()) layer->bias.copy_(select_outputs(linear->bias, keep));
      result->push_back(layer);
      kept = {linear->out_features, keep};
    } else if (const auto* conv = dynamic_cast<const nn::Conv2d*>(child.get())) {
      if (kept.units >= 0 && conv->in_channels != kept.units) {
        throw std::invalid_argument("prune_channels: child " + std::to_string(i) +
                                    " (Conv2d) has " + std::to_string(conv->in_channels) +
                                    " input channels but the layer before it has " +
                                    std::to_string(kept.units) + " outputs");
      }
      const std::vector<std::int64_t> keep =
          i == last ? all_units(conv->out_channels)
                    : units_to_keep(output_norms(conv->weight), amount);
      Tensor w = select_outputs(slice_inputs(conv->weight, kept, conv->in_channels, i), keep);
      auto layer =
          std::make_shared<nn::Conv2d>(w.size(1), w.size(0), conv->kernel_size, conv->stride,
                                       conv->padding, conv->bias.defined(), scratch);
      layer->weight.copy_(w);
      if (conv->bias.defined()) layer->bias.copy_(select_outputs(conv->bias, keep));
      result->push_back(layer);
      kept = {conv->out_channels, keep};
    } else if (const auto* bn = dynamic_cast<const nn::BatchNorm2d*>(child.get())) {
      if (bn->num_features != kept.units) {
        throw std::invalid_argument(
            "prune_channels: child " + std::to_string(i) + " (BatchNorm2d) normalises " +
            std::to_string(bn->num_features) + " channels but the layer before it has " +
            std::to_string(kept.units) + " outputs");
      }
      auto layer = std::make_shared<nn::BatchNorm2d>(static_cast<std::int64_t>(kept.keep.size()),
                                                     bn->eps, bn->momentum);
      layer->weight.copy_(select_outputs(bn->weight, kept.keep));
      layer->bias.copy_(select_outputs(bn->bias, kept.keep));
      layer->running_mean.copy_(select_outputs(bn->running_mean, kept.keep));
      layer->running_var.copy_(select_outputs(bn->running_var, kept.keep));
      result->push_back(layer);
    } else {
      result->push_back(child);  // no parameters: shared with the original
    }
  }
  result->train(model.is_training());
  return result;
}

// ---- knowledge distillation --------------------------------------------------------------------

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits,
                         const Tensor& targets, const DistillationOptions& options) {
  if (student_logits.dim() != 2 || student_logits.shape() != teacher_logits.shape() ||
      targets.dim() != 1 || targets.size(0) != student_logits.size(0)) {
    throw std::invalid_argument(
        "distillation_loss: expected student and teacher logits (N, C) of one shape and targets "
        "(N); got student " +
        shape_to_string(student_logits.shape()) + ", teacher " +
        shape_to_string(teacher_logits.shape()) + ", targets " + shape_to_string(targets.shape()));
  }
  if (!(options.temperature > 0.0f) || !std::isfinite(options.temperature)) {
    throw std::invalid_argument("distillation_loss: temperature " +
                                std::to_string(options.temperature) + " must be > 0");
  }
  if (!(options.alpha >= 0.0f && options.alpha <= 1.0f)) {
    throw std::invalid_argument("distillation_loss: alpha " + std::to_string(options.alpha) +
                                " must be in [0, 1]");
  }
  const float T = options.temperature;
  const auto N = static_cast<float>(student_logits.size(0));
  Tensor p;
  Tensor log_p;
  {
    autograd::NoGradGuard no_grad;  // the teacher's targets are constants
    const Tensor t = teacher_logits.detach() / T;
    p = softmax(t, 1);
    log_p = log_softmax(t, 1);
  }
  const Tensor log_q = log_softmax(student_logits / T, 1);
  // KL(p || q) summed over classes, averaged over the batch, times T^2 (Hinton et al.).
  const Tensor soft = (p * (log_p - log_q)).sum() * (T * T / N);
  const Tensor hard = cross_entropy(student_logits, targets);
  return soft * options.alpha + hard * (1.0f - options.alpha);
}

double distill_step(nn::Module& student, nn::Module& teacher, optim::Optimizer& optimizer,
                    const Tensor& x, const Tensor& y, const DistillationOptions& options) {
  Tensor teacher_logits;
  {
    const bool was_training = teacher.is_training();
    teacher.eval();
    autograd::NoGradGuard no_grad;
    teacher_logits = teacher(x);
    teacher.train(was_training);
  }
  optimizer.zero_grad();
  const Tensor loss = distillation_loss(student(x), teacher_logits, y, options);
  loss.backward();
  optimizer.step();
  return loss.item();
}

// ---- low rank ----------------------------------------------------------------------------------

std::int64_t rank_for_energy(const Tensor& s, double energy) {
  if (!(energy > 0.0 && energy <= 1.0)) {
    throw std::invalid_argument("rank_for_energy: energy " + std::to_string(energy) +
                                " must be in (0, 1]: the fraction of sum s_i^2 to keep");
  }
  std::vector<double> e;  // the energy of each direction: s_i^2
  for (float x : s.to_vector()) e.push_back(static_cast<double>(x) * x);
  const double total = std::accumulate(e.begin(), e.end(), 0.0);
  if (!(total > 0.0)) {
    throw std::invalid_argument("rank_for_energy: the singular values " +
                                shape_to_string(s.shape()) +
                                " are all zero: there is no energy to keep");
  }
  double kept = 0.0;
  for (std::size_t r = 0; r < e.size(); ++r) {
    kept += e[r];
    if (kept >= energy * total) return static_cast<std::int64_t>(r) + 1;
  }
  return static_cast<std::int64_t>(e.size());
}

std::shared_ptr<nn::Sequential> low_rank_linear(const nn::Linear& layer, std::int64_t rank) {
  const std::int64_t out = layer.out_features;
  const std::int64_t in = layer.in_features;
  if (rank < 1 || rank > std::min(in, out)) {
    throw std::invalid_argument("low_rank_linear: rank " + std::to_string(rank) +
                                " is outside [1, min(in, out)] = [1, " +
                                std::to_string(std::min(in, out)) + "] for a weight of shape " +
                                shape_to_string(layer.weight.shape()));
  }
  const SVD d = svd(layer.weight);
  const std::int64_t k = d.s.size(0);
  // first (r, in) = diag(S_r) Vt_r; second (out, r) = U_r.
  Tensor first = empty({rank, in});
  Tensor second = empty({out, rank});
  const auto s = d.s.to_vector();
  const auto vt = d.vt.to_vector();
  const auto u = d.u.to_vector();
  auto f = first.data();
  auto g = second.data();
  for (std::int64_t i = 0; i < rank; ++i) {
    for (std::int64_t j = 0; j < in; ++j) {
      f[static_cast<std::size_t>(i * in + j)] =
          s[static_cast<std::size_t>(i)] * vt[static_cast<std::size_t>(i * in + j)];
    }
  }
  for (std::int64_t o = 0; o < out; ++o) {
    for (std::int64_t i = 0; i < rank; ++i) {
      g[static_cast<std::size_t>(o * rank + i)] = u[static_cast<std::size_t>(o * k + i)];
    }
  }
  Generator scratch(0);
  auto a = std::make_shared<nn::Linear>(in, rank, false, nn::Init::kaiming_uniform, scratch);
  auto b = std::make_shared<nn::Linear>(rank, out, layer.bias.defined(), nn::Init::kaiming_uniform,
                                        scratch);
  a->weight.copy_(first);
  b->weight.copy_(second);
  if (layer.bias.defined()) b->bias.copy_(layer.bias);
  auto seq = std::make_shared<nn::Sequential>();
  seq->push_back(a);
  seq->push_back(b);
  return seq;
}

}  // namespace tinytorch::compress
