// Hidden grading suite for module 08 (training). Never shipped to students.
//
// Oracles: learning rates come from PyTorch's own schedulers (generate_expected.py ->
// expected.hpp); everything else is derived by hand in a comment next to the test, with inputs
// chosen so float32 holds every intermediate exactly or to within a stated tolerance. The
// safetensors byte layout is checked against buffers built here byte by byte from the published
// format, so compatibility with the reference implementation is proven without Python.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "expected.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/training.hpp"

namespace tinytorch::train {
namespace {

using Values = std::vector<float>;
namespace fs = std::filesystem;

// ---- helpers ----------------------------------------------------------------------------------

// y = x * w with one parameter w of shape (1); remembers the mode it was called in.
class Scale : public nn::Module {
 public:
  explicit Scale(float w0) { w = register_parameter("w", tensor({w0})); }
  Tensor forward(const Tensor& x) override {
    saw_training = is_training();
    saw_grad_mode = autograd::GradMode::is_enabled();
    ++calls;
    return x * w;
  }
  Tensor w;
  bool saw_training = false;
  bool saw_grad_mode = false;
  int calls = 0;
};

// A model with a parameter-holding child and a buffer: keys "steps", "fc.weight", "fc.bias".
class Net : public nn::Module {
 public:
  explicit Net(std::uint64_t seed) {
    Generator g(seed);
    fc = register_module("fc",
                         std::make_shared<nn::Linear>(2, 3, true, nn::Init::kaiming_uniform, g));
    steps = register_buffer("steps", full({1}, static_cast<float>(seed)));
  }
  Tensor forward(const Tensor& x) override { return fc->forward(x); }
  std::shared_ptr<nn::Linear> fc;
  Tensor steps;
};

// Every value of a batch source's targets, pass by pass, in the order the batches give them.
std::vector<float> targets_of_one_pass(BatchSource& batches) {
  std::vector<float> seen;
  while (auto batch = batches.next()) {
    for (float v : batch->targets.to_vector()) seen.push_back(v);
  }
  return seen;
}

// A fresh folder per test (and per process: the reference and stub builds may run at once).
class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("tinytorch08_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path file(const std::string& name) const { return dir_ / name; }
  fs::path dir_;
};

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The 8-byte little-endian length prefix of a safetensors file.
std::string u64_le(std::uint64_t n) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return bytes;
}

// A complete file: length prefix, header padded with spaces to a multiple of 8, data bytes.
std::string safetensors_file(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return u64_le(header.size()) + header + data;
}

std::string float_bytes(const Values& values) {
  std::string bytes(values.size() * 4, '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

// The message of the std::runtime_error that f throws (a failure if it throws anything else).
template <class F>
std::string runtime_error_message(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected std::runtime_error, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected std::runtime_error, nothing was thrown";
  return "";
}

// ---- TensorBatches ------------------------------------------------------------------------

TEST(TensorBatches, WithoutShuffleBatchesAreConsecutiveRowsInOrder) {
  // inputs (5, 2) = [[0,1],[2,3],[4,5],[6,7],[8,9]], targets (5) = [0..4], batches of 2:
  // rows {0,1}, {2,3}, {4}: the last batch holds the one row left.
  TensorBatches batches(arange(10.0f).reshape({5, 2}), arange(5.0f), 2);
  auto b0 = batches.next();
  auto b1 = batches.next();
  auto b2 = batches.next();
  ASSERT_TRUE(b0 && b1 && b2);
  EXPECT_EQ(b0->inputs.shape(), (Shape{2, 2}));
  EXPECT_EQ(b0->inputs.to_vector(), (Values{0, 1, 2, 3}));
  EXPECT_EQ(b0->targets.to_vector(), (Values{0, 1}));
  EXPECT_EQ(b1->inputs.to_vector(), (Values{4, 5, 6, 7}));
  EXPECT_EQ(b1->targets.to_vector(), (Values{2, 3}));
  EXPECT_EQ(b2->inputs.shape(), (Shape{1, 2}));
  EXPECT_EQ(b2->inputs.to_vector(), (Values{8, 9}));
  EXPECT_EQ(b2->targets.to_vector(), (Values{4}));
}

TEST(TensorBatches, NextGivesNothingAfterTheLastBatchUntilReset) {
  TensorBatches batches(arange(4.0f).reshape({4, 1}), arange(4.0f), 2);
  ASSERT_TRUE(batches.next());
  ASSERT_TRUE(batches.next());
  EXPECT_FALSE(batches.next());
  EXPECT_FALSE(batches.next());
  batches.reset();
  auto again = batches.next();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->targets.to_vector(), (Values{0, 1}));
}

TEST(TensorBatches, NumBatchesIsSamplesOverBatchSizeRoundedUp) {
  // ceil(5 / 2) = 3, ceil(4 / 2) = 2, ceil(3 / 10) = 1.
  EXPECT_EQ(TensorBatches(zeros({5, 1}), zeros({5}), 2).num_batches(), 3);
  EXPECT_EQ(TensorBatches(zeros({4, 1}), zeros({4}), 2).num_batches(), 2);
  EXPECT_EQ(TensorBatches(zeros({3, 1}), zeros({3}), 10).num_batches(), 1);
}

TEST(TensorBatches, RowsOfHigherRankInputsAreSlicedWhole) {
  // inputs (3, 2, 2): row r holds 4r, ..., 4r + 3; a batch of 2 has shape (2, 2, 2).
  TensorBatches batches(arange(12.0f).reshape({3, 2, 2}), arange(3.0f), 2);
  auto b = batches.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->inputs.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(b->inputs.to_vector(), (Values{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(TensorBatches, NonContiguousInputsAreSlicedByLogicalRows) {
  // arange(6) as (2, 3), transposed to (3, 2): rows [0, 3], [1, 4], [2, 5].
  TensorBatches batches(arange(6.0f).reshape({2, 3}).transpose(0, 1), arange(3.0f), 3);
  auto b = batches.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->inputs.to_vector(), (Values{0, 3, 1, 4, 2, 5}));
}

TEST(TensorBatches, BatchesAreCopiesNotViewsOfTheData) {
  const Tensor inputs = arange(4.0f).reshape({2, 2});
  TensorBatches batches(inputs, arange(2.0f), 2);
  auto b = batches.next();
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->inputs.shares_storage(inputs));
  b->inputs.fill_(-1.0f);
  EXPECT_EQ(inputs.to_vector(), (Values{0, 1, 2, 3}));
}

TEST(TensorBatches, ShuffleVisitsEveryRowExactlyOncePerPass) {
  TensorBatches batches(arange(20.0f).reshape({20, 1}), arange(20.0f), 3, /*shuffle=*/true, 5);
  for (int pass = 0; pass < 3; ++pass) {
    batches.reset();
    std::vector<float> seen = targets_of_one_pass(batches);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, arange(20.0f).to_vector()) << "pass " << pass;
  }
}

TEST(TensorBatches, ShuffledBatchesKeepEachInputWithItsTarget) {
  // input row i is [10 i, 10 i + 1] and its target is i.
  std::vector<float> x;
  for (int i = 0; i < 12; ++i) x.insert(x.end(), {10.0f * i, 10.0f * i + 1});
  TensorBatches batches(from_vector(x, {12, 2}), arange(12.0f), 5, true, 3);
  while (auto b = batches.next()) {
    const Values in = b->inputs.to_vector();
    const Values t = b->targets.to_vector();
    for (std::size_t r = 0; r < t.size(); ++r) {
      EXPECT_EQ(in[2 * r], 10.0f * t[r]);
      EXPECT_EQ(in[2 * r + 1], 10.0f * t[r] + 1);
    }
  }
}

TEST(TensorBatches, ShuffleActuallyReordersTheRows) {
  // 30 rows: the identity is one of 30! permutations; three passes in order would be a broken
  // shuffle.
  TensorBatches batches(zeros({30, 1}), arange(30.0f), 30, true, 11);
  const std::vector<float> in_order = arange(30.0f).to_vector();
  int ordered_passes = 0;
  for (int pass = 0; pass < 3; ++pass) {
    batches.reset();
    ordered_passes += targets_of_one_pass(batches) == in_order;
  }
  EXPECT_EQ(ordered_passes, 0);
}

TEST(TensorBatches, SameSeedGivesSameOrdersAndADifferentSeedDifferentOnes) {
  TensorBatches a(zeros({30, 1}), arange(30.0f), 7, true, 42);
  TensorBatches b(zeros({30, 1}), arange(30.0f), 7, true, 42);
  TensorBatches c(zeros({30, 1}), arange(30.0f), 7, true, 43);
  for (int pass = 0; pass < 2; ++pass) {
    a.reset();
    b.reset();
    c.reset();
    const auto order_a = targets_of_one_pass(a);
    EXPECT_EQ(order_a, targets_of_one_pass(b)) << "pass " << pass;
    EXPECT_NE(order_a, targets_of_one_pass(c)) << "pass " << pass;
  }
}

// Fisher-Yates makes every permutation equally likely. Three rows have 3! = 6 orders; 60000 passes
// give each a share of 1/6 with a standard error of 0.0015, so +-0.006 is 4 of them. A shuffle that
// swaps each position with any of the n positions has 3^3 = 27 equally likely draw sequences,
// which cannot fall evenly on 6 orders: it gives them 4/27 (0.148) or 5/27 (0.185).
TEST(TensorBatches, ShuffleMakesEveryOrderEquallyLikely) {
  TensorBatches batches(zeros({3, 1}), arange(3.0f), 3, true, 7);
  std::map<std::vector<float>, int> counts;
  const int passes = 60000;
  for (int k = 0; k < passes; ++k) {
    batches.reset();
    ++counts[batches.next()->targets.to_vector()];
  }
  ASSERT_EQ(counts.size(), 6u);
  for (const auto& [order, count] : counts) {
    EXPECT_NEAR(static_cast<double>(count) / passes, 1.0 / 6.0, 0.006)
        << "order " << order[0] << order[1] << order[2];
  }
}

TEST(TensorBatches, EachResetDrawsANewPermutation) {
  TensorBatches batches(zeros({30, 1}), arange(30.0f), 30, true, 9);
  batches.reset();
  const auto first = targets_of_one_pass(batches);
  batches.reset();
  const auto second = targets_of_one_pass(batches);
  EXPECT_NE(first, second);
}

TEST(TensorBatches, DifferentSampleCountsThrowInvalidArgument) {
  EXPECT_THROW(TensorBatches(zeros({5, 2}), zeros({4}), 2), std::invalid_argument);
}

TEST(TensorBatches, NonPositiveBatchSizeThrowsInvalidArgument) {
  EXPECT_THROW(TensorBatches(zeros({5, 2}), zeros({5}), 0), std::invalid_argument);
  EXPECT_THROW(TensorBatches(zeros({5, 2}), zeros({5}), -3), std::invalid_argument);
}

// ---- accuracy ----------------------------------------------------------------------------

TEST(Accuracy, MultiClassCountsRowsWhoseArgmaxIsTheTarget) {
  // argmax per row: 2, 0, 1, 1; targets 2, 0, 1, 0 -> 3 of 4 correct.
  const Tensor logits = tensor({{0.1f, 0.2f, 0.7f}, {5, 1, 1}, {0, 3, 2}, {-1, 4, -2}});
  EXPECT_DOUBLE_EQ(accuracy(logits, tensor({2, 0, 1, 0})), 0.75);
}

TEST(Accuracy, MultiClassTiesGoToTheFirstMaximum) {
  // Both rows tie between classes 0 and 1: the prediction is 0 (argmax takes the first).
  EXPECT_DOUBLE_EQ(accuracy(tensor({{1, 1}, {2, 2}}), tensor({0, 1})), 0.5);
}

TEST(Accuracy, BinaryPredictsClassOneForPositiveLogits) {
  // predictions (logit > 0): 1, 0, 1, 0, 0 (a logit of exactly 0 is p = 0.5: class 0);
  // targets 1, 0, 0, 0, 1 -> correct, correct, wrong, correct, wrong = 3/5.
  EXPECT_DOUBLE_EQ(accuracy(tensor({2, -1, 0.5f, -3, 0}), tensor({1, 0, 0, 0, 1})), 0.6);
}

TEST(Accuracy, BinaryAcceptsAColumnOfLogits) {
  // (N, 1) logits are binary too: predictions 1, 0, 0; targets 1, 1, 0 -> 2/3.
  EXPECT_DOUBLE_EQ(accuracy(tensor({{3}, {-2}, {-0.5f}}), tensor({{1}, {1}, {0}})), 2.0 / 3.0);
}

TEST(Accuracy, TargetCountDifferentFromRowsThrowsInvalidArgument) {
  EXPECT_THROW((void)accuracy(zeros({4, 3}), zeros({3})), std::invalid_argument);
  EXPECT_THROW((void)accuracy(zeros({2, 3, 4}), zeros({2})), std::invalid_argument);
}

// ---- clip_grad_norm_ ------------------------------------------------------------------------

std::vector<Tensor> params_with_grads(const std::vector<Values>& grads) {
  std::vector<Tensor> params;
  for (const Values& g : grads) {
    Tensor p = zeros({static_cast<std::int64_t>(g.size())}).requires_grad_();
    p.set_grad(from_vector(g, {static_cast<std::int64_t>(g.size())}));
    params.push_back(p);
  }
  return params;
}

TEST(ClipGradNorm, ScalesAllGradientsToMaxNormWhenTheGlobalNormIsAbove) {
  // Two parameters with gradients (3) and (0, 4): global norm sqrt(9 + 16) = 5 (not the per-tensor
  // norms 3 and 4). max_norm 1: every gradient times 1/5 -> (0.6) and (0, 0.8), norm exactly 1.
  const auto params = params_with_grads({{3}, {0, 4}});
  EXPECT_DOUBLE_EQ(clip_grad_norm_(params, 1.0), 5.0);
  EXPECT_FLOAT_EQ(params[0].grad().item(), 0.6f);
  EXPECT_FLOAT_EQ(params[1].grad().to_vector()[0], 0.0f);
  EXPECT_FLOAT_EQ(params[1].grad().to_vector()[1], 0.8f);
}

TEST(ClipGradNorm, LeavesGradientsBelowMaxNormUnchanged) {
  // Norm 5 <= max_norm 10: nothing changes, the norm is still returned.
  const auto params = params_with_grads({{3}, {0, 4}});
  EXPECT_DOUBLE_EQ(clip_grad_norm_(params, 10.0), 5.0);
  EXPECT_EQ(params[0].grad().to_vector(), (Values{3}));
  EXPECT_EQ(params[1].grad().to_vector(), (Values{0, 4}));
}

TEST(ClipGradNorm, ScalesTheGradientTensorsInPlace) {
  auto params = params_with_grads({{6, 8}});  // norm 10
  const Tensor grad_handle = params[0].grad();
  (void)clip_grad_norm_(params, 5.0);  // scale 1/2
  EXPECT_EQ(grad_handle.to_vector(), (Values{3, 4}));
}

TEST(ClipGradNorm, SkipsParametersWithoutAGradient) {
  // The middle parameter has no gradient: the norm is over (3) and (4) only.
  auto params = params_with_grads({{3}, {4}});
  params.insert(params.begin() + 1, zeros({2}).requires_grad_());
  EXPECT_DOUBLE_EQ(clip_grad_norm_(params, 2.5), 5.0);
  EXPECT_FALSE(params[1].grad().defined());
  EXPECT_FLOAT_EQ(params[0].grad().item(), 1.5f);
  EXPECT_FLOAT_EQ(params[2].grad().item(), 2.0f);
}

TEST(ClipGradNorm, NormIsAccumulatedInDouble) {
  // 10^6 gradients of float(0.001) = 0.001000000047497451: the norm is sqrt(10^6 * g^2) = 1000 g.
  // Summing 10^6 squares of ~1e-6 in double is exact to ~1e-12; a float running sum drifts by
  // far more than the 1e-9 allowed here.
  const Tensor p = zeros({1000000}).requires_grad_();
  p.set_grad(full({1000000}, 0.001f));
  EXPECT_NEAR(clip_grad_norm_({p}, 10.0), 1000.0 * static_cast<double>(0.001f), 1e-9);
}

TEST(ClipGradNorm, NegativeMaxNormThrowsInvalidArgument) {
  EXPECT_THROW((void)clip_grad_norm_(params_with_grads({{1}}), -1.0), std::invalid_argument);
}

// ---- learning-rate schedules ----------------------------------------------------------------

Tensor lone_param() {
  return zeros({1}).requires_grad_();
}

template <std::size_t N>
void expect_lr_at(const LRScheduler& s, const std::array<double, N>& expected) {
  for (std::size_t e = 0; e < N; ++e) {
    EXPECT_NEAR(s.lr_at(static_cast<std::int64_t>(e)), expected[e], 1e-12) << "epoch " << e;
  }
}

TEST(StepLR, LrAtMatchesPyTorchWithStepSize3AndGammaHalf) {
  optim::SGD opt({lone_param()}, optim::SGDOptions(0.1));
  StepLR s(opt, 3, 0.5);
  expect_lr_at(s, expected::kStepLR_step3_gamma0_5);
}

TEST(StepLR, DefaultGammaIsOneTenth) {
  optim::SGD opt({lone_param()}, optim::SGDOptions(1.0));
  StepLR s(opt, 2);
  expect_lr_at(s, expected::kStepLR_step2_default_gamma);
}

TEST(StepLR, StepSetsTheOptimizersRateEpochByEpoch) {
  optim::SGD opt({lone_param()}, optim::SGDOptions(0.1));
  StepLR s(opt, 3, 0.5);
  const auto& expected = expected::kStepLR_step3_gamma0_5;
  EXPECT_EQ(s.epoch(), 0);
  EXPECT_DOUBLE_EQ(opt.lr(), expected[0]);
  for (std::size_t e = 1; e < expected.size(); ++e) {
    s.step();
    EXPECT_EQ(s.epoch(), static_cast<std::int64_t>(e));
    EXPECT_NEAR(opt.lr(), expected[e], 1e-12) << "after " << e << " steps";
  }
}

TEST(StepLR, BaseLrIsTheOptimizersRateAtConstruction) {
  optim::SGD opt({lone_param()}, optim::SGDOptions(0.25));
  StepLR s(opt, 1, 0.5);
  s.step();  // the optimizer now holds 0.125; base_lr stays 0.25
  EXPECT_DOUBLE_EQ(s.base_lr(), 0.25);
  EXPECT_DOUBLE_EQ(opt.lr(), 0.125);
}

TEST(StepLR, NonPositiveStepSizeThrowsInvalidArgument) {
  optim::SGD opt({lone_param()}, optim::SGDOptions(0.1));
  EXPECT_THROW(StepLR(opt, 0), std::invalid_argument);
}

TEST(CosineAnnealingLR, LrAtMatchesPyTorchIncludingPastTMax) {
  // Epochs 0..15 with t_max 10: down to eta_min at 10, then the cosine rises again.
  optim::SGD opt({lone_param()}, optim::SGDOptions(0.1));
  CosineAnnealingLR s(opt, 10, 0.001);
  expect_lr_at(s, expected::kCosine_tmax10_etamin0_001);
}

TEST(CosineAnnealingLR, StepWalksHalfACosineToZero) {
  // eta_min 0: 0.05 (1 + cos(pi e / 4)) / 2 for e = 0..4 ends at exactly 0 (cos(pi) = -1).
  optim::SGD opt({lone_param()}, optim::SGDOptions(0.05));
  CosineAnnealingLR s(opt, 4);
  const auto& expected = expected::kCosine_tmax4_etamin0;
  for (std::size_t e = 1; e < expected.size(); ++e) {
    s.step();
    EXPECT_NEAR(opt.lr(), expected[e], 1e-12) << "after " << e << " steps";
  }
  EXPECT_NEAR(opt.lr(), 0.0, 1e-15);
}

TEST(CosineAnnealingLR, NonPositiveTMaxThrowsInvalidArgument) {
  optim::SGD opt({lone_param()}, optim::SGDOptions(0.1));
  EXPECT_THROW(CosineAnnealingLR(opt, 0), std::invalid_argument);
}

// ---- EarlyStopping --------------------------------------------------------------------------

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovement) {
  EarlyStopping stop(2);
  EXPECT_FALSE(stop.step(1.0));   // first: best 1.0
  EXPECT_FALSE(stop.step(0.9));   // better: best 0.9
  EXPECT_FALSE(stop.step(0.95));  // worse: 1 epoch without improvement
  EXPECT_TRUE(stop.step(0.92));   // worse than 0.9: 2 = patience -> stop
  EXPECT_EQ(stop.epochs_without_improvement(), 2);
}

TEST(EarlyStopping, AnImprovementResetsTheCounter) {
  EarlyStopping stop(2);
  EXPECT_FALSE(stop.step(1.0));
  EXPECT_FALSE(stop.step(1.1));  // 1 bad epoch
  EXPECT_FALSE(stop.step(0.5));  // improvement: counter back to 0
  EXPECT_EQ(stop.epochs_without_improvement(), 0);
  EXPECT_FALSE(stop.step(0.6));  // 1 bad epoch again, not 2
  EXPECT_EQ(stop.epochs_without_improvement(), 1);
}

TEST(EarlyStopping, AnEqualMetricIsNotAnImprovement) {
  EarlyStopping stop(1);
  EXPECT_FALSE(stop.step(0.5));
  EXPECT_TRUE(stop.step(0.5));  // not strictly better
}

TEST(EarlyStopping, MinDeltaIgnoresImprovementsThatAreTooSmall) {
  // min_delta 0.1: from best 1.0, 0.95 is no improvement (needs < 0.9); 0.85 is one.
  EarlyStopping stop(3, 0.1);
  EXPECT_FALSE(stop.step(1.0));
  EXPECT_FALSE(stop.step(0.95));
  EXPECT_EQ(stop.epochs_without_improvement(), 1);
  EXPECT_DOUBLE_EQ(stop.best(), 1.0);
  EXPECT_FALSE(stop.step(0.85));
  EXPECT_EQ(stop.epochs_without_improvement(), 0);
  EXPECT_DOUBLE_EQ(stop.best(), 0.85);
}

TEST(EarlyStopping, MaxModeTreatsHigherAsBetter) {
  EarlyStopping stop(1, 0.0, EarlyStopping::Mode::max);
  EXPECT_FALSE(stop.step(0.80));
  EXPECT_FALSE(stop.step(0.90));  // higher accuracy: improvement
  EXPECT_DOUBLE_EQ(stop.best(), 0.90);
  EXPECT_TRUE(stop.step(0.85));  // lower: patience 1 exhausted
}

TEST(EarlyStopping, BestKeepsTheBestMetricSeen) {
  EarlyStopping stop(10);
  for (double m : {3.0, 2.0, 2.5, 1.5, 4.0}) (void)stop.step(m);
  EXPECT_DOUBLE_EQ(stop.best(), 1.5);
  EXPECT_EQ(stop.epochs_without_improvement(), 1);
}

TEST(EarlyStopping, NegativePatienceOrMinDeltaThrowsInvalidArgument) {
  EXPECT_THROW(EarlyStopping(-1), std::invalid_argument);
  EXPECT_THROW(EarlyStopping(2, -0.5), std::invalid_argument);
}

// ---- safetensors -----------------------------------------------------------------------------

using Safetensors = TempDir;

TEST_F(Safetensors, SaveWritesThePublishedByteLayout) {
  // Tensors are laid out sorted by name (the reference writer's order for one dtype): "a" then
  // "b". The header is compact JSON with the fields in the writer's order, 110 characters:
  const std::string json = R"({"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  ASSERT_EQ(json.size(), 110u);
  // padded with 2 spaces to 112 (a multiple of 8); length prefix 112 = 0x70 little-endian:
  // 70 00 00 00 00 00 00 00. Data: 3.0f = 0x40400000, 1.0f = 0x3F800000, 2.0f = 0x40000000,
  // each little-endian.
  const std::string expected = std::string("\x70\0\0\0\0\0\0\0", 8) + json + "  " +
                               std::string(
                                   "\0\0\x40\x40"
                                   "\0\0\x80\x3f"
                                   "\0\0\0\x40",
                                   12);
  save_safetensors(file("t.safetensors"), {{"b", tensor({1, 2})}, {"a", tensor({{3}})}});
  EXPECT_EQ(read_bytes(file("t.safetensors")), expected);
}

TEST_F(Safetensors, LoadReadsAFileAsTheReferenceWriterMakesIt) {
  // safetensors.torch.save_file({"weight": [[1,2],[3,4]], "bias": [0.5]}, metadata={"format":
  // "pt"}) writes "__metadata__" first, then the tensors; "__metadata__" is not a tensor.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
      R"("weight":{"dtype":"F32","shape":[2,2],"data_offsets":[4,20]}})";
  write_bytes(file("ref.safetensors"), safetensors_file(header, float_bytes({0.5f, 1, 2, 3, 4})));
  const NamedTensors loaded = load_safetensors(file("ref.safetensors"));
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].first, "bias");
  EXPECT_EQ(loaded[0].second.shape(), (Shape{1}));
  EXPECT_EQ(loaded[0].second.to_vector(), (Values{0.5f}));
  EXPECT_EQ(loaded[1].first, "weight");
  EXPECT_EQ(loaded[1].second.shape(), (Shape{2, 2}));
  EXPECT_EQ(loaded[1].second.to_vector(), (Values{1, 2, 3, 4}));
}

