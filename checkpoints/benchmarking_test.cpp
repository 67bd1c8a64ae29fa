// Checkpoint "benchmarking": Can I say how long my model takes, how sure I am, and what each of
// its layers costs?
//
// Answered end to end with your module 19 code over modules 02-09: a small CNN's forward pass is
// measured by the harness (warm-up, repeats, a stopping rule, a median with its interval), two
// variants are compared with a bootstrap interval, the report is JSON with the machine in it, and
// each layer's multiply-adds, counted from the shapes it actually read and wrote, add up to the
// count worked by hand below; the profiler, watching one training step, finds every layer and
// attributes their multiply-adds and backward passes. No assertion is about speed: how fast this
// machine is right now is not a property of your code.
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tinytorch/benchmarking.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/profiler.hpp"
#include "tinytorch/spatial.hpp"

namespace {

using namespace tinytorch;  // NOLINT(google-build-using-namespace)

// (8, 1, 12, 12) -> Conv2d(1, 6, 3, padding 1) -> ReLU -> MaxPool2d(2) -> (8, 6, 6, 6)
// -> Flatten -> (8, 216) -> Linear(216, 10) -> (8, 10).
nn::Sequential small_cnn() {
  Generator g(19);
  return nn::Sequential(nn::Conv2d(1, 6, 3, 1, 1, true, g), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(216, 10, true, nn::Init::kaiming_uniform, g));
}

}  // namespace

TEST(BenchmarkingCheckpoint, EachLayersMultiplyAddsAddUpToTheHandCount) {
  auto model = small_cnn();
  Generator g(1);
  Tensor x = randn({8, 1, 12, 12}, g);
  std::int64_t macs = 0;
  for (std::size_t i = 0; i < model.size(); ++i) {
    const Tensor y = (*model[i])(x);
    macs += bench::layer_cost(*model[i], x.shape(), y.shape()).macs;
    x = y;
  }
  // Conv: 8 * 6 * 12 * 12 outputs of 1 * 3 * 3; Linear: 8 rows of 216 * 10.
  EXPECT_EQ(macs, 8LL * 6 * 12 * 12 * 9 + 8LL * 216 * 10);
}

TEST(BenchmarkingCheckpoint, TheHarnessReportsTwoVariantsWithTheirIntervals) {
  auto model = small_cnn();
  model.eval();
  Generator g(2);
  const Tensor one = randn({1, 1, 12, 12}, g);
  const Tensor batch = randn({16, 1, 12, 12}, g);
  const bench::RunOptions options{.warmup = 2, .min_repeats = 5, .max_seconds = 0.3};
  const auto small = bench::measure(
      "batch 1", [&] { (void)model(one); }, options);
  const auto large = bench::measure(
      "batch 16", [&] { (void)model(batch); }, options);
  for (const auto* m : {&small, &large}) {
    EXPECT_GE(m->seconds.size(), 5u);
    EXPECT_EQ(m->warmup, 2);
    EXPECT_LE(m->summary.min, m->summary.median);
    EXPECT_LE(m->summary.median, m->summary.max);
    EXPECT_LE(m->median_ci.low, m->summary.median);
    EXPECT_GE(m->median_ci.high, m->summary.median);
  }
  const auto cmp = bench::compare(large, small);
  EXPECT_LE(cmp.speedup.low, cmp.speedup.estimate);
  EXPECT_LE(cmp.speedup.estimate, cmp.speedup.high);

  const auto doc =
      nlohmann::json::parse(bench::to_json(bench::machine_info(), {small, large}, {cmp}));
  EXPECT_EQ(doc["benchmarks"].size(), 2u);
  EXPECT_EQ(doc["benchmarks"][1]["name"], "batch 16");
  EXPECT_EQ(doc["comparisons"][0]["baseline"], "batch 16");
  EXPECT_TRUE(doc["context"].contains("cpu_model"));
  EXPECT_TRUE(doc["context"].contains("blas"));
}

TEST(BenchmarkingCheckpoint, TheProfilerSeesEveryLayerOfATrainingStep) {
  auto model = small_cnn();
  Generator g(2);
  const Tensor x = randn({8, 1, 12, 12}, g);
  const Tensor y = from_vector({0, 1, 2, 3, 4, 5, 6, 7}, {8});
  std::vector<bench::LayerProfile> layers;
  {
    bench::Profiler profiler(model);
    cross_entropy(model(x), y).backward();
    layers = profiler.layers();
  }
  ASSERT_EQ(layers.size(), 6U);  // the Sequential and its five children
  std::int64_t macs = 0;
  for (const auto& p : layers) {
    EXPECT_EQ(p.calls, 1) << p.name;
    macs += p.macs;
    if (p.type == "Conv2d" || p.type == "Linear") EXPECT_GT(p.backward_nodes, 0) << p.name;
  }
  EXPECT_EQ(macs, 8LL * 6 * 12 * 12 * 9 + 8LL * 216 * 10);
  EXPECT_FALSE(bench::profile_table(layers).empty());
}
