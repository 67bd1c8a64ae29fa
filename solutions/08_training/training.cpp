// Module 08 reference solution: the training loop written once, and the pieces around it.
#include "tinytorch/training.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <stdexcept>
#include <string>
#include <system_error>

#include "tinytorch/autograd.hpp"

namespace tinytorch::train {
namespace {

// safetensors stores little-endian numbers; we copy floats and the header length byte for byte.
static_assert(std::endian::native == std::endian::little,
              "safetensors I/O here assumes a little-endian machine");

// The file's name in quotes, for error messages.
std::string quoted(const std::filesystem::path& path) {
  std::string text(1, '\'');
  text += path.string();
  text += '\'';
  return text;
}

// Rows [rows] of a contiguous (N, ...) tensor, copied into a new (rows.size(), ...) tensor: one
// memcpy per row, since a row of a contiguous tensor is one run of row_size floats.
Tensor gather_rows(const Tensor& source, std::span<const std::int64_t> rows) {
  Shape shape = source.shape();
  const std::int64_t n = shape[0];
  const std::int64_t row_size = n == 0 ? 0 : source.numel() / n;
  shape[0] = static_cast<std::int64_t>(rows.size());
  Tensor out = empty(shape);
  const float* src = source.data_ptr();
  float* dst = out.data_ptr();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(dst + static_cast<std::int64_t>(i) * row_size, src + rows[i] * row_size,
                static_cast<std::size_t>(row_size) * sizeof(float));
  }
  return out;
}

}  // namespace

// ---- batches --------------------------------------------------------------------------------

TensorBatches::TensorBatches(Tensor inputs, Tensor targets, std::int64_t batch_size, bool shuffle,
                             std::uint64_t seed)
    : batch_size_(batch_size), shuffle_(shuffle), generator_(seed) {
  if (!inputs.defined() || !targets.defined() || inputs.dim() == 0 || targets.dim() == 0) {
    throw std::invalid_argument(
        "TensorBatches: inputs and targets need a first dimension of samples (N, ...)");
  }
  if (inputs.size(0) != targets.size(0)) {
    throw std::invalid_argument("TensorBatches: inputs " + shape_to_string(inputs.shape()) +
                                " and targets " + shape_to_string(targets.shape()) +
                                " have different numbers of samples (first dimension)");
  }
  if (batch_size <= 0) {
    throw std::invalid_argument("TensorBatches: batch_size must be positive, got " +
                                std::to_string(batch_size));
  }
  // Detached contiguous copies of the handles: batches are data, never part of a graph.
  inputs_ = inputs.detach().contiguous();
  targets_ = targets.detach().contiguous();
  order_.resize(static_cast<std::size_t>(inputs_.size(0)));
  reset();
}

void TensorBatches::reset() {
  for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<std::int64_t>(i);
  if (shuffle_) {
    // Fisher-Yates: every permutation equally likely, one draw per position.
    for (std::size_t i = order_.size(); i > 1; --i) {
      std::swap(order_[i - 1], order_[generator_.below(i)]);
    }
  }
  position_ = 0;
}

std::optional<Batch> TensorBatches::next() {
  const auto n = static_cast<std::int64_t>(order_.size());
  if (position_ >= n) return std::nullopt;
  const std::int64_t count = std::min(batch_size_, n - position_);
  const std::span<const std::int64_t> rows(order_.data() + position_,
                                           static_cast<std::size_t>(count));
  position_ += count;
  return Batch{gather_rows(inputs_, rows), gather_rows(targets_, rows)};
}

std::int64_t TensorBatches::num_batches() const {
  const auto n = static_cast<std::int64_t>(order_.size());
  return (n + batch_size_ - 1) / batch_size_;  // the last batch may be smaller
}

// ---- metrics --------------------------------------------------------------------------------

