// Module 11 — fill in each TODO. The contract is tokenization.hpp: read each function's comment
// there first, and the lesson in README.md for the ideas and a worked BPE example.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 11` after each
// function: the tests for the functions you have written turn green one by one.
//
// Suggested order: decode_utf8, encode_utf8, the CharTokenizer (constructor, encode, decode, save,
// load), then BpeTokenizer (token_bytes, decode, train, encode, save, load).
//
// The JSON library nlohmann::json is available (#include <nlohmann/json.hpp>, already below):
//     nlohmann::json j = {{"type", "char"}, {"vocab", std::vector<std::string>{"a", "b"}}};
//     out << j.dump(2);                           // write
//     nlohmann::json k = nlohmann::json::parse(in);  // read; throws nlohmann::json::exception
//     k.is_object(), k["vocab"].is_array(), k["vocab"][0].get<std::string>(), k.value("type", "")
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tinytorch/errors.hpp"
#include "tinytorch/tokenization.hpp"

namespace tinytorch::text {

// ---- UTF-8 ------------------------------------------------------------------------------------

std::u32string decode_utf8(std::string_view bytes) {
  // TODO: Walk the bytes; the first byte of each character says how many bytes it has:
  //     0xxxxxxx                             1 byte,  7 payload bits   U+0000..U+007F
  //     110xxxxx 10xxxxxx                    2 bytes, 5 + 6 bits       U+0080..U+07FF
  //     1110xxxx 10xxxxxx 10xxxxxx           3 bytes, 4 + 6 + 6        U+0800..U+FFFF
  //     11110xxx 10xxxxxx 10xxxxxx 10xxxxxx  4 bytes, 3 + 6 + 6 + 6    U+10000..U+10FFFF
  //   - Test the top bits with a mask: (b & 0xE0) == 0xC0 means "110xxxxx". Cast each char to
  //     unsigned char first: char is signed on most compilers, and 0xC3 would be negative.
  //   - Build the value: cp = (cp << 6) | (b & 0x3F) for each continuation byte.
  //   - Throw std::invalid_argument naming the byte offset of the character for: a byte that
  //     cannot start one (10xxxxxx, or 11111xxx), the text ending mid-character, a continuation
  //     byte that is not 10xxxxxx, a value smaller than its length allows (overlong: C0 80 for
  //     U+0000), a surrogate U+D800..U+DFFF, or a value above U+10FFFF.
  (void)bytes;
  throw NotImplemented("11_tokenization", "decode_utf8");
}

std::string encode_utf8(std::u32string_view code_points) {
  // TODO: The table above in reverse: pick the length from the value, put the high bits in the
  // lead byte (0xC0 | (cp >> 6) for 2 bytes) and 6 bits in each continuation byte (0x80 | ...).
  //   - A surrogate or a value above 0x10FFFF throws std::invalid_argument naming it as U+XXXX
  //     (std::snprintf with "U+%04X" formats it).
  (void)code_points;
  throw NotImplemented("11_tokenization", "encode_utf8");
}

// ---- CharTokenizer ----------------------------------------------------------------------------

CharTokenizer::CharTokenizer(std::string_view corpus, UnknownPolicy policy) : policy_(policy) {
  // TODO: chars_ = the distinct code points of decode_utf8(corpus), sorted by value; ids_ maps
  // each back to its index.
  //   - Sorting the whole 1 MB corpus to find 65 characters works, but collecting the distinct
  //     ones first (a set, or a "seen" table) and sorting those is much faster.
  (void)corpus;
  throw NotImplemented("11_tokenization", "CharTokenizer::CharTokenizer");
}

std::vector<std::int64_t> CharTokenizer::encode(std::string_view text) const {
  // TODO: One id per code point of decode_utf8(text), looked up in ids_.
  //   - Not found: under UnknownPolicy::map_to_unk append unk_id(); under error throw
  //     std::invalid_argument naming the character (as itself in quotes, like 'z', and as U+007A)
  //     and its position, the index of the code point in text (not the byte offset).
  (void)text;
  throw NotImplemented("11_tokenization", "CharTokenizer::encode");
}

std::string CharTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  // TODO: The UTF-8 bytes of each id's code point, concatenated (encode_utf8 does the bytes).
  //   - unk_id() decodes to U+FFFD, the replacement character.
  //   - An id outside [0, vocab_size()) throws std::out_of_range naming the id, its position in
  //     ids and vocab_size().
  (void)ids;
  throw NotImplemented("11_tokenization", "CharTokenizer::decode");
}

void CharTokenizer::save(const std::string& path) const {
  // TODO: Write {"type": "char", "unknown": "error" or "map_to_unk", "vocab": [...]} where the
  // vocabulary is one UTF-8 string per id, in id order. nlohmann::json escapes newlines and quotes
  // for you. If the file cannot be opened, throw std::runtime_error naming path.
  (void)path;
  throw NotImplemented("11_tokenization", "CharTokenizer::save");
}