TEST_F(Safetensors, LoadAcceptsAnUnpaddedHeaderAndAnyKeyOrder) {
  // Offsets, not key order, say where data lies: "z" comes first in the data.
  const std::string header = R"({"a":{"data_offsets":[8,12],"shape":[],"dtype":"F32"},)"
                             R"("z":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  write_bytes(file("u.safetensors"), u64_le(header.size()) + header + float_bytes({7, 8, 9}));
  const NamedTensors loaded = load_safetensors(file("u.safetensors"));
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].first, "a");
  EXPECT_EQ(loaded[0].second.shape(), Shape{});
  EXPECT_EQ(loaded[0].second.to_vector(), (Values{9}));
  EXPECT_EQ(loaded[1].second.to_vector(), (Values{7, 8}));
}

TEST_F(Safetensors, RoundTripKeepsNamesShapesAndValues) {
  const NamedTensors saved = {{"scalar", scalar_tensor(-2.5f)},
                              {"cube", arange(24.0f).reshape({2, 3, 4})},
                              {"view", arange(6.0f).reshape({2, 3}).transpose(0, 1)}};
  save_safetensors(file("r.safetensors"), saved);
  const NamedTensors loaded = load_safetensors(file("r.safetensors"));
  std::map<std::string, Tensor> by_name(loaded.begin(), loaded.end());
  ASSERT_EQ(by_name.size(), 3u);
  for (const auto& [name, t] : saved) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_EQ(by_name[name].shape(), t.shape()) << name;
    EXPECT_EQ(by_name[name].to_vector(), t.to_vector()) << name;
  }
}

