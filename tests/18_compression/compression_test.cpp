// Hidden grading suite for module 18 (compression). Tiny synthetic models only: no training of real
// models. Expected numbers come from mathematics, each derived in a comment or computed here in
// double from the definitions (KL divergence, Eckart-Young), never typed in from a run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/compression.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)

namespace {

std::int64_t count_zeros(const Tensor& t) {
  std::int64_t n = 0;
  for (float v : t.to_vector()) n += v == 0.0f ? 1 : 0;
  return n;
}

// A small MLP whose two layers have very different scales: the second layer's weights are 100x
// the first's, so a global threshold prunes the first layer far more.
std::shared_ptr<nn::Sequential> two_scale_mlp() {
  Generator g(11);
  auto model = std::make_shared<nn::Sequential>(
      nn::Linear(6, 5, true, nn::Init::kaiming_uniform, g), nn::ReLU(),
      nn::Linear(5, 4, true, nn::Init::kaiming_uniform, g));
  auto second = std::dynamic_pointer_cast<nn::Linear>((*model)[2]);
  second->weight.mul_(100.0f);
  return model;
}

// The KL term, loss and gradient of distillation computed from the definitions in double.
struct DistillReference {
  double loss = 0.0;
  std::vector<double> grad;  // dloss / dstudent, row-major (N, C)
};

DistillReference distill_reference(const std::vector<float>& s, const std::vector<float>& t,
                                   const std::vector<int>& y, int N, int C, double T,
                                   double alpha) {
  auto softmax_row = [&](const std::vector<float>& z, int n, double scale) {
    std::vector<double> p(C);
    double mx = -1e300;
    for (int c = 0; c < C; ++c) mx = std::max(mx, z[n * C + c] / scale);
    double sum = 0.0;
    for (int c = 0; c < C; ++c) sum += (p[c] = std::exp(z[n * C + c] / scale - mx));
    for (double& v : p) v /= sum;
    return p;
  };
  DistillReference r;
  r.grad.assign(static_cast<std::size_t>(N * C), 0.0);
  double kl = 0.0;
  double ce = 0.0;
  for (int n = 0; n < N; ++n) {
    const auto p = softmax_row(t, n, T);     // teacher, softened
    const auto q = softmax_row(s, n, T);     // student, softened
    const auto q1 = softmax_row(s, n, 1.0);  // student at T = 1 for the hard loss
    for (int c = 0; c < C; ++c) {
      kl += p[c] * (std::log(p[c]) - std::log(q[c]));
      // d(T^2 KL / N)/ds = T (q - p) / N;  d(CE)/ds = (softmax(s) - onehot) / N.
      r.grad[n * C + c] =
          alpha * T * (q[c] - p[c]) / N + (1 - alpha) * (q1[c] - (c == y[n] ? 1.0 : 0.0)) / N;
    }
    ce -= std::log(q1[y[n]]);
  }
  r.loss = alpha * T * T * kl / N + (1 - alpha) * ce / N;
  return r;
}

const std::vector<float> kStudent = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f, 1.0f, -1.0f, 2.5f, 0.3f};
const std::vector<float> kTeacher = {4.0f, -1.0f, 0.0f, 0.5f, 2.0f, -3.0f, 1.0f, 1.0f, 3.0f};
const std::vector<int> kLabels = {0, 1, 2};

}  // namespace

// ---- prune_count and magnitude masks ----

TEST(PruneCount, RoundsTheAmountTimesTheCount) {
  EXPECT_EQ(compress::prune_count(0.5, 10), 5);
  EXPECT_EQ(compress::prune_count(0.7, 5), 4);  // 3.5 rounds to 4, not down to 3
  EXPECT_EQ(compress::prune_count(0.0, 7), 0);
}

