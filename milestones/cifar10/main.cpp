// Milestone 2012: Krizhevsky, Sutskever and Hinton's convolutional net wins on real photographs.
// A small CNN learns CIFAR-10 (32 x 32 colour images, ten classes) through the student's Conv2d,
// MaxPool2d, BatchNorm2d, DataLoader (prefetch, random crop and flip), SGD with Nesterov momentum
// and autograd. The data reader, the one-cycle schedule and the test accuracy live here.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "cifar.hpp"
#include "run.hpp"
#include "saved_model.hpp"
#include "stop_on_interrupt.hpp"
#include "tinytorch/dataloader.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/spatial.hpp"
#include "tinytorch/training.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better

namespace {

// ---- the schedule: one cycle per run, set every batch ----------------------------------------

// Smith's one-cycle policy as torch.optim.lr_scheduler.OneCycleLR (cosine annealing): the rate
// climbs from peak / div to peak over the first `warmup` fraction of the steps, then falls to
// peak / (div * final_div). A high rate in the middle explores, the long tail to ~0 settles.
struct OneCycle {
  double peak;
  std::int64_t total_steps;
  double warmup = 0.25;
  double div = 10.0;
  double final_div = 1e3;

  [[nodiscard]] double lr_at(std::int64_t step) const {
    const double start = peak / div;
    const double end = start / final_div;
    const double warm_steps = warmup * static_cast<double>(total_steps);
    const double t = static_cast<double>(std::min(step, total_steps - 1));
    auto cosine = [](double from, double to, double fraction) {
      return to + (from - to) * (1.0 + std::cos(std::numbers::pi * fraction)) / 2.0;
    };
    if (t < warm_steps) return cosine(start, peak, t / warm_steps);
    return cosine(peak, end, (t - warm_steps) / std::max(1.0, total_steps - 1 - warm_steps));
  }
};

}  // namespace

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run("cifar10", "Photographs with a convolutional net (2012)", argc, argv,
                        {{"--model-dir", "DIR",
                          "where the trained model is saved (default .tito/milestones/cifar10)"}});
    if (run.help_requested()) return 0;
    const int epochs = run.epochs(5);
    const std::int64_t batch_size = 128;
    const double peak_lr = 0.05;
    const double weight_decay = 5e-4;
    run.setting("epochs", epochs);
    run.setting("batch_size", batch_size);
    run.setting("model",
                "3 x [Conv2d 3x3 (no bias) MaxPool2d(2) BatchNorm2d ReLU], channels 32, 64, 128; "
                "Flatten; Linear(2048, 10)");
    run.setting("optimizer",
                fmt::format("SGD Nesterov momentum 0.9, weight decay {}", weight_decay));
    run.setting("schedule", fmt::format("one-cycle per batch: {} -> {} over the first 25% of the "
                                        "steps, cosine down to {} (OneCycleLR, cosine)",
                                        peak_lr / 10, peak_lr, peak_lr / 1e4));
    run.setting("augmentation", "RandomCrop(32, padding 4), RandomHorizontalFlip(0.5), Normalize");

    const auto dir = run.data_dir() / "cifar-10-batches-bin";
    run.say(fmt::format("Reading CIFAR-10 from {}", dir.string()));
    auto train = milestones::load_cifar10(dir, true);
    auto test = milestones::load_cifar10(dir, false);
    milestones::normalize_cifar10(test.images);
    run.setting("train_images", train.count);
    run.setting("test_images", test.count);

    Generator generator(run.seed());
    auto model = milestones::make_milestone_net("cifar10", generator);

    // The student's loader: a new shuffle each epoch, each image randomly shifted (zero padding)
    // and mirrored, assembled on the prefetch thread while the model trains on the previous batch.
    auto train_set = std::make_shared<data::TensorDataset>(
        from_vector(std::move(train.images), {train.count, 3, 32, 32}),
        from_vector(std::move(train.labels), {train.count}));
    auto augment = std::make_shared<data::Compose>(std::vector<data::TransformPtr>{
        std::make_shared<data::RandomCrop>(32, 4),
        std::make_shared<data::RandomHorizontalFlip>(0.5),
        std::make_shared<data::Normalize>(milestones::cifar10_mean(), milestones::cifar10_std())});
    data::DataLoader loader(train_set, {.batch_size = batch_size,
                                        .shuffle = true,
                                        .seed = run.seed(),
                                        .drop_last = true,
                                        .prefetch = true,
                                        .transform = augment});

    optim::SGD optimizer(
        model->parameters(),
        optim::SGDOptions(peak_lr).momentum(0.9).nesterov(true).weight_decay(weight_decay));
    const OneCycle schedule{peak_lr, epochs * loader.num_batches()};
    std::int64_t step = 0;
    optimizer.set_lr(schedule.lr_at(0));

    int epoch = 0;
    train::TrainerOptions options;
    options.on_batch = [&](std::int64_t batch, std::int64_t total, double loss) {
      optimizer.set_lr(schedule.lr_at(++step));  // the rate of the next batch
      run.batch_progress(epoch, epochs, batch, total, loss, (batch + 1) * batch_size);
    };
    train::Trainer trainer(*model, optimizer, nn::CrossEntropyLoss(), options);

    double test_accuracy = 0.0;
    int epochs_done = 0;
    for (epoch = 1; epoch <= epochs && !milestones::Run::interrupted(); ++epoch) {
      milestones::StopOnInterrupt batches(loader);
      const double cpu0 = milestones::cpu_seconds();
      const auto stats = trainer.train_epoch(batches);
      const double train_cpu = milestones::cpu_seconds() - cpu0;
      if (milestones::Run::interrupted()) break;  // a partial epoch is not recorded
      model->eval();
      const double eval_cpu0 = milestones::cpu_seconds();
      test_accuracy = milestones::count_accuracy([&](const Tensor& x) { return (*model)(x); },
                                                 test.images, {3, 32, 32}, test.labels, 1000);
      run.end_epoch(epoch, epochs,
                    {{"train_loss", stats.loss},
                     {"train_accuracy", stats.accuracy},
                     {"test_accuracy", test_accuracy},
                     {"images_per_second", static_cast<double>(stats.samples) / stats.seconds},
                     {"train_cpu_seconds", train_cpu},
                     {"eval_cpu_seconds", milestones::cpu_seconds() - eval_cpu0}});
      epochs_done = epoch;
    }
    const bool passed = test_accuracy >= 0.75;
    if (epochs_done > 0) {
      milestones::save_trained_model(
          run, "cifar10", *model,
          {{"test_accuracy", test_accuracy}, {"epochs", epochs_done}, {"passed", passed}});
    }
    return run.finish(passed, "test accuracy >= 0.75", {{"test_accuracy", test_accuracy}});
  });
}
