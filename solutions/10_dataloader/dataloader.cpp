// Module 10 reference solution: datasets, readers, transforms and a DataLoader that batches,
// shuffles and prefetches on one background thread.
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/dataloader.hpp"

namespace tinytorch::data {
namespace fs = std::filesystem;
namespace {

// The shape of one row of an (N, ...) tensor: (...).
Shape row_shape(const Shape& shape) {
  return Shape(shape.begin() + 1, shape.end());
}

// One row of a contiguous (N, ...) tensor, copied: a row is one run of numel / N floats.
Tensor copy_row(const Tensor& t, std::int64_t index) {
  Tensor row = empty(row_shape(t.shape()));
  const std::int64_t row_size = row.numel();
  std::memcpy(row.data_ptr(), t.data_ptr() + index * row_size,
              static_cast<std::size_t>(row_size) * sizeof(float));
  return row;
}

}  // namespace

// ---- datasets -----------------------------------------------------------------------------------

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) {
  if (!inputs.defined() || !targets.defined() || inputs.dim() == 0 || targets.dim() == 0 ||
      inputs.size(0) != targets.size(0)) {
    throw std::invalid_argument(
        "TensorDataset: inputs and targets need a first dimension of samples with the same size "
        "(N, ...); got inputs " +
        (inputs.defined() ? shape_to_string(inputs.shape()) : std::string("undefined")) +
        " and targets " +
        (targets.defined() ? shape_to_string(targets.shape()) : std::string("undefined")));
  }
  inputs_ = inputs.detach().contiguous();
  targets_ = targets.detach().contiguous();
}

std::int64_t TensorDataset::size() const {
  return inputs_.size(0);
}

Example TensorDataset::get(std::int64_t index) const {
  if (index < 0 || index >= size()) {
    throw std::out_of_range("TensorDataset::get: index " + std::to_string(index) +
                            " is out of range for a dataset of " + std::to_string(size()) +
                            " examples (valid: 0 to size() - 1)");
  }
  return {copy_row(inputs_, index), copy_row(targets_, index)};
}

