// Milestone 1957: Rosenblatt's perceptron. One linear unit separates two clouds of points; the
// milestone counts the test accuracy itself. Two parts train the same unit from the same start:
//   by-hand   after module 06: the gradient of the loss from module 05, the chain rule through the
//             linear unit written out below, the update by module 06's SGD;
//   autograd  after module 07: loss.backward() fills the same gradients.
#include <fmt/format.h>

#include <functional>

#include "binary.hpp"
#include "run.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better

namespace {

struct Data {
  milestones::Points train;
  milestones::Points test;
};

/// Fills the unit's .grad for one full-batch step and returns the loss.
using GradientStep = std::function<Tensor(nn::Linear& unit, const milestones::Points& train)>;

/// dL/dz from module 05, then dL/dW and dL/db by the chain rule (grad mode off: nothing recorded).
Tensor by_hand(nn::Linear& unit, const milestones::Points& train) {
  const milestones::GradModeOff no_graph;
  const Tensor z = unit(train.x);  // (N, 1)
  (void)milestones::linear_backward(
      unit, train.x, grad::binary_cross_entropy_with_logits(z, train.y));  // dL/dz, (N, 1)
  return binary_cross_entropy_with_logits(z, train.y);
}

Tensor with_autograd(nn::Linear& unit, const milestones::Points& train) {
  Tensor loss = binary_cross_entropy_with_logits(unit(train.x), train.y);
  loss.backward();
  return loss;
}

/// Trains a fresh unit (seeded: both parts start from the same weights); returns its test accuracy.
double train_part(milestones::Run& run, const Data& data, const std::string& part,
                  const GradientStep& gradients, int epochs, double lr) {
  Generator generator(run.seed() + 1);
  nn::Linear unit(2, 1, true, nn::Init::xavier_uniform, generator);
  optim::SGD optimizer(unit.parameters(), optim::SGDOptions(lr));
  double test_accuracy = 0.0;
  for (int epoch = 1; epoch <= epochs && !milestones::Run::interrupted(); ++epoch) {
    optimizer.zero_grad();
    const Tensor loss = gradients(unit, data.train);
    optimizer.step();
    const milestones::GradModeOff no_graph;
    const double train_accuracy =
        milestones::binary_accuracy(unit(data.train.x), data.train.labels);
    test_accuracy = milestones::binary_accuracy(unit(data.test.x), data.test.labels);
    run.end_epoch(epoch, epochs,
                  {{"part", part},
                   {"train_loss", static_cast<double>(loss.item())},
                   {"train_accuracy", train_accuracy},
                   {"test_accuracy", test_accuracy}});
  }
  return test_accuracy;
}

}  // namespace

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run("perceptron", "The Perceptron (1957)", argc, argv,
                        {milestones::parts_option()});
    if (run.help_requested()) return 0;
    const auto parts = milestones::parts_to_run(run, {"by-hand", "autograd"});
    const int epochs = run.epochs(30);
    const double lr = 0.5;
    run.setting("parts", parts);
    run.setting("epochs", epochs);
    run.setting("lr", lr);
    run.setting("model", "Linear(2, 1) + sigmoid read-out");

    Generator generator(run.seed());
    const std::vector<std::pair<float, float>> centres{{-1.5f, -1.5f}, {1.5f, 1.5f}};
    Data data{milestones::make_clusters(centres, {0.0f, 1.0f}, 200, 1.0f, generator),
              milestones::make_clusters(centres, {0.0f, 1.0f}, 200, 1.0f, generator)};

    bool passed = true;
    nlohmann::json final_metrics = nlohmann::json::object();
    for (const auto& part : parts) {
      const bool hand = part == "by-hand";
      run.say(hand ? "Part 1, by hand: grad::binary_cross_entropy_with_logits (module 05), the "
                     "chain rule through Linear(2, 1), SGD (module 06)"
                   : "Part 2, autograd: the same unit trained with loss.backward() (module 07)");
      const double accuracy = train_part(
          run, data, part, hand ? GradientStep(by_hand) : GradientStep(with_autograd), epochs, lr);
      run.say(fmt::format("{}: test accuracy {:.1f}%", part, 100 * accuracy));
      final_metrics[(hand ? "by_hand" : "autograd") + std::string("_test_accuracy")] = accuracy;
      passed = passed && accuracy >= 0.95;
    }
    return run.finish(passed, "test accuracy >= 0.95 in every part run", final_metrics);
  });
}
