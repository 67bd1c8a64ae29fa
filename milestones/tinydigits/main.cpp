// The course's first real data, with no download: an MLP learns to read handwritten digits from
// the 3,000 MNIST images that ship with the course (datasets/tinydigits, 300 of each digit) and is
// judged on 1,000 held-out ones, counted here. The full MNIST (`tito data fetch mnist`) is the
// `mnist` milestone's; this one is what `scripts/quickstart` runs on a fresh machine.
#include <fmt/format.h>

#include "idx.hpp"
#include "run.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/training.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run("tinydigits", "Handwritten digits from the course's own 3,000 (1986)", argc,
                        argv);
    if (run.help_requested()) return 0;
    const int epochs = run.epochs(20);
    const std::int64_t batch_size = 64;
    const double lr = 2e-3;
    const double gate = 0.88;
    run.setting("epochs", epochs);
    run.setting("batch_size", batch_size);
    run.setting("optimizer", fmt::format("Adam lr {} with cosine annealing to 0", lr));
    run.setting("model", "Linear(784, 128) ReLU Linear(128, 64) ReLU Linear(64, 10)");

    const auto digits_dir = run.data_dir() / "tinydigits";
    run.say(fmt::format("Reading the course's digits from {}", digits_dir.string()));
    const auto train = milestones::load_mnist(digits_dir, true);
    const auto test = milestones::load_mnist(digits_dir, false);
    run.setting("train_images", train.count);
    run.setting("test_images", test.count);

    Generator generator(run.seed());
    nn::Sequential model(
        nn::Linear(784, 128, true, nn::Init::kaiming_uniform, generator), nn::ReLU(),
        nn::Linear(128, 64, true, nn::Init::kaiming_uniform, generator), nn::ReLU(),
        nn::Linear(64, 10, true, nn::Init::kaiming_uniform, generator));
    optim::Adam optimizer(model.parameters(), optim::AdamOptions(lr));
    train::CosineAnnealingLR schedule(optimizer, epochs);
    train::TensorBatches batches(from_vector(train.images, {train.count, 784}),
                                 from_vector(train.labels, {train.count}), batch_size,
                                 /*shuffle=*/true, run.seed());
    int epoch = 0;
    train::TrainerOptions options;
    options.on_batch = [&](std::int64_t batch, std::int64_t total, double loss) {
      run.batch_progress(epoch, epochs, batch, total, loss, (batch + 1) * batch_size);
    };
    train::Trainer trainer(model, optimizer, nn::CrossEntropyLoss(), options);

    double test_accuracy = 0.0;
    for (epoch = 1; epoch <= epochs && !milestones::Run::interrupted(); ++epoch) {
      const auto stats = trainer.train_epoch(batches);
      schedule.step();
      model.eval();
      test_accuracy = milestones::count_accuracy([&](const Tensor& x) { return model(x); },
                                                 test.images, {784}, test.labels);
      run.end_epoch(epoch, epochs,
                    {{"train_loss", stats.loss},
                     {"train_accuracy", stats.accuracy},
                     {"test_accuracy", test_accuracy}});
    }
    run.say(
        "This was 3,000 of MNIST's 60,000 training images. For the full set: `tito data fetch "
        "mnist` (or point TINYTORCH_DATA at a folder holding mnist/), then `tito milestone run "
        "mnist`.");
    return run.finish(test_accuracy >= gate, fmt::format("test accuracy >= {}", gate),
                      {{"test_accuracy", test_accuracy}});
  });
}
