// Milestone 1969: the XOR problem. A single linear unit cannot separate XOR (at best 3 of the 4
// corners); one hidden layer can. Both are trained with the student's framework; the milestone
// counts the accuracies itself.
#include <fmt/format.h>

#include "binary.hpp"
#include "run.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better

namespace {

// Full-batch Adam on the training points; returns the test accuracy after the last step.
double fit(milestones::Run& run, nn::Module& model, const milestones::Points& train,
           const milestones::Points& test, int steps, const std::string& label) {
  optim::Adam optimizer(model.parameters(), optim::AdamOptions(0.05));
  double test_accuracy = 0.0;
  const int report_every = std::max(1, steps / 10);
  for (int step = 1; step <= steps && !milestones::Run::interrupted(); ++step) {
    optimizer.zero_grad();
    Tensor loss = binary_cross_entropy_with_logits(model(train.x), train.y);
    loss.backward();
    optimizer.step();
    if (step % report_every == 0 || step == steps) {
      autograd::GradMode::set_enabled(false);
      test_accuracy = milestones::binary_accuracy(model(test.x), test.labels);
      autograd::GradMode::set_enabled(true);
      run.end_epoch(step, steps,
                    {{"model", label},
                     {"train_loss", static_cast<double>(loss.item())},
                     {"test_accuracy", test_accuracy}});
    }
  }
  return test_accuracy;
}

}  // namespace

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run("xor", "The XOR problem (1969)", argc, argv);
    if (run.help_requested()) return 0;
    const int steps = run.epochs(400);
    run.setting("steps", steps);
    run.setting("optimizer", "Adam lr 0.05, full batch");

    Generator generator(run.seed());
    const std::vector<std::pair<float, float>> corners{{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    const std::vector<float> xor_labels{0, 1, 1, 0};
    const auto train = milestones::make_clusters(corners, xor_labels, 100, 0.1f, generator);
    const auto test = milestones::make_clusters(corners, xor_labels, 100, 0.1f, generator);

    run.say("1) A single linear unit: Linear(2, 1)");
    nn::Linear single(2, 1, true, nn::Init::xavier_uniform, generator);
    const double single_accuracy = fit(run, single, train, test, steps, "single layer");

    run.say("2) One hidden layer: Linear(2, 8) -> Tanh -> Linear(8, 1)");
    nn::Sequential mlp(nn::Linear(2, 8, true, nn::Init::xavier_uniform, generator), nn::Tanh(),
                       nn::Linear(8, 1, true, nn::Init::xavier_uniform, generator));
    const double mlp_accuracy = fit(run, mlp, train, test, steps, "two-layer MLP");

    run.say(fmt::format("single layer: {:.1f}% (a line can get at most 3 of 4 corners right)",
                        100 * single_accuracy));
    run.say(fmt::format("two-layer MLP: {:.1f}%", 100 * mlp_accuracy));
    const bool passed = single_accuracy <= 0.75 && mlp_accuracy == 1.0;
    return run.finish(passed, "single layer accuracy <= 0.75 and MLP accuracy == 1.0",
                      {{"single_layer_accuracy", single_accuracy}, {"mlp_accuracy", mlp_accuracy}});
  });
}
