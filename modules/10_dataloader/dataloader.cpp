// Module 10 — fill in each TODO. The contract is dataloader.hpp: read each class's comment there
// first, and the lesson in README.md for the ideas.
//
// Every body below throws NotImplemented until you replace it. Suggested order: TensorDataset, the
// DataLoader without prefetch (constructor, num_batches, reset, load_batch, next), the transforms,
// the readers, and last the prefetch thread (worker_loop, the prefetch branches of reset and next,
// the destructor). Run `tito module test 10` after each step.
#include "tinytorch/dataloader.hpp"

#include <zlib.h>  // gzopen / gzread / gzclose: read .gz and plain files alike

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/errors.hpp"

namespace tinytorch::data {
namespace fs = std::filesystem;

// ---- datasets -----------------------------------------------------------------------------------

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) {
  // TODO: Check, then store the two tensors.
  //   - Both need at least one dimension (the samples) and the same size(0); otherwise
  //     std::invalid_argument naming both shapes (shape_to_string).
  //   - Keep x.detach().contiguous(): examples are data, not part of a graph, and a contiguous
  //     (N, ...) tensor stores row i as one run of floats starting at data_ptr() + i * row_size.
  (void)inputs;
  (void)targets;
  throw NotImplemented("10_dataloader", "TensorDataset::TensorDataset");
}

std::int64_t TensorDataset::size() const {
  // TODO: The number of examples: the first dimension.
  throw NotImplemented("10_dataloader", "TensorDataset::size");
}

Example TensorDataset::get(std::int64_t index) const {
  // TODO: Copies of row `index` of inputs_ and of targets_.
  //   - index outside [0, size()): std::out_of_range naming the index and the size.
  //   - A row of an (N, d1, d2, ...) tensor has shape (d1, d2, ...): the shape without its first
  //     dimension (a 0-d tensor when the tensor is 1-d). empty(row_shape) makes the new tensor;
  //     one std::memcpy fills it.
  (void)index;
  throw NotImplemented("10_dataloader", "TensorDataset::get");
}

// ---- readers ------------------------------------------------------------------------------------
// Suggested helpers (write them in an anonymous namespace here):
//   - find_file(dir, name): dir / name if it exists, else dir / (name + ".gz"), else a
//     std::runtime_error naming both paths and saying how to get the data (TINYTORCH_DATA, `tito
//     data fetch`).
//   - read_all(path): the whole (decompressed) content as std::vector<std::uint8_t>. zlib's
//     gzopen(path, "rb") opens gzip AND plain files; gzread(file, buffer, n) returns the bytes
//     read, 0 at the end, -1 on corrupt data (gzerror says why). Close with gzclose (a unique_ptr
//     with gzclose as deleter does it on every path, exceptions included).
//   - big_endian_u32(bytes, at): idx headers store numbers most significant byte first:
//     (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3].

TensorDataset read_mnist(const fs::path& dir, bool train) {
  // TODO: Read the image and the label file of the split ("train" or "t10k" prefix).
  //   - Images: magic 0x00000803, then N, rows, cols; the file must be exactly 16 + N*rows*cols
  //     bytes. Labels: magic 0x00000801, then N; exactly 8 + N bytes. Check the magic before the
  //     sizes (a label file passed as images has the wrong magic, and that is the helpful message).
  //   - Both files must agree on N; every label must be 0-9.
  //   - Every error: std::runtime_error whose message starts with the file's path.
  //   - inputs (N, 1, rows, cols) = byte / 255.0f; targets (N) = the label as a float. One loop
  //     over the bytes into the tensors' data(): no per-pixel Tensor operations.
  (void)dir;
  (void)train;
  throw NotImplemented("10_dataloader", "read_mnist");
}

TensorDataset read_cifar10(const fs::path& dir, bool train) {
  // TODO: Read data_batch_1.bin ... data_batch_5.bin (train) or test_batch.bin (test), each plain
  // or
  //   .gz, and concatenate their records in that order.
  //   - A record is 3,073 bytes: the label (0-9), then 3,072 pixel bytes already in (3, 32, 32)
  //     order. A file's size must be a whole, non-zero number of records; otherwise
  //     std::runtime_error naming the file, its size and the record size.
  //   - inputs (N, 3, 32, 32) = byte / 255.0f; targets (N) = the label as a float.
  //   - Read all the files first, so you know N and can allocate the tensors once.
  (void)dir;
  (void)train;
  throw NotImplemented("10_dataloader", "read_cifar10");
}

// ---- transforms ---------------------------------------------------------------------------------

