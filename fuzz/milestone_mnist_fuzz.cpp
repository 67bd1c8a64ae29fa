// Fuzz target: the milestones' own MNIST reader, milestones::load_mnist
// (milestones/common/idx.cpp), which decides what the mnist and mnist-cnn gates are measured on.
// Input: [flags: u8][images length: u32 LE][images file][labels file]; as mnist_idx_fuzz.cpp.
#include <stdexcept>

#include "fuzz_support.hpp"
#include "idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto flags = static_cast<unsigned char>(fuzz::take(input, 1).empty() ? 0 : data[0]);
  const std::string_view images = fuzz::take(input, fuzz::take_u32(input));
  const std::string_view labels = input;
  const bool train = (flags & 1) != 0;
  const std::string prefix = train ? "train" : "t10k";
  const fuzz::fs::path dir = fuzz::scratch_dir();
  const fuzz::fs::path images_file = dir / (prefix + "-images-idx3-ubyte");
  const fuzz::fs::path labels_file = dir / (prefix + "-labels-idx1-ubyte");
  if ((flags & 2) != 0) {
    fuzz::write_gzip_file(images_file, images);
  } else {
    fuzz::write_file(images_file, images);
  }
  if ((flags & 4) != 0) {
    fuzz::write_gzip_file(labels_file, labels);
  } else {
    fuzz::write_file(labels_file, labels);
  }
  try {
    const milestones::MnistSplit split = milestones::load_mnist(dir, train);
    if (split.images.size() != static_cast<std::size_t>(split.count) * 28 * 28 ||
        split.labels.size() != static_cast<std::size_t>(split.count)) {
      std::abort();  // the reader's promise: N x 784 images and N labels
    }
  } catch (const std::runtime_error& e) {
    fuzz::require_names(e.what(), {images_file, labels_file});
  }
  return 0;
}
