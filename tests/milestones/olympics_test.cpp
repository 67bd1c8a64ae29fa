// The olympics milestone: its verdict on known figures, the refusals when a saved model is missing
// or belongs to another milestone, and one end-to-end run of the program on small models saved
// here (random weights of the right shapes, CIFAR-10 files of the right size with synthetic
// images) that must leave its table, result file and chart behind. The gates of such a run are
// not the point (random models, a reduced scope); that the program measures and reports is.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "olympics.hpp"
#include "saved_model.hpp"

namespace fs = std::filesystem;
using namespace tinytorch;  // NOLINT(google-build-using-namespace)
namespace oly = milestones::olympics;

namespace {

// ---- the verdict --------------------------------------------------------------------------------

oly::VerdictInputs passing_inputs() {
  return {.test_images = 10000,
          .float_accuracy = 0.78,
          .final_accuracy = 0.775,
          .tokens = 256,
          .tokens_identical = true,
          .cnn_speedup = {12.0, 15.0, 18.0, 0.95},
          .gpt_speedup = {40.0, 50.0, 60.0, 0.95},
          .float_bytes = 1000,
          .final_bytes = 250};
}

bool gate_passed(const std::vector<oly::Gate>& gates, const std::string& name) {
  for (const auto& g : gates) {
    if (g.name == name) return g.passed;
  }
  ADD_FAILURE() << "no gate named " << name;
  return false;
}

TEST(OlympicsVerdict, PassesWhenEveryFigureMeetsItsGate) {
  const auto gates = oly::judge(passing_inputs());
  EXPECT_EQ(gates.size(), 6u);
  EXPECT_TRUE(oly::all_passed(gates)) << oly::format_gates(gates);
}

TEST(OlympicsVerdict, AnAccuracyDropOfMoreThanOnePointFails) {
  auto in = passing_inputs();
  in.final_accuracy = 0.7695;  // 1.05 points below
  EXPECT_FALSE(gate_passed(oly::judge(in), "accuracy"));
  in.final_accuracy = 0.77;  // exactly 1 point
  EXPECT_TRUE(gate_passed(oly::judge(in), "accuracy"));
}

TEST(OlympicsVerdict, AnAccuracyGainOfMoreThanOnePointAlsoFails) {
  auto in = passing_inputs();  // "predictions agree": a model that changed a lot is another model
  in.final_accuracy = 0.80;
  EXPECT_FALSE(gate_passed(oly::judge(in), "accuracy"));
}

TEST(OlympicsVerdict, DifferentGreedyTokensFail) {
  auto in = passing_inputs();
  in.tokens_identical = false;
  EXPECT_FALSE(oly::all_passed(oly::judge(in)));
  EXPECT_FALSE(gate_passed(oly::judge(in), "tokens"));
}

TEST(OlympicsVerdict, ASpeedupIsJudgedOnTheLowerEndOfItsInterval) {
  auto in = passing_inputs();
  in.cnn_speedup = {9.5, 14.0, 20.0, 0.95};  // the median says 14x, the interval reaches 9.5x
  EXPECT_FALSE(gate_passed(oly::judge(in), "cnn speed"));
  in.gpt_speedup = {9.9, 30.0, 40.0, 0.95};
  EXPECT_FALSE(gate_passed(oly::judge(in), "gpt speed"));
  in.cnn_speedup = {10.0, 10.5, 11.0, 0.95};
  EXPECT_TRUE(gate_passed(oly::judge(in), "cnn speed"));
}

TEST(OlympicsVerdict, AFileAboveAQuarterOfTheFloatOneFails) {
  auto in = passing_inputs();
  in.final_bytes = 251;
  EXPECT_FALSE(gate_passed(oly::judge(in), "size"));
  in.float_bytes = 0;  // nothing measured is never a pass
  in.final_bytes = 0;
  EXPECT_FALSE(gate_passed(oly::judge(in), "size"));
}

TEST(OlympicsVerdict, AReducedRunCannotPass) {
  auto in = passing_inputs();
  in.test_images = 500;
  EXPECT_FALSE(gate_passed(oly::judge(in), "scope"));
  in = passing_inputs();
  in.tokens = 64;
  EXPECT_FALSE(oly::all_passed(oly::judge(in)));
}

TEST(OlympicsVerdict, TheTableHasARowPerStepWithItsInterval) {
  oly::Step step{"cifar10", "int8",       "integers", 0.77,   10000,
                 0.004,     "100 images", 30000,      120000, {11.0, 12.5, 14.0, 0.95},
                 "a note"};
  const std::string table = oly::format_table({step});
  EXPECT_NE(table.find("int8"), std::string::npos) << table;
  EXPECT_NE(table.find("77.00%"), std::string::npos) << table;
  EXPECT_NE(table.find("12.5x [11.0, 14.0]"), std::string::npos) << table;
  EXPECT_NE(table.find("a note"), std::string::npos) << table;
}

// ---- the saved GPT ------------------------------------------------------------------------------

class SavedGptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tt_olympics_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static nn::GPTConfig tiny_config(std::int64_t vocab) {
    return {.vocab_size = vocab,
            .context = 16,
            .embed_dim = 16,
            .num_heads = 2,
            .num_layers = 1,
            .tied_head = true,
            .dropout = 0.0f};
  }