TEST_F(Safetensors, SaveReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  save_safetensors(file("x.safetensors"), {{"w", tensor({1, 2, 3})}});
  save_safetensors(file("x.safetensors"), {{"w", tensor({4})}});
  EXPECT_EQ(load_safetensors(file("x.safetensors"))[0].second.to_vector(), (Values{4}));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"x.safetensors"});
}

TEST_F(Safetensors, SaveIntoAMissingFolderThrowsRuntimeErrorNamingTheFile) {
  const fs::path path = file("no_such_folder") / "w.safetensors";
  const std::string message = runtime_error_message([&] {
    save_safetensors(path, {{"w", tensor({1})}});
  });
  EXPECT_NE(message.find("w.safetensors"), std::string::npos) << message;
}

TEST_F(Safetensors, LoadMissingFileThrowsRuntimeErrorNamingIt) {
  const fs::path path = file("absent.safetensors");
  const std::string message = runtime_error_message([&] { (void)load_safetensors(path); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadFileShorterThanTheLengthPrefixThrows) {
  write_bytes(file("short.safetensors"), std::string("\x08\0\0", 3));
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("short.safetensors")); });
  EXPECT_NE(message.find(file("short.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadTruncatedDataThrows) {
  // A valid file cut 4 bytes short: the last tensor's data_offsets reach past the end.
  save_safetensors(file("cut.safetensors"), {{"w", tensor({1, 2, 3})}});
  std::string bytes = read_bytes(file("cut.safetensors"));
  bytes.resize(bytes.size() - 4);
  write_bytes(file("cut.safetensors"), bytes);
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("cut.safetensors")); });
  EXPECT_NE(message.find(file("cut.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadHeaderLengthLargerThanTheFileThrows) {
  // The length prefix written big-endian (bytes flipped) reads as 0x7000000000000000 little-endian.
  save_safetensors(file("flip.safetensors"), {{"a", tensor({{3}})}, {"b", tensor({1, 2})}});
  std::string bytes = read_bytes(file("flip.safetensors"));
  std::reverse(bytes.begin(), bytes.begin() + 8);
  write_bytes(file("flip.safetensors"), bytes);
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("flip.safetensors")); });
  EXPECT_NE(message.find(file("flip.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadHeaderThatIsNotJsonThrows) {
  write_bytes(file("bad.safetensors"), safetensors_file(R"({"w": {"dtype": "F32",)", "xxxx"));
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("bad.safetensors")); });
  EXPECT_NE(message.find(file("bad.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadUnsupportedDtypeThrowsNamingIt) {
  // Two F16 numbers take 4 bytes: the offsets are consistent, only the dtype is not supported.
  write_bytes(file("f16.safetensors"),
              safetensors_file(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})",
                               std::string(4, '\0')));
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("f16.safetensors")); });
  EXPECT_NE(message.find("F16"), std::string::npos) << message;
  EXPECT_NE(message.find(file("f16.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadOffsetsBeyondTheDataThrows) {
  write_bytes(file("far.safetensors"),
              safetensors_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                               float_bytes({1, 2})));
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("far.safetensors")); });
  EXPECT_NE(message.find(file("far.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadHeaderWithANumberNoDoubleHoldsThrowsNamingTheFile) {
  // JSON allows 1e999; parsing it fails with an out-of-range error, not a syntax error (found by
  // the fuzzer: it escaped as an exception that named no file).
  write_bytes(
      file("inf.safetensors"),
      safetensors_file(R"({"w":{"dtype":"F32","shape":[1e999],"data_offsets":[0,0]}})", ""));
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("inf.safetensors")); });
  EXPECT_NE(message.find(file("inf.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadShapeWhoseElementCountOverflowsThrows) {
  // 2^32 x 2^32 x 0 elements: zero bytes, but the product of the first two overflows int64.
  write_bytes(file("huge.safetensors"),
              safetensors_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,0],)"
                               R"("data_offsets":[0,0]}})",
                               ""));
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("huge.safetensors")); });
  EXPECT_NE(message.find(file("huge.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadSizeAboveTheLargestInt64Throws) {
  write_bytes(file("big.safetensors"),
              safetensors_file(R"({"w":{"dtype":"F32","shape":[18446744073709551615],)"
                               R"("data_offsets":[0,0]}})",
                               ""));
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("big.safetensors")); });
  EXPECT_NE(message.find(file("big.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadOverlappingOffsetsThrows) {
  // "a" covers bytes [0, 8), "b" covers [4, 12): they share bytes 4..7.
  write_bytes(file("overlap.safetensors"),
              safetensors_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                               float_bytes({1, 2, 3})));
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("overlap.safetensors")); });
  EXPECT_NE(message.find(file("overlap.safetensors").string()), std::string::npos) << message;
}

