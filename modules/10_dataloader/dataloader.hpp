#pragma once
// Module 10: data loading, the shape of torch.utils.data. A Dataset answers "how many examples, and
// what is example i"; a DataLoader turns one into mini-batches (shuffled per epoch, optionally
// augmented, optionally prepared on a background thread while the model trains on the previous
// batch) and is a train::BatchSource, so module 08's Trainer consumes it unchanged:
//
//     auto train_set = std::make_shared<TensorDataset>(read_mnist(data / "mnist", true));
//     DataLoader loader(train_set, {.batch_size = 64, .shuffle = true, .seed = 1, .prefetch =
//     true}); trainer.train_epoch(loader);                 // or: for (const train::Batch& b :
//     loader) ...
//
// Randomness is reproducible per (seed, epoch): pass e draws everything (the shuffle first, then
// every random transform, sample by sample in batch order) from one Generator seeded with
// epoch_seed(seed, e). Prefetching therefore yields exactly the batches a plain loader yields.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "tinytorch/tensor.hpp"
#include "tinytorch/training.hpp"

namespace tinytorch::data {

// ---- datasets -----------------------------------------------------------------------------------

/// One example: the model's input and its target (a class index stored as a float, or values).
struct Example {
  Tensor input;
  Tensor target;
};

/// Random access to examples, like torch.utils.data.Dataset (a "map-style" dataset).
/// A DataLoader with prefetch calls get() from its one worker thread, never from two threads at
/// once.
class Dataset {
 public:
  virtual ~Dataset() = default;
  [[nodiscard]] virtual std::int64_t size() const = 0;
  /// Example `index`, 0 <= index < size(); another index throws std::out_of_range.
  [[nodiscard]] virtual Example get(std::int64_t index) const = 0;
};

/// The rows of two in-memory tensors: example i is (inputs[i], targets[i]), like TensorDataset.
class TensorDataset : public Dataset {
 public:
  /// inputs (N, ...) and targets (N, ...); both need at least one dimension and the same N, else
  /// std::invalid_argument naming both shapes. Keeps detached, contiguous handles.
  TensorDataset(Tensor inputs, Tensor targets);
  [[nodiscard]] std::int64_t size() const override;
  /// New tensors (copies) of row `index`: input shape inputs.shape()[1:], target
  /// targets.shape()[1:] (0-d for targets of shape (N)). index outside [0, N): std::out_of_range
  /// naming index and N.
  [[nodiscard]] Example get(std::int64_t index) const override;
  [[nodiscard]] const Tensor& inputs() const { return inputs_; }
  [[nodiscard]] const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_;   // (N, ...)
  Tensor targets_;  // (N, ...)
};

// ---- readers: the files as the original distributions name them, plain or gzip-compressed -------
// Each looks for NAME, then NAME.gz, in `dir` (zlib's gzopen reads both). Every problem throws
// std::runtime_error naming the file and what to do: a missing file (point TINYTORCH_DATA at the
// data folder, or run `tito data fetch`), a wrong magic number, corrupt gzip data, a file whose
// size does not match its header or record size (truncated), a label outside 0-9.

/// MNIST from dir = the folder holding {train,t10k}-images-idx3-ubyte and
/// {train,t10k}-labels-idx1-ubyte (idx format: big-endian u32 magic 0x00000803 / 0x00000801, then
/// one big-endian u32 per dimension, then the uint8 values). inputs (N, 1, rows, cols) = pixel /
/// 255 in [0, 1] (rows = cols = 28 for the real data), targets (N) the digits as floats. The image
/// and label files must agree on N.
[[nodiscard]] TensorDataset read_mnist(const std::filesystem::path& dir, bool train);

/// CIFAR-10 (binary version) from dir = the folder holding data_batch_1.bin ... data_batch_5.bin
/// (train, read in that order) or test_batch.bin. Each record is 1 label byte, then 3,072 bytes:
/// the red, green and blue 32 x 32 planes, row-major, which is already (3, 32, 32) order. A file
/// must hold a whole, non-zero number of 3,073-byte records (10,000 records, 30,730,000 bytes in
/// the real data). inputs (N, 3, 32, 32) = byte / 255 in [0, 1], targets (N) the classes as floats.
[[nodiscard]] TensorDataset read_cifar10(const std::filesystem::path& dir, bool train);

// ---- transforms: one example's input, as contiguous floats -------------------------------------

/// A transform maps one sample to one sample (not a batch), like torchvision.transforms. It works
/// on raw float spans so the DataLoader can write its output straight into the batch tensor; random
/// transforms draw from the Generator they are handed, in a documented order.
class Transform {
 public:
  virtual ~Transform() = default;
  /// The output sample's shape for an input sample of shape `input_shape`; an input shape the
  /// transform cannot take throws std::invalid_argument naming it.
  [[nodiscard]] virtual Shape output_shape(const Shape& input_shape) const { return input_shape; }
  /// input holds shape_numel(input_shape) floats (row-major), output holds
  /// shape_numel(output_shape(input_shape)); they do not overlap. Checks the shape like
  /// output_shape.
  virtual void apply(std::span<const float> input, const Shape& input_shape,
                     std::span<float> output, Generator& generator) const = 0;
  /// Convenience for one sample tensor: a new tensor of shape output_shape(input.shape()).
  [[nodiscard]] Tensor operator()(const Tensor& input, Generator& generator) const;
};
using TransformPtr = std::shared_ptr<const Transform>;

/// out[c, ...] = (in[c, ...] - mean[c]) / std[c] for an input (C, ...) with C == mean.size()
/// (torchvision's Normalize). Draws nothing. mean and std of different or zero length, or a
/// std <= 0: std::invalid_argument at construction; another C: std::invalid_argument from apply.
class Normalize : public Transform {
 public:
  Normalize(std::vector<float> mean, std::vector<float> std);
  [[nodiscard]] Shape output_shape(const Shape& input_shape) const override;
  void apply(std::span<const float> input, const Shape& input_shape, std::span<float> output,
             Generator& generator) const override;

