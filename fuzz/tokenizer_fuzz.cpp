// Fuzz target: module 11's tokenizer files, CharTokenizer::load and BpeTokenizer::load. Input: the
// JSON file (each loader must reject the other's kind with an error). A file either accepts must
// round-trip text: BPE is lossless on any bytes, the character tokenizer on its own vocabulary.
#include <stdexcept>

#include "fuzz_support.hpp"
#include "tinytorch/tokenization.hpp"

namespace {

void check_char(const fuzz::fs::path& file) {
  const auto t = tinytorch::text::CharTokenizer::load(file.string());
  std::string text;
  for (std::int64_t id = 0; id < t.vocab_size() && id < 64; ++id) {
    if (id == t.unk_id()) continue;
    text += t.decode({id});
  }
  if (t.decode(t.encode(text)) != text) std::abort();
}

void check_bpe(const fuzz::fs::path& file) {
  const auto t = tinytorch::text::BpeTokenizer::load(file.string());
  const std::string text = "hello, world \xff\x01 aaaa bbbb ababab";
  if (t.decode(t.encode(text)) != text) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::fs::path file = fuzz::scratch_dir() / "tokenizer.json";
  fuzz::write_file(file, {reinterpret_cast<const char*>(data), size});
  try {
    check_char(file);
  } catch (const std::runtime_error& e) {
    fuzz::require_names(e.what(), {file});
  }
  try {
    check_bpe(file);
  } catch (const std::runtime_error& e) {
    fuzz::require_names(e.what(), {file});
  }
  return 0;
}
