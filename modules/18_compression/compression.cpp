// Module 18 — fill in each TODO. The contract is compression.hpp: read each function's comment
// there first, and the lesson in README.md for the why.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 18` after
// each function. Suggested order: prune_count, magnitude_mask, global_magnitude_masks,
// prunable_weights, Pruner, pruned_train_step; output_norms, units_to_keep, select_outputs,
// select_inputs, prune_channels; distillation_loss, distill_step; rank_for_energy, low_rank_linear.
//
// svd() is framework-owned (svd.cpp calls LAPACK): you use it, you do not write it.
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
#include "tinytorch/errors.hpp"
#include "tinytorch/losses.hpp"

namespace tinytorch::compress {

// ---- unstructured magnitude pruning ------------------------------------------------------------

std::int64_t prune_count(double amount, std::int64_t n) {
  // TODO: amount must be finite and in [0, 1), else std::invalid_argument naming the amount and
  //   saying what to give instead. Return std::llround(amount * n).
  (void)amount;
  (void)n;
  throw NotImplemented("18_compression", "prune_count");
}

Tensor magnitude_mask(const Tensor& weight, double amount) {
  // TODO: k = prune_count(amount, numel). Order the flat indices by |w| ascending with a STABLE
  //   sort (ties keep the lower index first), and zero the mask at the first k of them. Compare
  //   magnitudes (std::fabs), not values: a weight of -5 is one of the most important.
  (void)weight;
  (void)amount;
  throw NotImplemented("18_compression", "magnitude_mask");
}

std::vector<Tensor> global_magnitude_masks(const std::vector<Tensor>& weights, double amount) {
  // TODO: put every weight of every tensor into one list (remember which tensor and which index
  //   each came from), k = prune_count(amount, total), stable-sort by |w|, and zero the first k
  //   in their own tensor's mask. One threshold for all: do not prune each tensor by `amount`.
  (void)weights;
  (void)amount;
  throw NotImplemented("18_compression", "global_magnitude_masks");
}

std::vector<std::pair<std::string, Tensor>> prunable_weights(const nn::Module& model) {
  // TODO: walk the module tree depth first: for a Linear or Conv2d (dynamic_cast) add
  //   {prefix + "weight", its weight}; then recurse into named_children() with prefix + name + ".".
  (void)model;
  throw NotImplemented("18_compression", "prunable_weights");
}

Pruner Pruner::per_layer(nn::Module& model, double amount) {
  // TODO: one PrunedTensor per prunable weight with magnitude_mask(weight, amount); build the
  //   Pruner, apply() it once, return it.
  (void)model;
  (void)amount;
  throw NotImplemented("18_compression", "Pruner::per_layer");
}

Pruner Pruner::global(nn::Module& model, double amount) {
  // TODO: as per_layer, with the masks of global_magnitude_masks over all prunable weights.
  (void)model;
  (void)amount;
  throw NotImplemented("18_compression", "Pruner::global");
}

void Pruner::apply() const {
  // TODO: for every entry, weight[i] *= mask[i], in place (weight.data(): the model's own
  //   numbers, not a copy).
  throw NotImplemented("18_compression", "Pruner::apply");
}

std::vector<LayerSparsity> Pruner::report() const {
  // TODO: per entry: numel, the zeros counted in the WEIGHT (what the model computes with), and
  //   zeros / numel; then a row named "total" summing numel and zeros over all entries.
  throw NotImplemented("18_compression", "Pruner::report");
}

double pruned_train_step(nn::Module& model, optim::Optimizer& optimizer, const Pruner& pruner,
                         const std::function<Tensor(const Tensor&, const Tensor&)>& loss_fn,
                         const Tensor& x, const Tensor& y) {
  // TODO: x and y must be one batch (at least 1-d, the same size(0)), else std::invalid_argument
  //   naming both shapes. Then zero_grad, loss = loss_fn(model(x), y), backward, step, and then
  //   pruner.apply(): a momentum or Adam step moves a pruned weight even when its gradient is
  //   zero. Return loss.item().
  (void)model;
  (void)optimizer;
  (void)pruner;
  (void)loss_fn;
  (void)x;
  (void)y;
  throw NotImplemented("18_compression", "pruned_train_step");
}

// ---- structured pruning ------------------------------------------------------------------------

Tensor output_norms(const Tensor& weight) {
  // TODO: weight.dim() < 2: std::invalid_argument naming the shape. Else row o of the (out, per)
  //   view, per = numel / out: sqrt(sum of squares), summed in double.
  (void)weight;
  throw NotImplemented("18_compression", "output_norms");
}

std::vector<std::int64_t> units_to_keep(const Tensor& norms, double amount) {
  // TODO: keep = max(1, n - prune_count(amount, n)) units: the largest norms (stable sort,
  //   descending: on a tie the lower index stays), then sort the kept indices ascending.
  (void)norms;
  (void)amount;
  throw NotImplemented("18_compression", "units_to_keep");
}

Tensor select_outputs(const Tensor& t, const std::vector<std::int64_t>& keep) {
  // TODO: copy row keep[r] of the (n, per) view into row r of the result (shape: t's, with
  //   keep.size() in dimension 0). An index outside [0, n): std::out_of_range naming it.
  (void)t;
  (void)keep;
  throw NotImplemented("18_compression", "select_outputs");
}

Tensor select_inputs(const Tensor& weight, const std::vector<std::int64_t>& keep,
                     std::int64_t units, std::int64_t group) {
  // TODO: check weight.size(1) == units * group (std::invalid_argument naming the shape and the
  //   expected size). View the weight as (out, in, inner), inner = k * k for a conv (1 for a
  //   Linear). For each output o and each kept unit j = keep[jj], copy the group * inner numbers
  //   starting at input j * group into position jj * group of the result (out, keep.size() *
  //   group, ...). After a Flatten, unit j is channel j and its group is its H * W pixels: slicing
  //   single columns j instead would read the wrong features.
  (void)weight;
  (void)keep;
  (void)units;
  (void)group;
  throw NotImplemented("18_compression", "select_inputs");
}

std::shared_ptr<nn::Sequential> prune_channels(const nn::Sequential& model, double amount) {
  // TODO: build a new Sequential, child by child (model.named_children()):
  //   - first find the index of the last Linear/Conv2d (its outputs stay: they are the classes),
  //     and reject a child of any type the contract does not list (std::invalid_argument naming
  //     its index).
  //   - remember what the previous Linear/Conv2d left: its unit count before pruning and the kept
  //     indices.
  //   - Linear / Conv2d: slice its inputs to the kept units of the previous layer (select_inputs
  //     with group = inputs / previous units, checked to divide), choose its own kept outputs
  //     (units_to_keep(output_norms(original weight), amount), or all for the last layer),
  //     select_outputs of weight and bias, and copy them into a new layer of the new sizes.
  //   - BatchNorm2d: a new one over the kept channels (weight, bias, running_mean, running_var).
  //   - anything else listed (activations, pooling, Flatten, Dropout): push the same child.
  //   Give the result the model's training mode. The original model must not change.
  (void)model;
  (void)amount;
  throw NotImplemented("18_compression", "prune_channels");
}

// ---- knowledge distillation --------------------------------------------------------------------

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits,
                         const Tensor& targets, const DistillationOptions& options) {
  // TODO: check shapes, T > 0 and alpha in [0, 1] (std::invalid_argument naming them). Then
  //   - under NoGradGuard, from teacher_logits.detach() / T: p = softmax(., 1) and
  //     log_p = log_softmax(., 1): constants, the student learns toward them.
  //   - log_q = log_softmax(student_logits / T, 1), recorded so the gradient reaches the student.
  //   - soft = sum(p * (log_p - log_q)) * T^2 / N: KL(p || q), the teacher's distribution first.
  //   - return alpha * soft + (1 - alpha) * cross_entropy(student_logits, targets).
  (void)student_logits;
  (void)teacher_logits;
  (void)targets;
  (void)options;
  throw NotImplemented("18_compression", "distillation_loss");
}