TEST(PruneCount, RejectsAmountsOutsideZeroToOne) {
  EXPECT_THROW((void)compress::prune_count(1.0, 10), std::invalid_argument);
  EXPECT_THROW((void)compress::prune_count(1.5, 10), std::invalid_argument);
  EXPECT_THROW((void)compress::prune_count(-0.01, 10), std::invalid_argument);
  EXPECT_THROW((void)compress::prune_count(std::nan(""), 10), std::invalid_argument);
}

TEST(PruneCount, TheErrorNamesTheAmount) {
  try {
    (void)compress::prune_count(1.25, 10);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("1.25"), std::string::npos) << e.what();
  }
}

TEST(MagnitudeMask, LargeNegativeWeightsAreKept) {
  const Tensor w = from_vector({-9.0f, -8.0f, 0.5f, 1.0f, -0.25f, 7.0f}, {3, 2});
  // 50% of 6 = 3 go: the magnitudes 0.25, 0.5 and 1.0.
  EXPECT_EQ(compress::magnitude_mask(w, 0.5).to_vector(), (std::vector<float>{1, 1, 0, 0, 0, 1}));
}

TEST(MagnitudeMask, HasTheWeightsShapeAndPrunesExactlyTheCount) {
  Generator g(5);
  const Tensor w = randn({4, 3, 2, 2}, g);
  const Tensor mask = compress::magnitude_mask(w, 0.7);
  EXPECT_EQ(mask.shape(), w.shape());
  EXPECT_EQ(count_zeros(mask), 34);  // round(0.7 * 48) = round(33.6)
}

TEST(MagnitudeMask, TiesPruneTheLowerIndexFirst) {
  const Tensor w = from_vector({1.0f, -1.0f, 1.0f, 2.0f}, {4});
  EXPECT_EQ(compress::magnitude_mask(w, 0.5).to_vector(), (std::vector<float>{0, 0, 1, 1}));
}

TEST(MagnitudeMask, DoesNotChangeTheWeight) {
  const Tensor w = from_vector({3.0f, -1.0f, 2.0f}, {3});
  (void)compress::magnitude_mask(w, 0.5);
  EXPECT_EQ(w.to_vector(), (std::vector<float>{3.0f, -1.0f, 2.0f}));
}

TEST(GlobalMasks, PruneBelowOneThresholdAcrossTensors) {
  const Tensor a = from_vector({0.3f, -5.0f, 0.1f}, {3});
  const Tensor b = from_vector({-0.2f, 4.0f, 0.4f, 6.0f}, {2, 2});
  // 4 of 7 go: 0.1, 0.2, 0.3, 0.4, wherever they sit.
  const auto masks = compress::global_magnitude_masks({a, b}, 4.0 / 7.0);
  ASSERT_EQ(masks.size(), 2u);
  EXPECT_EQ(masks[0].to_vector(), (std::vector<float>{0, 1, 0}));
  EXPECT_EQ(masks[1].to_vector(), (std::vector<float>{0, 1, 0, 1}));
  EXPECT_EQ(masks[1].shape(), (Shape{2, 2}));
}

TEST(GlobalMasks, RejectABadAmount) {
  EXPECT_THROW((void)compress::global_magnitude_masks({ones({2})}, 1.0), std::invalid_argument);
}

// ---- Pruner ----

TEST(Pruner, FindsTheWeightsOfLinearAndConvLayersByTheirDottedNames) {
  Generator g(1);
  nn::Sequential model(nn::Conv2d(1, 2, 3, 1, 0, true, g), nn::ReLU(), nn::Flatten(),
                       nn::Linear(8, 3, true, nn::Init::kaiming_uniform, g));
  const auto named = compress::prunable_weights(model);
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "0.weight");
  EXPECT_EQ(named[1].first, "3.weight");
  EXPECT_TRUE(
      named[1].second.shares_storage(std::dynamic_pointer_cast<nn::Linear>(model[3])->weight));
}