TEST_F(Safetensors, LoadShapeThatDoesNotMatchTheByteLengthThrows) {
  // shape (3) needs 3 x 4 = 12 bytes; the offsets give 8.
  write_bytes(file("len.safetensors"),
              safetensors_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                               float_bytes({1, 2})));
  const std::string message =
      runtime_error_message([&] { (void)load_safetensors(file("len.safetensors")); });
  EXPECT_NE(message.find(file("len.safetensors").string()), std::string::npos) << message;
}

// ---- checkpoints --------------------------------------------------------------------------

using Checkpoint = TempDir;

TEST_F(Checkpoint, SavesParametersAndBuffersUnderTheirDottedNames) {
  Net net(1);
  save_checkpoint(net, file("net.safetensors"));
  std::set<std::string> names;
  for (const auto& [name, t] : load_safetensors(file("net.safetensors"))) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"fc.bias", "fc.weight", "steps"}));
}

TEST_F(Checkpoint, LoadRestoresParametersAndBuffers) {
  Net source(1);
  Net target(2);  // other initial weights, steps = 2
  save_checkpoint(source, file("net.safetensors"));
  load_checkpoint(target, file("net.safetensors"));
  EXPECT_EQ(target.fc->weight.to_vector(), source.fc->weight.to_vector());
  EXPECT_EQ(target.fc->bias.to_vector(), source.fc->bias.to_vector());
  EXPECT_EQ(target.steps.to_vector(), (Values{1}));
}

