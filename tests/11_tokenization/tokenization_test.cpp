// Hidden grading suite for module 11 (tokenization). Never shipped to students.
//
// The oracle is arithmetic on paper: UTF-8 bit patterns are worked out next to each byte string,
// the character vocabularies are sorted by code point in a comment, and the BPE merges of the small
// corpora are derived step by step (pair counts, the winning pair, the rewritten sequence). Two
// tests compare the student's fast BPE with the slow textbook algorithm written out below (recount
// every pair before each merge; apply one merge at a time over the whole sequence), which is the
// definition the header states, on a pseudo-random corpus full of ties and overlaps.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/random.hpp"
#include "tinytorch/tokenization.hpp"

namespace tinytorch::text {
namespace {

using Ids = std::vector<std::int64_t>;
using Merges = std::vector<std::pair<std::int64_t, std::int64_t>>;

// A fresh path under the test's temporary directory.
std::string temp_path(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / ("tt11_hidden_" + name)).string();
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream(path) << contents;
}

// Expects `call` to throw E whose message contains every one of `parts`.
template <class E, class F>
void ExpectThrowsMentioning(F call, const std::vector<std::string>& parts) {
  try {
    call();
    ADD_FAILURE() << "expected an exception, none was thrown";
  } catch (const E& e) {
    const std::string what = e.what();
    for (const auto& p : parts)
      EXPECT_NE(what.find(p), std::string::npos) << what << "\nlacks: " << p;
  }
}

// The four UTF-8 lengths, one character each:
//   'A'  U+0041  0 1000001                                  -> 41
//   'é'  U+00E9  00011 101001       -> 110_00011 10_101001  -> C3 A9
//   '€'  U+20AC  0010 000010 101100 -> 1110_0010 10_000010 10_101100 -> E2 82 AC
//   '🙂' U+1F642 000 011111 011001 000010 -> F0 9F 99 82
const std::string kMixed = "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x99\x82";
const std::u32string kMixedCodePoints = {0x41, 0xE9, 0x20AC, 0x1F642};

// ---- UTF-8
// ----------------------------------------------------------------------------------------

TEST(DecodeUtf8, DecodesOneTwoThreeAndFourByteCharacters) {
  EXPECT_EQ(decode_utf8(kMixed), kMixedCodePoints);
}

TEST(DecodeUtf8, RejectsAContinuationByteWithoutALeadNamingItsOffset) {
  // 0x80 = 10_000000 can only continue a character; here it stands at byte offset 2.
  ExpectThrowsMentioning<std::invalid_argument>([] { (void)decode_utf8("ab\x80"); }, {"2"});
}

TEST(DecodeUtf8, RejectsACharacterCutOffByTheEndOfTheText) {
  // E2 announces 3 bytes; only 2 follow the 'x'.
  EXPECT_THROW((void)decode_utf8("x\xE2\x82"), std::invalid_argument);
}

TEST(DecodeUtf8, RejectsAnOverlongEncoding) {
  // C0 80 spells U+0000 in two bytes (110_00000 10_000000); only the 1-byte 00 is allowed.
  EXPECT_THROW((void)decode_utf8(std::string("\xC0\x80", 2)), std::invalid_argument);
}

TEST(DecodeUtf8, RejectsAnEncodedSurrogate) {
  // ED A0 80 = 1110_1101 10_100000 10_000000 -> 1101 100000 000000 = U+D800, a UTF-16 surrogate.
  EXPECT_THROW((void)decode_utf8("\xED\xA0\x80"), std::invalid_argument);
}

TEST(EncodeUtf8, IsTheInverseOfDecode) {
  EXPECT_EQ(encode_utf8(kMixedCodePoints), kMixed);
}

// The length changes at U+0080, U+0800 and U+10000 (RFC 3629's table): the last code point of each
// length and the first of the next, bit by bit. U+07FF = 11111 111111 -> DF BF; U+0800 = 0000
// 100000 000000 -> E0 A0 80; U+FFFF -> EF BF BF; U+10000 = 000 010000 000000 000000 -> F0 90 80 80;
// U+10FFFF = 100 001111 111111 111111 -> F4 8F BF BF. Decoding gives the code points back.
TEST(EncodeUtf8, WritesTheCodePointsAtEachLengthBoundaryWithTheRightLength) {
  const std::u32string cps = {0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF};
  const std::string bytes =
      "\x7F"
      "\xC2\x80"
      "\xDF\xBF"
      "\xE0\xA0\x80"
      "\xEF\xBF\xBF"
      "\xF0\x90\x80\x80"
      "\xF4\x8F\xBF\xBF";
  EXPECT_EQ(encode_utf8(cps), bytes);
  EXPECT_EQ(decode_utf8(bytes), cps);
}

TEST(EncodeUtf8, RejectsASurrogateCodePointNamingIt) {
  ExpectThrowsMentioning<std::invalid_argument>(
      [] { (void)encode_utf8(std::u32string(1, static_cast<char32_t>(0xD800))); }, {"U+D800"});
}

// ---- CharTokenizer
// ---------------------------------------------------------------------------------

TEST(CharTokenizer, VocabularyIsTheSortedDistinctCharacters) {
  // "hello" holds h, e, l, o; by code point e (0x65) < h (0x68) < l (0x6C) < o (0x6F).
  const CharTokenizer t("hello");
  EXPECT_EQ(t.vocabulary(), U"ehlo");
  EXPECT_EQ(t.vocab_size(), 4);
}

TEST(CharTokenizer, EncodesEachCharacterAsItsRankInTheVocabulary) {
  // e=0, h=1, l=2, o=3.
  EXPECT_EQ(CharTokenizer("hello").encode("hello"), (Ids{1, 0, 2, 2, 3}));
}

TEST(CharTokenizer, CountsCodePointsNotBytes) {
  // "hé l🙂" without the space: h 0x68 < l 0x6C < o 0x6F < é 0xE9 < 🙂 0x1F642, so é=3,
  // 🙂=4. é is 2 bytes and 🙂 is 4, yet each is one character and one id.
  const CharTokenizer t("h\xC3\xA9llo\xF0\x9F\x99\x82");
  EXPECT_EQ(t.vocab_size(), 5);
  EXPECT_EQ(t.encode("\xC3\xA9\xF0\x9F\x99\x82"), (Ids{3, 4}));
}

TEST(CharTokenizer, DecodeOfEncodeReturnsTrickyStringsUnchanged) {
  const std::string corpus =
      "Hello, world!\n\tTab\r\n caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x99\x82 "
      "\xE4\xBD\xA0\xE5\xA5\xBD";  // ... café € 🙂 你好
  const CharTokenizer t(corpus);
  for (const std::string s : {corpus, std::string("\n"), std::string(""),
                              std::string("\xF0\x9F\x99\x82\xF0\x9F\x99\x82 caf\xC3\xA9")}) {
    EXPECT_EQ(t.decode(t.encode(s)), s);
  }
}

TEST(CharTokenizer, EmptyTextEncodesToNoIds) {
  EXPECT_TRUE(CharTokenizer("abc").encode("").empty());
}

TEST(CharTokenizer, UnknownCharacterThrowsNamingItAndItsPosition) {
  ExpectThrowsMentioning<std::invalid_argument>([] { (void)CharTokenizer("abc").encode("abz"); },
                                                {"'z'", "U+007A", "position 2"});
}

TEST(CharTokenizer, UnknownCharacterPositionCountsCharactersNotBytes) {
  // "éz": é takes bytes 0-1, but z is character 1.
  ExpectThrowsMentioning<std::invalid_argument>(
      [] { (void)CharTokenizer("ab\xC3\xA9").encode("\xC3\xA9z"); }, {"position 1"});
}

TEST(CharTokenizer, MapToUnkReservesTheIdAfterEveryCharacter) {
  // a=0, b=1, c=2 and the reserved unk id 3.
  const CharTokenizer t("abc", UnknownPolicy::map_to_unk);
  EXPECT_EQ(t.vocab_size(), 4);
  EXPECT_EQ(t.unk_id(), 3);
  EXPECT_EQ(t.encode("axb\xF0\x9F\x99\x82"), (Ids{0, 3, 1, 3}));
}

TEST(CharTokenizer, CharacterIdsAreTheSameUnderBothPolicies) {
  const std::string corpus = "the quick brown fox";
  EXPECT_EQ(CharTokenizer(corpus).encode("fox"),
            CharTokenizer(corpus, UnknownPolicy::map_to_unk).encode("fox"));
}

TEST(CharTokenizer, UnkDecodesToTheReplacementCharacter) {
  // U+FFFD = 1111 111111 111101 -> EF BF BD.
  EXPECT_EQ(CharTokenizer("abc", UnknownPolicy::map_to_unk).decode({0, 3}), "a\xEF\xBF\xBD");
}

TEST(CharTokenizer, DecodeRejectsAnIdOutsideTheVocabularyNamingIt) {
  const CharTokenizer t("abc");  // ids 0..2
  ExpectThrowsMentioning<std::out_of_range>(
      [&] {
        (void)t.decode({0, 7});
      },
      {"7", "position 1", "3"});
  EXPECT_THROW((void)t.decode({-1}), std::out_of_range);
}

// The first id past the end is outside too: [0, vocab_size()) is half open. "abc" has ids 0..2
// (vocab_size 3), and with map_to_unk ids 0..3 (unk = 3, vocab_size 4).
TEST(CharTokenizer, DecodeRejectsTheFirstIdPastTheVocabulary) {
  EXPECT_THROW((void)CharTokenizer("abc").decode({3}), std::out_of_range);
  const CharTokenizer unk("abc", UnknownPolicy::map_to_unk);
  EXPECT_EQ(unk.decode({3}), "\xEF\xBF\xBD");
  EXPECT_THROW((void)unk.decode({4}), std::out_of_range);
}

TEST(CharTokenizer, InvalidUtf8CorpusThrows) {
  EXPECT_THROW(CharTokenizer("ok\xFF"), std::invalid_argument);
}

TEST(CharTokenizer, SaveThenLoadRestoresVocabularyAndPolicy) {
  const std::string path = temp_path("char_roundtrip.json");
  const CharTokenizer t("caf\xC3\xA9\n\"quoted\"\t\\", UnknownPolicy::map_to_unk);
  t.save(path);
  const CharTokenizer u = CharTokenizer::load(path);
  EXPECT_EQ(u.vocabulary(), t.vocabulary());
  EXPECT_EQ(u.policy(), UnknownPolicy::map_to_unk);
  EXPECT_EQ(u.encode("\"caf\xC3\xA9?\"\n"), t.encode("\"caf\xC3\xA9?\"\n"));
}

TEST(CharTokenizer, LoadOfAMissingFileThrowsNamingIt) {
  const std::string path = temp_path("does_not_exist.json");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)CharTokenizer::load(path); }, {path});
}

