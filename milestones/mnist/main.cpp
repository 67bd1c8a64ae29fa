// Milestone 1986: backpropagation reads handwritten digits. An MLP 784-128-64-10 trained on the
// real MNIST with the student's Trainer, Adam and autograd; the test accuracy is counted here.
#include <fmt/format.h>

#include "idx.hpp"
#include "run.hpp"
#include "saved_model.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/training.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run("mnist", "Handwritten digits with an MLP (1986)", argc, argv,
                        {{"--model-dir", "DIR",
                          "where the trained model is saved (default .tito/milestones/mnist)"}});
    if (run.help_requested()) return 0;
    const int epochs = run.epochs(12);
    const std::int64_t batch_size = 128;
    const double lr = 2e-3;
    run.setting("epochs", epochs);
    run.setting("batch_size", batch_size);
    run.setting("optimizer", fmt::format("Adam lr {} with cosine annealing to 0", lr));
    run.setting("model", "Linear(784, 128) ReLU Linear(128, 64) ReLU Linear(64, 10)");

    const auto mnist_dir = run.data_dir() / "mnist";
    run.say(fmt::format("Reading MNIST from {}", mnist_dir.string()));
    const auto train = milestones::load_mnist(mnist_dir, true);
    const auto test = milestones::load_mnist(mnist_dir, false);
    run.setting("train_images", train.count);
    run.setting("test_images", test.count);

    Generator generator(run.seed());
    const auto net = milestones::make_milestone_net("mnist", generator);
    nn::Sequential& model = *net;
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
    int epochs_done = 0;
    for (epoch = 1; epoch <= epochs && !milestones::Run::interrupted(); ++epoch) {
      const auto stats = trainer.train_epoch(batches);
      schedule.step();
      model.eval();
      test_accuracy = milestones::count_accuracy([&](const Tensor& x) { return model(x); },
                                                 test.images, {784}, test.labels);
      run.end_epoch(epoch, epochs,
                    {{"train_loss", stats.loss},
                     {"train_accuracy", stats.accuracy},
                     {"test_accuracy", test_accuracy},
                     {"images_per_second", static_cast<double>(stats.samples) / stats.seconds}});
      epochs_done = epoch;
    }
    const bool passed = test_accuracy >= 0.98;
    if (epochs_done > 0) {
      milestones::save_trained_model(
          run, "mnist", model,
          {{"test_accuracy", test_accuracy}, {"epochs", epochs_done}, {"passed", passed}});
    }
    return run.finish(passed, "test accuracy >= 0.98", {{"test_accuracy", test_accuracy}});
  });
}