 private:
  std::vector<float> mean_;
  std::vector<float> std_;
};

/// Zero-pads an input (C, H, W) by `padding` on all four sides, then cuts a random size x size
/// window: out (C, size, size). Draws top = generator.below(H + 2 padding - size + 1), then
/// left = generator.below(W + 2 padding - size + 1); out[c, i, j] = padded[c, top + i, left + j].
/// size <= 0 or padding < 0: std::invalid_argument at construction; an input that is not 3-d, or
/// smaller than size after padding: std::invalid_argument naming the shape.
class RandomCrop : public Transform {
 public:
  explicit RandomCrop(std::int64_t size, std::int64_t padding = 0);
  [[nodiscard]] Shape output_shape(const Shape& input_shape) const override;
  void apply(std::span<const float> input, const Shape& input_shape, std::span<float> output,
             Generator& generator) const override;

 private:
  std::int64_t size_;
  std::int64_t padding_;
};

/// Mirrors the last dimension (W of (C, H, W)) with probability p: draws exactly one
/// generator.uniform() u per sample and flips when double(u) < p, else copies. p outside [0, 1]:
/// std::invalid_argument at construction; a 0-d input: std::invalid_argument.
class RandomHorizontalFlip : public Transform {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  [[nodiscard]] Shape output_shape(const Shape& input_shape) const override;
  void apply(std::span<const float> input, const Shape& input_shape, std::span<float> output,
             Generator& generator) const override;

 private:
  double p_;
};

/// Applies the transforms in order (the first one sees the input), each drawing from the same
/// generator in that order. An empty list copies. A null entry: std::invalid_argument.
class Compose : public Transform {
 public:
  explicit Compose(std::vector<TransformPtr> transforms);
  [[nodiscard]] Shape output_shape(const Shape& input_shape) const override;
  void apply(std::span<const float> input, const Shape& input_shape, std::span<float> output,
             Generator& generator) const override;