TEST(CharTokenizer, LoadOfAFileThatIsNotJsonThrowsNamingIt) {
  const std::string path = temp_path("char_garbage.json");
  write_file(path, "{\"type\": \"char\", \"vocab\": [");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)CharTokenizer::load(path); }, {path});
}

TEST(CharTokenizer, LoadRejectsAnEntryThatIsNotOneCharacter) {
  const std::string path = temp_path("char_two_chars.json");
  write_file(path, R"({"type": "char", "unknown": "error", "vocab": ["a", "bc"]})");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)CharTokenizer::load(path); }, {path});
}

TEST(CharTokenizer, LoadRejectsAnUnsortedVocabulary) {
  // Sorted order is what fixes the ids; "b" before "a" would silently renumber them.
  const std::string path = temp_path("char_unsorted.json");
  write_file(path, R"({"type": "char", "unknown": "error", "vocab": ["b", "a"]})");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)CharTokenizer::load(path); }, {path});
}

// A character listed twice would give two ids to one character: strictly increasing, not merely
// sorted.
TEST(CharTokenizer, LoadRejectsARepeatedCharacter) {
  const std::string path = temp_path("char_repeated.json");
  write_file(path, R"({"type": "char", "unknown": "error", "vocab": ["a", "a", "b"]})");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)CharTokenizer::load(path); }, {path});
}

