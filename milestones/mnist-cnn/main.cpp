// Milestone 1998: LeCun, Bottou, Bengio and Haffner's convolutional net reads handwritten digits.
// A LeNet-5-shaped net (two 5 x 5 convolutions with pooling, then three linear layers), with batch
// normalisation added, trained on the real MNIST through the student's Conv2d, BatchNorm2d,
// MaxPool2d, DataLoader (prefetching), Adam, schedule and Trainer; the test accuracy is counted
// here.
#include <fmt/format.h>

#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "idx.hpp"
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

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run(
        "mnist-cnn", "Handwritten digits with a convolutional net (1998)", argc, argv,
        {{"--model-dir", "DIR",
          "where the trained model is saved (default .tito/milestones/mnist-cnn)"}});
    if (run.help_requested()) return 0;
    const int epochs = run.epochs(4);
    const std::int64_t batch_size = 128;
    const double lr = 2e-3;
    run.setting("epochs", epochs);
    run.setting("batch_size", batch_size);
    run.setting("optimizer", fmt::format("Adam lr {}, cosine annealing per epoch to 0", lr));
    run.setting("model",
                "Conv2d(1, 16, 5, padding 2) BatchNorm2d ReLU MaxPool2d(2), "
                "Conv2d(16, 32, 5) BatchNorm2d ReLU MaxPool2d(2), Flatten, "
                "Linear(800, 120) ReLU Linear(120, 84) ReLU Linear(84, 10)");

    // The images are read and normalised by the milestone (mean 0.1307, sd 0.3081), not by the
    // student's reader, so the gate counts the real test set.
    const auto mnist_dir = run.data_dir() / "mnist";
    run.say(fmt::format("Reading MNIST from {}", mnist_dir.string()));
    auto train = milestones::load_mnist(mnist_dir, true);
    const auto test = milestones::load_mnist(mnist_dir, false);
    run.setting("train_images", train.count);
    run.setting("test_images", test.count);

    Generator generator(run.seed());
    const auto net = milestones::make_milestone_net("mnist-cnn", generator);
    nn::Sequential& model = *net;
    optim::Adam optimizer(model.parameters(), optim::AdamOptions(lr));
    train::CosineAnnealingLR schedule(optimizer, epochs);

    auto train_set = std::make_shared<data::TensorDataset>(
        from_vector(std::move(train.images), {train.count, 1, 28, 28}),
        from_vector(std::move(train.labels), {train.count}));
    data::DataLoader loader(
        train_set,
        {.batch_size = batch_size, .shuffle = true, .seed = run.seed(), .prefetch = true});

    int epoch = 0;
    train::TrainerOptions options;
    options.on_batch = [&](std::int64_t batch, std::int64_t total, double loss) {
      run.batch_progress(epoch, epochs, batch, total, loss, (batch + 1) * batch_size);
    };
    train::Trainer trainer(model, optimizer, nn::CrossEntropyLoss(), options);

    double test_accuracy = 0.0;
    int epochs_done = 0;
    for (epoch = 1; epoch <= epochs && !milestones::Run::interrupted(); ++epoch) {
      milestones::StopOnInterrupt batches(loader);
      const double cpu0 = milestones::cpu_seconds();
      const auto stats = trainer.train_epoch(batches);
      const double train_cpu = milestones::cpu_seconds() - cpu0;
      if (milestones::Run::interrupted()) break;  // a partial epoch is not recorded
      schedule.step();
      model.eval();
      test_accuracy = milestones::count_accuracy([&](const Tensor& x) { return model(x); },
                                                 test.images, {1, 28, 28}, test.labels);
      run.end_epoch(epoch, epochs,
                    {{"train_loss", stats.loss},
                     {"train_accuracy", stats.accuracy},
                     {"test_accuracy", test_accuracy},
                     {"train_cpu_seconds", train_cpu},
                     {"images_per_second", static_cast<double>(stats.samples) / stats.seconds}});
      epochs_done = epoch;
    }
    const bool passed = test_accuracy >= 0.99;
    if (epochs_done > 0) {
      milestones::save_trained_model(
          run, "mnist-cnn", model,
          {{"test_accuracy", test_accuracy}, {"epochs", epochs_done}, {"passed", passed}});
    }
    return run.finish(passed, "test accuracy >= 0.99", {{"test_accuracy", test_accuracy}});
  });
}