TEST(Pruner, PerLayerPrunesEachLayerByTheAmount) {
  auto model = two_scale_mlp();
  const auto pruner = compress::Pruner::per_layer(*model, 0.6);
  EXPECT_EQ(count_zeros(std::dynamic_pointer_cast<nn::Linear>((*model)[0])->weight), 18);  // 0.6*30
  EXPECT_EQ(count_zeros(std::dynamic_pointer_cast<nn::Linear>((*model)[2])->weight), 12);  // 0.6*20
}

TEST(Pruner, GlobalPrunesTheSmallScaleLayerFirst) {
  auto model = two_scale_mlp();
  const auto pruner = compress::Pruner::global(*model, 0.6);  // 30 of 50 weights
  EXPECT_EQ(count_zeros(std::dynamic_pointer_cast<nn::Linear>((*model)[0])->weight), 30);
  EXPECT_EQ(count_zeros(std::dynamic_pointer_cast<nn::Linear>((*model)[2])->weight), 0);
}

TEST(Pruner, LeavesBiasesDense) {
  auto model = two_scale_mlp();
  const auto pruner = compress::Pruner::global(*model, 0.9);
  EXPECT_EQ(count_zeros(std::dynamic_pointer_cast<nn::Linear>((*model)[0])->bias), 0);
}

TEST(Pruner, ReportCountsZerosInTheWeights) {
  auto model = two_scale_mlp();
  const auto pruner = compress::Pruner::global(*model, 0.6);
  auto first = std::dynamic_pointer_cast<nn::Linear>((*model)[0]);
  first->weight.fill_(0.0f);  // zeros the masks do not know about are still zeros
  const auto report = pruner.report();
  ASSERT_EQ(report.size(), 3u);
  EXPECT_EQ(report[0].name, "0.weight");
  EXPECT_EQ(report[0].numel, 30);
  EXPECT_EQ(report[0].zeros, 30);
  EXPECT_DOUBLE_EQ(report[0].sparsity, 1.0);
  EXPECT_EQ(report[1].name, "2.weight");
  EXPECT_EQ(report[1].zeros, 0);
  EXPECT_EQ(report[2].name, "total");
  EXPECT_EQ(report[2].numel, 50);
  EXPECT_DOUBLE_EQ(report[2].sparsity, 30.0 / 50.0);
}

TEST(Pruner, ApplyPutsPrunedWeightsBackToZero) {
  auto model = two_scale_mlp();
  const auto pruner = compress::Pruner::per_layer(*model, 0.5);
  auto first = std::dynamic_pointer_cast<nn::Linear>((*model)[0]);
  first->weight.fill_(1.0f);
  pruner.apply();
  EXPECT_EQ(count_zeros(first->weight), 15);
}

TEST(Pruner, MasksSurviveFineTuningWithMomentum) {
  auto model = two_scale_mlp();
  const auto pruner = compress::Pruner::per_layer(*model, 0.7);
  optim::SGD sgd(model->parameters(), optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01));
  Generator g(3);
  const Tensor x = randn({8, 6}, g);
  const Tensor y = from_vector({0, 1, 2, 3, 0, 1, 2, 3}, {8});
  for (int step = 0; step < 3; ++step) {
    (void)compress::pruned_train_step(*model, sgd, pruner, cross_entropy, x, y);
  }
  for (const auto& e : pruner.entries()) {
    const auto w = e.weight.to_vector();
    const auto m = e.mask.to_vector();
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (m[i] == 0.0f) EXPECT_EQ(w[i], 0.0f) << e.name << "[" << i << "] grew back";
    }
  }
}

TEST(Pruner, FineTuningChangesTheKeptWeightsAndReturnsTheLoss) {
  auto model = two_scale_mlp();
  const auto pruner = compress::Pruner::per_layer(*model, 0.5);
  auto first = std::dynamic_pointer_cast<nn::Linear>((*model)[0]);
  const auto before = first->weight.to_vector();
  optim::Adam adam(model->parameters(), optim::AdamOptions(0.01));
  Generator g(4);
  const Tensor x = randn({8, 6}, g);
  const Tensor y = from_vector({0, 1, 2, 3, 0, 1, 2, 3}, {8});
  const double expected = cross_entropy((*model)(x), y).item();
  EXPECT_NEAR(compress::pruned_train_step(*model, adam, pruner, cross_entropy, x, y), expected,
              1e-5);
  EXPECT_NE(first->weight.to_vector(), before);
  EXPECT_EQ(count_zeros(first->weight), 15);
}

