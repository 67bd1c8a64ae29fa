// Fuzz target: module 08's checkpoint reader, tinytorch::train::load_safetensors. Input: the file.
// A file it accepts must survive a save and load unchanged (names, shapes and bytes).
#include <cstring>
#include <stdexcept>

#include "fuzz_support.hpp"
#include "tinytorch/training.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::fs::path dir = fuzz::scratch_dir();
  const fuzz::fs::path file = dir / "model.safetensors";
  fuzz::write_file(file, {reinterpret_cast<const char*>(data), size});
  tinytorch::train::NamedTensors tensors;
  try {
    tensors = tinytorch::train::load_safetensors(file);
  } catch (const std::runtime_error& e) {
    fuzz::require_names(e.what(), {file});
    return 0;
  }
  const fuzz::fs::path again = dir / "again.safetensors";
  tinytorch::train::save_safetensors(again, tensors);
  const tinytorch::train::NamedTensors reloaded = tinytorch::train::load_safetensors(again);
  if (reloaded.size() != tensors.size()) std::abort();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    const auto& [name2, t2] = reloaded[i];
    // An empty tensor may have no storage at all: memcmp must not see its null pointer.
    if (name != name2 || t.shape() != t2.shape() ||
        (t.numel() > 0 &&
         std::memcmp(t.data_ptr(), t2.data_ptr(), static_cast<std::size_t>(t.numel()) * 4) != 0)) {
      std::abort();
    }
  }
  return 0;
}