 private:
  std::vector<TransformPtr> transforms_;
};

// ---- the loader ---------------------------------------------------------------------------------

/// The seed of pass `epoch` (0-based) of a loader seeded with `seed`: the (epoch + 1)-th output of
/// the SplitMix64 sequence started at seed, so every (seed, epoch) pair has its own stream and pass
/// 3 is the same whether or not passes 0-2 ran (see DataLoader::set_epoch).
[[nodiscard]] inline std::uint64_t epoch_seed(std::uint64_t seed, std::int64_t epoch) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(epoch + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// Set with designated initializers: {.batch_size = 64, .shuffle = true, .prefetch = true}.
struct DataLoaderOptions {
  std::int64_t batch_size = 1;  // > 0
  bool shuffle = false;         // a new permutation every pass
  std::uint64_t seed = 0;       // of the per-pass generators (epoch_seed)
  bool drop_last = false;       // drop the last batch when it is smaller than batch_size
  bool prefetch = false;        // assemble the next batch on one background thread
  TransformPtr transform;       // applied to every input (not target); null: none
};

/// Batches of examples from a Dataset, like torch.utils.data.DataLoader with one worker.
///
/// Pass e (the e-th reset(), counting from 0; next() before any reset() starts pass 0 itself):
///   1. generator = Generator(epoch_seed(seed, e)); order = 0, 1, ..., N-1.
///   2. With shuffle: the Fisher-Yates shuffle of module 08's TensorBatches,
///      for i = N down to 2: swap(order[i - 1], order[generator.below(i)]).
///   3. Batch b holds the examples order[b * batch_size], ... (fewer in the last batch, which
///      drop_last drops when it is short). inputs (count, ...) and targets (count, ...) are new
///      contiguous tensors; each example's input goes through the transform (drawing from the same
///      generator, sample by sample in batch order) and is written straight into its row.
/// Examples in one batch must share their input and target shapes, else std::runtime_error naming
/// both shapes and the dataset index.
///
/// With prefetch, one background thread assembles batch b + 1 while the caller trains on batch b
/// (it holds at most one finished batch). An exception thrown while assembling a batch (by the
/// dataset or a transform) is rethrown, with its own type, by the next() that would have returned
/// that batch; that batch is lost and the pass goes on with the next one, exactly as without
/// prefetch. Destroying the loader mid-pass stops and joins the thread.
class DataLoader : public train::BatchSource {
 public:
  /// A null dataset or batch_size <= 0: std::invalid_argument.
  explicit DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  ~DataLoader() override;
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// Starts the next pass (steps 1-2 above); with prefetch, the thread starts on batch 0.
  void reset() override;
  /// The next batch of this pass, or std::nullopt once it has yielded num_batches().
  [[nodiscard]] std::optional<train::Batch> next() override;
  /// ceil(N / batch_size), or floor(N / batch_size) with drop_last.
  [[nodiscard]] std::int64_t num_batches() const override;
  /// The current pass (-1 before the first reset()).
  [[nodiscard]] std::int64_t epoch() const { return epoch_; }
  /// The next reset() starts pass `epoch` (to resume a run where it stopped).
  void set_epoch(std::int64_t epoch) { next_epoch_ = epoch; }
  [[nodiscard]] const Dataset& dataset() const { return *dataset_; }

  /// Range-for over one pass: `for (const train::Batch& batch : loader)` calls reset(), then next()
  /// until it yields nothing.
  class Iterator {
   public:
    using value_type = train::Batch;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    explicit Iterator(DataLoader* loader) : loader_(loader), batch_(loader->next()) {}
    const train::Batch& operator*() const { return *batch_; }
    const train::Batch* operator->() const { return &*batch_; }
    Iterator& operator++() {
      batch_ = loader_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !batch_.has_value(); }

   private:
    DataLoader* loader_ = nullptr;
    std::optional<train::Batch> batch_;
  };
  [[nodiscard]] Iterator begin() {
    reset();
    return Iterator(this);
  }
  [[nodiscard]] std::default_sentinel_t end() const { return {}; }

 private:
  /// Assembles batch `index` of the current pass (step 3 above), drawing from generator_.
  [[nodiscard]] train::Batch load_batch(std::int64_t index);
  /// The prefetch thread's body: wait for work, assemble, hand over, until stop_.
  void worker_loop();

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::int64_t epoch_ = -1;      // current pass
  std::int64_t next_epoch_ = 0;  // the pass the next reset() starts
  Generator generator_;          // this pass's: shuffle first, then transforms
  std::vector<std::int64_t> order_;
  std::int64_t position_ = 0;  // the batch next() returns next

  // Prefetch state: everything below is guarded by mutex_; the worker touches order_ and
  // generator_ only while busy_, and reset() changes them only when !busy_.
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::int64_t produce_ = 0;  // the batch the worker assembles next
  bool busy_ = false;         // the worker is assembling a batch
  bool has_ready_ = false;    // a finished batch (or its exception) waits in ready_ / error_
  std::optional<train::Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;  // set by the destructor
};

// ---- inline convenience
// ---------------------------------------------------------------------------

inline Tensor Transform::operator()(const Tensor& input, Generator& generator) const {
  const Tensor in = input.contiguous();
  Tensor out = empty(output_shape(in.shape()));
  apply(in.data(), in.shape(), out.data(), generator);
  return out;
}

}  // namespace tinytorch::data
