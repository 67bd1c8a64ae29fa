// Module 08 — fill in each TODO. The contract is training.hpp: read each function's comment there
// first, and the lesson in README.md for the formulas.
//
// Every body below throws NotImplemented until you replace it. Suggested order: TensorBatches,
// accuracy, clip_grad_norm_, the schedules, EarlyStopping, safetensors, checkpoints, Trainer. Run
// `tito module test 08` after each one.
#include "tinytorch/training.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>  // JSON for the safetensors header: nlohmann::json::parse, dump()
#include <numbers>
#include <stdexcept>
#include <string>
#include <system_error>

#include "tinytorch/autograd.hpp"
#include "tinytorch/errors.hpp"

namespace tinytorch::train {

// ---- batches --------------------------------------------------------------------------------

TensorBatches::TensorBatches(Tensor inputs, Tensor targets, std::int64_t batch_size, bool shuffle,
                             std::uint64_t seed)
    : batch_size_(batch_size), shuffle_(shuffle), generator_(seed) {
  // TODO: Check the arguments, then keep the data ready for next().
  //   - inputs and targets need at least one dimension, and the same number of samples
  //     (size(0)); batch_size must be positive. Otherwise std::invalid_argument naming the shapes
  //     or the value.
  //   - Store detached, contiguous handles (x.detach().contiguous()): batches are data, not part of
  //     any graph, and contiguous rows make slicing a plain memory copy.
  //   - Size order_ to the number of samples and call reset(), so a fresh TensorBatches can be
  //     walked with next() straight away.
  (void)inputs;
  (void)targets;
  throw NotImplemented("08_training", "TensorBatches::TensorBatches");
}

void TensorBatches::reset() {
  // TODO: Start a new pass: order_ = 0, 1, ..., N-1, and position_ = 0.
  //   - With shuffle_, permute order_ with the Fisher-Yates shuffle, drawing from generator_
  //     (generator_.below(k) is uniform on [0, k)). Walk i from the end down: swap element i with
  //     a random element at or before it. Never reseed here: each pass must get a new permutation,
  //     while two TensorBatches built with the same seed see the same sequence of permutations.
  throw NotImplemented("08_training", "TensorBatches::reset");
}

std::optional<Batch> TensorBatches::next() {
  // TODO: Return the next batch_size_ rows (fewer for the last batch), or std::nullopt at the end.
  //   - The rows are order_[position_], order_[position_ + 1], ...; advance position_.
  //   - A batch is a NEW tensor of shape (rows, ...) for inputs and for targets. In a contiguous
  //     tensor of shape (N, d1, d2, ...), row r is one run of d1*d2*... floats starting at
  //     data_ptr() + r * row_size: copy each selected row with one std::memcpy. (Allocating a
  //     Tensor per element, or using at(), would make MNIST epochs crawl.)
  throw NotImplemented("08_training", "TensorBatches::next");
}

std::int64_t TensorBatches::num_batches() const {
  // TODO: How many batches a pass yields: N / batch_size, rounded UP (the last may be smaller).
  throw NotImplemented("08_training", "TensorBatches::num_batches");
}

// ---- metrics --------------------------------------------------------------------------------

double accuracy(const Tensor& logits, const Tensor& targets) {
  // TODO: The fraction of samples predicted correctly, in [0, 1].
  //   - Multi-class: logits (N, C) with C > 1 and N targets (class indices stored as floats):
  //     the prediction is the argmax of each row (Tensor::argmax(1) gives them as floats).
  //   - Binary: logits (N) or (N, 1) and N targets: predict class 1 when the logit is > 0 (that is
  //     a probability > 0.5), and count it correct when it matches (target > 0.5).
  //   - Logits with more than 2 dimensions, or a number of targets different from N:
  //     std::invalid_argument naming both shapes. N == 0 gives 0.
  (void)logits;
  (void)targets;
  throw NotImplemented("08_training", "accuracy");
}

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm) {
  // TODO: Clip by the GLOBAL norm, as torch.nn.utils.clip_grad_norm_.
  //   - total = sqrt(sum over every parameter with a defined grad() of sum of grad^2). Accumulate
  //     in double: float loses the small squares once the sum is large.
  //   - If total > max_norm, multiply every gradient in place by max_norm / total (mul_), which
  //     keeps the direction and makes the global norm exactly max_norm. Otherwise leave them.
  //   - Return total (the norm before clipping: worth logging, it shows exploding gradients).
  //   - A negative max_norm: std::invalid_argument.
  (void)parameters;
  (void)max_norm;
  throw NotImplemented("08_training", "clip_grad_norm_");
}

