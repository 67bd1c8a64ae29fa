#pragma once
// Module 11: tokenization, turning text into the integer ids a model reads and back. The contract
// for tokenization.cpp. Do not edit it.
//
//     CharTokenizer chars(corpus);                  // vocabulary: the corpus's distinct characters
//     std::vector<std::int64_t> ids = chars.encode("To be");
//     std::string text = chars.decode(ids);         // "To be" again
//
//     BpeTokenizer bpe;
//     bpe.train(corpus, 512);                       // 256 byte tokens + 256 learned merges
//     bpe.save("bpe.json");                         // BpeTokenizer::load("bpe.json") restores it
//
// Text is a std::string of bytes. CharTokenizer reads it as UTF-8 and works on Unicode code points
// (so "é" and "🙂" are one character each, not 2 and 4 bytes); BpeTokenizer works on raw bytes
// and therefore accepts any byte string at all, including invalid UTF-8.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tinytorch::text {

// ---- UTF-8 ------------------------------------------------------------------------------------

/// The code points of UTF-8 text. Strict, like Python's bytes.decode("utf-8"): a byte that cannot
/// start a character, a missing or wrong continuation byte, an overlong form (0xC0 0x80 for
/// U+0000), a surrogate (U+D800..U+DFFF) or a value above U+10FFFF throws std::invalid_argument
/// naming the byte offset of the bad character.
[[nodiscard]] std::u32string decode_utf8(std::string_view bytes);

/// The UTF-8 bytes of code points (1 to 4 bytes each). A surrogate or a value above U+10FFFF throws
/// std::invalid_argument naming it as U+XXXX.
[[nodiscard]] std::string encode_utf8(std::u32string_view code_points);

// ---- characters -------------------------------------------------------------------------------

/// What encode does with a character that is not in the vocabulary.
enum class UnknownPolicy {
  error,       // throw std::invalid_argument naming the character and its position
  map_to_unk,  // map it to unk_id(), a reserved id after every character's id
};

/// One id per Unicode code point. The vocabulary is the corpus's distinct code points sorted by
/// value, so ids are reproducible: for "hello", '\n' < ' ' < ... gives e=0, h=1, l=2, o=3.
/// With UnknownPolicy::map_to_unk one more id, unk_id() == number of characters, is reserved for
/// characters never seen; the characters' own ids are the same under both policies.
class CharTokenizer {
 public:
  /// An empty vocabulary (vocab_size() is 0, or 1 with map_to_unk); load() fills one in.
  CharTokenizer() = default;
  /// The sorted distinct code points of corpus. Invalid UTF-8 throws std::invalid_argument.
  explicit CharTokenizer(std::string_view corpus, UnknownPolicy policy = UnknownPolicy::error);

  /// One id per code point of text. A character outside the vocabulary throws
  /// std::invalid_argument naming it (as itself and as U+XXXX) and its position (the index of the
  /// code point in text, from 0), or maps to unk_id() under map_to_unk.
  [[nodiscard]] std::vector<std::int64_t> encode(std::string_view text) const;
  /// The UTF-8 text of ids; unk_id() decodes to U+FFFD ("\xEF\xBF\xBD", the replacement character).
  /// An id outside [0, vocab_size()) throws std::out_of_range naming the id, its position and
  /// vocab_size().
  [[nodiscard]] std::string decode(const std::vector<std::int64_t>& ids) const;

  /// Writes {"type": "char", "unknown": "error" | "map_to_unk", "vocab": ["\n", " ", "A", ...]}
  /// (one UTF-8 string per id). A file that cannot be written throws std::runtime_error naming it.
  void save(const std::string& path) const;
  /// Reads a file written by save(). A missing, unreadable or malformed file (not JSON, wrong type,
  /// an entry that is not exactly one character, a duplicate or unsorted vocabulary) throws
  /// std::runtime_error naming the file and what is wrong.
  [[nodiscard]] static CharTokenizer load(const std::string& path);