TEST(Pruner, AStepOnInputsAndTargetsOfDifferentBatchSizesIsAnError) {
  auto model = two_scale_mlp();
  const auto pruner = compress::Pruner::per_layer(*model, 0.5);
  optim::SGD sgd(model->parameters(), optim::SGDOptions(0.1));
  EXPECT_THROW((void)compress::pruned_train_step(*model, sgd, pruner, cross_entropy, zeros({4, 6}),
                                                 zeros({3})),
               std::invalid_argument);
}

// ---- structured pruning ----

TEST(OutputNorms, AreTheL2NormOfEachFilter) {
  const Tensor w =
      from_vector({3, 4, 0, 0, 1, 2, 2, 0}, {2, 1, 2, 2});  // filters (3,4,0,0), (1,2,2,0)
  EXPECT_EQ(compress::output_norms(w).to_vector(), (std::vector<float>{5.0f, 3.0f}));
  EXPECT_THROW((void)compress::output_norms(ones({4})), std::invalid_argument);
}

TEST(UnitsToKeep, KeepsTheLargestNormsInIncreasingOrder) {
  const Tensor norms = from_vector({0.5f, 3.0f, 0.1f, 2.0f, 1.0f}, {5});
  // round(0.4 * 5) = 2 go (0.1 and 0.5): units 1, 3, 4 stay, listed in order.
  EXPECT_EQ(compress::units_to_keep(norms, 0.4), (std::vector<std::int64_t>{1, 3, 4}));
}

TEST(UnitsToKeep, AlwaysKeepsOneUnit) {
  EXPECT_EQ(compress::units_to_keep(from_vector({1.0f, 2.0f}, {2}), 0.9),
            (std::vector<std::int64_t>{1}));
  EXPECT_THROW((void)compress::units_to_keep(ones({3}), 1.0), std::invalid_argument);
}

TEST(SelectOutputs, TakesRowsInTheGivenOrder) {
  const Tensor t = from_vector({0, 1, 10, 11, 20, 21}, {3, 2});
  EXPECT_EQ(compress::select_outputs(t, {0, 2}).to_vector(), (std::vector<float>{0, 1, 20, 21}));
  EXPECT_THROW((void)compress::select_outputs(t, {3}), std::out_of_range);
}

TEST(SelectInputs, TakesWholeGroupsOfColumns) {
  // (2, 6): 3 units of 2 features each; keep units 0 and 2 -> columns 0, 1, 4, 5.
  const Tensor w = from_vector({0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}, {2, 6});
  EXPECT_EQ(compress::select_inputs(w, {0, 2}, 3, 2).to_vector(),
            (std::vector<float>{0, 1, 4, 5, 10, 11, 14, 15}));
}

TEST(SelectInputs, TakesInputChannelsOfAConvWeight) {
  // (1, 3, 1, 2): keep input channel 1 -> its 1 x 2 kernel.
  const Tensor w = from_vector({0, 1, 2, 3, 4, 5}, {1, 3, 1, 2});
  const Tensor s = compress::select_inputs(w, {1}, 3);
  EXPECT_EQ(s.shape(), (Shape{1, 1, 1, 2}));
  EXPECT_EQ(s.to_vector(), (std::vector<float>{2, 3}));
}

TEST(SelectInputs, ShapesThatDoNotMatchAreAnError) {
  EXPECT_THROW((void)compress::select_inputs(ones({2, 7}), {0}, 3, 2), std::invalid_argument);
}