CharTokenizer CharTokenizer::load(const std::string& path) {
  // TODO: The reverse of save, trusting nothing in the file:
  //   - cannot open -> std::runtime_error naming path;
  //   - nlohmann::json::parse throws nlohmann::json::exception on bad JSON: catch it and throw
  //     std::runtime_error naming path instead (the caller should not need to know the library);
  //   - "type" must be "char", "unknown" one of the two policies, "vocab" an array of strings each
  //     exactly one character, strictly increasing (sorted, no duplicates): anything else is a
  //     std::runtime_error naming path and what is wrong.
  //   - As a static member, load may set the private members of the CharTokenizer it returns.
  (void)path;
  throw NotImplemented("11_tokenization", "CharTokenizer::load");
}

// ---- BpeTokenizer -----------------------------------------------------------------------------
//
// Private members you fill (see the header): merges_ (the pairs, in rank order), extra_bytes_
// (extra_bytes_[r] = the bytes of token 256 + r = bytes(a) + bytes(b)) and ranks_
// (pair_key(a, b) -> r). train and load both end by filling the last two from merges_: write
// that once, as a helper in an anonymous namespace taking the three by reference.

std::string BpeTokenizer::token_bytes(std::int64_t id) const {
  // TODO: A single byte for id < 256 (std::string(1, static_cast<char>(id))), else
  // extra_bytes_[id - 256]. An id outside [0, vocab_size()) throws std::out_of_range.
  (void)id;
  throw NotImplemented("11_tokenization", "BpeTokenizer::token_bytes");
}

std::string BpeTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  // TODO: The bytes of each token, concatenated. An id outside [0, vocab_size()) throws
  // std::out_of_range naming the id, its position in ids and vocab_size().
  (void)ids;
  throw NotImplemented("11_tokenization", "BpeTokenizer::decode");
}

void BpeTokenizer::train(std::string_view corpus, std::int64_t vocab_size) {
  // TODO: Learn vocab_size - 256 merges (fewer if no pair occurs twice). Start simple and
  // correct, then make it fast; the tests compare your merges with the simple version's.
  //
  // Simple (fine for a few KB): seq = the bytes as ids. For each new token z = 256, 257, ...:
  //   1. count every adjacent pair (seq[i], seq[i+1]) in a hash map keyed by pair_key(a, b);
  //   2. best = the highest count, ties to the smallest key (that is: smallest a, then b);
  //      stop if its count is below 2;
  //   3. record the merge, and rebuild seq replacing each (a, b) by z, left to right, skipping
  //      past a pair once you merge it (so "aaa" becomes [z, a]).
  // That recounts the whole corpus for every merge: 256 merges over 1 MB is 256 passes.
  //
  // Fast (needed for tiny Shakespeare): a merge changes only the pairs around each occurrence.
  //   - Keep the sequence as a doubly linked list over byte positions (vectors tok, prev, next):
  //     merging at i sets tok[i] = z and unlinks next[i] (mark its tok dead), in O(1).
  //   - Keep counts[pair] up to date, and where[pair] = the positions it was seen at. For each
  //     occurrence (prev p, a at i, b at j, next n): counts of (p, a), (a, b), (b, n) go down by
  //     one, then after the merge (p, z) and (z, n) go up by one and their positions are recorded.
  //   - Entries in where[] go stale as the list changes: check "tok[i] == a and the next token is
  //     b" before using one. New pairs always contain z, so a pair that reaches count 0 never
  //     comes back: erase it, which keeps the scan for the best pair short.
  (void)corpus;
  (void)vocab_size;
  throw NotImplemented("11_tokenization", "BpeTokenizer::train");
}

std::vector<std::int64_t> BpeTokenizer::encode(std::string_view text) const {
  // TODO: The bytes as ids, then merge 0 applied everywhere (left to right, no overlap), then
  // merge 1, ..., exactly as in training.
  //
  // Simple: one pass over the sequence per merge (as step 3 of training). Correct, but
  // 256 merges x 1 MB is slow.
  // Fast: only pairs that have a rank matter. Put each position whose pair has rank r in a bucket
  // r (ranks_ gives r). Then for r = 0, 1, ...: sort bucket r (left to right), and for each
  // position still holding that pair, merge (the linked list again) and put the two new pairs
  // around it in their buckets. A merge of rank r only creates pairs containing 256 + r, whose
  // ranks are larger than r, so no bucket receives positions after its turn has come.
  (void)text;
  throw NotImplemented("11_tokenization", "BpeTokenizer::encode");
}

void BpeTokenizer::save(const std::string& path) const {
  // TODO: Write {"type": "bpe", "vocab_size": vocab_size(), "merges": [[a, b], ...]}. If the file
  // cannot be opened, throw std::runtime_error naming path.
  (void)path;
  throw NotImplemented("11_tokenization", "BpeTokenizer::save");
}

BpeTokenizer BpeTokenizer::load(const std::string& path) {
  // TODO: The reverse of save, validating as CharTokenizer::load does: std::runtime_error naming
  // path for a missing file, bad JSON, a "type" other than "bpe", vocab_size != 256 + number of
  // merges, or a merge r that is not two integers in [0, 256 + r) (a token must exist before a
  // merge can use it). Then fill extra_bytes_ and ranks_ from the merges.
  (void)path;
  throw NotImplemented("11_tokenization", "BpeTokenizer::load");
}

}  // namespace tinytorch::text