double accuracy(const Tensor& logits, const Tensor& targets) {
  const std::int64_t n = logits.dim() == 0 ? 1 : logits.size(0);
  const bool binary = logits.dim() <= 1 || (logits.dim() == 2 && logits.size(1) == 1);
  if (logits.dim() > 2 || targets.numel() != n) {
    throw std::invalid_argument(
        "accuracy: expected logits (N, C) or (N) / (N, 1) and N targets; got logits " +
        shape_to_string(logits.shape()) + " and targets " + shape_to_string(targets.shape()));
  }
  if (n == 0) return 0.0;
  const std::vector<float> t = targets.to_vector();
  std::int64_t correct = 0;
  if (binary) {
    // A logit above 0 is a probability above 0.5: predicted class 1.
    const std::vector<float> z = logits.to_vector();
    for (std::int64_t i = 0; i < n; ++i) correct += (z[i] > 0.0f) == (t[i] > 0.5f);
  } else {
    const std::vector<float> predicted = logits.argmax(1).to_vector();  // (N)
    for (std::int64_t i = 0; i < n; ++i) correct += predicted[i] == t[i];
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm) {
  if (!(max_norm >= 0.0)) {
    throw std::invalid_argument("clip_grad_norm_: max_norm must be >= 0, got " +
                                std::to_string(max_norm));
  }
  // One norm over all gradients together: ||g|| = sqrt(sum_p sum_i g_pi^2), accumulated in double
  // so a million small squares do not lose their low bits.
  double sum_sq = 0.0;
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    grads.push_back(g);
    const Tensor c = g.contiguous();
    for (const float v : c.data()) sum_sq += static_cast<double>(v) * v;
  }
  const double total_norm = std::sqrt(sum_sq);
  if (total_norm > max_norm) {
    // Same direction, length max_norm.
    const auto scale = static_cast<float>(max_norm / total_norm);
    for (Tensor& g : grads) g.mul_(scale);
  }
  return total_norm;
}

// ---- learning-rate schedules ----------------------------------------------------------------

LRScheduler::LRScheduler(optim::Optimizer& optimizer)
    : optimizer_(optimizer), base_lr_(optimizer.lr()) {}

void LRScheduler::step() {
  ++epoch_;
  optimizer_.set_lr(lr_at(epoch_));
}

namespace {
void check_epoch(std::int64_t epoch, const char* who) {
  if (epoch < 0) {
    throw std::invalid_argument(std::string(who) + "::lr_at: epoch must be >= 0, got " +
                                std::to_string(epoch));
  }
}
}  // namespace

StepLR::StepLR(optim::Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) {
    throw std::invalid_argument("StepLR: step_size must be positive, got " +
                                std::to_string(step_size));
  }
}