Normalize::Normalize(std::vector<float> mean, std::vector<float> std)
    : mean_(std::move(mean)), std_(std::move(std)) {
  // TODO: mean_ and std_ must have the same, non-zero length, and every std must be > 0;
  //   otherwise std::invalid_argument naming the lengths or the value.
  throw NotImplemented("10_dataloader", "Normalize::Normalize");
}

Shape Normalize::output_shape(const Shape& input_shape) const {
  // TODO: The shape is unchanged, but check it: at least one dimension, and input_shape[0] (the
  //   channels) equal to mean_.size(); otherwise std::invalid_argument naming the shape.
  (void)input_shape;
  throw NotImplemented("10_dataloader", "Normalize::output_shape");
}

void Normalize::apply(std::span<const float> input, const Shape& input_shape,
                      std::span<float> output, Generator& generator) const {
  // TODO: out = (in - mean[c]) / std[c], channel by channel.
  //   - Check the shape (output_shape does it). Channel c is one run of numel / C floats starting
  //   at
  //     c * (numel / C): one tight loop per channel. Multiplying by a precomputed 1 / std is faster
  //     than dividing, but the tests compare against (x - mean) / std exactly: divide.
  //   - No randomness: leave the generator alone.
  (void)input;
  (void)input_shape;
  (void)output;
  (void)generator;
  throw NotImplemented("10_dataloader", "Normalize::apply");
}

RandomCrop::RandomCrop(std::int64_t size, std::int64_t padding) : size_(size), padding_(padding) {
  // TODO: size must be > 0 and padding >= 0; otherwise std::invalid_argument naming the value.
  throw NotImplemented("10_dataloader", "RandomCrop::RandomCrop");
}

Shape RandomCrop::output_shape(const Shape& input_shape) const {
  // TODO: (C, H, W) -> (C, size, size). Not 3-d, or H + 2 padding < size, or W + 2 padding < size:
  //   std::invalid_argument naming the shape, the size and the padding.
  (void)input_shape;
  throw NotImplemented("10_dataloader", "RandomCrop::output_shape");
}

void RandomCrop::apply(std::span<const float> input, const Shape& input_shape,
                       std::span<float> output, Generator& generator) const {
  // TODO: Crop the padded image without building it.
  //   - Check the shape, then draw top, then left, exactly as the header says (the order of the
  //     draws is part of the contract: the same seed must give the same crops everywhere).
  //   - Output pixel (c, i, j) comes from padded (c, top + i, left + j), which is input
  //     (c, top + i - padding, left + j - padding) when that lies inside the image, and 0 (the
  //     padding) otherwise. For one output row, the input row is fixed and the columns inside the
  //     image form one run: fill the zeros, then std::copy the run. No per-pixel bounds checks
  //     needed.
  (void)input;
  (void)input_shape;
  (void)output;
  (void)generator;
  throw NotImplemented("10_dataloader", "RandomCrop::apply");
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  // TODO: p must lie in [0, 1]; otherwise std::invalid_argument naming it.
  throw NotImplemented("10_dataloader", "RandomHorizontalFlip::RandomHorizontalFlip");
}

Shape RandomHorizontalFlip::output_shape(const Shape& input_shape) const {
  // TODO: Unchanged; a 0-d shape (nothing to mirror) throws std::invalid_argument.
  (void)input_shape;
  throw NotImplemented("10_dataloader", "RandomHorizontalFlip::output_shape");
}

void RandomHorizontalFlip::apply(std::span<const float> input, const Shape& input_shape,
                                 std::span<float> output, Generator& generator) const {
  // TODO: Draw ONE generator.uniform() u, always (even for p = 0 or 1, so the draws that follow do
  //   not depend on p). u < p: every row of the last dimension (W floats each) is written reversed
  //   (std::reverse_copy); otherwise the input is copied unchanged.
  (void)input;
  (void)input_shape;
  (void)output;
  (void)generator;
  throw NotImplemented("10_dataloader", "RandomHorizontalFlip::apply");
}

Compose::Compose(std::vector<TransformPtr> transforms) : transforms_(std::move(transforms)) {
  // TODO: A null entry throws std::invalid_argument naming its position.
  throw NotImplemented("10_dataloader", "Compose::Compose");
}

Shape Compose::output_shape(const Shape& input_shape) const {
  // TODO: Feed the shape through every transform's output_shape, in order.
  (void)input_shape;
  throw NotImplemented("10_dataloader", "Compose::output_shape");
}