// A conv net in which the smallest-norm channels are exactly zero: pruning them must not change
// the output at all, so any slicing mistake shows.
TEST(PruneChannels, RemovingDeadChannelsKeepsTheOutputOfAConvNet) {
  Generator g(7);
  nn::Sequential model(nn::Conv2d(2, 4, 3, 1, 1, false, g), nn::BatchNorm2d(4), nn::ReLU(),
                       nn::MaxPool2d(2), nn::Conv2d(4, 6, 3, 1, 0, true, g), nn::ReLU(),
                       nn::Flatten(), nn::Linear(6 * 2 * 2, 5, true, nn::Init::kaiming_uniform, g),
                       nn::Tanh(), nn::Linear(5, 3, true, nn::Init::kaiming_uniform, g));
  auto conv1 = std::dynamic_pointer_cast<nn::Conv2d>(model[0]);
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d>(model[1]);
  auto conv2 = std::dynamic_pointer_cast<nn::Conv2d>(model[4]);
  auto fc1 = std::dynamic_pointer_cast<nn::Linear>(model[7]);
  // Kill conv1 channels 1 and 3 (BN then adds only its shift beta = 0, ReLU gives 0).
  for (std::int64_t c : {1, 3}) {
    for (std::int64_t i = 0; i < 2 * 9; ++i) conv1->weight.data()[c * 18 + i] = 0.0f;
  }
  bn->running_mean.copy_(from_vector({0.1f, 0.0f, -0.2f, 0.0f}, {4}));
  bn->running_var.copy_(from_vector({1.5f, 1.0f, 0.5f, 1.0f}, {4}));
  bn->weight.copy_(from_vector({1.2f, 0.7f, 0.9f, 1.1f}, {4}));
  // Kill conv2 channels 0, 2, 5 (weights and bias): their 4 flattened features each read 0.
  for (std::int64_t c : {0, 2, 5}) {
    for (std::int64_t i = 0; i < 4 * 9; ++i) conv2->weight.data()[c * 36 + i] = 0.0f;
    conv2->bias.data()[c] = 0.0f;
  }
  // Kill fc1 units 1 and 4 (Tanh after fc1, not ReLU: a ReLU here zeroed every live unit of this
  // seed, and the output would not depend on the slicing above it).
  for (std::int64_t o : {1, 4}) {
    for (std::int64_t i = 0; i < 24; ++i) fc1->weight.data()[o * 24 + i] = 0.0f;
    fc1->bias.data()[o] = 0.0f;
  }
  model.eval();
  // amount 0.5: conv1 drops 2 of 4, conv2 3 of 6, fc1 round(2.5) = 3 of 5 (the two dead units
  // and the weakest live one: so compare against the model with that one zeroed too).
  const auto small = compress::prune_channels(model, 0.5);
  const auto keep_fc1 = compress::units_to_keep(compress::output_norms(fc1->weight), 0.5);
  ASSERT_EQ(keep_fc1.size(), 2u);
  for (std::int64_t o = 0; o < 5; ++o) {
    if (o != keep_fc1[0] && o != keep_fc1[1]) {
      for (std::int64_t i = 0; i < 24; ++i) fc1->weight.data()[o * 24 + i] = 0.0f;
      fc1->bias.data()[o] = 0.0f;
    }
  }
  const Tensor x = randn({2, 2, 8, 8}, g);  // 8x8 -> pool 4x4 -> conv2 2x2: 4 features a channel
  const Tensor expected = model(x);
  const Tensor got = (*small)(x);
  ASSERT_EQ(got.shape(), (Shape{2, 3}));
  EXPECT_TRUE(allclose(got, expected, 1e-4f, 1e-5f)) << got.to_string() << "\n"
                                                     << expected.to_string();
}

