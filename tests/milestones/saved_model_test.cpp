// The saved milestone models: what a milestone writes, load_milestone_model reads back exactly, and
// every way the folder can be wrong is an error naming the file and the milestone to run.
#include "saved_model.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tinytorch/tensor.hpp"

namespace fs = std::filesystem;
using namespace tinytorch;  // NOLINT(google-build-using-namespace)

namespace {

class SavedModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tt_saved_model_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Saves a freshly initialised net of the milestone (seed 7) and returns it.
  std::shared_ptr<nn::Sequential> save(const std::string& milestone, const fs::path& dir) {
    Generator generator(7);
    auto net = milestones::make_milestone_net(milestone, generator);
    milestones::save_milestone_model(dir, milestone, *net, {{"test_accuracy", 0.5}});
    return net;
  }

  // The message of the runtime_error that loading throws ("" when it does not throw).
  static std::string load_error(const std::string& milestone, const fs::path& dir) {
    try {
      (void)milestones::load_milestone_model(milestone, dir);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(SavedModelTest, EveryMilestoneNetRoundTripsWithIdenticalOutputs) {
  for (const std::string& id : milestones::saved_model_milestones()) {
    const auto net = save(id, dir_ / id);
    net->eval();
    const milestones::SavedModel loaded = milestones::load_milestone_model(id, dir_ / id);
    Shape shape = milestones::milestone_input_shape(id);
    shape.insert(shape.begin(), 2);
    Generator generator(3);
    const Tensor x = randn(shape, generator);
    const Tensor a = (*net)(x).contiguous();
    const Tensor b = (*loaded.model)(x).contiguous();
    ASSERT_EQ(a.shape(), b.shape()) << id;
    for (std::int64_t i = 0; i < a.numel(); ++i) {
      EXPECT_EQ(a.data_ptr()[i], b.data_ptr()[i]) << id << " output " << i;
    }
    EXPECT_EQ(loaded.config.at("milestone"), id);
    EXPECT_EQ(loaded.config.at("training").at("test_accuracy"), 0.5);
  }
}

TEST_F(SavedModelTest, MissingFolderNamesTheFileAndTheMilestoneToRun) {
  const std::string message = load_error("mnist", dir_);
  EXPECT_NE(message.find((dir_ / "config.json").string()), std::string::npos) << message;
  EXPECT_NE(message.find("tito milestone run mnist"), std::string::npos) << message;
}

TEST_F(SavedModelTest, MissingWeightsNameTheFile) {
  save("mnist", dir_);
  fs::remove(dir_ / "model.safetensors");
  const std::string message = load_error("mnist", dir_);
  EXPECT_NE(message.find((dir_ / "model.safetensors").string()), std::string::npos) << message;
  EXPECT_NE(message.find("tito milestone run mnist"), std::string::npos) << message;
}

TEST_F(SavedModelTest, TruncatedWeightsNameTheFileAndTheMilestoneToRun) {
  save("mnist-cnn", dir_);
  const fs::path weights = dir_ / "model.safetensors";
  fs::resize_file(weights, fs::file_size(weights) / 2);
  const std::string message = load_error("mnist-cnn", dir_);
  EXPECT_NE(message.find(weights.string()), std::string::npos) << message;
  EXPECT_NE(message.find("tito milestone run mnist-cnn"), std::string::npos) << message;
}

TEST_F(SavedModelTest, AnotherMilestonesModelIsRefusedByName) {
  save("mnist", dir_);
  const std::string message = load_error("mnist-cnn", dir_);
  EXPECT_NE(message.find("'mnist' model, not the mnist-cnn one"), std::string::npos) << message;
  EXPECT_NE(message.find("tito milestone run mnist-cnn"), std::string::npos) << message;
}

TEST_F(SavedModelTest, WeightsOfAnotherNetUnderARightConfigAreRefused) {
  save("mnist", dir_ / "mlp");
  save("cifar10", dir_);
  fs::copy_file(dir_ / "mlp" / "model.safetensors", dir_ / "model.safetensors",
                fs::copy_options::overwrite_existing);
  const std::string message = load_error("cifar10", dir_);
  EXPECT_NE(message.find((dir_ / "model.safetensors").string()), std::string::npos) << message;
  EXPECT_NE(message.find("tito milestone run cifar10"), std::string::npos) << message;
}

TEST_F(SavedModelTest, MalformedConfigNamesTheFile) {
  save("mnist", dir_);
  std::ofstream(dir_ / "config.json") << "{\"milestone\": ";
  const std::string message = load_error("mnist", dir_);
  EXPECT_NE(message.find((dir_ / "config.json").string()), std::string::npos) << message;
  EXPECT_NE(message.find("malformed"), std::string::npos) << message;
}

TEST_F(SavedModelTest, UnknownMilestoneListsTheValidOnes) {
  Generator generator(0);
  try {
    (void)milestones::make_milestone_net("xor", generator);
    FAIL() << "no error for an unknown milestone";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("mnist, mnist-cnn, cifar10"), std::string::npos);
  }
}

}  // namespace