double StepLR::lr_at(std::int64_t epoch) const {
  check_epoch(epoch, "StepLR");
  // base_lr * gamma^floor(epoch / step_size): the rate drops by gamma every step_size epochs
  // (the integer division is that floor).
  // NOLINTNEXTLINE(bugprone-integer-division)
  return base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(optim::Optimizer& optimizer, std::int64_t t_max,
                                     double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  if (t_max <= 0) {
    throw std::invalid_argument("CosineAnnealingLR: t_max must be positive, got " +
                                std::to_string(t_max));
  }
}

double CosineAnnealingLR::lr_at(std::int64_t epoch) const {
  check_epoch(epoch, "CosineAnnealingLR");
  // Half a cosine wave from base_lr (epoch 0) down to eta_min (epoch t_max).
  const double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
  return eta_min_ + (base_lr_ - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
}

// ---- early stopping -------------------------------------------------------------------------

EarlyStopping::EarlyStopping(std::int64_t patience, double min_delta, Mode mode)
    : patience_(patience), min_delta_(min_delta), mode_(mode) {
  if (patience < 0) {
    throw std::invalid_argument("EarlyStopping: patience must be >= 0, got " +
                                std::to_string(patience));
  }
  if (!(min_delta >= 0.0)) {
    throw std::invalid_argument("EarlyStopping: min_delta must be >= 0, got " +
                                std::to_string(min_delta));
  }
}

bool EarlyStopping::step(double metric) {
  // Improvement means beating the best by more than min_delta (NaN never improves).
  const bool improved = !best_value_ || (mode_ == Mode::min ? metric < *best_value_ - min_delta_
                                                            : metric > *best_value_ + min_delta_);
  if (improved) {
    best_value_ = metric;
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  return bad_epochs_ >= patience_ && bad_epochs_ > 0;
}

// ---- safetensors ----------------------------------------------------------------------------
//
//   [8 bytes: N, little-endian u64][N bytes: JSON header, space-padded][data section]
//   header: {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
//   offsets are byte positions inside the data section. As the reference implementation does, we
//   lay tensors out sorted by name and pad the header so the data starts on an 8-byte boundary.

namespace {

// The JSON header for tensors in name order, space-padded to a multiple of 8 bytes. ordered_json
// keeps insertion order, so the fields come as the format's own writer puts them.
std::string safetensors_header(const std::map<std::string, Tensor>& sorted) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::uint64_t offset = 0;  // tensors lie one after another in the data section
  for (const auto& [name, t] : sorted) {
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * sizeof(float);
    header[name] = {
        {"dtype", "F32"}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors) {
  std::map<std::string, Tensor> sorted;
  for (const auto& [name, t] : tensors) {
    if (!t.defined() || name == "__metadata__") {
      throw std::invalid_argument("save_safetensors: tensor '" + name +
                                  "' is undefined or has a reserved name (file " + quoted(path) +
                                  ")");
    }
    if (!sorted.emplace(name, t).second) {
      throw std::invalid_argument("save_safetensors: the name '" + name + "' appears twice (file " +
                                  quoted(path) + ")");
    }
  }
  const std::string header = safetensors_header(sorted);

  // Write next to the target, then rename: a crash mid-write never leaves half a checkpoint.
  std::filesystem::path temp = path;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw std::runtime_error("save_safetensors: cannot write " + quoted(path) + " (opening " +
                               quoted(temp) + " failed: does the folder exist?)");
    }
    const std::uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), sizeof n);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& [name, t] : sorted) {
      const Tensor c = t.contiguous();
      out.write(reinterpret_cast<const char*>(c.data_ptr()),
                static_cast<std::streamsize>(c.numel() * sizeof(float)));
    }
    if (!out.flush()) {
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
      throw std::runtime_error("save_safetensors: writing " + quoted(temp) + " failed");
    }
  }
  std::error_code error;
  std::filesystem::rename(temp, path, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw std::runtime_error("save_safetensors: cannot rename " + quoted(temp) + " to " +
                             quoted(path) + ": " + error.message());
  }
}

namespace {

// One tensor's entry in the header, checked.
struct Entry {
  std::string name;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& name, const nlohmann::json& info, std::uint64_t data_size,
                  const std::string& where) {
  auto fail = [&](const std::string& what) {
    return std::runtime_error(where + ": tensor '" + name + "': " + what);
  };
  if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
      !info.contains("data_offsets")) {
    throw fail("entry needs \"dtype\", \"shape\" and \"data_offsets\"");
  }
  const nlohmann::json& dtype = info["dtype"];
  if (!dtype.is_string() || dtype.get<std::string>() != "F32") {
    throw fail("unsupported dtype " + dtype.dump() + " (only F32 is supported)");
  }
  Entry e{name, {}, 0, 0};
  const nlohmann::json& shape = info["shape"];
  if (!shape.is_array()) throw fail("\"shape\" must be an array");
  // Every size and their product stay far below 2^63, so numel and the strides cannot overflow;
  // the bytes the shape needs are then checked against data_offsets, which lie inside the file.
  constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 60;
  std::uint64_t product = 1;  // of max(size, 1)
  for (const auto& d : shape) {
    if (!d.is_number_unsigned() || d.get<std::uint64_t>() > kMaxElements / product) {
      throw fail("bad shape " + shape.dump() +
                 " (sizes must be whole numbers >= 0 whose product "
                 "fits the file)");
    }
    product *= std::max<std::uint64_t>(d.get<std::uint64_t>(), 1);
    e.shape.push_back(static_cast<std::int64_t>(d.get<std::uint64_t>()));
  }
  const nlohmann::json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    throw fail("\"data_offsets\" must be [begin, end], got " + offsets.dump());
  }
  e.begin = offsets[0].get<std::uint64_t>();
  e.end = offsets[1].get<std::uint64_t>();
  if (e.begin > e.end || e.end > data_size) {
    throw fail("data_offsets " + offsets.dump() + " out of range: the data section has " +
               std::to_string(data_size) + " bytes (truncated file?)");
  }
  const auto expected = static_cast<std::uint64_t>(shape_numel(e.shape)) * sizeof(float);
  if (e.end - e.begin != expected) {
    throw fail("shape " + shape_to_string(e.shape) + " needs " + std::to_string(expected) +
               " bytes of F32 but data_offsets " + offsets.dump() + " span " +
               std::to_string(e.end - e.begin));
  }
  return e;
}

}  // namespace