TEST(PruneChannels, ShrinksEveryLayerButTheLast) {
  Generator g(8);
  nn::Sequential model(nn::Conv2d(1, 8, 3, 1, 1, true, g), nn::BatchNorm2d(8), nn::ReLU(),
                       nn::MaxPool2d(2), nn::Flatten(),
                       nn::Linear(8 * 2 * 2, 10, true, nn::Init::kaiming_uniform, g), nn::ReLU(),
                       nn::Linear(10, 4, true, nn::Init::kaiming_uniform, g));
  const auto small = compress::prune_channels(model, 0.5);
  auto conv = std::dynamic_pointer_cast<nn::Conv2d>((*small)[0]);
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm2d>((*small)[1]);
  auto fc1 = std::dynamic_pointer_cast<nn::Linear>((*small)[5]);
  auto fc2 = std::dynamic_pointer_cast<nn::Linear>((*small)[7]);
  ASSERT_TRUE(conv && bn && fc1 && fc2);
  EXPECT_EQ(conv->weight.shape(), (Shape{4, 1, 3, 3}));
  EXPECT_EQ(bn->running_var.shape(), (Shape{4}));
  EXPECT_EQ(fc1->weight.shape(), (Shape{5, 16}));
  EXPECT_EQ(fc2->weight.shape(), (Shape{4, 5}));
  EXPECT_EQ((*small)(ones({3, 1, 4, 4})).shape(), (Shape{3, 4}));
}

TEST(PruneChannels, KeepsTheStrongestNeuronsWeights) {
  nn::Sequential model(nn::Linear(2, 3), nn::ReLU(), nn::Linear(3, 1));
  auto fc1 = std::dynamic_pointer_cast<nn::Linear>(model[0]);
  auto fc2 = std::dynamic_pointer_cast<nn::Linear>(model[2]);
  fc1->weight.copy_(from_vector({0.1f, 0.1f, 5.0f, 0.0f, 0.0f, -4.0f}, {3, 2}));
  fc1->bias.copy_(from_vector({1.0f, 2.0f, 3.0f}, {3}));
  fc2->weight.copy_(from_vector({7.0f, 8.0f, 9.0f}, {1, 3}));
  const auto small = compress::prune_channels(model, 1.0 / 3.0);  // neuron 0 goes
  auto s1 = std::dynamic_pointer_cast<nn::Linear>((*small)[0]);
  auto s2 = std::dynamic_pointer_cast<nn::Linear>((*small)[2]);
  EXPECT_EQ(s1->weight.to_vector(), (std::vector<float>{5.0f, 0.0f, 0.0f, -4.0f}));
  EXPECT_EQ(s1->bias.to_vector(), (std::vector<float>{2.0f, 3.0f}));
  EXPECT_EQ(s2->weight.to_vector(), (std::vector<float>{8.0f, 9.0f}));
  EXPECT_EQ(fc1->weight.shape(), (Shape{3, 2}));  // the original is unchanged
}

TEST(PruneChannels, AnUnknownChildIsAnErrorNamingIt) {
  nn::Sequential model(nn::Linear(2, 3), nn::Sequential(nn::ReLU()), nn::Linear(3, 1));
  try {
    (void)compress::prune_channels(model, 0.5);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("child 1"), std::string::npos) << e.what();
  }
}

TEST(PruneChannels, ABadAmountIsAnError) {
  nn::Sequential model(nn::Linear(2, 3), nn::ReLU(), nn::Linear(3, 1));
  EXPECT_THROW((void)compress::prune_channels(model, 1.0), std::invalid_argument);
}

TEST(PruneChannels, LayersWhoseSizesDoNotChainAreAnError) {
  nn::Sequential model(nn::Linear(2, 3), nn::ReLU(), nn::Linear(4, 1));
  EXPECT_THROW((void)compress::prune_channels(model, 0.5), std::invalid_argument);
}

// ---- distillation ----