TEST_F(Checkpoint, LoadCopiesIntoTheModelsOwnTensors) {
  // Handles taken before the load (an optimizer holds such handles) see the loaded values.
  Net source(1);
  Net target(2);
  Tensor held;
  for (const auto& [name, p] : target.named_parameters()) {
    if (name == "fc.weight") held = p;
  }
  ASSERT_TRUE(held.defined());
  save_checkpoint(source, file("net.safetensors"));
  load_checkpoint(target, file("net.safetensors"));
  EXPECT_EQ(held.to_vector(), source.fc->weight.to_vector());
  EXPECT_TRUE(held.shares_storage(target.fc->weight));
  EXPECT_TRUE(held.requires_grad());
}

TEST_F(Checkpoint, MissingKeyThrowsNamingTheKeyAndTheFile) {
  save_safetensors(file("part.safetensors"),
                   {{"fc.weight", zeros({3, 2})}, {"fc.bias", zeros({3})}});  // no "steps"
  Net net(1);
  const std::string message =
      runtime_error_message([&] { load_checkpoint(net, file("part.safetensors")); });
  EXPECT_NE(message.find("steps"), std::string::npos) << message;
  EXPECT_NE(message.find(file("part.safetensors").string()), std::string::npos) << message;
}

TEST_F(Checkpoint, UnexpectedKeyThrowsNamingTheKey) {
  save_safetensors(file("extra.safetensors"), {{"fc.weight", zeros({3, 2})},
                                               {"fc.bias", zeros({3})},
                                               {"steps", zeros({1})},
                                               {"head.weight", zeros({1, 3})}});
  Net net(1);
  const std::string message =
      runtime_error_message([&] { load_checkpoint(net, file("extra.safetensors")); });
  EXPECT_NE(message.find("head.weight"), std::string::npos) << message;
  EXPECT_NE(message.find(file("extra.safetensors").string()), std::string::npos) << message;
}

