// Milestone 1957: Rosenblatt's perceptron. One linear unit, trained with the student's autograd and
// optimizer, separates two clouds of points; the milestone counts the test accuracy itself.
#include <fmt/format.h>

#include "binary.hpp"
#include "run.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run("perceptron", "The Perceptron (1957)", argc, argv);
    if (run.help_requested()) return 0;
    const int epochs = run.epochs(30);
    const double lr = 0.5;
    run.setting("epochs", epochs);
    run.setting("lr", lr);
    run.setting("model", "Linear(2, 1) + sigmoid read-out");

    Generator generator(run.seed());
    const std::vector<std::pair<float, float>> centres{{-1.5f, -1.5f}, {1.5f, 1.5f}};
    const auto train = milestones::make_clusters(centres, {0.0f, 1.0f}, 200, 1.0f, generator);
    const auto test = milestones::make_clusters(centres, {0.0f, 1.0f}, 200, 1.0f, generator);

    nn::Linear model(2, 1, true, nn::Init::xavier_uniform, generator);
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(lr));
    run.say("Training one linear unit on two separable clusters (400 points)...");
    double test_accuracy = 0.0;
    for (int epoch = 1; epoch <= epochs && !milestones::Run::interrupted(); ++epoch) {
      optimizer.zero_grad();
      Tensor loss = binary_cross_entropy_with_logits(model(train.x), train.y);
      loss.backward();
      optimizer.step();
      autograd::GradMode::set_enabled(false);
      const double train_accuracy = milestones::binary_accuracy(model(train.x), train.labels);
      test_accuracy = milestones::binary_accuracy(model(test.x), test.labels);
      autograd::GradMode::set_enabled(true);
      run.end_epoch(epoch, epochs,
                    {{"train_loss", static_cast<double>(loss.item())},
                     {"train_accuracy", train_accuracy},
                     {"test_accuracy", test_accuracy}});
    }
    const bool passed = test_accuracy >= 0.95;
    return run.finish(passed, "test accuracy >= 0.95", {{"test_accuracy", test_accuracy}});
  });
}