  // A random tiny GPT over the characters of `text`, saved as tinygpt saves its model.
  void save_gpt(const fs::path& dir) const {
    const text::CharTokenizer tokenizer("ROMEO: JULIET, wherefore art thou.\n");
    Generator generator(5);
    nn::GPT model(tiny_config(tokenizer.vocab_size()), generator);
    milestones::save_gpt_model(dir, model, tokenizer, {{"val_loss", 3.0}});
  }

  static std::string gpt_error(const fs::path& dir) {
    try {
      (void)milestones::load_gpt_model(dir);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(SavedGptTest, RoundTripsWithIdenticalLogits) {
  save_gpt(dir_ / "gpt");
  const milestones::SavedGPT a = milestones::load_gpt_model(dir_ / "gpt");
  const milestones::SavedGPT b = milestones::load_gpt_model(dir_ / "gpt");
  const Tensor ids = from_vector({1, 2, 3, 4}, {1, 4});
  const Tensor x = (*a.model)(ids).contiguous();
  const Tensor y = (*b.model)(ids).contiguous();
  ASSERT_EQ(x.numel(), y.numel());
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(x.data_ptr()[i], y.data_ptr()[i]);
  EXPECT_EQ(a.config.at("milestone"), "tinygpt");
}

TEST_F(SavedGptTest, AMissingModelNamesTheFileAndTheMilestoneToRun) {
  const std::string message = gpt_error(dir_ / "nowhere");
  EXPECT_NE(message.find((dir_ / "nowhere" / "config.json").string()), std::string::npos)
      << message;
  EXPECT_NE(message.find("tito milestone run tinygpt"), std::string::npos) << message;
}

TEST_F(SavedGptTest, TheCifarModelIsRefusedAsTheGpt) {
  Generator generator(1);
  auto net = milestones::make_milestone_net("cifar10", generator);
  milestones::save_milestone_model(dir_ / "cifar", "cifar10", *net, {});
  text::CharTokenizer("abc").save((dir_ / "cifar" / "tokenizer.json").string());
  const std::string message = gpt_error(dir_ / "cifar");
  EXPECT_NE(message.find("'cifar10' model, not the tinygpt one"), std::string::npos) << message;
  EXPECT_NE(message.find("tito milestone run tinygpt"), std::string::npos) << message;
}

TEST_F(SavedGptTest, ATruncatedWeightFileNamesItself) {
  save_gpt(dir_ / "gpt");
  const fs::path weights = dir_ / "gpt" / "model.safetensors";
  fs::resize_file(weights, fs::file_size(weights) / 2);
  const std::string message = gpt_error(dir_ / "gpt");
  EXPECT_NE(message.find(weights.string()), std::string::npos) << message;
  EXPECT_NE(message.find("tito milestone run tinygpt"), std::string::npos) << message;
}

// ---- the program --------------------------------------------------------------------------------

// A CIFAR-10 batch file of the real size (10,000 records), gzip-compressed: labels 0-9 in turn and
// images of a few repeating patterns, so it compresses to almost nothing.
void write_fake_cifar(const fs::path& file) {
  fs::create_directories(file.parent_path());
  gzFile out = gzopen((file.string() + ".gz").c_str(), "wb1");
  ASSERT_NE(out, nullptr);
  std::string record(3073, '\0');
  for (int r = 0; r < 10000; ++r) {
    record[0] = static_cast<char>(r % 10);
    for (int i = 1; i < 3073; ++i) record[i] = static_cast<char>((i * (r % 10 + 1)) % 251);
    ASSERT_EQ(gzwrite(out, record.data(), static_cast<unsigned>(record.size())), 3073);
  }
  gzclose(out);
}

struct Outcome {
  int status = -1;
  std::string output;
};

Outcome run_program(const std::string& arguments) {
  Outcome outcome;
  const std::string command = std::string(OLYMPICS_PROGRAM) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return outcome;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) outcome.output += buffer;
  const int raw = pclose(pipe);
  outcome.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return outcome;
}

class OlympicsProgramTest : public SavedGptTest {
 protected:
  void save_cifar(const fs::path& dir) const {
    Generator generator(3);
    auto net = milestones::make_milestone_net("cifar10", generator);
    milestones::save_milestone_model(dir, "cifar10", *net, {{"test_accuracy", 0.1}});
  }
  std::string common_arguments() const {
    return "--cifar-dir " + (dir_ / "cifar").string() + " --gpt-dir " + (dir_ / "gpt").string() +
           " --data-dir " + (dir_ / "data").string() + " --out " +
           (dir_ / "out" / "olympics.json").string();
  }
};

TEST_F(OlympicsProgramTest, RefusesWithoutTheSavedCifarModelNamingTheFileAndTheMilestone) {
  save_gpt(dir_ / "gpt");
  const Outcome o = run_program(common_arguments());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find((dir_ / "cifar" / "config.json").string()), std::string::npos)
      << o.output;
  EXPECT_NE(o.output.find("tito milestone run cifar10"), std::string::npos) << o.output;
  EXPECT_FALSE(fs::exists(dir_ / "out" / "olympics.json"));
}

TEST_F(OlympicsProgramTest, RefusesAModelOfAnotherMilestone) {
  save_gpt(dir_ / "gpt");
  Generator generator(1);
  auto mnist = milestones::make_milestone_net("mnist", generator);
  milestones::save_milestone_model(dir_ / "cifar", "mnist", *mnist, {});
  const Outcome o = run_program(common_arguments());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("'mnist' model, not the cifar10 one"), std::string::npos) << o.output;
}

