// Fuzz target: the data set registry with its pinned SHA-256 sums (datasets/datasets.json), as
// `tito data verify` and `tito system doctor` read it (tito/core/datasets.cpp). Every rejection
// is a TitoError naming the file.
#include "core/datasets.hpp"
#include "core/errors.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string origin = "datasets/datasets.json";
  try {
    (void)tito::parse_dataset_registry({reinterpret_cast<const char*>(data), size}, origin);
  } catch (const tito::TitoError& e) {
    fuzz::require_names(e.what(), {origin});
  }
  return 0;
}
