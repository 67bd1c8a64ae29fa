#pragma once
// Module 18: compression. Four ways to make a trained model smaller or cheaper, each checked by
// what it costs in accuracy. The contract for compression.cpp:
//     auto pruner = compress::Pruner::global(model, 0.9);       // 90% of the weights set to zero
//     for (...) compress::pruned_train_step(model, optimizer, pruner, loss, x, y);  // fine-tune
//     for (const auto& row : pruner.report()) ...                // per-layer sparsity
//     auto small = compress::prune_channels(cnn, 0.5);           // half the channels, dense again
//     Tensor loss = compress::distillation_loss(student(x), teacher_logits, y, {.temperature = 4});
//     auto factored = compress::low_rank_linear(fc, compress::rank_for_energy(svd(fc.weight).s,
//     0.9));
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tinytorch/layers.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/spatial.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch::compress {

// ---- unstructured magnitude pruning ------------------------------------------------------------

/// How many of n weights a pruning amount removes: round(amount * n), halves away from zero.
/// amount outside [0, 1) (or not finite): std::invalid_argument naming the amount (1 would remove
/// every weight, and the model with it).
[[nodiscard]] std::int64_t prune_count(double amount, std::int64_t n);

/// A mask of weight's shape: 0 at the prune_count(amount, numel) weights of smallest |w| (ties:
/// the lower flat index goes first), 1 elsewhere. Magnitude, not value: -5 matters more than 0.1.
[[nodiscard]] Tensor magnitude_mask(const Tensor& weight, double amount);

/// One mask per tensor, from ONE threshold over all of them: the prune_count(amount, total) weights
/// of smallest |w| across every tensor (ties: earlier tensor, then lower index, first). A layer
/// whose weights are small loses more of them than a layer whose weights are large.
[[nodiscard]] std::vector<Tensor> global_magnitude_masks(const std::vector<Tensor>& weights,
                                                         double amount);

/// One pruned tensor: its dotted name ("3.weight"), the tensor (shared with the model) and its
/// mask.
struct PrunedTensor {
  std::string name;
  Tensor weight;
  Tensor mask;  // weight's shape, 0 = pruned, 1 = kept
};

/// One row of a sparsity report.
struct LayerSparsity {
  std::string name;        // "0.weight"
  std::int64_t numel = 0;  // weights in the tensor
  std::int64_t zeros = 0;  // weights exactly 0 now
  double sparsity = 0.0;   // zeros / numel
};

/// The weights of a model that pruning touches: the weight of every Linear and Conv2d, found depth
/// first in named_parameters() order, with their dotted names. Biases and BatchNorm stay dense
/// (they are few, and pruning them costs accuracy for nothing).
[[nodiscard]] std::vector<std::pair<std::string, Tensor>> prunable_weights(const nn::Module& model);

/// Holds the masks of a pruned model and keeps them applied.
class Pruner {
 public:
  /// Every prunable weight loses `amount` of its own weights (magnitude_mask per tensor).
  [[nodiscard]] static Pruner per_layer(nn::Module& model, double amount);
  /// One threshold for the whole model (global_magnitude_masks over prunable_weights).
  [[nodiscard]] static Pruner global(nn::Module& model, double amount);
  explicit Pruner(std::vector<PrunedTensor> entries) : entries_(std::move(entries)) {}

  /// weight *= mask, in place, for every entry. Pruner::per_layer / global call it once; call it
  /// again after every optimizer step: a step (momentum, Adam, weight decay) moves pruned weights
  /// away from zero.
  void apply() const;
  /// Sparsity of each pruned tensor as it is now (zeros counted in the weights, not the masks),
  /// in entry order, then a last row named "total" over all of them.
  [[nodiscard]] std::vector<LayerSparsity> report() const;
  [[nodiscard]] const std::vector<PrunedTensor>& entries() const { return entries_; }

 private:
  std::vector<PrunedTensor> entries_;
};

/// One fine-tuning step of a pruned model: zero_grad, loss = loss_fn(model(x), y), backward,
/// optimizer.step(), then pruner.apply(). Returns the loss before the step. x and y that are not
/// one batch (0-d, or different sizes of dimension 0): std::invalid_argument naming both shapes.
double pruned_train_step(nn::Module& model, optim::Optimizer& optimizer, const Pruner& pruner,
                         const std::function<Tensor(const Tensor&, const Tensor&)>& loss_fn,
                         const Tensor& x, const Tensor& y);

// ---- structured pruning ------------------------------------------------------------------------

/// The L2 norm of each output unit's weights: Linear (out, in) -> (out); Conv2d (out, in, k, k) ->
/// (out), one norm over all in * k * k weights of a filter. Fewer than 2 dimensions:
/// std::invalid_argument naming the shape.
[[nodiscard]] Tensor output_norms(const Tensor& weight);

/// Which output units survive when `amount` of them go (prune_count(amount, n) of them, but at
/// least one always stays): the indices of the largest norms (ties: the lower index stays), sorted
/// ascending so that the kept units keep their order.
[[nodiscard]] std::vector<std::int64_t> units_to_keep(const Tensor& norms, double amount);

/// t[keep[0]], t[keep[1]], ... along dimension 0: (n, ...) -> (keep.size(), ...). The rows of a
/// Linear weight or bias, the filters of a Conv2d, the channels of a BatchNorm2d. An index outside
/// [0, n): std::out_of_range naming it.
[[nodiscard]] Tensor select_outputs(const Tensor& t, const std::vector<std::int64_t>& keep);

/// The inputs of the NEXT layer that read the kept units, along dimension 1: for each j in keep,
/// inputs j * group ... j * group + group - 1. group is 1 for Linear -> Linear and Conv2d ->
/// Conv2d; after Conv2d -> Flatten -> Linear it is H * W, the features each channel became.
/// (out, in, ...) -> (out, keep.size() * group, ...). in not equal to group times the number of
/// units before pruning (`units`): std::invalid_argument naming the shapes.
[[nodiscard]] Tensor select_inputs(const Tensor& weight, const std::vector<std::int64_t>& keep,
                                   std::int64_t units, std::int64_t group = 1);

/// A smaller dense copy of `model`: every Linear and Conv2d except the last one loses `amount` of
/// its output units (units_to_keep on output_norms of its weight); a BatchNorm2d after it keeps the
/// same channels (weight, bias, running_mean, running_var); the next Linear or Conv2d keeps only
/// the inputs that read them (select_inputs; group = its in_features / the channels before, when a
/// Flatten sits between). ReLU, Sigmoid, Tanh, GELU, MaxPool2d, AvgPool2d, Flatten and Dropout are
/// carried over. The last Linear or Conv2d keeps every output: they are the classes. `model` is
/// not changed. Any other child, or a next layer whose inputs do not match: std::invalid_argument
/// naming the child's index and type or the shapes.
[[nodiscard]] std::shared_ptr<nn::Sequential> prune_channels(const nn::Sequential& model,
                                                             double amount);

// ---- knowledge distillation --------------------------------------------------------------------

struct DistillationOptions {
  float temperature = 4.0f;  // T > 0: softens both distributions so small logits still teach
  float alpha = 0.9f;        // in [0, 1]: the weight of the soft (teacher) term
};

/// Hinton, Vinyals and Dean (2015):
///     p = softmax(teacher / T),  log q = log_softmax(student / T)
///     soft = T^2 * sum_rows sum_c p_c (log p_c - log q_c) / N      (KL(p || q), batch mean)
///     loss = alpha * soft + (1 - alpha) * cross_entropy(student, targets)
/// The T^2 keeps the soft term's gradient the same size whatever T is. Differentiable in
/// student_logits only (the teacher's are constants). student and teacher (N, C) of the same
/// shape, targets (N); otherwise, or T <= 0, or alpha outside [0, 1]: std::invalid_argument naming
/// the shapes or the option.
[[nodiscard]] Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits,
                                       const Tensor& targets, const DistillationOptions& options);

