// Checkpoint "dataloader": Can I feed a model real data in shuffled, augmented batches?
//
// Answered end to end with your module 10 code over modules 02-09: a shuffled, augmented,
// prefetching DataLoader feeds module 08's Trainer until a small network has learnt its images;
// and, where the real data sets are present (TINYTORCH_DATA), your MNIST and CIFAR-10 readers
// reproduce the facts published about them (pixel mean, class counts) and your loader walks them
// batch by batch. Without TINYTORCH_DATA those tests are skipped, saying how to enable them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "tinytorch/dataloader.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/training.hpp"

namespace {

using namespace tinytorch;
using namespace tinytorch::data;
namespace fs = std::filesystem;

std::optional<fs::path> data_dir() {
  const char* dir = std::getenv("TINYTORCH_DATA");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  return fs::path(dir);
}

#define REQUIRE_DATA(dir)                                                                  \
  const std::optional<fs::path> dir = data_dir();                                          \
  if (!dir) {                                                                              \
    GTEST_SKIP() << "TINYTORCH_DATA is not set: point it at the data folder (it holds "    \
                    "mnist/ and cifar-10-batches-bin/), or run `tito data fetch`, to run " \
                    "this test on the real data";                                          \
  }

// (n, 1, 6, 6) images: class 1 has a bright vertical bar in column 1 or 4 (chosen at random), class
// 0 a horizontal bar in row 1 or 4; both on uniform noise. A flip or a one-pixel crop shift keeps
// the class, so augmentation must not hurt.
TensorDataset bars(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  Tensor x = rand({n, 1, 6, 6}, g) * 0.3f;
  Tensor y = empty({n});
  float* pixels = x.data_ptr();
  for (std::int64_t i = 0; i < n; ++i) {
    const bool vertical = g.uniform() < 0.5f;
    const std::int64_t where = g.uniform() < 0.5f ? 1 : 4;
    for (std::int64_t k = 0; k < 6; ++k) {
      const std::int64_t row = vertical ? k : where;
      const std::int64_t col = vertical ? where : k;
      pixels[i * 36 + row * 6 + col] = 1.0f;
    }
    y.data()[static_cast<std::size_t>(i)] = vertical ? 1.0f : 0.0f;
  }
  return {x, y};
}

TEST(Dataloader, AnAugmentedPrefetchingLoaderTrainsANetwork) {
  auto train_set = std::make_shared<TensorDataset>(bars(512, 1));
  auto test_set = std::make_shared<TensorDataset>(bars(256, 2));
  auto augment = std::make_shared<Compose>(std::vector<TransformPtr>{
      std::make_shared<RandomCrop>(6, 1), std::make_shared<RandomHorizontalFlip>(),
      std::make_shared<Normalize>(std::vector<float>{0.3f}, std::vector<float>{0.3f})});
  DataLoader train_loader(
      train_set,
      {.batch_size = 32, .shuffle = true, .seed = 3, .prefetch = true, .transform = augment});
  DataLoader test_loader(test_set, {.batch_size = 64,
                                    .transform = std::make_shared<Normalize>(
                                        std::vector<float>{0.3f}, std::vector<float>{0.3f})});
  Generator init(4);
  nn::Sequential model(nn::Flatten(), nn::Linear(36, 32, true, nn::Init::kaiming_uniform, init),
                       nn::ReLU(), nn::Linear(32, 2, true, nn::Init::kaiming_uniform, init));
  optim::Adam optimizer(model.parameters(), optim::AdamOptions(0.01));
  train::Trainer trainer(model, optimizer, cross_entropy);
  for (int epoch = 0; epoch < 15; ++epoch) (void)trainer.train_epoch(train_loader);
  const train::EpochStats eval = trainer.evaluate(test_loader);
  EXPECT_EQ(train_loader.epoch(), 14);
  EXPECT_EQ(eval.samples, 256);
  EXPECT_GE(eval.accuracy, 0.95);
}

TEST(Dataloader, MnistReaderMatchesThePublishedStatistics) {
  REQUIRE_DATA(dir);
  const TensorDataset train = read_mnist(*dir / "mnist", true);
  ASSERT_EQ(train.inputs().shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_NEAR(train.inputs().mean().item(), 0.1307, 1e-3);  // torchvision's Normalize constant
  std::vector<std::int64_t> counts(10, 0);
  for (float label : train.targets().to_vector()) ++counts[static_cast<std::size_t>(label)];
  EXPECT_EQ(counts[0], 5923);
  EXPECT_EQ(counts[1], 6742);
  EXPECT_EQ(counts[2], 5958);
  EXPECT_EQ(read_mnist(*dir / "mnist", false).size(), 10000);
}

TEST(Dataloader, CifarReaderMatchesThePublishedStatistics) {
  REQUIRE_DATA(dir);
  const TensorDataset train = read_cifar10(*dir / "cifar-10-batches-bin", true);
  ASSERT_EQ(train.inputs().shape(), (Shape{50000, 3, 32, 32}));
  // Per-channel means on 0-255: 125.27, 122.93, 113.86 (data/README.md).
  const std::vector<float> means = train.inputs().mean(3).mean(2).mean(0).to_vector();  // (3)
  EXPECT_NEAR(means[0] * 255.0f, 125.27, 0.1);
  EXPECT_NEAR(means[1] * 255.0f, 122.93, 0.1);
  EXPECT_NEAR(means[2] * 255.0f, 113.86, 0.1);
  std::vector<std::int64_t> counts(10, 0);
  for (float label : train.targets().to_vector()) ++counts[static_cast<std::size_t>(label)];
  EXPECT_EQ(counts, std::vector<std::int64_t>(10, 5000));
}

TEST(Dataloader, CifarTestSetWalksInAugmentedBatches) {
  REQUIRE_DATA(dir);
  auto test_set =
      std::make_shared<TensorDataset>(read_cifar10(*dir / "cifar-10-batches-bin", false));
  auto augment = std::make_shared<Compose>(std::vector<TransformPtr>{
      std::make_shared<RandomCrop>(32, 4), std::make_shared<RandomHorizontalFlip>(),
      std::make_shared<Normalize>(std::vector<float>{0.4914f, 0.4822f, 0.4465f},
                                  std::vector<float>{0.2470f, 0.2435f, 0.2616f})});
  DataLoader loader(
      test_set,
      {.batch_size = 128, .shuffle = true, .seed = 1, .prefetch = true, .transform = augment});
  EXPECT_EQ(loader.num_batches(), 79);  // ceil(10000 / 128)
  std::vector<std::int64_t> counts(10, 0);
  std::int64_t batches = 0;
  for (const train::Batch& batch : loader) {
    ++batches;
    EXPECT_EQ(batch.inputs.size(1), 3);
    EXPECT_EQ(batch.inputs.size(2), 32);
    for (float label : batch.targets.to_vector()) ++counts[static_cast<std::size_t>(label)];
  }
  EXPECT_EQ(batches, 79);
  EXPECT_EQ(counts, std::vector<std::int64_t>(10, 1000));  // every image exactly once
}

}  // namespace