double distill_step(nn::Module& student, nn::Module& teacher, optim::Optimizer& optimizer,
                    const Tensor& x, const Tensor& y, const DistillationOptions& options) {
  // TODO: teacher logits in eval mode under NoGradGuard (restore the teacher's mode), then
  //   zero_grad, distillation_loss(student(x), teacher_logits, y, options), backward, step.
  (void)student;
  (void)teacher;
  (void)optimizer;
  (void)x;
  (void)y;
  (void)options;
  throw NotImplemented("18_compression", "distill_step");
}

// ---- low rank ----------------------------------------------------------------------------------

std::int64_t rank_for_energy(const Tensor& s, double energy) {
  // TODO: energy in (0, 1] and sum s_i^2 > 0, else std::invalid_argument. Return the smallest r
  //   with sum_{i<r} s_i^2 >= energy * sum_i s_i^2 (sum in double).
  (void)s;
  (void)energy;
  throw NotImplemented("18_compression", "rank_for_energy");
}

std::shared_ptr<nn::Sequential> low_rank_linear(const nn::Linear& layer, std::int64_t rank) {
  // TODO: rank in [1, min(in, out)], else std::invalid_argument naming the rank and the shape.
  //   d = svd(layer.weight): u (out, k), s (k), vt (k, in). The first Linear(in, rank, no bias)
  //   gets weight[i][j] = s[i] * vt[i][j]; the second Linear(rank, out, bias if the layer has
  //   one) gets weight[o][i] = u[o][i] and the layer's bias. Return Sequential(first, second).
  (void)layer;
  (void)rank;
  throw NotImplemented("18_compression", "low_rank_linear");
}

}  // namespace tinytorch::compress