TEST(Distillation, MatchesTheDefinitionInDouble) {
  const Tensor s = from_vector(kStudent, {3, 3});
  const Tensor t = from_vector(kTeacher, {3, 3});
  const Tensor y = from_vector({0, 1, 2}, {3});
  for (const auto& [T, alpha] :
       {std::pair{4.0f, 0.9f}, std::pair{2.0f, 0.5f}, std::pair{1.0f, 1.0f}}) {
    const auto ref = distill_reference(kStudent, kTeacher, kLabels, 3, 3, T, alpha);
    EXPECT_NEAR(compress::distillation_loss(s, t, y, {.temperature = T, .alpha = alpha}).item(),
                ref.loss, 1e-4 * std::max(1.0, std::fabs(ref.loss)))
        << "T " << T << " alpha " << alpha;
  }
}

TEST(Distillation, TheGradientReachesOnlyTheStudent) {
  Tensor s = from_vector(kStudent, {3, 3});
  s.requires_grad_(true);
  Tensor t = from_vector(kTeacher, {3, 3});
  t.requires_grad_(true);
  const Tensor y = from_vector({0, 1, 2}, {3});
  compress::distillation_loss(s, t, y, {.temperature = 3.0f, .alpha = 0.7f}).backward();
  const auto ref = distill_reference(kStudent, kTeacher, kLabels, 3, 3, 3.0, 0.7);
  ASSERT_TRUE(s.grad().defined());
  const auto g = s.grad().to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], ref.grad[i], 1e-5) << i;
  EXPECT_FALSE(t.grad().defined());
}

TEST(Distillation, BadShapesOrOptionsAreErrors) {
  const Tensor s = zeros({2, 3});
  const Tensor y = zeros({2});
  EXPECT_THROW((void)compress::distillation_loss(s, zeros({2, 4}), y, {}), std::invalid_argument);
  EXPECT_THROW((void)compress::distillation_loss(s, s, zeros({3}), {}), std::invalid_argument);
  EXPECT_THROW((void)compress::distillation_loss(s, s, y, {.temperature = 0.0f}),
               std::invalid_argument);
  EXPECT_THROW((void)compress::distillation_loss(s, s, y, {.alpha = 1.5f}), std::invalid_argument);
}

TEST(Distillation, AStepUsesTheTeacherInEvalModeAndRestoresIt) {
  Generator g(9);
  nn::Sequential teacher(nn::Linear(4, 8, true, nn::Init::kaiming_uniform, g), nn::ReLU(),
                         nn::Dropout(0.5f, g),
                         nn::Linear(8, 3, true, nn::Init::kaiming_uniform, g));
  nn::Sequential student(nn::Linear(4, 3, true, nn::Init::kaiming_uniform, g));
  const Tensor x = randn({6, 4}, g);
  const Tensor y = from_vector({0, 1, 2, 0, 1, 2}, {6});
  const compress::DistillationOptions options{.temperature = 2.0f, .alpha = 0.8f};
  teacher.train();
  double expected = 0.0;
  {
    teacher.eval();  // dropout off: the teacher's real predictions
    autograd::NoGradGuard no_grad;
    expected = compress::distillation_loss(student(x), teacher(x), y, options).item();
    teacher.train();
  }
  optim::SGD sgd(student.parameters(), optim::SGDOptions(0.1));
  const auto before = std::dynamic_pointer_cast<nn::Linear>(student[0])->weight.to_vector();
  EXPECT_NEAR(compress::distill_step(student, teacher, sgd, x, y, options), expected, 1e-5);
  EXPECT_TRUE(teacher.is_training());
  EXPECT_NE(std::dynamic_pointer_cast<nn::Linear>(student[0])->weight.to_vector(), before);
}

// ---- low rank ----

TEST(RankForEnergy, UsesSquaredSingularValues) {
  const Tensor s = from_vector({4.0f, 2.0f, 1.0f, 1.0f}, {4});  // energies 16, 4, 1, 1 of 22
  EXPECT_EQ(compress::rank_for_energy(s, 0.7), 1);   // 16/22 = 0.727 (by s alone, 4/8 = 0.5)
  EXPECT_EQ(compress::rank_for_energy(s, 0.9), 2);   // 20/22 = 0.909
  EXPECT_EQ(compress::rank_for_energy(s, 0.95), 3);  // 21/22 = 0.955
  EXPECT_EQ(compress::rank_for_energy(s, 1.0), 4);
}

