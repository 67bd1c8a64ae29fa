// Checkpoint "training": Can I train a model with a reusable loop, and save and restore it?
//
// Answered end to end with your module 08 code over modules 02-07: a small MLP learns a problem no
// straight line can solve (the class is whether x0 and x1 have the same sign, XOR of the signs)
// through Trainer, with shuffled batches, a cosine schedule and early stopping; its checkpoint is
// saved in the safetensors format, reloaded into a freshly initialised model, and the reloaded
// model predicts exactly what the trained one does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/training.hpp"

namespace {

using namespace tinytorch;
using namespace tinytorch::train;
namespace fs = std::filesystem;

// n points uniform in [-1, 1)^2; label 1 when x0 * x1 > 0 (quadrants I and III).
struct Dataset {
  Tensor x;  // (n, 2)
  Tensor y;  // (n)
};

Dataset quadrants(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  const Tensor x = rand({n, 2}, g) * 2.0f - 1.0f;
  const std::vector<float> xs = x.to_vector();
  std::vector<float> labels;
  for (std::int64_t i = 0; i < n; ++i)
    labels.push_back(xs[2 * i] * xs[2 * i + 1] > 0 ? 1.0f : 0.0f);
  return {x, from_vector(labels, {n})};
}

std::shared_ptr<nn::Sequential> mlp(std::uint64_t seed) {
  Generator g(seed);
  return std::make_shared<nn::Sequential>(nn::Linear(2, 32, true, nn::Init::kaiming_uniform, g),
                                          nn::ReLU(),
                                          nn::Linear(32, 2, true, nn::Init::kaiming_uniform, g));
}

// Trains a fresh MLP on the quadrants; returns it with its trainer's final held-out accuracy.
struct Trained {
  std::shared_ptr<nn::Sequential> model;
  double eval_accuracy = 0.0;
  std::size_t epochs = 0;
};

Trained train_quadrants() {
  const Dataset train_set = quadrants(512, 1);
  const Dataset test_set = quadrants(256, 2);
  Trained out{mlp(3)};
  optim::Adam optimizer(out.model->parameters(), optim::AdamOptions(0.02));
  Trainer trainer(*out.model, optimizer, nn::CrossEntropyLoss());
  CosineAnnealingLR schedule(optimizer, 60, 1e-4);
  EarlyStopping stop(8, 1e-4, EarlyStopping::Mode::min);
  TensorBatches train_batches(train_set.x, train_set.y, 32, /*shuffle=*/true, /*seed=*/4);
  TensorBatches test_batches(test_set.x, test_set.y, 128);
  for (int epoch = 0; epoch < 60; ++epoch) {
    (void)trainer.train_epoch(train_batches);
    const EpochStats eval = trainer.evaluate(test_batches);
    schedule.step();
    if (stop.step(eval.loss)) break;
  }
  out.eval_accuracy = trainer.history().eval.back().accuracy;
  out.epochs = trainer.history().train.size();
  return out;
}

TEST(TrainingCheckpoint, AnMlpLearnsANonLinearProblemWithTheTrainer) {
  const Trained trained = train_quadrants();
  // A linear model cannot beat about 50% here; the MLP must get most held-out points right.
  EXPECT_GE(trained.eval_accuracy, 0.9) << "after " << trained.epochs << " epochs";
}

TEST(TrainingCheckpoint, AReloadedCheckpointPredictsExactlyLikeTheTrainedModel) {
  const Trained trained = train_quadrants();
  const fs::path path = fs::temp_directory_path() / ("tinytorch_checkpoint_training_" +
                                                     std::to_string(::getpid()) + ".safetensors");
  save_checkpoint(*trained.model, path);

  auto restored = mlp(99);  // different initial weights
  load_checkpoint(*restored, path);
  fs::remove(path);

  autograd::NoGradGuard no_grad;
  trained.model->eval();
  restored->eval();
  const Tensor probe = quadrants(64, 5).x;
  EXPECT_EQ(restored->forward(probe).to_vector(), trained.model->forward(probe).to_vector());
  for (const auto& [name, p] : trained.model->named_parameters()) {
    bool found = false;
    for (const auto& [other_name, q] : restored->named_parameters()) {
      if (other_name == name) {
        found = true;
        EXPECT_EQ(q.to_vector(), p.to_vector()) << name;
      }
    }
    EXPECT_TRUE(found) << name;
  }
}

TEST(TrainingCheckpoint, TheLoopKeepsAnHonestHistory) {
  const Dataset data = quadrants(64, 6);
  auto model = mlp(7);
  optim::SGD optimizer(model->parameters(), optim::SGDOptions(0.1));
  std::int64_t batches_seen = 0;
  TrainerOptions options;
  options.clip_grad_norm = 1.0;
  options.on_batch = [&](std::int64_t, std::int64_t, double) { ++batches_seen; };
  Trainer trainer(*model, optimizer, nn::CrossEntropyLoss(), options);
  TensorBatches batches(data.x, data.y, 16);
  for (int epoch = 0; epoch < 3; ++epoch) (void)trainer.train_epoch(batches);
  (void)trainer.evaluate(batches);
  EXPECT_EQ(batches_seen, 3 * 4);  // 64 samples in batches of 16, three epochs
  ASSERT_EQ(trainer.history().train.size(), 3u);
  ASSERT_EQ(trainer.history().eval.size(), 1u);
  for (const EpochStats& s : trainer.history().train) {
    EXPECT_EQ(s.samples, 64);
    EXPECT_GE(s.accuracy, 0.0);
    EXPECT_LE(s.accuracy, 1.0);
  }
}

}  // namespace
