// Fuzz target: the data checksum list, <data>/SHA256SUMS, as `tito system doctor` verifies it
// (tito/core/datasets.cpp). Input: the file; the data folder beside it holds one small file, so
// both the match and the mismatch paths run. Every rejection is a TitoError naming the file.
#include "core/datasets.hpp"
#include "core/errors.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::fs::path dir = fuzz::scratch_dir();
  const fuzz::fs::path sums = dir / "SHA256SUMS";
  fuzz::write_file(dir / "mnist" / "a.bin", "abc");
  fuzz::write_file(sums, {reinterpret_cast<const char*>(data), size});
  try {
    for (const tito::DatasetStatus& set : tito::verify_datasets(dir)) {
      if (set.verified + static_cast<int>(set.missing.size() + set.mismatched.size()) !=
          set.files) {
        std::abort();  // every listed file is counted exactly once
      }
    }
  } catch (const tito::TitoError& e) {
    fuzz::require_names(e.what(), {sums});
  }
  return 0;
}