NamedTensors load_safetensors(const std::filesystem::path& path) {
  const std::string where = "load_safetensors: " + quoted(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(where + ": cannot open the file (missing or unreadable)");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (bytes.size() < 8) {
    throw std::runtime_error(where + ": truncated: " + std::to_string(bytes.size()) +
                             " bytes, shorter than the 8-byte header length");
  }
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), sizeof n);
  if (n > bytes.size() - 8) {
    throw std::runtime_error(where + ": header length " + std::to_string(n) +
                             " is larger than the " + std::to_string(bytes.size() - 8) +
                             " bytes after it (corrupt or truncated file)");
  }
  // A real header nests 3 deep; refusing deep nesting while parsing keeps dump() and copies of
  // the values (which recurse once per level) from overflowing the stack on a crafted file.
  constexpr int kMaxDepth = 16;
  struct TooDeep {};
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n),
                                   [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
                                     if (depth > kMaxDepth) throw TooDeep{};
                                     return true;
                                   });
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e999
    throw std::runtime_error(where + ": the header is not valid JSON: " + e.what());
  } catch (const TooDeep&) {
    throw std::runtime_error(where + ": the header nests deeper than " + std::to_string(kMaxDepth) +
                             " levels: not a safetensors header");
  }
  if (!header.is_object()) throw std::runtime_error(where + ": the header is not a JSON object");

  const std::uint64_t data_size = bytes.size() - 8 - n;
  const char* data = bytes.data() + 8 + n;
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {  // std::map order: sorted by name
    if (name == "__metadata__") continue;            // free-form strings; nothing we need
    entries.push_back(parse_entry(name, info, data_size, where));
  }
  // No two tensors may share bytes: sorted by begin, each must end before the next starts.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      throw std::runtime_error(where + ": tensors '" + by_offset[i - 1]->name + "' and '" +
                               by_offset[i]->name + "' have overlapping data_offsets");
    }
  }
  NamedTensors result;
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape);
    if (e.end > e.begin) std::memcpy(t.data_ptr(), data + e.begin, e.end - e.begin);
    result.emplace_back(e.name, t);
  }
  return result;
}

namespace {
NamedTensors model_state(const nn::Module& model) {
  NamedTensors state = model.named_parameters();
  for (auto& entry : model.named_buffers()) state.push_back(std::move(entry));
  return state;
}
}  // namespace

void save_checkpoint(const nn::Module& model, const std::filesystem::path& path) {
  save_safetensors(path, model_state(model));
}

void load_checkpoint(nn::Module& model, const std::filesystem::path& path) {
  NamedTensors loaded = load_safetensors(path);
  std::map<std::string, Tensor> by_name(loaded.begin(), loaded.end());
  const NamedTensors state = model_state(model);
  // Check everything before copying anything: a failed load leaves the model as it was.
  for (const auto& [name, t] : state) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      throw std::runtime_error("load_checkpoint: " + quoted(path) + " has no tensor '" + name +
                               "' that the model needs (missing key)");
    }
    if (it->second.shape() != t.shape()) {
      throw std::runtime_error("load_checkpoint: '" + name + "' has shape " +
                               shape_to_string(it->second.shape()) + " in " + quoted(path) +
                               " but " + shape_to_string(t.shape()) + " in the model");
    }
  }
  if (by_name.size() != state.size()) {
    for (const auto& model_entry : by_name) {
      const std::string& name = model_entry.first;  // a plain name: lambdas cannot capture bindings
      const bool known = std::any_of(state.begin(), state.end(),
                                     [&](const auto& entry) { return entry.first == name; });
      if (!known) {
        throw std::runtime_error("load_checkpoint: " + quoted(path) + " has tensor '" + name +
                                 "' that the model does not have (unexpected key)");
      }
    }
  }
  for (const auto& [name, t] : state) {
    Tensor target = t;
    target.copy_(by_name.at(name));  // in place: every handle to the parameter sees the values
  }
}

