// Milestone 1969: the XOR problem. A single linear unit cannot separate XOR (at best 3 of the 4
// corners); one hidden layer can. The milestone counts the accuracies itself. Two parts train the
// same two models from the same start:
//   by-hand   after module 06: the loss gradient of module 05 and the chain rule through
//             Linear -> Tanh -> Linear written out below (module 07's README derives the same
//             seven lines), the update by module 06's Adam;
//   autograd  after module 07: loss.backward() fills the same gradients.
#include <fmt/format.h>

#include <functional>

#include "binary.hpp"
#include "run.hpp"
#include "tinytorch/activations.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better

namespace {

/// Linear(2, hidden) -> Tanh -> Linear(hidden, 1), or one Linear(2, 1) when hidden == 0. Plain
/// members rather than a Sequential, so the by-hand backward can name each layer.
struct Model {
  Model(std::int64_t hidden, Generator& generator)
      : first(2, hidden > 0 ? hidden : 1, true, nn::Init::xavier_uniform, generator),
        second(hidden > 0 ? hidden : 1, 1, true, nn::Init::xavier_uniform, generator),
        has_hidden(hidden > 0) {}

  [[nodiscard]] std::vector<Tensor> parameters() const {
    std::vector<Tensor> all = first.parameters();
    if (has_hidden) {
      for (const Tensor& p : second.parameters()) all.push_back(p);
    }
    return all;
  }
  [[nodiscard]] Tensor forward(const Tensor& x) {
    return has_hidden ? second(tanh(first(x))) : first(x);
  }

  nn::Linear first;
  nn::Linear second;
  bool has_hidden;
};

/// Fills the model's .grad for one full-batch step and returns the loss.
using GradientStep = std::function<Tensor(Model& model, const milestones::Points& train)>;

/// h = tanh(x W1^T + b1), z = h W2^T + b2, L = bce(z, t); backwards from dL/dz (module 05):
/// dW2, db2 and dh from the second layer, dh * (1 - h^2) through tanh, dW1 and db1 from the first.
/// Grad mode off: nothing is recorded, nothing of module 07 runs.
Tensor by_hand(Model& model, const milestones::Points& train) {
  const milestones::GradModeOff no_graph;
  if (!model.has_hidden) {
    const Tensor z = model.first(train.x);  // (N, 1)
    (void)milestones::linear_backward(model.first, train.x,
                                      grad::binary_cross_entropy_with_logits(z, train.y));
    return binary_cross_entropy_with_logits(z, train.y);
  }
  const Tensor h = tanh(model.first(train.x));                           // (N, H)
  const Tensor z = model.second(h);                                      // (N, 1)
  const Tensor dz = grad::binary_cross_entropy_with_logits(z, train.y);  // (N, 1)
  const Tensor dh = milestones::linear_backward(model.second, h, dz);    // (N, H)
  const Tensor da = dh * (1.0f - h * h);                                 // tanh' = 1 - tanh^2
  (void)milestones::linear_backward(model.first, train.x, da);
  return binary_cross_entropy_with_logits(z, train.y);
}

Tensor with_autograd(Model& model, const milestones::Points& train) {
  Tensor loss = binary_cross_entropy_with_logits(model.forward(train.x), train.y);
  loss.backward();
  return loss;
}

/// Full-batch Adam on the training points; returns the test accuracy after the last step.
double fit(milestones::Run& run, Model& model, const milestones::Points& train,
           const milestones::Points& test, int steps, const std::string& label,
           const GradientStep& gradients) {
  optim::Adam optimizer(model.parameters(), optim::AdamOptions(0.05));
  double test_accuracy = 0.0;
  const int report_every = std::max(1, steps / 10);
  for (int step = 1; step <= steps && !milestones::Run::interrupted(); ++step) {
    optimizer.zero_grad();
    const Tensor loss = gradients(model, train);
    optimizer.step();
    if (step % report_every == 0 || step == steps) {
      const milestones::GradModeOff no_graph;
      test_accuracy = milestones::binary_accuracy(model.forward(test.x), test.labels);
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
    milestones::Run run("xor", "The XOR problem (1969)", argc, argv, {milestones::parts_option()});
    if (run.help_requested()) return 0;
    const auto parts = milestones::parts_to_run(run, {"by-hand", "autograd"});
    const int steps = run.epochs(400);
    run.setting("parts", parts);
    run.setting("steps", steps);
    run.setting("optimizer", "Adam lr 0.05, full batch");

    Generator data_generator(run.seed());
    const std::vector<std::pair<float, float>> corners{{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    const std::vector<float> xor_labels{0, 1, 1, 0};
    const auto train = milestones::make_clusters(corners, xor_labels, 100, 0.1f, data_generator);
    const auto test = milestones::make_clusters(corners, xor_labels, 100, 0.1f, data_generator);

    bool passed = true;
    nlohmann::json final_metrics = nlohmann::json::object();
    for (const auto& part : parts) {
      const bool hand = part == "by-hand";
      const GradientStep gradients = hand ? GradientStep(by_hand) : GradientStep(with_autograd);
      const std::string key = hand ? "by_hand" : "autograd";
      run.say(hand ? "Part 1, by hand: grad::binary_cross_entropy_with_logits (module 05), the "
                     "chain rule written out, Adam (module 06)"
                   : "Part 2, autograd: the same models trained with loss.backward() (module 07)");
      Generator generator(run.seed() + 1);  // both parts start from the same weights
      run.say("  a) a single linear unit: Linear(2, 1)");
      Model single(0, generator);
      const double single_accuracy =
          fit(run, single, train, test, steps, part + ", single layer", gradients);
      run.say("  b) one hidden layer: Linear(2, 8) -> Tanh -> Linear(8, 1)");
      Model mlp(8, generator);
      const double mlp_accuracy =
          fit(run, mlp, train, test, steps, part + ", two-layer MLP", gradients);
      run.say(
          fmt::format("{}: single layer {:.1f}% (a line gets at most 3 of 4 corners right), "
                      "two-layer MLP {:.1f}%",
                      part, 100 * single_accuracy, 100 * mlp_accuracy));
      final_metrics[key + "_single_layer_accuracy"] = single_accuracy;
      final_metrics[key + "_mlp_accuracy"] = mlp_accuracy;
      passed = passed && single_accuracy <= 0.75 && mlp_accuracy == 1.0;
    }
    return run.finish(passed,
                      "in every part run: single layer accuracy <= 0.75 and MLP accuracy == 1.0",
                      final_metrics);
  });
}