TEST(RankForEnergy, RejectsEnergyOutsideZeroToOneAndNoEnergy) {
  const Tensor s = from_vector({1.0f}, {1});
  EXPECT_THROW((void)compress::rank_for_energy(s, 0.0), std::invalid_argument);
  EXPECT_THROW((void)compress::rank_for_energy(s, 1.01), std::invalid_argument);
  EXPECT_THROW((void)compress::rank_for_energy(zeros({3}), 0.5), std::invalid_argument);
}

TEST(LowRank, FullRankReproducesTheLayerWithFewerOrMoreWeights) {
  Generator g(12);
  nn::Linear layer(7, 3, true, nn::Init::kaiming_uniform, g);
  const auto f = compress::low_rank_linear(layer, 3);
  const Tensor x = randn({4, 7}, g);
  EXPECT_TRUE(allclose((*f)(x), layer(x), 1e-4f, 1e-5f));
}

TEST(LowRank, IsTheBestApproximationOfItsRank) {
  // W = 3 e1 f1^T + 1 e2 f2^T (orthonormal e, f): the rank-1 factorisation must keep exactly the
  // first term (Eckart-Young), so W_1 x = 3 e1 (f1 . x).
  nn::Linear layer(3, 2, false);
  layer.weight.copy_(from_vector({0.0f, 3.0f, 0.0f, 0.0f, 0.0f, 1.0f}, {2, 3}));
  const auto f = compress::low_rank_linear(layer, 1);
  auto first = std::dynamic_pointer_cast<nn::Linear>((*f)[0]);
  auto second = std::dynamic_pointer_cast<nn::Linear>((*f)[1]);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->weight.shape(), (Shape{1, 3}));
  EXPECT_EQ(second->weight.shape(), (Shape{2, 1}));
  EXPECT_FALSE(first->bias.defined());
  const Tensor y = (*f)(from_vector({1.0f, 2.0f, 5.0f}, {1, 3}));
  EXPECT_NEAR(y.at({0, 0}), 6.0f, 1e-5);  // 3 * 2
  EXPECT_NEAR(y.at({0, 1}), 0.0f, 1e-5);
}

TEST(LowRank, TheErrorIsTheDroppedEnergy) {
  Generator g(13);
  nn::Linear layer(6, 5, true, nn::Init::kaiming_uniform, g);
  const auto d = compress::svd(layer.weight);
  const auto s = d.s.to_vector();
  const auto f = compress::low_rank_linear(layer, 2);
  // ||W - W_2||_F^2 = s_2^2 + s_3^2 + s_4^2, measured through the layers on the identity.
  const Tensor eye = [] {
    Tensor e = zeros({6, 6});
    for (std::int64_t i = 0; i < 6; ++i) e.at({i, i}) = 1.0f;
    return e;
  }();
  const Tensor diff = (*f)(eye)-layer(eye);  // (6, 5): (W_2 - W)^T, the biases cancel
  double err = 0.0;
  for (float v : diff.to_vector()) err += static_cast<double>(v) * v;
  EXPECT_NEAR(err, s[2] * s[2] + s[3] * s[3] + s[4] * s[4], 1e-4);
  EXPECT_EQ(std::dynamic_pointer_cast<nn::Linear>((*f)[1])->bias.to_vector(),
            layer.bias.to_vector());
}

TEST(LowRank, RankOutsideOneToMinIsAnErrorNamingIt) {
  nn::Linear layer(4, 6);
  EXPECT_THROW((void)compress::low_rank_linear(layer, -1), std::invalid_argument);
  try {
    (void)compress::low_rank_linear(layer, 5);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rank 5"), std::string::npos) << e.what();
  }
}