TEST_F(Checkpoint, ShapeMismatchThrowsNamingTheKeyAndBothShapes) {
  save_safetensors(file("shape.safetensors"),
                   {{"fc.weight", zeros({2, 3})}, {"fc.bias", zeros({3})}, {"steps", zeros({1})}});
  Net net(1);  // fc.weight is (3, 2)
  const std::string message =
      runtime_error_message([&] { load_checkpoint(net, file("shape.safetensors")); });
  EXPECT_NE(message.find("fc.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("[2, 3]"), std::string::npos) << message;
  EXPECT_NE(message.find("[3, 2]"), std::string::npos) << message;
  EXPECT_NE(message.find(file("shape.safetensors").string()), std::string::npos) << message;
}

TEST_F(Checkpoint, AFailedLoadLeavesTheModelUnchanged) {
  // Only "steps" is wrong, and it comes last both by name and in the model's order (parameters
  // fc.weight, fc.bias, then buffers): a load that copied as it checked would already have
  // overwritten the weights when it found the mismatch.
  save_safetensors(
      file("bad.safetensors"),
      {{"fc.weight", full({3, 2}, 9)}, {"fc.bias", full({3}, 9)}, {"steps", zeros({2})}});
  Net net(1);
  const Values weight_before = net.fc->weight.to_vector();
  const Values bias_before = net.fc->bias.to_vector();
  EXPECT_THROW(load_checkpoint(net, file("bad.safetensors")), std::runtime_error);
  EXPECT_EQ(net.fc->weight.to_vector(), weight_before);
  EXPECT_EQ(net.fc->bias.to_vector(), bias_before);
  EXPECT_EQ(net.steps.to_vector(), (Values{1}));
}

// ---- Trainer ------------------------------------------------------------------------------

LossFn mse() {
  return [](const Tensor& out, const Tensor& target) { return mse_loss(out, target); };
}

TEST(Trainer, TrainEpochTakesOneSgdStepPerBatchWithFreshGradients) {
  // y = x w, loss (x w - y)^2, dL/dw = 2 x (x w - y); SGD lr 0.1, batches of one sample, w = 0.
  //   batch 1: x = 1, y = 2: grad 2*1*(0 - 2) = -4        -> w = 0 + 0.4 = 0.4
  //   batch 2: x = 2, y = 4: grad 2*2*(0.8 - 4) = -12.8   -> w = 0.4 + 1.28 = 1.68
  // (Had the first gradient not been cleared: -16.8 -> w = 2.08.)
  // Epoch loss: (4 + 3.2^2) / 2 = (4 + 10.24) / 2 = 7.12.
  Scale model(0.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.1));
  Trainer trainer(model, opt, mse());
  TensorBatches batches(tensor({{1}, {2}}), tensor({{2}, {4}}), 1);
  const EpochStats stats = trainer.train_epoch(batches);
  EXPECT_NEAR(model.w.item(), 1.68f, 1e-6);
  EXPECT_NEAR(stats.loss, 7.12, 1e-5);
  EXPECT_EQ(stats.samples, 2);
}

TEST(Trainer, TrainLossIsTheMeanPerSampleNotPerBatch) {
  // lr 0 keeps w = 1; inputs 0, so the outputs are 0 and each sample's loss is its target squared.
  // Batches of 3 then 1: batch means 1 and 9. Per sample: (3*1 + 1*9) / 4 = 3 (not (1 + 9)/2 = 5).
  Scale model(1.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.0));
  Trainer trainer(model, opt, mse());
  TensorBatches batches(zeros({4, 1}), tensor({{1}, {1}, {1}, {3}}), 3);
  EXPECT_NEAR(trainer.train_epoch(batches).loss, 3.0, 1e-6);
}

