// Visible tests for module 18 (compression): run them with `tito module test 18`. The hidden
// suite that grades the module checks more cases of the same behaviours.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "tinytorch/compression.hpp"
#include "tinytorch/losses.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)

TEST(MagnitudeMask, PrunesTheSmallestMagnitudesNotTheSmallestValues) {
  const Tensor w = from_vector({-5.0f, 0.1f, 2.0f, -0.2f}, {2, 2});
  // Half of 4 = 2 weights go: |0.1| and |-0.2|; -5 is the largest magnitude and stays.
  EXPECT_EQ(compress::magnitude_mask(w, 0.5).to_vector(),
            (std::vector<float>{1.0f, 0.0f, 1.0f, 0.0f}));
}

TEST(MagnitudeMask, AnAmountOutsideZeroToOneIsAnError) {
  const Tensor w = ones({3});
  EXPECT_THROW((void)compress::magnitude_mask(w, 1.0), std::invalid_argument);
  EXPECT_THROW((void)compress::magnitude_mask(w, -0.1), std::invalid_argument);
}

TEST(GlobalMasks, OneThresholdAcrossTensors) {
  const Tensor small = from_vector({0.1f, 0.2f}, {2});
  const Tensor large = from_vector({3.0f, 4.0f}, {2});
  // Half of all 4 weights: both of the small tensor, none of the large one.
  const auto masks = compress::global_magnitude_masks({small, large}, 0.5);
  EXPECT_EQ(masks[0].to_vector(), (std::vector<float>{0.0f, 0.0f}));
  EXPECT_EQ(masks[1].to_vector(), (std::vector<float>{1.0f, 1.0f}));
}

TEST(Pruner, ReportsTheSparsityOfEachLayerAndTheTotal) {
  Generator g(1);
  nn::Sequential model(nn::Linear(4, 5, true, nn::Init::kaiming_uniform, g), nn::ReLU(),
                       nn::Linear(5, 2, true, nn::Init::kaiming_uniform, g));
  const auto pruner = compress::Pruner::per_layer(model, 0.5);
  const auto report = pruner.report();
  ASSERT_EQ(report.size(), 3u);
  EXPECT_EQ(report[0].name, "0.weight");
  EXPECT_EQ(report[0].zeros, 10);  // round(0.5 * 20)
  EXPECT_EQ(report[1].name, "2.weight");
  EXPECT_EQ(report[1].zeros, 5);
  EXPECT_EQ(report[2].name, "total");
  EXPECT_DOUBLE_EQ(report[2].sparsity, 15.0 / 30.0);
}

TEST(StructuredPruning, TheSmallerModelHasFewerUnitsAndTheSameOutputShape) {
  Generator g(2);
  nn::Sequential model(nn::Linear(6, 8, true, nn::Init::kaiming_uniform, g), nn::ReLU(),
                       nn::Linear(8, 3, true, nn::Init::kaiming_uniform, g));
  const auto small = compress::prune_channels(model, 0.5);
  EXPECT_EQ(small->num_parameters(), 6 * 4 + 4 + 4 * 3 + 3);
  EXPECT_EQ((*small)(ones({2, 6})).shape(), (Shape{2, 3}));
}

TEST(Distillation, AtAlphaZeroItIsTheHardLoss) {
  const Tensor s = from_vector({1.0f, 2.0f, 0.5f, -1.0f}, {2, 2});
  const Tensor t = from_vector({3.0f, 0.0f, 0.0f, 3.0f}, {2, 2});
  const Tensor y = from_vector({1.0f, 0.0f}, {2});
  const Tensor loss = compress::distillation_loss(s, t, y, {.temperature = 2.0f, .alpha = 0.0f});
  EXPECT_NEAR(loss.item(), cross_entropy(s, y).item(), 1e-6);
}

TEST(Distillation, IsZeroWhenTheStudentMatchesTheTeacherAndAlphaIsOne) {
  const Tensor logits = from_vector({1.0f, 2.0f, 3.0f, 0.0f, 0.0f, 1.0f}, {2, 3});
  const Tensor y = from_vector({0.0f, 1.0f}, {2});
  EXPECT_NEAR(
      compress::distillation_loss(logits, logits, y, {.temperature = 3.0f, .alpha = 1.0f}).item(),
      0.0, 1e-6);
}

TEST(LowRank, FullRankReproducesTheLayer) {
  Generator g(3);
  nn::Linear layer(5, 4, true, nn::Init::kaiming_uniform, g);
  const auto factored = compress::low_rank_linear(layer, 4);
  const Tensor x = randn({3, 5}, g);
  EXPECT_TRUE(allclose((*factored)(x), layer(x), 1e-4f, 1e-5f));
}

TEST(LowRank, RankZeroIsAnError) {
  nn::Linear layer(5, 4);
  EXPECT_THROW((void)compress::low_rank_linear(layer, 0), std::invalid_argument);
  EXPECT_THROW((void)compress::low_rank_linear(layer, 5), std::invalid_argument);
}

TEST(LowRank, RankForEnergyKeepsEnoughOfTheSquaredSingularValues) {
  const Tensor s = from_vector({3.0f, 2.0f, 1.0f}, {3});  // energies 9, 4, 1 of 14
  EXPECT_EQ(compress::rank_for_energy(s, 0.6), 1);        // 9/14 = 0.64
  EXPECT_EQ(compress::rank_for_energy(s, 0.9), 2);        // 13/14 = 0.93
  EXPECT_EQ(compress::rank_for_energy(s, 1.0), 3);
}