// ---- learning-rate schedules ----------------------------------------------------------------

LRScheduler::LRScheduler(optim::Optimizer& optimizer) : optimizer_(optimizer), base_lr_(0.0) {
  // TODO: Remember the optimizer's current rate as base_lr_ (every schedule is a function of it);
  //   the schedule starts at epoch 0. (You may move the work into the initializer list.)
  throw NotImplemented("08_training", "LRScheduler::LRScheduler");
}

void LRScheduler::step() {
  // TODO: Advance one epoch, then set the optimizer's rate to lr_at of the new epoch.
  throw NotImplemented("08_training", "LRScheduler::step");
}

StepLR::StepLR(optim::Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  // TODO: A step_size that is not positive: std::invalid_argument.
  throw NotImplemented("08_training", "StepLR::StepLR");
}

double StepLR::lr_at(std::int64_t epoch) const {
  // TODO: base_lr * gamma^floor(epoch / step_size), the closed form of PyTorch's StepLR.
  //   - Integer division of two non-negative integers is already the floor.
  //   - A negative epoch: std::invalid_argument.
  (void)epoch;
  throw NotImplemented("08_training", "StepLR::lr_at");
}

CosineAnnealingLR::CosineAnnealingLR(optim::Optimizer& optimizer, std::int64_t t_max,
                                     double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  // TODO: A t_max that is not positive: std::invalid_argument.
  throw NotImplemented("08_training", "CosineAnnealingLR::CosineAnnealingLR");
}

double CosineAnnealingLR::lr_at(std::int64_t epoch) const {
  // TODO: eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2.
  //   - Compute in double (std::numbers::pi from <numbers>); a negative epoch:
  //     std::invalid_argument. Past t_max the formula simply continues (the rate rises again),
  //     exactly as PyTorch's closed form does.
  (void)epoch;
  throw NotImplemented("08_training", "CosineAnnealingLR::lr_at");
}

// ---- early stopping -------------------------------------------------------------------------

EarlyStopping::EarlyStopping(std::int64_t patience, double min_delta, Mode mode)
    : patience_(patience), min_delta_(min_delta), mode_(mode) {
  // TODO: A negative patience or a negative min_delta: std::invalid_argument.
  throw NotImplemented("08_training", "EarlyStopping::EarlyStopping");
}

bool EarlyStopping::step(double metric) {
  // TODO: Record one epoch's metric; return true when training should stop.
  //   - The first metric is always the best so far.
  //   - Afterwards it improves only when it beats the best by MORE than min_delta:
  //     Mode::min: metric < best - min_delta;   Mode::max: metric > best + min_delta.
  //   - On improvement: best = metric (keep best_value_ and best_ in step), counter back to 0.
  //     Otherwise the counter of epochs without improvement goes up by one.
  //   - Stop when that counter has reached patience (and is at least 1).
  (void)metric;
  throw NotImplemented("08_training", "EarlyStopping::step");
}

// ---- safetensors ----------------------------------------------------------------------------

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors) {
  // TODO: Write the safetensors format (README.md draws it):
  //     [u64 little-endian: N][N bytes of JSON header][data: every tensor's float32 bytes]
  //   - Order the tensors by name (a std::map does it); a duplicate or an undefined tensor:
  //     std::invalid_argument.
  //   - Header: one entry per tensor, {"dtype": "F32", "shape": [...], "data_offsets": [begin,
  //     end]}, byte offsets inside the data section, one tensor after another with no gaps. Build
  //     it with nlohmann::ordered_json (it keeps the order you insert keys: names sorted, and the
  //     fields in the order dtype, shape, data_offsets, as the reference writer does), then dump()
  //     it without indentation.
  //   - Pad the header text with spaces until its length is a multiple of 8, so the data starts
  //     8-byte aligned; N is the padded length.
  //   - This machine is little-endian (x86, ARM): writing the u64 and the floats' bytes as they lie
  //     in memory is the format. Write contiguous() copies.
  //   - Write atomically: to path + ".tmp" first, then std::filesystem::rename onto path, so a
  //   crash
  //     never leaves half a checkpoint. A file that cannot be opened or written:
  //     std::runtime_error naming it.
  (void)path;
  (void)tensors;
  throw NotImplemented("08_training", "save_safetensors");
}