TEST(Trainer, EvaluateLossIsTheMeanPerSampleNotPerBatch) {
  // Same data as above, evaluated: (3*1 + 1*9) / 4 = 3.
  Scale model(1.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.1));
  Trainer trainer(model, opt, mse());
  TensorBatches batches(zeros({4, 1}), tensor({{1}, {1}, {1}, {3}}), 3);
  const EpochStats stats = trainer.evaluate(batches);
  EXPECT_NEAR(stats.loss, 3.0, 1e-6);
  EXPECT_EQ(stats.samples, 4);
}

TEST(Trainer, ClipGradNormOptionClipsBeforeTheStep) {
  // w = 0, x = 1, y = 10: grad 2*(0 - 10) = -20, norm 20 > 1 -> clipped to -1; SGD lr 0.5:
  // w = 0 + 0.5 * 1 = 0.5. (Unclipped it would be 0 + 0.5 * 20 = 10.)
  Scale model(0.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.5));
  TrainerOptions options;
  options.clip_grad_norm = 1.0;
  Trainer trainer(model, opt, mse(), options);
  TensorBatches batches(tensor({{1}}), tensor({{10}}), 1);
  (void)trainer.train_epoch(batches);
  EXPECT_NEAR(model.w.item(), 0.5f, 1e-6);
}

TEST(Trainer, OnBatchIsCalledAfterEveryBatchWithIndexCountAndRunningLoss) {
  // lr 0, outputs 0: sample losses are targets squared: 1, 1 | 4, 4 | 9.
  // Running mean per sample: 2/2 = 1, (2 + 8)/4 = 2.5, (2 + 8 + 9)/5 = 3.8.
  Scale model(1.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.0));
  struct Call {
    std::int64_t index, count;
    double loss;
  };
  std::vector<Call> calls;
  TrainerOptions options;
  options.on_batch = [&](std::int64_t i, std::int64_t n, double loss) {
    calls.push_back({i, n, loss});
  };
  Trainer trainer(model, opt, mse(), options);
  TensorBatches batches(zeros({5, 1}), tensor({{1}, {1}, {2}, {2}, {3}}), 2);
  const EpochStats stats = trainer.train_epoch(batches);
  ASSERT_EQ(calls.size(), 3u);
  const double running[] = {1.0, 2.5, 3.8};
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(calls[k].index, static_cast<std::int64_t>(k));
    EXPECT_EQ(calls[k].count, 3);
    EXPECT_NEAR(calls[k].loss, running[k], 1e-6);
  }
  EXPECT_NEAR(stats.loss, 3.8, 1e-6);
}