TEST_F(OlympicsProgramTest, RefusesWithoutTheSavedGpt) {
  save_cifar(dir_ / "cifar");
  const Outcome o = run_program(common_arguments());
  EXPECT_EQ(o.status, 2) << o.output;
  EXPECT_NE(o.output.find("tito milestone run tinygpt"), std::string::npos) << o.output;
}

TEST_F(OlympicsProgramTest, ASmallRunWritesItsTableResultAndChart) {
  save_cifar(dir_ / "cifar");
  save_gpt(dir_ / "gpt");
  write_fake_cifar(dir_ / "data" / "cifar-10-batches-bin" / "test_batch.bin");
  write_fake_cifar(dir_ / "data" / "cifar-10-batches-bin" / "data_batch_1.bin");
  const Outcome o = run_program(
      common_arguments() + " --test-images 40 --time-images 4 --tokens 8 --budget 1 --prune 0.5");
  // A reduced run cannot pass the gate (exit 1), but it measures and reports everything.
  EXPECT_EQ(o.status, 1) << o.output;
  for (const std::string row :
       {"naive baseline", "fast kernels", "int8", "pruned + int8", "KV cache", "[FAIL] scope"}) {
    EXPECT_NE(o.output.find(row), std::string::npos) << row << "\n" << o.output;
  }
  std::ifstream in(dir_ / "out" / "olympics.json");
  ASSERT_TRUE(in) << o.output;
  const nlohmann::json result = nlohmann::json::parse(in);
  EXPECT_EQ(result.at("id"), "olympics");
  EXPECT_EQ(result.at("steps").size(), 7u);
  EXPECT_EQ(result.at("gates").size(), 6u);
  EXPECT_FALSE(result.at("gate").at("passed").get<bool>());
  EXPECT_TRUE(result.at("benchmark").contains("context"));
  for (const auto& step : result.at("steps")) {
    EXPECT_GT(step.at("latency_seconds").get<double>(), 0.0) << step.dump();
    EXPECT_GT(step.at("speedup").at("estimate").get<double>(), 0.0) << step.dump();
  }
  // A random GPT at temperature 0 still has one greedy continuation: the cache must find it.
  EXPECT_TRUE(result.at("final").at("tokens_identical").get<bool>()) << o.output;
  std::ifstream svg(dir_ / "out" / "olympics-pipeline.svg");
  ASSERT_TRUE(svg);
  std::stringstream text;
  text << svg.rdbuf();
  EXPECT_EQ(text.str().rfind("<svg", 0), 0u);
}

}  // namespace
