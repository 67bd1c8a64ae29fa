#pragma once
// Module 08: training. The loop every model needs, written once: Trainer (train an epoch, evaluate,
// keep a history), accuracy, LR schedules, gradient clipping, early stopping, and checkpoints in
// the safetensors format (so a PyTorch user can open them with safetensors.torch.load_file).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/layers.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch::train {

/// One mini-batch: inputs (N, ...) and targets (N, ...) (class indices as floats, or values).
struct Batch {
  Tensor inputs;
  Tensor targets;
};

/// Anything that can be walked batch by batch; module 10's DataLoader is one too.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  /// Starts a new pass (an epoch); a shuffling source reshuffles here.
  virtual void reset() = 0;
  /// The next batch, or nothing at the end of the pass.
  [[nodiscard]] virtual std::optional<Batch> next() = 0;
  [[nodiscard]] virtual std::int64_t num_batches() const = 0;
};

/// Batches of rows of in-memory tensors (first dimension = samples; the last batch may be smaller).
/// With shuffle, each reset() draws a new permutation from a generator seeded with `seed`.
class TensorBatches : public BatchSource {
 public:
  TensorBatches(Tensor inputs, Tensor targets, std::int64_t batch_size, bool shuffle = false,
                std::uint64_t seed = 0);
  void reset() override;
  [[nodiscard]] std::optional<Batch> next() override;
  [[nodiscard]] std::int64_t num_batches() const override;

 private:
  Tensor inputs_, targets_;
  std::int64_t batch_size_;
  bool shuffle_;
  Generator generator_;
  std::vector<std::int64_t> order_;
  std::int64_t position_ = 0;
};

/// Fraction of correct predictions. logits (N, C) with targets (N): argmax == target. logits (N) or
/// (N, 1) with targets of the same count: (logit > 0) == (target > 0.5).
[[nodiscard]] double accuracy(const Tensor& logits, const Tensor& targets);

/// Scales every gradient by max_norm / total_norm when the global L2 norm over all gradients
/// exceeds max_norm; returns the norm before clipping. Parameters without a gradient are skipped.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm);

/// Sets the optimizer's learning rate per epoch; step() advances one epoch.
class LRScheduler {
 public:
  explicit LRScheduler(optim::Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  /// The learning rate for epoch e (0-based), from the initial rate base_lr().
  [[nodiscard]] virtual double lr_at(std::int64_t epoch) const = 0;
  /// Advances one epoch and sets the optimizer's rate to lr_at(epoch()).
  void step();
  [[nodiscard]] std::int64_t epoch() const { return epoch_; }
  [[nodiscard]] double base_lr() const { return base_lr_; }

 protected:
  optim::Optimizer& optimizer_;
  double base_lr_;
  std::int64_t epoch_ = 0;
};

/// base_lr * gamma^(floor(epoch / step_size)), as torch.optim.lr_scheduler.StepLR.
class StepLR : public LRScheduler {
 public:
  StepLR(optim::Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  [[nodiscard]] double lr_at(std::int64_t epoch) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// eta_min + (base_lr - eta_min) (1 + cos(pi * epoch / t_max)) / 2, as CosineAnnealingLR (closed
/// form).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(optim::Optimizer& optimizer, std::int64_t t_max, double eta_min = 0.0);
  [[nodiscard]] double lr_at(std::int64_t epoch) const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

/// Stops when the metric has not improved by more than min_delta for `patience` epochs in a row.
class EarlyStopping {
 public:
  enum class Mode { min, max };  // min: lower is better (a loss); max: higher (an accuracy)
  explicit EarlyStopping(std::int64_t patience, double min_delta = 0.0, Mode mode = Mode::min);
  /// Records one epoch's metric; true when training should stop.
  [[nodiscard]] bool step(double metric);
  [[nodiscard]] double best() const { return best_; }
  [[nodiscard]] std::int64_t epochs_without_improvement() const { return bad_epochs_; }

 private:
  std::int64_t patience_;
  double min_delta_;
  Mode mode_;
  std::optional<double> best_value_;
  double best_ = 0.0;
  std::int64_t bad_epochs_ = 0;
};

// ---- safetensors: 8-byte little-endian header length N, N bytes of JSON
//      {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}, then the data.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors);
/// Throws std::runtime_error naming the file for a missing file, a truncated file, a bad header,
/// a dtype other than F32, or offsets outside the data.
[[nodiscard]] NamedTensors load_safetensors(const std::filesystem::path& path);
/// Parameters and buffers under their dotted names.
void save_checkpoint(const nn::Module& model, const std::filesystem::path& path);
/// Copies values into the model's own tensors; a missing key, an unexpected key or a shape
/// mismatch throws std::runtime_error naming the key, both shapes and the file.
void load_checkpoint(nn::Module& model, const std::filesystem::path& path);

// ---- the loop ----
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;

struct EpochStats {
  double loss = 0.0;      // mean loss per sample
  double accuracy = 0.0;  // fraction correct, by accuracy()
  std::int64_t samples = 0;
  double seconds = 0.0;
};

struct History {
  std::vector<EpochStats> train;
  std::vector<EpochStats> eval;
};

struct TrainerOptions {
  double clip_grad_norm = 0.0;  // 0: no clipping
  /// Called after every training batch with (batch index, number of batches, running mean loss).
  std::function<void(std::int64_t, std::int64_t, double)> on_batch;
};

class Trainer {
 public:
  Trainer(nn::Module& model, optim::Optimizer& optimizer, LossFn loss_fn,
          TrainerOptions options = {});
  /// model.train(); for each batch: zero_grad, forward, loss, backward, clip, step. Appends to
  /// history.
  EpochStats train_epoch(BatchSource& batches);
  /// model.eval() under NoGradGuard; loss and accuracy over every batch. Appends to history.
  EpochStats evaluate(BatchSource& batches);
  [[nodiscard]] const History& history() const { return history_; }

 private:
  nn::Module& model_;
  optim::Optimizer& optimizer_;
  LossFn loss_fn_;
  TrainerOptions options_;
  History history_;
};

}  // namespace tinytorch::train