TEST(CharTokenizer, LoadRejectsABpeFile) {
  const std::string path = temp_path("char_wrong_type.json");
  write_file(path, R"({"type": "bpe", "vocab_size": 256, "merges": []})");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)CharTokenizer::load(path); }, {path});
}

// ---- BpeTokenizer: the slow textbook algorithm, as the oracle ----------------------------------

// Every adjacent pair counted, overlaps included; max count, ties to the smallest pair; merged left
// to right without overlap. Recounts the whole sequence before each merge: O(n) per merge.
Ids merge_everywhere(const Ids& seq, std::pair<std::int64_t, std::int64_t> pair, std::int64_t z) {
  Ids out;
  for (std::size_t i = 0; i < seq.size(); ++i) {
    if (i + 1 < seq.size() && seq[i] == pair.first && seq[i + 1] == pair.second) {
      out.push_back(z);
      ++i;
    } else {
      out.push_back(seq[i]);
    }
  }
  return out;
}

Ids bytes_of(const std::string& s) {
  Ids ids;
  for (const char c : s) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

Merges slow_train(const std::string& corpus, std::int64_t vocab_size) {
  Ids seq = bytes_of(corpus);
  Merges merges;
  for (std::int64_t z = 256; z < vocab_size; ++z) {
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t>
        counts;  // ordered: ties -> smallest
    for (std::size_t i = 0; i + 1 < seq.size(); ++i) ++counts[{seq[i], seq[i + 1]}];
    std::pair<std::int64_t, std::int64_t> best;
    std::int64_t best_count = 0;
    for (const auto& [pair, count] : counts) {
      if (count > best_count) best = pair, best_count = count;
    }
    if (best_count < 2) break;
    merges.push_back(best);
    seq = merge_everywhere(seq, best, z);
  }
  return merges;
}

Ids slow_encode(const std::string& text, const Merges& merges) {
  Ids seq = bytes_of(text);
  for (std::size_t r = 0; r < merges.size(); ++r) {
    seq = merge_everywhere(seq, merges[r], 256 + static_cast<std::int64_t>(r));
  }
  return seq;
}

// Letters from a 4-symbol alphabet with a bias, so that pair counts tie often and runs overlap.
std::string random_corpus(std::uint64_t seed, std::size_t n) {
  Generator gen(seed);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += "aabcd"[gen.below(5)];
  return s;
}

// ---- BpeTokenizer
// ---------------------------------------------------------------------------------

// The example of Wikipedia's "Byte pair encoding" page, derived by hand (a=97, b=98, c=99, d=100):
//   aaabdaaabac     pairs: aa 4, ab 2, bd 1, da 1, ba 1, ac 1   -> merge 0: (97, 97) = 256 "aa"
//   Z a b d Z a b a c   pairs: (256,97) 2, ab 2, bd, dZ, ba, ac 1
//                   tie at 2: (97, 98) < (256, 97)              -> merge 1: (97, 98) = 257 "ab"
//   Z Y d Z Y a c   pairs: (256,257) 2, others 1               -> merge 2: (256, 257) = 258 "aaab"
//   X d X a c       every pair occurs once                     -> training stops at vocab 259
const std::string kWiki = "aaabdaaabac";
const Merges kWikiMerges = {{97, 97}, {97, 98}, {256, 257}};

TEST(BpeTokenizer, UntrainedTokenizerEncodesEachByteAsItsValue) {
  EXPECT_EQ(BpeTokenizer().encode("Hi\n"), (Ids{72, 105, 10}));
}

TEST(BpeTokenizer, LearnsTheMergesDerivedByHandOnATinyCorpus) {
  BpeTokenizer t;
  t.train(kWiki, 300);
  EXPECT_EQ(t.merges(), kWikiMerges);
  EXPECT_EQ(t.vocab_size(), 259);  // stopped early: no pair occurs twice any more
}

TEST(BpeTokenizer, StopsAtTheRequestedVocabularySize) {
  BpeTokenizer t;
  t.train(kWiki, 257);
  EXPECT_EQ(t.merges(), (Merges{{97, 97}}));
}

TEST(BpeTokenizer, EncodingTheTrainingCorpusGivesTheSequenceTrainingEndedWith) {
  BpeTokenizer t;
  t.train(kWiki, 300);
  EXPECT_EQ(t.encode(kWiki), (Ids{258, 100, 258, 97, 99}));  // X d X a c
}

TEST(BpeTokenizer, TokenBytesSpellsOutAMergedToken) {
  BpeTokenizer t;
  t.train(kWiki, 300);
  EXPECT_EQ(t.token_bytes(258), "aaab");  // (256 "aa", 257 "ab")
  EXPECT_EQ(t.token_bytes(100), "d");
}

TEST(BpeTokenizer, TiesGoToTheSmallestPairNotTheFirstSeen) {
  // xyabxyab: xy 2, ya 2, ab 2, bx 1. First seen would be (x, y); the smallest is (97, 98).
  BpeTokenizer t;
  t.train("xyabxyab", 257);
  EXPECT_EQ(t.merges(), (Merges{{97, 98}}));
}

TEST(BpeTokenizer, OverlappingOccurrencesMergeLeftToRight) {
  // aaaaa holds (a, a) 4 times; merged left to right it becomes Z Z a. Then ZZ and Za occur once.
  BpeTokenizer t;
  t.train("aaaaa", 300);
  EXPECT_EQ(t.merges(), (Merges{{97, 97}}));
  EXPECT_EQ(t.encode("aaaaa"), (Ids{256, 256, 97}));
  EXPECT_EQ(t.encode("aaa"), (Ids{256, 97}));
}

TEST(BpeTokenizer, EncodeAppliesMergesInRankOrderNotLeftToRight) {
  // With the merges above, "aab": rank 0 (a, a) goes first -> [256, b]; no merge applies after it.
  // Scanning left to right for any known pair would also find (a, b) = 257 and could give [a, 257].
  BpeTokenizer t;
  t.train(kWiki, 300);
  EXPECT_EQ(t.encode("aab"), (Ids{256, 98}));
  EXPECT_EQ(t.encode("ab"), (Ids{257}));
}

TEST(BpeTokenizer, DecodeOfEncodeReturnsAnyByteStringUnchanged) {
  BpeTokenizer t;
  t.train(random_corpus(1, 2000) + "caf\xC3\xA9 \xF0\x9F\x99\x82\xF0\x9F\x99\x82", 320);
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  const std::vector<std::string> cases = {
      "",
      std::string("\0\0a\0", 4),
      "\xFF\xFE\x80\xC0 invalid UTF-8",
      "\xF0\x9F\x99\x82 emoji \xF0\x9F\x99\x82",
      all_bytes,
      random_corpus(2, 500),
  };
  for (const auto& s : cases) EXPECT_EQ(t.decode(t.encode(s)), s);
}

TEST(BpeTokenizer, EmptyTextEncodesToNoIds) {
  BpeTokenizer t;
  t.train(kWiki, 300);
  EXPECT_TRUE(t.encode("").empty());
}

TEST(BpeTokenizer, MatchesTheRecountEveryStepTrainerOnARandomCorpus) {
  const std::string corpus = random_corpus(7, 3000);
  BpeTokenizer t;
  t.train(corpus, 320);
  EXPECT_EQ(t.merges(), slow_train(corpus, 320));
}

TEST(BpeTokenizer, EncodeMatchesApplyingEachMergeOverTheWholeText) {
  BpeTokenizer t;
  t.train(random_corpus(11, 3000), 300);
  const std::string text = random_corpus(12, 1000);
  EXPECT_EQ(t.encode(text), slow_encode(text, t.merges()));
}

TEST(BpeTokenizer, TrainingTwiceOnTheSameCorpusGivesTheSameMerges) {
  const std::string corpus = random_corpus(3, 4000) + " the the the then there";
  BpeTokenizer a, b;
  a.train(corpus, 300);
  b.train(corpus, 300);
  EXPECT_EQ(a.merges(), b.merges());
}

TEST(BpeTokenizer, RetrainingReplacesTheEarlierMerges) {
  BpeTokenizer t;
  t.train(random_corpus(5, 2000), 300);
  t.train(kWiki, 300);
  EXPECT_EQ(t.merges(), kWikiMerges);
}

TEST(BpeTokenizer, TrainRejectsAVocabularySmallerThanTheBytes) {
  BpeTokenizer t;
  EXPECT_THROW(t.train(kWiki, 255), std::invalid_argument);
}

TEST(BpeTokenizer, DecodeRejectsAnIdOutsideTheVocabularyNamingIt) {
  BpeTokenizer t;
  t.train(kWiki, 300);  // vocab 259
  ExpectThrowsMentioning<std::out_of_range>(
      [&] {
        (void)t.decode({97, 259});
      },
      {"259", "position 1"});
  EXPECT_THROW((void)t.decode({-1}), std::out_of_range);
}

TEST(BpeTokenizer, SaveThenLoadRestoresTheMerges) {
  const std::string path = temp_path("bpe_roundtrip.json");
  BpeTokenizer t;
  t.train(random_corpus(9, 3000), 310);
  t.save(path);
  const BpeTokenizer u = BpeTokenizer::load(path);
  EXPECT_EQ(u.merges(), t.merges());
  const std::string text = random_corpus(10, 500);
  EXPECT_EQ(u.encode(text), t.encode(text));
  EXPECT_EQ(u.decode(u.encode(text)), text);
}

TEST(BpeTokenizer, LoadRejectsAVocabSizeThatDisagreesWithTheMerges) {
  const std::string path = temp_path("bpe_bad_size.json");
  write_file(path, R"({"type": "bpe", "vocab_size": 300, "merges": [[97, 97]]})");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)BpeTokenizer::load(path); }, {path});
}

TEST(BpeTokenizer, LoadRejectsAMergeOfATokenNotYetDefined) {
  // Merge 0 defines token 256, so it cannot itself use 256.
  const std::string path = temp_path("bpe_future_token.json");
  write_file(path, R"({"type": "bpe", "vocab_size": 257, "merges": [[256, 97]]})");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)BpeTokenizer::load(path); }, {path});
}

TEST(BpeTokenizer, LoadOfAFileThatIsNotJsonThrowsNamingIt) {
  const std::string path = temp_path("bpe_garbage.json");
  write_file(path, "merges: 97 97");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)BpeTokenizer::load(path); }, {path});
}

TEST(BpeTokenizer, LoadOfAMissingFileThrowsNamingIt) {
  const std::string path = temp_path("bpe_missing.json");
  ExpectThrowsMentioning<std::runtime_error>([&] { (void)BpeTokenizer::load(path); }, {path});
}

}  // namespace
}  // namespace tinytorch::text
