// Fuzz target: module 10's CIFAR-10 binary reader, tinytorch::data::read_cifar10 (gzip and plain).
// Input: [flags: u8][test_batch.bin]; flag bit 1 gzips the file before it is read.
#include <stdexcept>

#include "fuzz_support.hpp"
#include "tinytorch/dataloader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto flags = static_cast<unsigned char>(fuzz::take(input, 1).empty() ? 0 : data[0]);
  const fuzz::fs::path dir = fuzz::scratch_dir();
  const fuzz::fs::path file = dir / "test_batch.bin";
  if ((flags & 2) != 0) {
    fuzz::write_gzip_file(file, input);
  } else {
    fuzz::write_file(file, input);
  }
  try {
    const tinytorch::data::TensorDataset set = tinytorch::data::read_cifar10(dir, false);
    if (set.size() > 0) (void)set.get(set.size() - 1);
  } catch (const std::runtime_error& e) {
    fuzz::require_names(e.what(), {file});
  }
  return 0;
}