// ---- the loop -------------------------------------------------------------------------------

namespace {

// Correct predictions in a batch, when the outputs are class scores for the targets (one target
// per sample); regression outputs (N, D) with targets (N, D) have no accuracy: 0.
double correct_in_batch(const Tensor& output, const Tensor& targets) {
  if (output.dim() == 0 || output.dim() > 2 || targets.numel() != output.size(0)) return 0.0;
  return accuracy(output, targets) * static_cast<double>(output.size(0));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, LossFn loss_fn,
                 TrainerOptions options)
    : model_(model),
      optimizer_(optimizer),
      loss_fn_(std::move(loss_fn)),
      options_(std::move(options)) {
  if (!loss_fn_) throw std::invalid_argument("Trainer: loss_fn is empty");
  if (!(options_.clip_grad_norm >= 0.0)) {
    throw std::invalid_argument(
        "Trainer: clip_grad_norm must be >= 0 (0 turns clipping off), got " +
        std::to_string(options_.clip_grad_norm));
  }
}

EpochStats Trainer::train_epoch(BatchSource& batches) {
  const auto start = std::chrono::steady_clock::now();
  model_.train();
  batches.reset();
  const std::int64_t total_batches = batches.num_batches();
  double loss_sum = 0.0, correct = 0.0;  // loss_sum: sum over samples of the per-sample loss
  std::int64_t samples = 0, index = 0;
  while (std::optional<Batch> batch = batches.next()) {
    optimizer_.zero_grad();  // gradients accumulate (+=): clear last batch's first
    const Tensor output = model_.forward(batch->inputs);
    const Tensor loss = loss_fn_(output, batch->targets);
    loss.backward();
    if (options_.clip_grad_norm > 0.0) {
      clip_grad_norm_(optimizer_.parameters(), options_.clip_grad_norm);
    }
    optimizer_.step();

    // The loss is a mean over the batch: weight it by the batch size so a small last batch
    // counts for its samples only.
    const std::int64_t n = batch->inputs.size(0);
    loss_sum += static_cast<double>(loss.item()) * static_cast<double>(n);
    correct += correct_in_batch(output.detach(), batch->targets);
    samples += n;
    if (options_.on_batch) {
      options_.on_batch(index, total_batches, loss_sum / static_cast<double>(samples));
    }
    ++index;
  }
  EpochStats stats;
  stats.samples = samples;
  stats.loss = samples > 0 ? loss_sum / static_cast<double>(samples) : 0.0;
  stats.accuracy = samples > 0 ? correct / static_cast<double>(samples) : 0.0;
  stats.seconds = seconds_since(start);
  history_.train.push_back(stats);
  return stats;
}

EpochStats Trainer::evaluate(BatchSource& batches) {
  const auto start = std::chrono::steady_clock::now();
  autograd::NoGradGuard no_grad;  // no graph: evaluation never calls backward
  model_.eval();                  // Dropout off, BatchNorm uses its running statistics
  batches.reset();
  double loss_sum = 0.0, correct = 0.0;
  std::int64_t samples = 0;
  while (std::optional<Batch> batch = batches.next()) {
    const Tensor output = model_.forward(batch->inputs);
    const Tensor loss = loss_fn_(output, batch->targets);
    const std::int64_t n = batch->inputs.size(0);
    loss_sum += static_cast<double>(loss.item()) * static_cast<double>(n);
    correct += correct_in_batch(output, batch->targets);
    samples += n;
  }
  EpochStats stats;
  stats.samples = samples;
  stats.loss = samples > 0 ? loss_sum / static_cast<double>(samples) : 0.0;
  stats.accuracy = samples > 0 ? correct / static_cast<double>(samples) : 0.0;
  stats.seconds = seconds_since(start);
  history_.eval.push_back(stats);
  return stats;
}

}  // namespace tinytorch::train
