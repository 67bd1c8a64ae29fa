// Fuzz target: module 10's MNIST reader, tinytorch::data::read_mnist (idx files, gzip and plain).
// Input: [flags: u8][images length: u32 LE][images file][labels file]; flags bit 0 picks the
// training split's file names, bits 1 and 2 gzip the images and labels files before they are read.
#include <stdexcept>

#include "fuzz_support.hpp"
#include "tinytorch/dataloader.hpp"

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
    const tinytorch::data::TensorDataset set = tinytorch::data::read_mnist(dir, train);
    if (set.size() > 0) (void)set.get(set.size() - 1);  // the last example lies inside the buffers
  } catch (const std::runtime_error& e) {
    fuzz::require_names(e.what(), {images_file, labels_file});
  }
  return 0;
}