/// One distillation step: the teacher's logits in eval mode under NoGradGuard (its training mode
/// restored afterwards), then zero_grad, distillation_loss on the student's logits, backward and
/// optimizer.step() (the optimizer holds the student's parameters). Returns the loss.
double distill_step(nn::Module& student, nn::Module& teacher, optim::Optimizer& optimizer,
                    const Tensor& x, const Tensor& y, const DistillationOptions& options);

// ---- low rank ----------------------------------------------------------------------------------

/// A = U diag(S) Vt with k = min(m, n): u (m, k), s (k) descending, vt (k, n).
struct SVD {
  Tensor u;
  Tensor s;
  Tensor vt;
};

/// The thin SVD of a 2-d tensor (framework-owned, svd.cpp: LAPACK's dgesdd through LAPACKE, in
/// double). Not 2-d, empty or not finite: std::invalid_argument naming the shape.
[[nodiscard]] SVD svd(const Tensor& a);

/// The smallest rank r whose singular values keep at least `energy` of the total:
/// sum_{i<r} s_i^2 >= energy * sum_i s_i^2 (s descending). energy outside (0, 1] or all s zero:
/// std::invalid_argument.
[[nodiscard]] std::int64_t rank_for_energy(const Tensor& s, double energy);

/// Linear(in, out) with W (out, in) -> Sequential(Linear(in, r, no bias), Linear(r, out, bias as
/// the layer's)), W ~ U_r (diag(S_r) Vt_r): the first weight diag(S_r) Vt_r (r, in), the second U_r
/// (out, r). r (in + out) weights instead of in * out: smaller whenever r < in out / (in + out).
/// The best rank-r approximation of W (Eckart-Young). rank < 1 or > min(in, out):
/// std::invalid_argument naming the rank and the shape.
[[nodiscard]] std::shared_ptr<nn::Sequential> low_rank_linear(const nn::Linear& layer,
                                                              std::int64_t rank);

}  // namespace tinytorch::compress
