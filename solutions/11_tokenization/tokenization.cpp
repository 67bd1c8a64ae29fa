// Module 11 reference solution: UTF-8, a character tokenizer and byte-level BPE.
//
// BPE training and encoding both work on the text as a doubly linked list of tokens over the byte
// positions: merging the pair at (i, next[i]) rewrites token i and unlinks next[i], so a merge
// costs O(1) instead of rebuilding the sequence. Training keeps pair counts up to date
// incrementally (each merge touches only the pairs around it) instead of recounting the corpus for
// every merge; encoding applies the merges rank by rank from per-rank buckets of positions.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tinytorch/tokenization.hpp"

namespace tinytorch::text {
namespace {

using json = nlohmann::json;

std::string hex_code_point(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

std::string hex_byte(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(b));
  return buf;
}

[[noreturn]] void bad_utf8(std::size_t offset, const std::string& what) {
  throw std::invalid_argument("decode_utf8: invalid UTF-8 at byte offset " +
                              std::to_string(offset) + ": " + what);
}

bool valid_code_point(char32_t cp) {
  return cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

// 1 byte  0xxxxxxx                             U+0000..U+007F
// 2 bytes 110xxxxx 10xxxxxx                    U+0080..U+07FF
// 3 bytes 1110xxxx 10xxxxxx 10xxxxxx           U+0800..U+FFFF
// 4 bytes 11110xxx 10xxxxxx 10xxxxxx 10xxxxxx  U+10000..U+10FFFF
void append_utf8(char32_t cp, std::string& out) {
  if (!valid_code_point(cp)) {
    throw std::invalid_argument("encode_utf8: " + hex_code_point(cp) +
                                " is not a Unicode scalar value (a surrogate or above U+10FFFF)");
  }
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// "'z' (U+007A)" for printable characters, just "U+000A" for control characters.
std::string describe(char32_t cp) {
  if (cp < 0x20 || cp == 0x7F) return hex_code_point(cp);
  std::string s = "'";
  append_utf8(cp, s);
  return s + "' (" + hex_code_point(cp) + ")";
}

[[noreturn]] void bad_id(const char* where, std::int64_t id, std::size_t position,
                         std::int64_t vocab_size) {
  throw std::out_of_range(std::string(where) + ": id " + std::to_string(id) + " at position " +
                          std::to_string(position) + " is outside the vocabulary [0, " +
                          std::to_string(vocab_size) + ")");
}

// ---- JSON files ----

[[noreturn]] void malformed(const char* who, const std::string& path, const std::string& what) {
  throw std::runtime_error(std::string(who) + ": '" + path +
                           "' is not a valid tokenizer file: " + what);
}

// A tokenizer file nests 3 deep. Refusing deeper nesting while parsing keeps copies and dump() of
// its values (which recurse once per level) from overflowing the stack on a crafted file.
constexpr int kMaxJsonDepth = 16;

json read_json(const char* who, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(std::string(who) + ": cannot open '" + path + "' for reading");
  struct TooDeep {};
  try {
    return json::parse(in, [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxJsonDepth) throw TooDeep{};
      return true;
    });
  } catch (const json::exception& e) {
    malformed(who, path, std::string("not JSON (") + e.what() + ")");
  } catch (const TooDeep&) {
    malformed(who, path, "it nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
}

void write_json(const char* who, const std::string& path, const json& j) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error(std::string(who) + ": cannot open '" + path + "' for writing");
  out << j.dump(2) << '\n';
  if (!out) throw std::runtime_error(std::string(who) + ": writing '" + path + "' failed");
}

// ---- BPE bookkeeping ----

std::int64_t key_left(std::uint64_t key) {
  return static_cast<std::int64_t>(key >> 32);
}
std::int64_t key_right(std::uint64_t key) {
  return static_cast<std::int64_t>(key & 0xFFFFFFFFu);
}

// The tables derived from the merge list: the bytes of each new token and the rank of each pair.
void index_merges(const std::vector<std::pair<std::int64_t, std::int64_t>>& merges,
                  std::vector<std::string>& extra_bytes,
                  std::unordered_map<std::uint64_t, std::int64_t>& ranks) {
  extra_bytes.clear();
  ranks.clear();
  const auto bytes_of = [&](std::int64_t id) {
    return id < 256 ? std::string(1, static_cast<char>(id)) : extra_bytes[id - 256];
  };
  for (std::size_t r = 0; r < merges.size(); ++r) {
    const auto [a, b] = merges[r];
    extra_bytes.push_back(bytes_of(a) + bytes_of(b));
    ranks.emplace(pair_key(a, b), static_cast<std::int64_t>(r));
  }
}

// The text as a doubly linked list of tokens, one node per byte position. A merge at (i, next[i])
// keeps node i (its token becomes the new one) and unlinks next[i] (its token becomes kDead).
struct TokenList {
  static constexpr std::int32_t kDead = -1;
  std::vector<std::int32_t> tok, prev, next;

  explicit TokenList(std::string_view bytes) {
    const auto n = static_cast<std::int32_t>(bytes.size());
    tok.resize(n);
    prev.resize(n);
    next.resize(n);
    for (std::int32_t i = 0; i < n; ++i) {
      tok[i] = static_cast<unsigned char>(bytes[i]);
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
  }

  // Replaces (i, next[i]) by one node i holding token z.
  void merge(std::int32_t i, std::int32_t z) {
    const std::int32_t j = next[i];
    tok[i] = z;
    tok[j] = kDead;
    next[i] = next[j];
    if (next[j] != -1) prev[next[j]] = i;
  }

  [[nodiscard]] std::vector<std::int64_t> tokens() const {
    std::vector<std::int64_t> out;
    for (std::int32_t i = tok.empty() ? -1 : 0; i != -1; i = next[i]) out.push_back(tok[i]);
    return out;
  }
};

}  // namespace

// ---- UTF-8 ------------------------------------------------------------------------------------

std::u32string decode_utf8(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    if (b0 < 0x80) {  // ASCII, the common case
      out.push_back(b0);
      ++i;
      continue;
    }
    // The lead byte gives the length, its payload bits and the smallest value that length may
    // encode (anything smaller is an overlong form, forbidden because it makes two spellings).
    std::size_t len = 0;
    char32_t cp = 0, smallest = 0;
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, smallest = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, smallest = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, smallest = 0x10000;
    } else {
      bad_utf8(i, "byte " + hex_byte(b0) + " cannot start a character");
    }
    if (i + len > bytes.size())
      bad_utf8(i, "the text ends inside a " + std::to_string(len) + "-byte character");
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(bytes[i + k]);
      if ((b & 0xC0) != 0x80) {
        bad_utf8(i, "expected a continuation byte 10xxxxxx at offset " + std::to_string(i + k) +
                        ", found " + hex_byte(b));
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < smallest) bad_utf8(i, "overlong encoding of " + hex_code_point(cp));
    if (!valid_code_point(cp))
      bad_utf8(i, hex_code_point(cp) + " is a surrogate or above U+10FFFF");
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string encode_utf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (const char32_t cp : code_points) append_utf8(cp, out);
  return out;
}

// ---- CharTokenizer ----------------------------------------------------------------------------

CharTokenizer::CharTokenizer(std::string_view corpus, UnknownPolicy policy) : policy_(policy) {
  // Sorted distinct code points: ids then depend only on which characters occur, not where.
  // (Collect the distinct ones first: sorting a 1 MB corpus to find 65 characters is wasted work.)
  const std::u32string cps = decode_utf8(corpus);
  const std::unordered_set<char32_t> distinct(cps.begin(), cps.end());
  chars_.assign(distinct.begin(), distinct.end());
  std::sort(chars_.begin(), chars_.end());
  for (std::size_t id = 0; id < chars_.size(); ++id)
    ids_[chars_[id]] = static_cast<std::int64_t>(id);
}

std::vector<std::int64_t> CharTokenizer::encode(std::string_view text) const {
  const std::u32string cps = decode_utf8(text);
  std::vector<std::int64_t> ids;
  ids.reserve(cps.size());
  for (std::size_t pos = 0; pos < cps.size(); ++pos) {
    const auto it = ids_.find(cps[pos]);
    if (it != ids_.end()) {
      ids.push_back(it->second);
    } else if (policy_ == UnknownPolicy::map_to_unk) {
      ids.push_back(unk_id());
    } else {
      throw std::invalid_argument(
          "CharTokenizer::encode: character " + describe(cps[pos]) + " at position " +
          std::to_string(pos) + " is not in the vocabulary of " + std::to_string(chars_.size()) +
          " characters; build the tokenizer from a corpus that contains it, or use "
          "UnknownPolicy::map_to_unk");
    }
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (std::size_t pos = 0; pos < ids.size(); ++pos) {
    const std::int64_t id = ids[pos];
    if (id < 0 || id >= vocab_size()) bad_id("CharTokenizer::decode", id, pos, vocab_size());
    append_utf8(id == unk_id() ? U'\uFFFD' : chars_[id], out);
  }
  return out;
}

void CharTokenizer::save(const std::string& path) const {
  json vocab = json::array();
  for (const char32_t cp : chars_) vocab.push_back(encode_utf8(std::u32string(1, cp)));
  const json j = {{"type", "char"},
                  {"unknown", policy_ == UnknownPolicy::map_to_unk ? "map_to_unk" : "error"},
                  {"vocab", vocab}};
  write_json("CharTokenizer::save", path, j);
}

CharTokenizer CharTokenizer::load(const std::string& path) {
  const char* who = "CharTokenizer::load";
  const json j = read_json(who, path);
  if (!j.is_object() || j.value("type", json()) != "char") {
    malformed(who, path, "expected an object with \"type\": \"char\"");
  }
  CharTokenizer t;
  const json unknown = j.value("unknown", json());
  if (unknown == "error") {
    t.policy_ = UnknownPolicy::error;
  } else if (unknown == "map_to_unk") {
    t.policy_ = UnknownPolicy::map_to_unk;
  } else {
    malformed(who, path, "\"unknown\" must be \"error\" or \"map_to_unk\"");
  }
  const json vocab = j.value("vocab", json());
  if (!vocab.is_array()) malformed(who, path, "\"vocab\" must be an array of strings");
  for (std::size_t id = 0; id < vocab.size(); ++id) {
    const std::string where = "vocab entry " + std::to_string(id);
    if (!vocab[id].is_string()) malformed(who, path, where + " is not a string");
    std::u32string cp;
    try {
      cp = decode_utf8(vocab[id].get<std::string>());
    } catch (const std::invalid_argument& e) {
      malformed(who, path, where + ": " + e.what());
    }
    if (cp.size() != 1) malformed(who, path, where + " is not exactly one character");
    if (!t.chars_.empty() && cp[0] <= t.chars_.back()) {
      malformed(who, path, where + " is a duplicate or out of order (the vocabulary is sorted)");
    }
    t.chars_.push_back(cp[0]);
    t.ids_[cp[0]] = static_cast<std::int64_t>(id);
  }
  return t;
}

// ---- BpeTokenizer -----------------------------------------------------------------------------

void BpeTokenizer::train(std::string_view corpus, std::int64_t vocab_size) {
  if (vocab_size < 256) {
    throw std::invalid_argument("BpeTokenizer::train: vocab_size " + std::to_string(vocab_size) +
                                " is below 256, the number of byte tokens it starts from");
  }
  merges_.clear();
  TokenList list(corpus);
  auto& tok = list.tok;

  // counts[pair] = occurrences in the current sequence; where[pair] = positions i at which it
  // occurred when recorded, in increasing order. Entries go stale as merges rewrite the sequence;
  // they are checked when used rather than removed.
  std::unordered_map<std::uint64_t, std::int64_t> counts;
  std::unordered_map<std::uint64_t, std::vector<std::int32_t>> where;
  for (std::int32_t i = 0; i + 1 < static_cast<std::int32_t>(tok.size()); ++i) {
    const std::uint64_t key = pair_key(tok[i], tok[i + 1]);
    ++counts[key];
    where[key].push_back(i);
  }
  const auto add = [&](std::int32_t i, std::int64_t delta) {  // the pair starting at node i
    if (i == -1 || list.next[i] == -1) return;
    const std::uint64_t key = pair_key(tok[i], tok[list.next[i]]);
    if ((counts[key] += delta) == 0) {  // old pairs never come back: drop them for good
      counts.erase(key);
      where.erase(key);
    } else if (delta > 0) {
      where[key].push_back(i);
    }
  };

  for (std::int64_t z = 256; z < vocab_size; ++z) {
    // The most frequent pair; ties to the smallest (a, b), which is the smallest key.
    std::uint64_t best = 0;
    std::int64_t best_count = 0;
    for (const auto& [key, count] : counts) {
      if (count > best_count || (count == best_count && key < best)) best = key, best_count = count;
    }
    if (best_count < 2) break;
    const std::int64_t a = key_left(best), b = key_right(best);
    merges_.emplace_back(a, b);

    // Left to right over its occurrences. New pairs all contain z, so they never join this list
    // while we walk it; "aaa" skips position 1 because merging at 0 consumed it.
    const std::vector<std::int32_t> positions = std::move(where[best]);
    for (const std::int32_t i : positions) {
      const std::int32_t j = list.next[i];
      if (tok[i] != a || j == -1 || tok[j] != b) continue;  // stale
      const std::int32_t p = list.prev[i];
      add(p, -1);  // (prev, a) and (a, b) and (b, next) disappear...
      add(i, -1);
      add(j, -1);
      list.merge(i, static_cast<std::int32_t>(z));
      add(p, +1);  // ... and (prev, z) and (z, next) appear
      add(i, +1);
    }
  }
  index_merges(merges_, extra_bytes_, ranks_);
}

std::vector<std::int64_t> BpeTokenizer::encode(std::string_view text) const {
  TokenList list(text);
  auto& tok = list.tok;
  const auto rank_of = [&](std::int32_t i) -> std::int64_t {  // rank of the pair at i, or -1
    if (i == -1 || list.next[i] == -1) return -1;
    const auto it = ranks_.find(pair_key(tok[i], tok[list.next[i]]));
    return it == ranks_.end() ? -1 : it->second;
  };

  // Merge r everywhere, left to right, then merge r + 1, ...: bucket[r] holds the positions where
  // the pair of rank r may stand. A merge creates only pairs that contain the new token 256 + r,
  // whose ranks are > r, so a bucket is complete when its turn comes; sorting it restores left to
  // right order. O(n log n) instead of rescanning the text once per merge.
  std::vector<std::vector<std::int32_t>> bucket(merges_.size());
  for (std::int32_t i = 0; i + 1 < static_cast<std::int32_t>(tok.size()); ++i) {
    if (const std::int64_t r = rank_of(i); r >= 0) bucket[r].push_back(i);
  }
  for (std::size_t r = 0; r < bucket.size(); ++r) {
    std::vector<std::int32_t> positions = std::move(bucket[r]);
    std::sort(positions.begin(), positions.end());
    for (const std::int32_t i : positions) {
      if (tok[i] == TokenList::kDead || rank_of(i) != static_cast<std::int64_t>(r))
        continue;  // stale
      list.merge(i, static_cast<std::int32_t>(256 + r));
      if (const std::int64_t rp = rank_of(list.prev[i]); rp >= 0)
        bucket[rp].push_back(list.prev[i]);
      if (const std::int64_t rn = rank_of(i); rn >= 0) bucket[rn].push_back(i);
    }
  }
  return list.tokens();
}

std::string BpeTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size() * 2);
  for (std::size_t pos = 0; pos < ids.size(); ++pos) {
    const std::int64_t id = ids[pos];
    if (id < 0 || id >= vocab_size()) bad_id("BpeTokenizer::decode", id, pos, vocab_size());
    if (id < 256) {
      out += static_cast<char>(id);
    } else {
      out += extra_bytes_[id - 256];
    }
  }
  return out;
}

std::string BpeTokenizer::token_bytes(std::int64_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("BpeTokenizer::token_bytes: id " + std::to_string(id) +
                            " is outside the vocabulary [0, " + std::to_string(vocab_size()) + ")");
  }
  return id < 256 ? std::string(1, static_cast<char>(id)) : extra_bytes_[id - 256];
}

void BpeTokenizer::save(const std::string& path) const {
  json merges = json::array();
  for (const auto& [a, b] : merges_) merges.push_back({a, b});
  write_json("BpeTokenizer::save", path,
             {{"type", "bpe"}, {"vocab_size", vocab_size()}, {"merges", merges}});
}

BpeTokenizer BpeTokenizer::load(const std::string& path) {
  const char* who = "BpeTokenizer::load";
  const json j = read_json(who, path);
  if (!j.is_object() || j.value("type", json()) != "bpe") {
    malformed(who, path, "expected an object with \"type\": \"bpe\"");
  }
  const json merges = j.value("merges", json());
  const json size = j.value("vocab_size", json());
  if (!merges.is_array()) malformed(who, path, "\"merges\" must be an array of [a, b] pairs");
  if (!size.is_number_integer()) malformed(who, path, "\"vocab_size\" must be an integer");
  if (size.get<std::int64_t>() != 256 + static_cast<std::int64_t>(merges.size())) {
    malformed(who, path,
              "\"vocab_size\" is " + size.dump() + " but 256 + " + std::to_string(merges.size()) +
                  " merges is " + std::to_string(256 + merges.size()));
  }
  BpeTokenizer t;
  constexpr std::uint64_t kMaxTokenBytes = std::uint64_t{64} << 20;
  std::vector<std::uint64_t> token_lengths;  // bytes of token 256 + r
  std::uint64_t total_bytes = 0;
  for (std::size_t r = 0; r < merges.size(); ++r) {
    const json& m = merges[r];
    const std::int64_t existing = 256 + static_cast<std::int64_t>(r);  // ids defined before merge r
    const auto ok = [&](const json& id) {
      return id.is_number_integer() && id.get<std::int64_t>() >= 0 &&
             id.get<std::int64_t>() < existing;
    };
    if (!m.is_array() || m.size() != 2 || !ok(m[0]) || !ok(m[1])) {
      malformed(who, path,
                "merge " + std::to_string(r) + " is " + m.dump() +
                    ", expected [a, b] with ids in [0, " + std::to_string(existing) + ")");
    }
    t.merges_.emplace_back(m[0].get<std::int64_t>(), m[1].get<std::int64_t>());
    // Each merge may double a token's length: 64 merges of [last, last] would ask for 2^64 bytes.
    // The tokens' bytes are added up before index_merges allocates them.
    const auto length_of = [&](std::int64_t id) {
      return id < 256 ? std::uint64_t{1} : token_lengths[static_cast<std::size_t>(id - 256)];
    };
    token_lengths.push_back(length_of(t.merges_.back().first) + length_of(t.merges_.back().second));
    total_bytes += token_lengths.back();
    if (total_bytes > kMaxTokenBytes) {
      malformed(who, path,
                "its merges build tokens of more than " + std::to_string(kMaxTokenBytes) +
                    " bytes in all by merge " + std::to_string(r) +
                    " (a real vocabulary needs a few MB at most)");
    }
  }
  index_merges(t.merges_, t.extra_bytes_, t.ranks_);
  return t;
}

}  // namespace tinytorch::text