// ---- readers ------------------------------------------------------------------------------------
namespace {

const char* const kHowToGetData =
    "Point TINYTORCH_DATA at the data folder (or pass the right folder), or run `tito data fetch`";

// dir / name when it exists, else dir / name.gz.
fs::path find_file(const fs::path& dir, const std::string& name) {
  for (const fs::path& candidate : {dir / name, dir / (name + ".gz")}) {
    if (fs::exists(candidate)) return candidate;
  }
  throw std::runtime_error("missing data file: neither " + (dir / name).string() + " nor " +
                           (dir / (name + ".gz")).string() + " exists. " + kHowToGetData + ".");
}

// The whole (decompressed) file. gzopen reads gzip and plain files alike; gzread returns -1 on
// corrupt or truncated gzip data.
std::vector<std::uint8_t> read_all(const fs::path& path) {
  std::unique_ptr<gzFile_s, decltype(&gzclose)> file(gzopen(path.c_str(), "rb"), &gzclose);
  if (!file) throw std::runtime_error(path.string() + ": cannot open the file for reading");
  gzbuffer(file.get(), 1 << 20);
  std::vector<std::uint8_t> bytes;
  std::size_t used = 0;
  for (;;) {
    if (bytes.size() - used < (1 << 16))  // doubling from 64 KiB: a small file costs little
      bytes.resize(std::max<std::size_t>(2 * bytes.size(), 1 << 17));
    const int n =
        gzread(file.get(), bytes.data() + used, static_cast<unsigned>(bytes.size() - used));
    if (n < 0) {
      int code = 0;
      throw std::runtime_error(path.string() + ": corrupt or truncated gzip data (" +
                               gzerror(file.get(), &code) + "); download the file again");
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  bytes.resize(used);
  return bytes;
}

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

std::string hex(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

// An idx file of uint8 values with `ndims` dimensions: magic 0x0000080N, N big-endian u32 sizes,
// then exactly prod(sizes) bytes.
struct Idx {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> bytes;  // header included; the values start at `header`
  std::size_t header = 0;
};

Idx read_idx(const fs::path& path, std::size_t ndims) {
  Idx idx;
  idx.bytes = read_all(path);
  idx.header = 4 + 4 * ndims;
  if (idx.bytes.size() < 4) {
    throw std::runtime_error(path.string() + ": truncated idx file (" +
                             std::to_string(idx.bytes.size()) +
                             " bytes, too short for the magic number); download it again");
  }
  const std::uint32_t magic = big_endian_u32(idx.bytes, 0);
  const std::uint32_t expected = 0x00000800u | static_cast<std::uint32_t>(ndims);
  if (magic != expected) {
    throw std::runtime_error(path.string() + ": wrong magic number " + hex(magic) + " (expected " +
                             hex(expected) + " for a uint8 idx file with " + std::to_string(ndims) +
                             " dimensions): not the file its name says; check the file");
  }
  if (idx.bytes.size() < idx.header) {
    throw std::runtime_error(path.string() + ": truncated idx file (" +
                             std::to_string(idx.bytes.size()) + " bytes, the header alone needs " +
                             std::to_string(idx.header) + "); download it again");
  }
  // The product of the sizes is checked against the bytes actually there as it grows: three u32
  // sizes can multiply past 2^64 and wrap to the file's length, and nothing may be allocated from
  // a size the file does not back.
  const std::size_t data_bytes = idx.bytes.size() - idx.header;
  std::size_t count = 1;
  bool too_big = false;
  for (std::size_t d = 0; d < ndims; ++d) {
    idx.dims.push_back(big_endian_u32(idx.bytes, 4 + 4 * d));
    const auto size = static_cast<std::size_t>(idx.dims.back());
    if (size == 0) {
      throw std::runtime_error(path.string() + ": size " + std::to_string(d) +
                               " in the header is 0, so the file holds no examples; download it "
                               "again");
    }
    too_big = too_big || count > data_bytes / size;
    count = too_big ? count : count * size;
  }
  if (too_big) {
    throw std::runtime_error(path.string() + ": the header's sizes promise more values than the " +
                             std::to_string(data_bytes) +
                             " data bytes in the file (a truncated or corrupt file); download it "
                             "again");
  }
  if (idx.bytes.size() != idx.header + count) {
    throw std::runtime_error(path.string() + ": " + std::to_string(idx.bytes.size() - idx.header) +
                             " data bytes, but the header promises " + std::to_string(count) +
                             " (a truncated or corrupt file); download it again");
  }
  return idx;
}

// Labels must be class indices 0-9; stored as floats.
void copy_labels(const fs::path& path, const std::uint8_t* labels, std::int64_t n, float* out) {
  for (std::int64_t i = 0; i < n; ++i) {
    if (labels[i] > 9) {
      throw std::runtime_error(path.string() + ": label " + std::to_string(labels[i]) +
                               " of example " + std::to_string(i) +
                               " is not a class 0-9 (a corrupt file?)");
    }
    out[i] = static_cast<float>(labels[i]);
  }
}

// byte / 255 -> [0, 1] (divided, not multiplied by 1/255, so 51 gives exactly 0.2f); one tight
// loop over contiguous memory.
void scale_pixels(const std::uint8_t* bytes, std::size_t n, float* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(bytes[i]) / 255.0f;
}

}  // namespace

TensorDataset read_mnist(const fs::path& dir, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const fs::path images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const fs::path labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  const Idx images = read_idx(images_path, 3);  // (N, rows, cols)
  const Idx labels = read_idx(labels_path, 1);  // (N)
  const std::int64_t n = images.dims[0];
  if (labels.dims[0] != n) {
    throw std::runtime_error(images_path.string() + " holds " + std::to_string(n) + " images but " +
                             labels_path.string() + " holds " + std::to_string(labels.dims[0]) +
                             " labels: the two files do not belong together");
  }
  Tensor inputs = empty({n, 1, images.dims[1], images.dims[2]});  // (N, 1, rows, cols)
  Tensor targets = empty({n});                                    // (N)
  scale_pixels(images.bytes.data() + images.header, static_cast<std::size_t>(inputs.numel()),
               inputs.data_ptr());
  copy_labels(labels_path, labels.bytes.data() + labels.header, n, targets.data_ptr());
  return {inputs, targets};
}

TensorDataset read_cifar10(const fs::path& dir, bool train) {
  constexpr std::size_t kPixels =
      std::size_t{3} * 32 * 32;                 // (3, 32, 32), channel planes row-major
  constexpr std::size_t kRecord = 1 + kPixels;  // label byte, then the pixels
  std::vector<std::string> names;
  if (train) {
    for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    names.push_back("test_batch.bin");
  }
  // Read every file first: then N is known and the tensors are allocated once.
  std::vector<std::pair<fs::path, std::vector<std::uint8_t>>> files;
  std::int64_t n = 0;
  for (const std::string& name : names) {
    fs::path path = find_file(dir, name);
    std::vector<std::uint8_t> bytes = read_all(path);
    if (bytes.empty() || bytes.size() % kRecord != 0) {
      throw std::runtime_error(path.string() + ": " + std::to_string(bytes.size()) +
                               " bytes is not a whole, non-zero number of 3,073-byte records "
                               "(a CIFAR-10 batch file has 10,000: 30,730,000 bytes); the file is "
                               "truncated or not a CIFAR-10 binary batch, download it again");
    }
    n += static_cast<std::int64_t>(bytes.size() / kRecord);
    files.emplace_back(std::move(path), std::move(bytes));
  }
  Tensor inputs = empty({n, 3, 32, 32});
  Tensor targets = empty({n});
  float* x = inputs.data_ptr();
  float* y = targets.data_ptr();
  std::int64_t i = 0;
  for (const auto& [path, bytes] : files) {
    for (std::size_t at = 0; at < bytes.size(); at += kRecord, ++i) {
      copy_labels(path, &bytes[at], 1, y + i);
      scale_pixels(&bytes[at + 1], kPixels, x + i * static_cast<std::int64_t>(kPixels));
    }
  }
  return {inputs, targets};
}

// ---- transforms ---------------------------------------------------------------------------------

Normalize::Normalize(std::vector<float> mean, std::vector<float> std)
    : mean_(std::move(mean)), std_(std::move(std)) {
  if (mean_.empty() || mean_.size() != std_.size()) {
    throw std::invalid_argument("Normalize: mean and std need one value per channel; got " +
                                std::to_string(mean_.size()) + " means and " +
                                std::to_string(std_.size()) + " standard deviations");
  }
  for (float s : std_) {
    if (!(s > 0.0f)) {
      throw std::invalid_argument("Normalize: every std must be > 0, got " + std::to_string(s));
    }
  }
}

Shape Normalize::output_shape(const Shape& input_shape) const {
  if (input_shape.empty() || input_shape[0] != static_cast<std::int64_t>(mean_.size())) {
    throw std::invalid_argument("Normalize: input " + shape_to_string(input_shape) +
                                " must be (C, ...) with C = " + std::to_string(mean_.size()) +
                                " channels, one per mean");
  }
  return input_shape;
}

void Normalize::apply(std::span<const float> input, const Shape& input_shape,
                      std::span<float> output, Generator& /*generator*/) const {
  (void)output_shape(input_shape);
  const std::size_t channels = mean_.size();
  const std::size_t plane = input.size() / channels;  // floats per channel
  for (std::size_t c = 0; c < channels; ++c) {
    const float m = mean_[c];
    const float s = std_[c];
    const float* in = input.data() + c * plane;
    float* out = output.data() + c * plane;
    for (std::size_t i = 0; i < plane; ++i) out[i] = (in[i] - m) / s;
  }
}

RandomCrop::RandomCrop(std::int64_t size, std::int64_t padding) : size_(size), padding_(padding) {
  if (size <= 0 || padding < 0) {
    throw std::invalid_argument("RandomCrop: size must be > 0 and padding >= 0; got size " +
                                std::to_string(size) + ", padding " + std::to_string(padding));
  }
}

Shape RandomCrop::output_shape(const Shape& input_shape) const {
  if (input_shape.size() != 3 || input_shape[1] + 2 * padding_ < size_ ||
      input_shape[2] + 2 * padding_ < size_) {
    throw std::invalid_argument("RandomCrop(" + std::to_string(size_) + ", padding " +
                                std::to_string(padding_) + "): input " +
                                shape_to_string(input_shape) +
                                " must be (C, H, W) with H and W + 2 * padding >= size");
  }
  return {input_shape[0], size_, size_};
}

void RandomCrop::apply(std::span<const float> input, const Shape& input_shape,
                       std::span<float> output, Generator& generator) const {
  (void)output_shape(input_shape);
  const std::int64_t channels = input_shape[0];
  const std::int64_t h = input_shape[1];
  const std::int64_t w = input_shape[2];
  // The window's corner in the padded (C, H + 2p, W + 2p) image; top is drawn first.
  const auto top = static_cast<std::int64_t>(
      generator.below(static_cast<std::uint64_t>(h + 2 * padding_ - size_ + 1)));
  const auto left = static_cast<std::int64_t>(
      generator.below(static_cast<std::uint64_t>(w + 2 * padding_ - size_ + 1)));
  // Output column j reads input column left + j - p; the ones inside [0, w) form one run [j0, j1).
  const std::int64_t col0 = left - padding_;
  const std::int64_t j0 = std::clamp<std::int64_t>(-col0, 0, size_);
  const std::int64_t j1 = std::clamp<std::int64_t>(w - col0, 0, size_);
  for (std::int64_t c = 0; c < channels; ++c) {
    const float* plane = input.data() + c * h * w;
    for (std::int64_t i = 0; i < size_; ++i) {
      float* out = output.data() + (c * size_ + i) * size_;
      const std::int64_t row = top + i - padding_;  // input row, maybe in the padding
      if (row < 0 || row >= h || j0 >= j1) {
        std::fill(out, out + size_, 0.0f);
        continue;
      }
      std::fill(out, out + j0, 0.0f);
      std::copy(plane + row * w + col0 + j0, plane + row * w + col0 + j1, out + j0);
      std::fill(out + j1, out + size_, 0.0f);
    }
  }
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw std::invalid_argument("RandomHorizontalFlip: p must lie in [0, 1], got " +
                                std::to_string(p));
  }
}

Shape RandomHorizontalFlip::output_shape(const Shape& input_shape) const {
  if (input_shape.empty()) {
    throw std::invalid_argument(
        "RandomHorizontalFlip: a 0-d input has no last dimension to mirror; pass (C, H, W)");
  }
  return input_shape;
}

void RandomHorizontalFlip::apply(std::span<const float> input, const Shape& input_shape,
                                 std::span<float> output, Generator& generator) const {
  (void)output_shape(input_shape);
  // One draw per sample whatever p is, so the draws after this one do not depend on p.
  const bool flip = static_cast<double>(generator.uniform()) < p_;
  if (!flip) {
    std::copy(input.begin(), input.end(), output.begin());
    return;
  }
  const auto w = static_cast<std::size_t>(input_shape.back());
  for (std::size_t at = 0; at + w <= input.size() && w > 0; at += w) {
    std::reverse_copy(input.begin() + at, input.begin() + at + w, output.begin() + at);
  }
}

Compose::Compose(std::vector<TransformPtr> transforms) : transforms_(std::move(transforms)) {
  for (std::size_t i = 0; i < transforms_.size(); ++i) {
    if (!transforms_[i]) {
      throw std::invalid_argument("Compose: transform " + std::to_string(i) +
                                  " is null; pass std::make_shared<...>(...) for every entry");
    }
  }
}

Shape Compose::output_shape(const Shape& input_shape) const {
  Shape shape = input_shape;
  for (const TransformPtr& t : transforms_) shape = t->output_shape(shape);
  return shape;
}

void Compose::apply(std::span<const float> input, const Shape& input_shape, std::span<float> output,
                    Generator& generator) const {
  if (transforms_.empty()) {
    std::copy(input.begin(), input.end(), output.begin());
    return;
  }
  // Ping-pong between two scratch buffers; the last transform writes straight into output.
  std::vector<float> buffers[2];
  std::span<const float> current = input;
  Shape shape = input_shape;
  for (std::size_t k = 0; k < transforms_.size(); ++k) {
    const Shape next_shape = transforms_[k]->output_shape(shape);
    std::span<float> target = output;
    if (k + 1 < transforms_.size()) {
      std::vector<float>& buffer = buffers[k % 2];
      buffer.resize(static_cast<std::size_t>(shape_numel(next_shape)));
      target = buffer;
    }
    transforms_[k]->apply(current, shape, target, generator);
    current = target;
    shape = next_shape;
  }
}

// ---- the loader ---------------------------------------------------------------------------------

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  if (!dataset_) throw std::invalid_argument("DataLoader: the dataset is null");
  if (options_.batch_size <= 0) {
    throw std::invalid_argument("DataLoader: batch_size must be > 0, got " +
                                std::to_string(options_.batch_size));
  }
}

DataLoader::~DataLoader() {
  if (!worker_.joinable()) return;
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();  // the worker finishes the batch in hand, then sees stop_
}

std::int64_t DataLoader::num_batches() const {
  const std::int64_t n = dataset_->size();
  const std::int64_t b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::reset() {
  std::unique_lock lock(mutex_);
  // The worker may be assembling a batch of the old pass from order_ and generator_: wait it out.
  cv_.wait(lock, [&] { return !busy_; });
  epoch_ = next_epoch_++;
  generator_.manual_seed(epoch_seed(options_.seed, epoch_));
  order_.resize(static_cast<std::size_t>(dataset_->size()));
  for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<std::int64_t>(i);
  if (options_.shuffle) {
    // Fisher-Yates: every permutation equally likely, one draw per position.
    for (std::size_t i = order_.size(); i > 1; --i) {
      std::swap(order_[i - 1], order_[generator_.below(i)]);
    }
  }
  position_ = 0;
  produce_ = 0;
  has_ready_ = false;
  ready_.reset();
  error_ = nullptr;
  lock.unlock();
  if (options_.prefetch) {
    cv_.notify_all();
    if (!worker_.joinable()) worker_ = std::thread(&DataLoader::worker_loop, this);
  }
}

train::Batch DataLoader::load_batch(std::int64_t index) {
  const std::int64_t n = static_cast<std::int64_t>(order_.size());
  const std::int64_t first = index * options_.batch_size;
  const std::int64_t count = std::min(options_.batch_size, n - first);
  const Transform* transform = options_.transform.get();

  // The first example fixes the shapes of the batch: (count, ...) each.
  Example example = dataset_->get(order_[first]);
  Shape input_shape = example.input.shape();
  const Shape target_shape = example.target.shape();
  const Shape out_shape = transform ? transform->output_shape(input_shape) : input_shape;
  Shape batch_inputs{count};
  batch_inputs.insert(batch_inputs.end(), out_shape.begin(), out_shape.end());
  Shape batch_targets{count};
  batch_targets.insert(batch_targets.end(), target_shape.begin(), target_shape.end());
  train::Batch batch{empty(batch_inputs), empty(batch_targets)};
  const auto in_row = static_cast<std::size_t>(shape_numel(out_shape));
  const auto target_row = static_cast<std::size_t>(shape_numel(target_shape));
  float* inputs = batch.inputs.data_ptr();
  float* targets = batch.targets.data_ptr();

  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t dataset_index = order_[first + k];
    if (k > 0) example = dataset_->get(dataset_index);
    if (example.input.shape() != input_shape || example.target.shape() != target_shape) {
      throw std::runtime_error(
          "DataLoader: example " + std::to_string(dataset_index) + " has input " +
          shape_to_string(example.input.shape()) + " and target " +
          shape_to_string(example.target.shape()) + ", but its batch started with input " +
          shape_to_string(input_shape) + " and target " + shape_to_string(target_shape) +
          "; every example of a batch needs the same shapes (resize with a transform)");
    }
    const Tensor x = example.input.contiguous();
    const Tensor y = example.target.contiguous();
    const std::span<float> row(inputs + static_cast<std::size_t>(k) * in_row, in_row);
    if (transform) {
      transform->apply(x.data(), input_shape, row, generator_);
    } else {
      std::copy(x.data().begin(), x.data().end(), row.begin());
    }
    std::copy(y.data().begin(), y.data().end(), targets + static_cast<std::size_t>(k) * target_row);
  }
  return batch;
}

std::optional<train::Batch> DataLoader::next() {
  if (epoch_ < 0) reset();
  if (position_ >= num_batches()) return std::nullopt;
  if (!options_.prefetch)
    return load_batch(position_++);  // advance first: a failed batch is skipped

  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return has_ready_; });
  std::optional<train::Batch> batch = std::move(ready_);
  const std::exception_ptr error = std::exchange(error_, nullptr);
  ready_.reset();
  has_ready_ = false;
  ++position_;
  lock.unlock();
  cv_.notify_all();  // the worker may start on the next batch
  if (error) std::rethrow_exception(error);
  return batch;
}

void DataLoader::worker_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || (!has_ready_ && produce_ < num_batches()); });
    if (stop_) return;
    const std::int64_t index = produce_++;
    busy_ = true;
    lock.unlock();
    // Assemble without the lock, so next() can take the previous batch meanwhile. Nothing may
    // escape this thread: an uncaught exception would call std::terminate.
    std::optional<train::Batch> batch;
    std::exception_ptr error;
    try {
      batch = load_batch(index);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    ready_ = std::move(batch);
    error_ = error;
    has_ready_ = true;
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace tinytorch::data