void Compose::apply(std::span<const float> input, const Shape& input_shape, std::span<float> output,
                    Generator& generator) const {
  // TODO: Apply the transforms in order, each on the previous one's output.
  //   - The intermediate samples need somewhere to live: two std::vector<float> buffers used in
  //     turn (ping-pong) are enough; the last transform writes straight into `output`.
  //   - Track the shape as it changes (output_shape of each step).
  //   - No transforms: copy input to output.
  (void)input;
  (void)input_shape;
  (void)output;
  (void)generator;
  throw NotImplemented("10_dataloader", "Compose::apply");
}

// ---- the loader ---------------------------------------------------------------------------------

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  // TODO: A null dataset or options_.batch_size <= 0: std::invalid_argument. Do not start a pass
  //   here (reset() does; the Trainer calls it at the start of every epoch) and do not start the
  //   thread yet.
  throw NotImplemented("10_dataloader", "DataLoader::DataLoader");
}

DataLoader::~DataLoader() {
  // TODO: If the worker thread runs (worker_.joinable()): set stop_ under the mutex, wake it
  //   (cv_.notify_all()) and join it. A destructor must not throw, and a std::thread destroyed
  //   while still joinable calls std::terminate: this is what makes "destroy mid-epoch" safe.
}

std::int64_t DataLoader::num_batches() const {
  // TODO: N / batch_size rounded up, or rounded down with drop_last.
  throw NotImplemented("10_dataloader", "DataLoader::num_batches");
}

void DataLoader::reset() {
  // TODO: Start pass next_epoch_ (steps 1-2 in the header), then epoch_ = next_epoch_++,
  //   position_ = 0.
  //   - Reseed the pass's generator with generator_.manual_seed(epoch_seed(options_.seed, epoch)),
  //     and draw the shuffle from it; load_batch keeps drawing from it for the transforms.
  //   - Without prefetch, that is all.
  //   - With prefetch, the worker may be assembling a batch of the old pass right now, reading
  //     order_ and generator_. Take the mutex and wait on cv_ until !busy_ before touching them;
  //     then also forget any finished batch (has_ready_, ready_, error_) and set produce_ = 0.
  //     Release the mutex, notify the worker, and start it if it is not running yet:
  //     worker_ = std::thread(&DataLoader::worker_loop, this).
  throw NotImplemented("10_dataloader", "DataLoader::reset");
}

train::Batch DataLoader::load_batch(std::int64_t index) {
  // TODO: Assemble batch `index` (step 3 in the header).
  //   - Its examples are order_[index * batch_size + k] for k < count (count is smaller for the
  //     last batch).
  //   - The first example decides the shapes: input shape (transformed: transform->output_shape)
  //     and target shape. Allocate inputs (count, ...) and targets (count, ...) once, with empty().
  //   - For each example, write its input into its row of inputs: through
  //     options_.transform->apply(example input, its shape, the row's span, generator_) when there
  //     is a transform, else a plain copy; copy its target into its row of targets. Call
  //     contiguous() on what the dataset returns before reading data().
  //   - An example whose input or target shape differs from the first one's: std::runtime_error
  //     naming the dataset index and both shapes.
  (void)index;
  throw NotImplemented("10_dataloader", "DataLoader::load_batch");
}

std::optional<train::Batch> DataLoader::next() {
  // TODO: The next batch of the pass, or std::nullopt at its end.
  //   - No pass yet (epoch_ < 0)? reset() first.
  //   - Without prefetch: load_batch(position_++). Advancing before loading means a batch that
  //     throws is skipped and the pass goes on.
  //   - With prefetch: wait (mutex + cv_) until has_ready_, take ready_ and error_, clear
  //     has_ready_, advance position_, release the mutex and notify the worker so it starts the
  //     next batch. Then rethrow error_ if there is one (std::rethrow_exception keeps its type).
  throw NotImplemented("10_dataloader", "DataLoader::next");
}

void DataLoader::worker_loop() {
  // TODO: The prefetch thread. Loop:
  //   - Under the mutex, wait on cv_ until stop_, or (no finished batch waits and
  //     produce_ < num_batches()). stop_: return.
  //   - Take index = produce_++, set busy_, and release the mutex while assembling:
  //   load_batch(index)
  //     inside try { } catch (...) { keep std::current_exception() }. An exception must never leave
  //     this function: it would call std::terminate.
  //   - Re-take the mutex, store the batch (or the exception) in ready_ / error_, set has_ready_,
  //     clear busy_, and notify_all (next() and reset() may both be waiting).
  throw NotImplemented("10_dataloader", "DataLoader::worker_loop");
}

}  // namespace tinytorch::data
