// Checkpoint "compression": Can I make a trained model much smaller and still have it read digits?
//
// Answered end to end with your module 18 code over modules 02-10, on the real digits that ship
// with the course (datasets/tinydigits: 3,000 training and 1,000 test images of MNIST). An MLP
// 784-64-10 is trained, then compressed three ways, each judged on the held-out digits:
//   - 90% of its weights set to zero by one global magnitude threshold, fine-tuned with the masks
//     held: the zeros stay zeros and the accuracy comes back;
//   - half of its hidden neurons removed: a dense model with half the parameters, fine-tuned;
//   - its first layer replaced by a rank-r factorisation that keeps 90% of the energy.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>

#include "tinytorch/compression.hpp"
#include "tinytorch/dataloader.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/training.hpp"

#ifndef TINYTORCH_DATASETS_DIR
#error "TINYTORCH_DATASETS_DIR (the course's datasets/ folder) is set by the course's CMake"
#endif

namespace {

using namespace tinytorch;        // NOLINT(google-build-using-namespace)
using namespace tinytorch::data;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

const fs::path kTinyDigits = fs::path(TINYTORCH_DATASETS_DIR) / "tinydigits";

// torchvision's MNIST constants (data/README.md): mean 0.1307, sd 0.3081.
std::shared_ptr<Normalize> normalize() {
  return std::make_shared<Normalize>(std::vector<float>{0.1307f}, std::vector<float>{0.3081f});
}

class Compression : public ::testing::Test {
 protected:
  void SetUp() override {
    train_set_ = std::make_shared<TensorDataset>(read_mnist(kTinyDigits, true));
    test_set_ = std::make_shared<TensorDataset>(read_mnist(kTinyDigits, false));
    Generator init(6);
    model_ = std::make_shared<nn::Sequential>(
        nn::Flatten(), nn::Linear(784, 64, true, nn::Init::kaiming_uniform, init), nn::ReLU(),
        nn::Linear(64, 10, true, nn::Init::kaiming_uniform, init));
    optim::Adam adam(model_->parameters(), optim::AdamOptions(2e-3));
    train::Trainer trainer(*model_, adam, cross_entropy);
    DataLoader loader = train_loader(5);
    for (int epoch = 0; epoch < 5; ++epoch) (void)trainer.train_epoch(loader);
    dense_accuracy_ = accuracy(*model_);
  }

  DataLoader train_loader(std::uint64_t seed) const {
    return DataLoader(train_set_,
                      {.batch_size = 64, .shuffle = true, .seed = seed, .transform = normalize()});
  }

  double accuracy(nn::Module& model) const {
    DataLoader test(test_set_, {.batch_size = 250, .transform = normalize()});
    optim::SGD unused(model.parameters(), optim::SGDOptions(0.0));
    train::Trainer evaluator(model, unused, cross_entropy);
    return evaluator.evaluate(test).accuracy;
  }

  std::shared_ptr<TensorDataset> train_set_;
  std::shared_ptr<TensorDataset> test_set_;
  std::shared_ptr<nn::Sequential> model_;
  double dense_accuracy_ = 0.0;
};

TEST_F(Compression, NinetyPercentSparseAfterFineTuningStillReadsDigits) {
  ASSERT_GE(dense_accuracy_, 0.85);  // the dataloader checkpoint's bar for this net
  const auto pruner = compress::Pruner::global(*model_, 0.9);
  optim::Adam adam(model_->parameters(), optim::AdamOptions(1e-3));
  DataLoader loader = train_loader(7);
  model_->train();
  for (int epoch = 0; epoch < 2; ++epoch) {
    for (const train::Batch& b : loader) {
      (void)compress::pruned_train_step(*model_, adam, pruner, cross_entropy, b.inputs, b.targets);
    }
  }
  const auto report = pruner.report();
  EXPECT_EQ(report.back().name, "total");
  EXPECT_NEAR(report.back().sparsity, 0.9, 1e-4);  // the zeros survived fine-tuning
  EXPECT_GE(accuracy(*model_), dense_accuracy_ - 0.05);
}

TEST_F(Compression, HalfTheNeuronsGiveADenseModelWithHalfTheParameters) {
  const auto small = compress::prune_channels(*model_, 0.5);
  EXPECT_EQ(small->num_parameters(), 784 * 32 + 32 + 32 * 10 + 10);
  optim::Adam adam(small->parameters(), optim::AdamOptions(1e-3));
  train::Trainer trainer(*small, adam, cross_entropy);
  DataLoader loader = train_loader(8);
  (void)trainer.train_epoch(loader);
  EXPECT_GE(accuracy(*small), dense_accuracy_ - 0.05);
}

TEST_F(Compression, ALowRankFirstLayerKeepsTheAccuracy) {
  auto fc = std::dynamic_pointer_cast<nn::Linear>((*model_)[1]);
  const std::int64_t rank = compress::rank_for_energy(compress::svd(fc->weight).s, 0.9);
  ASSERT_LT(rank, 64);
  nn::Sequential factored;
  factored.push_back((*model_)[0]);
  factored.push_back(compress::low_rank_linear(*fc, rank));
  factored.push_back((*model_)[2]);
  factored.push_back((*model_)[3]);
  EXPECT_LT(factored.num_parameters(), model_->num_parameters());
  EXPECT_GE(accuracy(factored), dense_accuracy_ - 0.05);
}

}  // namespace
