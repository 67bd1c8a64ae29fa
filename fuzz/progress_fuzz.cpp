// Fuzz target: tito's progress store, .tito/progress.json (tito/core/progress.cpp). Input: the
// file. The store's contract: a newer schema is refused with a TitoError naming the file and the
// file is left untouched; anything else unusable is moved aside (never deleted) and reads as empty;
// a file it accepts is written back by update() and reads again to the same progress.
#include <cstring>

#include "core/errors.hpp"
#include "core/progress.hpp"
#include "fuzz_support.hpp"

namespace {

bool same(const tito::Progress& a, const tito::Progress& b) {
  if (a.modules.size() != b.modules.size() || a.checkpoints.size() != b.checkpoints.size() ||
      a.other != b.other) {
    return false;
  }
  for (const auto& [dir, m] : a.modules) {
    const auto it = b.modules.find(dir);
    if (it == b.modules.end() || it->second.state != m.state || it->second.exported != m.exported ||
        it->second.started_at != m.started_at) {
      return false;
    }
  }
  for (const auto& [id, c] : a.checkpoints) {
    const auto it = b.checkpoints.find(id);
    if (it == b.checkpoints.end() || it->second.passed != c.passed ||
        it->second.tests_passed != c.tests_passed || it->second.tests_total != c.tests_total) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::fs::path state = fuzz::scratch_dir() / ".tito";
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const tito::ProgressStore store(state);
  fuzz::write_file(store.file(), bytes);
  tito::Progress first;
  try {
    first = store.load();
  } catch (const tito::TitoError& e) {
    fuzz::require_names(e.what(), {store.file()});
    std::ifstream in(store.file(), std::ios::binary);
    const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (after != bytes) std::abort();  // a refused file is left untouched
    return 0;
  }
  if (!fuzz::fs::exists(store.file())) {  // moved aside: the bytes are kept beside it
    bool kept = false;
    for (const auto& entry : fuzz::fs::directory_iterator(state)) {
      kept = kept || entry.path().filename().string().rfind("progress.json.corrupt-", 0) == 0;
    }
    if (!kept) std::abort();
    return 0;
  }
  const tito::Progress written = store.update([](tito::Progress&) {});
  if (!same(first, written) || !same(written, store.load())) std::abort();
  return 0;
}