  // ---- framework-owned accessors ----
  [[nodiscard]] std::int64_t vocab_size() const {
    return static_cast<std::int64_t>(chars_.size()) +
           (policy_ == UnknownPolicy::map_to_unk ? 1 : 0);
  }
  /// The reserved id for unknown characters, or -1 under UnknownPolicy::error.
  [[nodiscard]] std::int64_t unk_id() const {
    return policy_ == UnknownPolicy::map_to_unk ? static_cast<std::int64_t>(chars_.size()) : -1;
  }
  [[nodiscard]] UnknownPolicy policy() const { return policy_; }
  /// id -> code point, for every character id (unk_id() excluded), in increasing order.
  [[nodiscard]] const std::u32string& vocabulary() const { return chars_; }

 private:
  std::u32string chars_;                            // id -> code point, sorted
  std::unordered_map<char32_t, std::int64_t> ids_;  // code point -> id
  UnknownPolicy policy_ = UnknownPolicy::error;
};

// ---- byte-pair encoding -----------------------------------------------------------------------

/// Byte-level byte-pair encoding (Sennrich et al. 2016; the GPT-2 tokenizer without its regex
/// pre-split). Ids 0..255 are the 256 bytes; merge r (r = 0, 1, ...) replaces the adjacent pair
/// merges()[r] by the new token 256 + r. Every byte string encodes, and decode(encode(s)) == s.
class BpeTokenizer {
 public:
  /// No merges: 256 tokens, one per byte.
  BpeTokenizer() = default;

  /// Learns vocab_size - 256 merges from corpus (any bytes), replacing any merges learned before.
  /// The corpus is one sequence of byte tokens; each step
  ///   1. counts every adjacent pair (a, b) at positions (i, i+1), overlaps included ("aaa" holds
  ///      (a, a) twice),
  ///   2. picks the pair with the highest count; ties go to the smallest pair, comparing a first,
  ///      then b (so the result never depends on hash order),
  ///   3. replaces its occurrences left to right without overlap ("aaa" -> [Z, a]) by token 256 +
  ///   r.
  /// Training stops early, with fewer merges, when no pair occurs at least twice (a pair seen once
  /// would only memorise the corpus). vocab_size < 256 throws std::invalid_argument.
  void train(std::string_view corpus, std::int64_t vocab_size);

  /// The bytes of text, then every merge applied in rank order (merge 0 everywhere it applies, then
  /// merge 1, ...), each left to right without overlap: the same steps as training, so encoding the
  /// training corpus reproduces the token sequence training ended with.
  [[nodiscard]] std::vector<std::int64_t> encode(std::string_view text) const;
  /// The concatenated bytes of the tokens. An id outside [0, vocab_size()) throws std::out_of_range
  /// naming the id, its position and vocab_size().
  [[nodiscard]] std::string decode(const std::vector<std::int64_t>& ids) const;

  /// Writes {"type": "bpe", "vocab_size": 256 + n, "merges": [[a0, b0], [a1, b1], ...]}. A file
  /// that cannot be written throws std::runtime_error naming it.
  void save(const std::string& path) const;
  /// Reads a file written by save(). A missing or malformed file (not JSON, wrong type, vocab_size
  /// != 256 + number of merges, a merge naming a token that does not exist before it) throws
  /// std::runtime_error naming the file and what is wrong.
  [[nodiscard]] static BpeTokenizer load(const std::string& path);

  // ---- framework-owned accessors ----
  [[nodiscard]] std::int64_t vocab_size() const {
    return 256 + static_cast<std::int64_t>(merges_.size());
  }
  /// merges()[r] is the pair that token 256 + r replaces.
  [[nodiscard]] const std::vector<std::pair<std::int64_t, std::int64_t>>& merges() const {
    return merges_;
  }

  /// The bytes token id stands for ("t" for 116; "th" for a merge of 't' and 'h'). An id outside
  /// [0, vocab_size()) throws std::out_of_range.
  [[nodiscard]] std::string token_bytes(std::int64_t id) const;

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>>
      merges_;                            // rank r -> the pair token 256+r replaces
  std::vector<std::string> extra_bytes_;  // bytes of token 256 + r (tokens 0..255 are single bytes)
  std::unordered_map<std::uint64_t, std::int64_t> ranks_;  // pair_key(a, b) -> r
};

/// A pair of token ids as one hash-map key: (a << 32) | b. Ids are below 2^31.
[[nodiscard]] inline std::uint64_t pair_key(std::int64_t a, std::int64_t b) {
  return (static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint64_t>(b);
}

}  // namespace tinytorch::text
