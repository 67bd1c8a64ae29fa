// Checkpoint "tokenization": Can I turn text into token ids and back?
//
// Answered end to end with your module 11 tokenizers, the way a language-model script uses them:
// a character tokenizer and a BPE tokenizer are built from a passage, turn it into ids that index a
// vocabulary, turn the ids back into exactly the same text, survive a save and a load, and BPE
// shortens the text it was trained on. Every expected number is derived in a comment.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tinytorch/tokenization.hpp"

namespace {

using namespace tinytorch::text;
using Ids = std::vector<std::int64_t>;

const std::string kPassage =
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. "
    "resolved.\n\nFirst Citizen:\nFirst, you know Caius Marcius is chief enemy to the people.\n";

std::string temp_path(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / ("tt_checkpoint_tok_" + name)).string();
}

bool all_below(const Ids& ids, std::int64_t bound) {
  for (const auto id : ids) {
    if (id < 0 || id >= bound) return false;
  }
  return true;
}

TEST(TokenizationCheckpoint, CharactersBecomeIdsAndComeBack) {
  // The passage is ASCII, so its characters are its distinct bytes; one id per character.
  const CharTokenizer chars(kPassage);
  const std::set<char> distinct(kPassage.begin(), kPassage.end());
  EXPECT_EQ(chars.vocab_size(), static_cast<std::int64_t>(distinct.size()));
  const Ids ids = chars.encode(kPassage);
  EXPECT_EQ(ids.size(), kPassage.size());
  EXPECT_TRUE(all_below(ids, chars.vocab_size()));
  EXPECT_EQ(chars.decode(ids), kPassage);
}

TEST(TokenizationCheckpoint, BpeShortensTheTextItLearnedFrom) {
  // Each merge that fires replaces two tokens by one, and training only keeps merges that occur at
  // least twice, so 100 merges on a repetitive passage must shorten it by far more than a few
  // bytes.
  BpeTokenizer bpe;
  bpe.train(kPassage + kPassage, 356);
  const Ids ids = bpe.encode(kPassage);
  EXPECT_LT(ids.size(), kPassage.size() / 2);
  EXPECT_TRUE(all_below(ids, bpe.vocab_size()));
  EXPECT_EQ(bpe.decode(ids), kPassage);
}

TEST(TokenizationCheckpoint, BpeHandlesTextItNeverSaw) {
  // Byte-level: every byte is a token, so emoji and even invalid UTF-8 round-trip.
  BpeTokenizer bpe;
  bpe.train(kPassage, 300);
  const std::string unseen = "Zounds! \xF0\x9F\x99\x82 caf\xC3\xA9 \xFF\xFE";
  EXPECT_EQ(bpe.decode(bpe.encode(unseen)), unseen);
}

TEST(TokenizationCheckpoint, TokenizersSurviveASaveAndALoad) {
  const std::string char_path = temp_path("char.json"), bpe_path = temp_path("bpe.json");
  const CharTokenizer chars(kPassage, UnknownPolicy::map_to_unk);
  BpeTokenizer bpe;
  bpe.train(kPassage, 320);
  chars.save(char_path);
  bpe.save(bpe_path);
  const std::string probe = "Speak, speak, Citizen!";
  EXPECT_EQ(CharTokenizer::load(char_path).encode(probe), chars.encode(probe));
  EXPECT_EQ(BpeTokenizer::load(bpe_path).encode(probe), bpe.encode(probe));
}

}  // namespace