TEST(Trainer, TrainEpochRunsInTrainingModeWithGradMode) {
  Scale model(1.0f);
  model.eval();  // the trainer must switch it back
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.1));
  Trainer trainer(model, opt, mse());
  TensorBatches batches(ones({2, 1}), ones({2, 1}), 2);
  (void)trainer.train_epoch(batches);
  EXPECT_TRUE(model.saw_training);
  EXPECT_TRUE(model.saw_grad_mode);
}

TEST(Trainer, EvaluateRunsInEvalModeWithoutGradAndLearnsNothing) {
  Scale model(0.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.1));
  Trainer trainer(model, opt, mse());
  TensorBatches batches(ones({3, 1}), full({3, 1}, 5), 2);
  (void)trainer.evaluate(batches);
  EXPECT_EQ(model.calls, 2);
  EXPECT_FALSE(model.saw_training);
  EXPECT_FALSE(model.saw_grad_mode);
  EXPECT_EQ(model.w.item(), 0.0f);
  EXPECT_FALSE(model.w.grad().defined());
  EXPECT_TRUE(autograd::GradMode::is_enabled());  // the guard restored grad mode
}

TEST(Trainer, EachEpochStartsANewPassOverTheBatches) {
  // The source is exhausted before the trainer sees it: train_epoch must reset() it.
  Scale model(1.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.0));
  Trainer trainer(model, opt, mse());
  TensorBatches batches(zeros({5, 1}), zeros({5, 1}), 2);
  while (batches.next()) {
  }
  EXPECT_EQ(trainer.train_epoch(batches).samples, 5);
  EXPECT_EQ(trainer.evaluate(batches).samples, 5);
}

TEST(Trainer, EpochStatsReportAccuracyOfTheOutputs) {
  // w = 1: the outputs are the inputs, read as binary logits 1, -1, 2, -2 -> predictions 1, 0, 1,
  // 0; targets 1, 0, 0, 0 -> 3/4 correct.
  Scale model(1.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.1));
  Trainer trainer(model, opt, [](const Tensor& out, const Tensor& t) {
    return binary_cross_entropy_with_logits(out, t);
  });
  TensorBatches batches(tensor({{1}, {-1}, {2}, {-2}}), tensor({{1}, {0}, {0}, {0}}), 3);
  EXPECT_DOUBLE_EQ(trainer.evaluate(batches).accuracy, 0.75);
}

TEST(Trainer, HistoryKeepsOneEntryPerEpochAndEvaluation) {
  Scale model(1.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.01));
  Trainer trainer(model, opt, mse());
  TensorBatches batches(ones({4, 1}), full({4, 1}, 2), 2);
  std::vector<EpochStats> returned;
  for (int e = 0; e < 3; ++e) returned.push_back(trainer.train_epoch(batches));
  const EpochStats eval = trainer.evaluate(batches);
  (void)trainer.evaluate(batches);
  ASSERT_EQ(trainer.history().train.size(), 3u);
  ASSERT_EQ(trainer.history().eval.size(), 2u);
  for (int e = 0; e < 3; ++e) EXPECT_DOUBLE_EQ(trainer.history().train[e].loss, returned[e].loss);
  EXPECT_DOUBLE_EQ(trainer.history().eval[0].loss, eval.loss);
  // Learning on y = 2x from w = 1: each epoch's loss is lower than the one before.
  EXPECT_LT(returned[2].loss, returned[0].loss);
}

TEST(Trainer, EpochStatsMeasureElapsedSeconds) {
  Scale model(1.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.01));
  Trainer trainer(model, opt, mse());
  TensorBatches batches(ones({64, 1}), ones({64, 1}), 8);
  const EpochStats stats = trainer.train_epoch(batches);
  EXPECT_GT(stats.seconds, 0.0);
  EXPECT_LT(stats.seconds, 60.0);
}

TEST(Trainer, LearnsALinearlySeparableProblem) {
  // 200 points of N(0, I) in 2-D, class 1 when x0 + 2 x1 > 0: a linear classifier separates them.
  Generator g(7);
  const Tensor x = randn({200, 2}, g);
  const Values xs = x.to_vector();
  Values labels;
  for (int i = 0; i < 200; ++i) labels.push_back(xs[2 * i] + 2 * xs[2 * i + 1] > 0 ? 1.0f : 0.0f);
  const Tensor y = from_vector(labels, {200});
  nn::Linear model(2, 2, true, nn::Init::kaiming_uniform, g);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.5));
  Trainer trainer(model, opt, nn::CrossEntropyLoss());
  TensorBatches train_batches(x, y, 20, true, 1);
  TensorBatches eval_batches(x, y, 50);
  for (int epoch = 0; epoch < 30; ++epoch) (void)trainer.train_epoch(train_batches);
  const EpochStats eval = trainer.evaluate(eval_batches);
  EXPECT_GE(eval.accuracy, 0.95);
  EXPECT_LT(trainer.history().train.back().loss, trainer.history().train.front().loss);
}

TEST(Trainer, NegativeClipGradNormThrowsInvalidArgument) {
  Scale model(1.0f);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.1));
  TrainerOptions options;
  options.clip_grad_norm = -1.0;
  EXPECT_THROW(Trainer(model, opt, mse(), options), std::invalid_argument);
}

}  // namespace
}  // namespace tinytorch::train