NamedTensors load_safetensors(const std::filesystem::path& path) {
  // TODO: Read a safetensors file back, trusting NOTHING in it. Every problem below throws
  //   std::runtime_error whose message names the file (path.string()) and what is wrong:
  //   - the file cannot be opened;
  //   - it is shorter than 8 bytes (truncated);
  //   - the header length N is larger than what follows it (a corrupt length, or a truncated file);
  //   - the N header bytes are not valid JSON (catch nlohmann::json::parse_error), or not an
  //   object;
  //   - an entry (skip the optional "__metadata__" key) lacks dtype/shape/data_offsets, has a
  //     dtype other than "F32" (name the dtype), or data_offsets [begin, end] with begin > end
  //     or end beyond the data section;
  //   - end - begin differs from numel(shape) * 4 bytes;
  //   - two tensors' byte ranges overlap (sort by begin, compare neighbours).
  //   - Return the tensors sorted by name (nlohmann::json, unlike ordered_json, keeps its keys
  //     sorted), each a new contiguous tensor filled with std::memcpy from the data section.
  (void)path;
  throw NotImplemented("08_training", "load_safetensors");
}

void save_checkpoint(const nn::Module& model, const std::filesystem::path& path) {
  // TODO: Save named_parameters() followed by named_buffers() with save_safetensors.
  (void)model;
  (void)path;
  throw NotImplemented("08_training", "save_checkpoint");
}

void load_checkpoint(nn::Module& model, const std::filesystem::path& path) {
  // TODO: Load the file and copy each tensor into the model's parameter or buffer of that name.
  //   - Check everything before copying anything, so a failed load leaves the model unchanged.
  //     std::runtime_error naming the key and the file for: a model key missing from the file, a
  //     key in the file the model does not have, a shape that differs (name both shapes).
  //   - Copy IN PLACE (copy_), into the model's own tensors: the optimizer and anyone else
  //     holding a parameter handle must see the loaded values.
  (void)model;
  (void)path;
  throw NotImplemented("08_training", "load_checkpoint");
}

// ---- the loop -------------------------------------------------------------------------------

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, LossFn loss_fn,
                 TrainerOptions options)
    : model_(model),
      optimizer_(optimizer),
      loss_fn_(std::move(loss_fn)),
      options_(std::move(options)) {
  // TODO: An empty loss_fn, or a negative options_.clip_grad_norm: std::invalid_argument.
  throw NotImplemented("08_training", "Trainer::Trainer");
}

EpochStats Trainer::train_epoch(BatchSource& batches) {
  // TODO: One pass over the data, the loop every training script of module 07 repeated:
  //     model_.train(); batches.reset();
  //     for each batch (while (auto batch = batches.next())):
  //       zero the gradients (they accumulate!) -> output = model_.forward(inputs)
  //       -> loss = loss_fn_(output, targets) -> loss.backward()
  //       -> clip_grad_norm_ over the optimizer's parameters when options_.clip_grad_norm > 0
  //       -> optimizer_.step()
  //   - loss is a batch MEAN: add loss.item() * batch size, and divide by the number of samples at
  //     the end, so a small last batch weighs as much as its samples, no more.
  //   - accuracy: add accuracy(output, targets) * batch size when each sample has one target
  //     (targets.numel() == output.size(0), output with 1 or 2 dimensions); other outputs
  //     (regression with several values per sample) count 0 correct.
  //   - After each batch, call options_.on_batch (if set) with (batch index from 0,
  //     batches.num_batches(), mean loss per sample so far).
  //   - seconds: std::chrono::steady_clock around the whole epoch (never system_clock: it can
  //   jump).
  //   - Fill an EpochStats, append it to history_.train, and return it.
  (void)batches;
  throw NotImplemented("08_training", "Trainer::train_epoch");
}

EpochStats Trainer::evaluate(BatchSource& batches) {
  // TODO: The same pass without learning: an autograd::NoGradGuard for the whole function (no graph
  //   is recorded, so no memory is spent on one), model_.eval() (Dropout off), batches.reset(),
  //   then forward and loss per batch, accumulated exactly as in train_epoch. No zero_grad,
  //   backward or step. Append to history_.eval and return the stats.
  (void)batches;
  throw NotImplemented("08_training", "Trainer::evaluate");
}

}  // namespace tinytorch::train
