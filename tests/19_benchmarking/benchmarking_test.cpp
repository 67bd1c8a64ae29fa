// Hidden grading suite for module 19 (benchmarking). Synthetic timings only, never the clock: every
// expected number is worked by hand in a comment, follows from a definition (a 95% interval covers
// the truth in about 95% of seeded trials drawn from a distribution whose median is known), or
// is a textbook value (the standard normal's quantiles, the median's order-statistic ranks).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/benchmarking.hpp"
#include "tinytorch/profiler.hpp"
#include "tinytorch/spatial.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)

namespace {

// n draws of exp(N(mu, sigma)): a skewed, timing-like distribution whose median is exp(mu).
std::vector<double> lognormal(std::mt19937_64& rng, int n, double mu, double sigma) {
  std::normal_distribution<double> normal(mu, sigma);
  std::vector<double> x(static_cast<std::size_t>(n));
  for (double& v : x) v = std::exp(normal(rng));
  return x;
}

// The type-7 quantile written out again, so that the bootstrap's oracle does not lean on the
// student's own quantile().
double reference_quantile(std::vector<double> x, double q) {
  std::sort(x.begin(), x.end());
  const double h = static_cast<double>(x.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const auto hi = static_cast<std::size_t>(std::ceil(h));
  return x[lo] + (h - std::floor(h)) * (x[hi] - x[lo]);
}

// The timings a function hands out, one per call, in order; the last repeats forever.
struct Script {
  std::vector<double> values;
  std::size_t calls = 0;
  double operator()() {
    const double v = values[std::min(calls, values.size() - 1)];
    ++calls;
    return v;
  }
};

// Noise that never converges at a 1e-9 target: 1, 2, 1, 2, ...
std::function<double()> alternating(std::int64_t& calls) {
  return [&calls] { return (calls++ % 2 == 0) ? 1.0 : 2.0; };
}

}  // namespace

// ---- quantiles ----------------------------------------------------------------------------------

TEST(Quantile, IsLinearInterpolationBetweenOrderStatistics) {
  // Sorted 10 20 30 40 50; q = 0.3 -> h = 4 * 0.3 = 1.2 -> 20 + 0.2 * (30 - 20) = 22.
  EXPECT_DOUBLE_EQ(bench::quantile({50, 10, 40, 20, 30}, 0.3), 22.0);
  // q = 0.9 -> h = 3.6 -> 40 + 0.6 * 10 = 46.
  EXPECT_DOUBLE_EQ(bench::quantile({50, 10, 40, 20, 30}, 0.9), 46.0);
}

TEST(Quantile, EndsAreTheMinimumAndTheMaximum) {
  EXPECT_DOUBLE_EQ(bench::quantile({3, 1, 2}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(bench::quantile({3, 1, 2}, 1.0), 3.0);
}

TEST(Quantile, OfOneSampleIsThatSample) {
  EXPECT_DOUBLE_EQ(bench::quantile({7.5}, 0.25), 7.5);
}

TEST(Quantile, RefusesQOutsideZeroToOne) {
  EXPECT_THROW((void)bench::quantile({1, 2}, 1.5), std::invalid_argument);
  EXPECT_THROW((void)bench::quantile({1, 2}, -0.1), std::invalid_argument);
}

TEST(Quantile, RefusesANonFiniteSample) {
  EXPECT_THROW((void)bench::quantile({1, std::numeric_limits<double>::quiet_NaN()}, 0.5),
               std::invalid_argument);
}

TEST(Median, OfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  EXPECT_DOUBLE_EQ(bench::median({9, 1, 5, 3}), 4.0);  // sorted 1 3 5 9
}

TEST(Median, OfAnOddCountIsTheMiddleOne) {
  EXPECT_DOUBLE_EQ(bench::median({9, 1, 5}), 5.0);
}

// ---- outliers and summary -----------------------------------------------------------------------

TEST(TukeyOutliers, FencesAreOneAndAHalfIqrBeyondTheQuartiles) {
  // 1..9: q1 = 3, q3 = 7, IQR = 4: fences 3 - 6 = -3 and 7 + 6 = 13.
  const auto o = bench::tukey_outliers({1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_DOUBLE_EQ(o.low_fence, -3.0);
  EXPECT_DOUBLE_EQ(o.high_fence, 13.0);
  EXPECT_EQ(o.low + o.high, 0);
}

TEST(TukeyOutliers, CountsBothSidesSeparately) {
  // 1..8 and -50, 100, 200: sorted -50 1 .. 8 100 200 (11 values): q1 = x(3.5 -> h 2.5) = 2.5,
  // q3 = h 7.5 -> 7.5; IQR 5; fences -5 and 15: one low, two high.
  const auto o = bench::tukey_outliers({1, 2, 3, 4, 5, 6, 7, 8, -50, 100, 200});
  EXPECT_EQ(o.low, 1);
  EXPECT_EQ(o.high, 2);
}

TEST(TukeyOutliers, ASampleOnTheFenceIsNotAnOutlier) {
  // With k = 0 the fences are q1 = 3 and q3 = 7 themselves; 3 and 7 sit on them and stay inside.
  const auto o = bench::tukey_outliers({1, 2, 3, 4, 5, 6, 7, 8, 9}, 0.0);
  EXPECT_EQ(o.low, 2);   // 1, 2
  EXPECT_EQ(o.high, 2);  // 8, 9
}

TEST(Summarize, ReportsEveryStatisticOfTheSamples) {
  const auto s = bench::summarize({4, 1, 3, 2, 10});  // sorted 1 2 3 4 10
  EXPECT_EQ(s.n, 5);
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.q1, 2.0);
  EXPECT_DOUBLE_EQ(s.q3, 4.0);
  EXPECT_DOUBLE_EQ(s.iqr, 2.0);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
}

TEST(Summarize, KeepsTheOutlierItCounts) {
  // 10 is above 4 + 1.5 * 2 = 7: counted, and still in the mean and the maximum.
  const auto s = bench::summarize({4, 1, 3, 2, 10});
  EXPECT_EQ(s.outliers.high, 1);
  EXPECT_EQ(s.outliers.low, 0);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
}

TEST(Summarize, OfNoSamplesIsAnError) {
  EXPECT_THROW((void)bench::summarize({}), std::invalid_argument);
}

// ---- intervals ----------------------------------------------------------------------------------

TEST(NormalQuantile, MatchesTheTableValues) {
  EXPECT_NEAR(bench::normal_quantile(0.975), 1.959963984540054, 1e-9);
  EXPECT_NEAR(bench::normal_quantile(0.995), 2.5758293035489004, 1e-9);
  EXPECT_NEAR(bench::normal_quantile(0.1), -1.2815515655446004, 1e-9);
  EXPECT_NEAR(bench::normal_quantile(0.5), 0.0, 1e-9);
}

TEST(NormalQuantile, RefusesPOutsideZeroToOne) {
  EXPECT_THROW((void)bench::normal_quantile(0.0), std::invalid_argument);
  EXPECT_THROW((void)bench::normal_quantile(1.0), std::invalid_argument);
}

TEST(MedianCi, NinetyFivePercentOfOneHundredIsTheFortiethToTheSixtyFirst) {
  // z = 1.96, sqrt(100) = 10: j = floor((100 - 19.6) / 2) = 40, k = ceil(1 + 119.6 / 2) = 61.
  std::vector<double> x;
  for (int i = 100; i >= 1; --i) x.push_back(i);  // unsorted on purpose: x(i) = i once sorted
  const auto ci = bench::median_ci(x, 0.95);
  EXPECT_DOUBLE_EQ(ci.low, 40.0);
  EXPECT_DOUBLE_EQ(ci.high, 61.0);
  EXPECT_DOUBLE_EQ(ci.estimate, 50.5);
  EXPECT_DOUBLE_EQ(ci.level, 0.95);
}

TEST(MedianCi, NinetyNinePercentIsWider) {
  // z = 2.5758: j = floor(74.242 / 2) = 37, k = ceil(1 + 125.758 / 2) = 64.
  std::vector<double> x;
  for (int i = 1; i <= 100; ++i) x.push_back(i);
  const auto ci = bench::median_ci(x, 0.99);
  EXPECT_DOUBLE_EQ(ci.low, 37.0);
  EXPECT_DOUBLE_EQ(ci.high, 64.0);
}

TEST(MedianCi, FewSamplesGiveTheWholeRange) {
  // n = 5: z sqrt 5 = 4.38: j = floor(0.31) = 0 -> 1, k = ceil(5.69) = 6 -> 5.
  const auto ci = bench::median_ci({5, 3, 1, 4, 2}, 0.95);
  EXPECT_DOUBLE_EQ(ci.low, 1.0);
  EXPECT_DOUBLE_EQ(ci.high, 5.0);
}

TEST(MedianCi, RefusesOneSampleAndABadLevel) {
  EXPECT_THROW((void)bench::median_ci({1.0}), std::invalid_argument);
  EXPECT_THROW((void)bench::median_ci({1.0, 2.0}, 1.0), std::invalid_argument);
}

TEST(MedianCi, CoversTheTrueMedianAsOftenAsItsRanksPromise) {
  // Whatever the distribution, [x(j), x(k)] holds the true median exactly when j <= B <= k - 1,
  // B ~ Binomial(n, 1/2) the count of samples below it. For n = 51 at 95%: z sqrt 51 = 14.0,
  // j = floor(18.5) = 18, k = ceil(1 + 32.5) = 34, and P(18 <= B <= 33) = 0.9759 (the ranks'
  // discreteness makes it a little more than 95%). 2000 seeded trials of lognormal samples whose
  // median is exp(0) = 1 must agree with it within 4 binomial standard deviations (4 x 0.34%).
  double exact = 0.0;
  for (int b = 18; b <= 33; ++b) {
    exact += std::exp(std::lgamma(52.0) - std::lgamma(b + 1.0) - std::lgamma(52.0 - b) -
                      51.0 * std::log(2.0));
  }
  std::mt19937_64 rng(19);
  int covered = 0;
  const int trials = 2000;
  for (int t = 0; t < trials; ++t) {
    const auto ci = bench::median_ci(lognormal(rng, 51, 0.0, 0.5), 0.95);
    covered += (ci.low <= 1.0 && 1.0 <= ci.high) ? 1 : 0;
  }
  const double coverage = static_cast<double>(covered) / trials;
  EXPECT_NEAR(coverage, exact, 4.0 * std::sqrt(exact * (1.0 - exact) / trials));
}

TEST(BootstrapRatio, EstimateIsTheRatioOfTheMedians) {
  const auto ci = bench::bootstrap_ratio_ci({3, 6, 9}, {1, 2, 3, 4});  // 6 / 2.5
  EXPECT_DOUBLE_EQ(ci.estimate, 2.4);
}

TEST(BootstrapRatio, FollowsTheContractDrawForDraw) {
  // The contract fixes every draw (mt19937_64 from the seed, index rng() % n, a resample's
  // numerator draws before its denominator's), so the interval is recomputed here from the
  // definition: the level's two tail quantiles of the resampled ratios of medians.
  std::mt19937_64 data(5);
  const auto a = lognormal(data, 15, 1.0, 0.4);
  const auto b = lognormal(data, 12, 0.0, 0.4);
  const bench::BootstrapOptions options{.level = 0.9, .resamples = 500, .seed = 77};
  std::mt19937_64 rng(options.seed);
  auto resampled_median = [&rng](const std::vector<double>& x) {
    std::vector<double> draw;
    for (std::size_t i = 0; i < x.size(); ++i) draw.push_back(x[rng() % x.size()]);
    return reference_quantile(draw, 0.5);
  };
  std::vector<double> ratios;
  for (int r = 0; r < options.resamples; ++r) {
    const double num = resampled_median(a);
    ratios.push_back(num / resampled_median(b));
  }
  const auto ci = bench::bootstrap_ratio_ci(a, b, options);
  EXPECT_DOUBLE_EQ(ci.low, reference_quantile(ratios, 0.05));
  EXPECT_DOUBLE_EQ(ci.high, reference_quantile(ratios, 0.95));
  EXPECT_DOUBLE_EQ(ci.estimate, reference_quantile(a, 0.5) / reference_quantile(b, 0.5));
  EXPECT_NE(ci.estimate,
            reference_quantile(ratios, 0.5));  // the samples' ratio, not the resamples'
}

TEST(BootstrapRatio, ConstantTimingsGiveAPointInterval) {
  const auto ci = bench::bootstrap_ratio_ci({2, 2, 2}, {0.5, 0.5, 0.5, 0.5});
  EXPECT_DOUBLE_EQ(ci.low, 4.0);
  EXPECT_DOUBLE_EQ(ci.high, 4.0);
}

TEST(BootstrapRatio, ResamplesTheDenominatorToo) {
  // The numerator is constant, so all the interval's width comes from the denominator's noise.
  const auto ci = bench::bootstrap_ratio_ci({1, 1, 1, 1, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_LT(ci.low, ci.estimate);
  EXPECT_GT(ci.high, ci.estimate);
}

TEST(BootstrapRatio, TheSameSeedGivesTheSameIntervalAndAnotherSeedAnother) {
  std::mt19937_64 rng(3);
  const auto a = lognormal(rng, 20, 0.5, 0.3);
  const auto b = lognormal(rng, 20, 0.0, 0.3);
  const auto first = bench::bootstrap_ratio_ci(a, b, {.seed = 1});
  const auto again = bench::bootstrap_ratio_ci(a, b, {.seed = 1});
  const auto other = bench::bootstrap_ratio_ci(a, b, {.seed = 2});
  EXPECT_EQ(first.low, again.low);
  EXPECT_EQ(first.high, again.high);
  EXPECT_TRUE(first.low != other.low || first.high != other.high);
}

TEST(BootstrapRatio, AHigherLevelGivesAWiderInterval) {
  std::mt19937_64 rng(4);
  const auto a = lognormal(rng, 25, 0.5, 0.3);
  const auto b = lognormal(rng, 25, 0.0, 0.3);
  const auto narrow = bench::bootstrap_ratio_ci(a, b, {.level = 0.8});
  const auto wide = bench::bootstrap_ratio_ci(a, b, {.level = 0.99});
  EXPECT_LT(wide.low, narrow.low);
  EXPECT_GT(wide.high, narrow.high);
  EXPECT_DOUBLE_EQ(wide.level, 0.99);
}

TEST(BootstrapRatio, CoversTheTrueRatioInAboutNinetyFivePercentOfTrials) {
  // 400 seeded trials: 40 samples of exp(N(ln 2, 0.5)) over 40 of exp(N(0, 0.2)). The true ratio
  // of medians is 2 (the ratio of means would be 2 exp((0.25 - 0.04) / 2) = 2.22: an interval
  // built on means misses 2 often). A percentile bootstrap of medians covers slightly below its
  // nominal level at this n; binomial noise over 400 trials: sd 1.1%.
  std::mt19937_64 rng(1919);
  int covered = 0;
  const int trials = 400;
  for (int t = 0; t < trials; ++t) {
    const auto a = lognormal(rng, 40, std::log(2.0), 0.5);
    const auto b = lognormal(rng, 40, 0.0, 0.2);
    const auto ci = bench::bootstrap_ratio_ci(a, b, {.resamples = 1000, .seed = 100u + t});
    covered += (ci.low <= 2.0 && 2.0 <= ci.high) ? 1 : 0;
  }
  const double coverage = static_cast<double>(covered) / trials;
  EXPECT_GT(coverage, 0.915);
  EXPECT_LT(coverage, 0.985);
}

TEST(BootstrapRatio, RefusesWhatIsNotATime) {
  EXPECT_THROW((void)bench::bootstrap_ratio_ci({1, 0}, {1, 2}), std::invalid_argument);
  EXPECT_THROW((void)bench::bootstrap_ratio_ci({1, 2}, {1, -2}), std::invalid_argument);
  EXPECT_THROW((void)bench::bootstrap_ratio_ci({1}, {1, 2}), std::invalid_argument);
}

TEST(BootstrapRatio, RefusesTooFewResamples) {
  EXPECT_THROW((void)bench::bootstrap_ratio_ci({1, 2}, {1, 2}, {.resamples = 10}),
               std::invalid_argument);
}

// ---- the harness --------------------------------------------------------------------------------

TEST(MeasureSamples, WarmUpRunsAreNotKept) {
  Script script{{100, 100, 100, 1}};
  const auto m = bench::measure_samples("w", std::ref(script), {.warmup = 3, .min_repeats = 4});
  EXPECT_EQ(m.warmup, 3);
  EXPECT_EQ(m.seconds, std::vector<double>(4, 1.0));
  EXPECT_EQ(script.calls, 7u);
}

TEST(MeasureSamples, StopsAsSoonAsTheIntervalIsNarrowEnough) {
  // Constant timings: the interval has width 0 at the first check, after min_repeats.
  Script script{{0.01}};
  const auto m = bench::measure_samples("c", std::ref(script),
                                        {.warmup = 0, .min_repeats = 7, .max_repeats = 100});
  EXPECT_EQ(m.seconds.size(), 7u);
  EXPECT_EQ(m.stop, bench::StopReason::converged);
}

TEST(MeasureSamples, StopsWhenTheTimeBudgetIsSpentWarmUpIncluded) {
  // Budget 10 s: warm-up 2 x 1 s, then 1, 2, 1, 2, ... never converge at a 1e-9 target. After
  // 2 + (1 + 2 + 1 + 2 + 1 + 2) = 11 >= 10 the sixth kept repetition stops it.
  Script script{{1, 1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}};
  const auto m = bench::measure_samples(
      "b", std::ref(script),
      {.warmup = 2, .min_repeats = 2, .max_seconds = 10, .target_relative_width = 1e-9});
  EXPECT_EQ(m.seconds.size(), 6u);
  EXPECT_EQ(m.stop, bench::StopReason::time_budget);
}

TEST(MeasureSamples, NeverStopsBeforeMinRepeatsEvenOverBudget) {
  std::int64_t calls = 0;
  const auto m = bench::measure_samples(
      "slow", alternating(calls),
      {.warmup = 1, .min_repeats = 8, .max_seconds = 0.5, .target_relative_width = 1e-9});
  EXPECT_EQ(m.seconds.size(), 8u);
  EXPECT_EQ(m.stop, bench::StopReason::time_budget);
}

TEST(MeasureSamples, StopsAtMaxRepeats) {
  std::int64_t calls = 0;
  const auto m = bench::measure_samples("noisy", alternating(calls),
                                        {.warmup = 0,
                                         .min_repeats = 3,
                                         .max_repeats = 9,
                                         .max_seconds = 1e9,
                                         .target_relative_width = 1e-9});
  EXPECT_EQ(m.seconds.size(), 9u);
  EXPECT_EQ(m.stop, bench::StopReason::max_repeats);
}

TEST(MeasureSamples, TheTargetIsAWidthRelativeToTheMedian) {
  // 990, 1000, 1010, ... : after 5 kept the interval is [990, 1010], 2% of the median 1000, within
  // a 5% target, although 20 seconds wide.
  std::int64_t calls = 0;
  const auto m = bench::measure_samples(
      "slow-but-steady", [&calls] { return 990.0 + 10.0 * static_cast<double>(calls++ % 3); },
      {.warmup = 0,
       .min_repeats = 5,
       .max_repeats = 50,
       .max_seconds = 1e9,
       .target_relative_width = 0.05});
  EXPECT_EQ(m.seconds.size(), 5u);
  EXPECT_EQ(m.stop, bench::StopReason::converged);
}

TEST(MeasureSamples, TinyButNoisyTimingsDoNotConverge) {
  // 1 ms and 2 ms in turn: the interval is only 1 ms wide, but that is 67% of the median.
  std::int64_t calls = 0;
  const auto m = bench::measure_samples("fast-but-noisy",
                                        [&calls] { return (calls++ % 2 == 0) ? 0.001 : 0.002; },
                                        {.warmup = 0,
                                         .min_repeats = 5,
                                         .max_repeats = 40,
                                         .max_seconds = 1e9,
                                         .target_relative_width = 0.05});
  EXPECT_EQ(m.stop, bench::StopReason::max_repeats);
}

TEST(MeasureSamples, ConvergenceIsTestedBeforeTheBudget) {
  // The first kept repetition already spends the budget, but the timings are constant: converged.
  Script script{{5.0}};
  const auto m = bench::measure_samples("both", std::ref(script),
                                        {.warmup = 0, .min_repeats = 3, .max_seconds = 1});
  EXPECT_EQ(m.stop, bench::StopReason::converged);
}

TEST(MeasureSamples, SummarisesTheKeptRepetitions) {
  Script script{{50, 3, 1, 2}};  // warm-up 50; kept 3 1 2 2 2 ...
  const auto m = bench::measure_samples(
      "s", std::ref(script),
      {.warmup = 1, .min_repeats = 3, .max_repeats = 3, .target_relative_width = 1e-9});
  EXPECT_EQ(m.name, "s");
  EXPECT_EQ(m.seconds, (std::vector<double>{3, 1, 2}));
  EXPECT_DOUBLE_EQ(m.summary.median, 2.0);
  EXPECT_DOUBLE_EQ(m.summary.max, 3.0);  // the warm-up's 50 is in nothing
  EXPECT_DOUBLE_EQ(m.median_ci.estimate, 2.0);
}

TEST(MeasureSamples, RefusesOptionsThatMakeNoSense) {
  Script script{{1.0}};
  EXPECT_THROW((void)bench::measure_samples("x", std::ref(script), {.warmup = -1}),
               std::invalid_argument);
  EXPECT_THROW((void)bench::measure_samples("x", std::ref(script), {.min_repeats = 1}),
               std::invalid_argument);
  EXPECT_THROW(
      (void)bench::measure_samples("x", std::ref(script), {.min_repeats = 5, .max_repeats = 4}),
      std::invalid_argument);
  EXPECT_THROW((void)bench::measure_samples("x", std::ref(script), {.max_seconds = 0}),
               std::invalid_argument);
  EXPECT_EQ(script.calls, 0u);  // refused before any work is run
}

TEST(Measure, RunsTheWorkOncePerWarmUpAndPerKeptRepetition) {
  int runs = 0;
  const auto m = bench::measure("count", [&] { ++runs; }, {.warmup = 2, .min_repeats = 5});
  EXPECT_EQ(runs, 2 + static_cast<int>(m.seconds.size()));
  for (double s : m.seconds) EXPECT_GE(s, 0.0);
}

TEST(StopReason, HasTheNamesTheReportUses) {
  EXPECT_STREQ(bench::to_string(bench::StopReason::converged), "converged");
  EXPECT_STREQ(bench::to_string(bench::StopReason::time_budget), "time_budget");
  EXPECT_STREQ(bench::to_string(bench::StopReason::max_repeats), "max_repeats");
}

TEST(Compare, SpeedupIsBaselineOverCandidate) {
  bench::Measurement slow{.name = "naive", .seconds = {4, 4.2, 3.8, 4.1}};
  bench::Measurement fast{.name = "blas", .seconds = {1, 1.1, 0.9, 1.0}};
  const auto c = bench::compare(slow, fast, {.resamples = 500, .seed = 9});
  EXPECT_EQ(c.baseline, "naive");
  EXPECT_EQ(c.candidate, "blas");
  EXPECT_DOUBLE_EQ(c.speedup.estimate, 4.05 / 1.0);  // medians 4.05 and 1.0
  EXPECT_GT(c.speedup.low, 1.0);
  EXPECT_EQ(c.resamples, 500);
  EXPECT_EQ(c.seed, 9u);
}

TEST(Report, WritesTheMachineTheMeasurementsAndTheComparisons) {
  Script a{{2.0}};
  Script b{{1.0}};
  const auto ma = bench::measure_samples("a", std::ref(a), {.warmup = 1, .min_repeats = 3});
  const auto mb = bench::measure_samples("b", std::ref(b), {.warmup = 1, .min_repeats = 3});
  const auto doc = nlohmann::json::parse(
      bench::to_json(bench::machine_info(), {ma, mb}, {bench::compare(ma, mb)}));
  EXPECT_FALSE(doc["context"]["cpu_model"].get<std::string>().empty());
  EXPECT_GE(doc["context"]["threads"].get<int>(), 1);
  ASSERT_EQ(doc["benchmarks"].size(), 2u);
  EXPECT_EQ(doc["benchmarks"][0]["stop"], "converged");
  EXPECT_EQ(doc["benchmarks"][0]["repeats"], 3);
  EXPECT_DOUBLE_EQ(doc["comparisons"][0]["speedup"]["estimate"].get<double>(), 2.0);
}

// ---- the profiler's counts ----------------------------------------------------------------------

TEST(LayerCost, LinearCountsInTimesOutPerRow) {
  const nn::Linear fc(3, 4);
  const auto c = bench::layer_cost(fc, {2, 3}, {2, 4});
  EXPECT_EQ(c.type, "Linear");
  EXPECT_EQ(c.macs, 2 * 3 * 4);
  EXPECT_EQ(c.parameter_bytes, 4 * (3 * 4 + 4));  // weight and bias
  EXPECT_EQ(c.activation_bytes, 4 * 2 * 4);
}

TEST(LayerCost, LinearCountsEveryLeadingDimensionAsRows) {
  // (5, 7, 3) is 35 rows of 3 features, as a GPT's (B, T, C).
  const nn::Linear fc(3, 4, false);
  const auto c = bench::layer_cost(fc, {5, 7, 3}, {5, 7, 4});
  EXPECT_EQ(c.macs, 35 * 3 * 4);
  EXPECT_EQ(c.parameter_bytes, 4 * 12);  // no bias
}

TEST(LayerCost, ConvCountsOneDotProductOfCKKPerOutputElement) {
  // 3 -> 8 channels, k 3, stride 1, padding 1 keeps 32 x 32: 2 * 8 * 32 * 32 outputs of 3 * 9.
  const nn::Conv2d conv(3, 8, 3, 1, 1);
  const auto c = bench::layer_cost(conv, {2, 3, 32, 32}, {2, 8, 32, 32});
  EXPECT_EQ(c.type, "Conv2d");
  EXPECT_EQ(c.macs, 2LL * 8 * 32 * 32 * 3 * 9);
  EXPECT_EQ(c.parameter_bytes, 4 * (8 * 3 * 9 + 8));
  EXPECT_EQ(c.activation_bytes, 4LL * 2 * 8 * 32 * 32);
}

TEST(LayerCost, ConvStrideShrinksTheOutputAndRoundsDown) {
  // 28 x 28, k 5, stride 2, no padding: (28 - 5) / 2 + 1 = 12 (11.5 rounded down, plus 1).
  const nn::Conv2d conv(1, 4, 5, 2, 0);
  EXPECT_EQ(bench::layer_cost(conv, {1, 1, 28, 28}, {1, 4, 12, 12}).macs, 4LL * 12 * 12 * 25);
}

TEST(LayerCost, ConvPaddingWidensTheInput) {
  // 7 x 7 padded by 2 is 11 x 11; k 3, stride 2: (11 - 3) / 2 + 1 = 5.
  const nn::Conv2d conv(2, 3, 3, 2, 2);
  EXPECT_EQ(bench::layer_cost(conv, {1, 2, 7, 7}, {1, 3, 5, 5}).macs, 3LL * 5 * 5 * 2 * 9);
}

TEST(LayerCost, LayersWithoutMultiplyAddsCountNone) {
  const nn::ReLU relu;
  const auto c = bench::layer_cost(relu, {4, 10}, {4, 10});
  EXPECT_EQ(c.type, "other");
  EXPECT_EQ(c.macs, 0);
  EXPECT_EQ(c.parameter_bytes, 0);
  EXPECT_EQ(c.activation_bytes, 4 * 40);
}

TEST(LayerCost, AnInputThatDoesNotFitTheLayerIsAnError) {
  const nn::Linear fc(3, 4);
  EXPECT_THROW((void)bench::layer_cost(fc, {2, 5}, {2, 4}), std::invalid_argument);
  const nn::Conv2d conv(3, 8, 3);
  EXPECT_THROW((void)bench::layer_cost(conv, {3, 32, 32}, {8, 30, 30}), std::invalid_argument);
  EXPECT_THROW((void)bench::layer_cost(conv, {1, 1, 32, 32}, {1, 8, 30, 30}),
               std::invalid_argument);
  EXPECT_THROW((void)bench::layer_cost(conv, {1, 3, 2, 2}, {1, 8, 0, 0}), std::invalid_argument);
}

TEST(PeakRss, GrowsToHoldWhatTheProcessTouched) {
  // Touch more than the peak so far, plus 32 MiB: the peak must now be at least that much.
  const std::int64_t before = bench::peak_rss_bytes();
  EXPECT_GT(before, 0);
  const std::int64_t size = before + (32LL << 20);
  std::vector<char> block(static_cast<std::size_t>(size));
  for (std::size_t i = 0; i < block.size(); i += 4096) block[i] = 1;
  EXPECT_GE(bench::peak_rss_bytes(), size);
  EXPECT_EQ(block[0], 1);
}

// ---- the profiler -------------------------------------------------------------------------------
// Durations come from a clock the tests move themselves: a Tick layer advances it by a known amount
// inside its forward (or its backward), so every expected time is exact, whatever the machine's
// load. Only one test reads the real clock, and it asks for "more than nothing".

namespace {

struct FakeClock {
  double now = 0.0;
  bench::ProfilerOptions options() {
    return {[this] { return now; }};
  }
};

// Spends `seconds` of fake time in its forward and returns its input.
class Tick : public nn::Module {
 public:
  Tick(FakeClock& clock, double seconds) : clock_(&clock), seconds_(seconds) {}
  Tensor forward(const Tensor& input) override {
    clock_->now += seconds_;
    return input;
  }

 private:
  FakeClock* clock_;
  double seconds_;
};

// A graph node whose backward spends `seconds` of fake time and passes the gradient through.
struct TickBackward : autograd::Node {
  TickBackward(FakeClock& c, double s) : clock(&c), seconds(s) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    clock->now += seconds;
    return {grad_output};
  }
  std::string name() const override { return "TickBackward"; }
  FakeClock* clock;
  double seconds;
};

// Records one TickBackward node on its output (a copy of the input).
Tensor record_tick(const Tensor& input, FakeClock& clock, double seconds) {
  Tensor out = input.detach().clone();
  if (autograd::needs_grad({&input})) {
    autograd::attach(out, std::make_shared<TickBackward>(clock, seconds), {input});
  }
  return out;
}

// Its forward records a node whose backward takes `seconds`.
class TickOnBackward : public nn::Module {
 public:
  TickOnBackward(FakeClock& clock, double seconds) : clock_(&clock), seconds_(seconds) {}
  Tensor forward(const Tensor& input) override { return record_tick(input, *clock_, seconds_); }

 private:
  FakeClock* clock_;
  double seconds_;
};

// Spends `before` seconds, calls its child, spends `after` seconds; with `backward` > 0 it also
// records a node of its own on the child's output.
class Wrapper : public nn::Module {
 public:
  Wrapper(FakeClock& clock, std::shared_ptr<nn::Module> child, double before, double after,
          double backward = 0.0)
      : clock_(&clock), before_(before), after_(after), backward_(backward) {
    child_ = register_module("inner", std::move(child));
  }
  Tensor forward(const Tensor& input) override {
    clock_->now += before_;
    Tensor y = (*child_)(input);
    clock_->now += after_;
    return backward_ > 0.0 ? record_tick(y, *clock_, backward_) : y;
  }

 private:
  FakeClock* clock_;
  std::shared_ptr<nn::Module> child_;
  double before_, after_, backward_;
};

// Throws from its forward after spending `seconds`.
class Thrower : public nn::Module {
 public:
  Thrower(FakeClock& clock, double seconds) : clock_(&clock), seconds_(seconds) {}
  Tensor forward(const Tensor& /*input*/) override {
    clock_->now += seconds_;
    throw std::runtime_error("Thrower: failing on purpose");
  }

 private:
  FakeClock* clock_;
  double seconds_;
};

// Calls its child and, when the child throws, returns the input instead.
class Fallback : public nn::Module {
 public:
  explicit Fallback(std::shared_ptr<nn::Module> child) {
    child_ = register_module("inner", std::move(child));
  }
  Tensor forward(const Tensor& input) override {
    try {
      return (*child_)(input);
    } catch (const std::runtime_error&) {
      return input;
    }
  }

 private:
  std::shared_ptr<nn::Module> child_;
};

const bench::LayerProfile& find_layer(const std::vector<bench::LayerProfile>& layers,
                                      const std::string& name) {
  for (const auto& p : layers) {
    if (p.name == name) return p;
  }
  throw std::runtime_error("no layer named '" + name + "' in the profile");
}

std::vector<std::string> names_of(const std::vector<bench::LayerProfile>& layers) {
  std::vector<std::string> names;
  for (const auto& p : layers) names.push_back(p.name);
  return names;
}

}  // namespace

TEST(Profiler, NamesEveryModuleByItsDottedPathAndDepth) {
  FakeClock clock;
  auto inner = std::make_shared<nn::Sequential>(Tick(clock, 1), Tick(clock, 2));
  nn::Sequential model(Tick(clock, 4), Wrapper(clock, inner, 0, 0));
  bench::Profiler profiler(model, clock.options());
  (void)model(ones({1}));
  const auto layers = profiler.layers();
  ASSERT_EQ(layers.size(), 6U);
  EXPECT_EQ(find_layer(layers, "").depth, 0);
  EXPECT_EQ(find_layer(layers, "").type, "Sequential");
  EXPECT_EQ(find_layer(layers, "0").type, "Tick");
  EXPECT_EQ(find_layer(layers, "1").type, "Wrapper");
  EXPECT_EQ(find_layer(layers, "1.inner").depth, 2);
  EXPECT_EQ(find_layer(layers, "1.inner.1").depth, 3);
  EXPECT_EQ(find_layer(layers, "1.inner.1").type, "Tick");
}

TEST(Profiler, ForwardTimeIsEachModulesOwnTimeWithoutTheCallsNestedInIt) {
  FakeClock clock;
  auto inner = std::make_shared<nn::Sequential>(Tick(clock, 1), Tick(clock, 2));
  Wrapper model(clock, inner, 0.5, 0.25);  // 0.75 of its own around 3 in its children
  bench::Profiler profiler(model, clock.options());
  (void)model(ones({1}));
  const auto layers = profiler.layers();
  EXPECT_DOUBLE_EQ(find_layer(layers, "").forward_seconds, 0.75);
  EXPECT_DOUBLE_EQ(find_layer(layers, "inner").forward_seconds, 0.0);
  EXPECT_DOUBLE_EQ(find_layer(layers, "inner.0").forward_seconds, 1.0);
  EXPECT_DOUBLE_EQ(find_layer(layers, "inner.1").forward_seconds, 2.0);
}

TEST(Profiler, AddsUpEveryCall) {
  FakeClock clock;
  nn::Sequential model(Tick(clock, 1), Tick(clock, 2));
  bench::Profiler profiler(model, clock.options());
  for (int i = 0; i < 3; ++i) (void)model(ones({1}));
  const auto layers = profiler.layers();
  EXPECT_EQ(find_layer(layers, "").calls, 3);
  EXPECT_EQ(find_layer(layers, "1").calls, 3);
  EXPECT_DOUBLE_EQ(find_layer(layers, "1").forward_seconds, 6.0);
  EXPECT_DOUBLE_EQ(find_layer(layers, "0").forward_seconds, 3.0);
}

TEST(Profiler, SortsByTotalTimeLargestFirst) {
  FakeClock clock;
  nn::Sequential model(Tick(clock, 1), Tick(clock, 4), Tick(clock, 2));
  bench::Profiler profiler(model, clock.options());
  (void)model(ones({1}));
  const std::vector<std::string> expected = {"1", "2", "0", ""};
  EXPECT_EQ(names_of(profiler.layers()), expected);
}

TEST(Profiler, SortsBackwardTimeIntoTheTotal) {
  FakeClock clock;
  // "0": 3 s forward, nothing backward; "1": 1 s forward (its Tick), 5 s backward (its node).
  nn::Sequential model(Tick(clock, 3), Wrapper(clock, std::make_shared<Tick>(clock, 1), 0, 0, 5));
  bench::Profiler profiler(model, clock.options());
  Tensor x = ones({2}).requires_grad_();
  model(x).sum().backward();
  const auto layers = profiler.layers();
  ASSERT_GE(layers.size(), 2U);
  EXPECT_EQ(layers[0].name, "1");
  EXPECT_DOUBLE_EQ(layers[0].total_seconds(), 5.0);
}

TEST(Profiler, TiesKeepTheOrderOfFirstCall) {
  // Forty layers that take no time: a sort that is not stable shuffles them.
  FakeClock clock;
  nn::Sequential model;
  for (int i = 0; i < 40; ++i) model.push_back(std::make_shared<Tick>(clock, 0));
  bench::Profiler profiler(model, clock.options());
  (void)model(ones({1}));
  std::vector<std::string> expected = {""};
  for (int i = 0; i < 40; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(names_of(profiler.layers()), expected);
}

TEST(Profiler, CountsMultiplyAddsAndBytesOfLayersWorkedByHand) {
  // (5, 4) -> Linear(4, 3) -> ReLU -> Linear(3, 2), twice.
  nn::Sequential model(nn::Linear(4, 3), nn::ReLU(), nn::Linear(3, 2));
  bench::Profiler profiler(model);
  for (int i = 0; i < 2; ++i) (void)model(ones({5, 4}));
  const auto layers = profiler.layers();
  const auto& fc1 = find_layer(layers, "0");
  EXPECT_EQ(fc1.type, "Linear");
  EXPECT_EQ(fc1.macs, 2 * 5 * 4 * 3);
  EXPECT_EQ(fc1.parameter_bytes, 4 * (4 * 3 + 3));
  EXPECT_EQ(fc1.activation_bytes, 2 * 4 * 5 * 3);
  EXPECT_EQ(find_layer(layers, "1").macs, 0);
  EXPECT_EQ(find_layer(layers, "1").activation_bytes, 2 * 4 * 5 * 3);
  EXPECT_EQ(find_layer(layers, "2").macs, 2 * 5 * 3 * 2);
  EXPECT_EQ(find_layer(layers, "2").parameter_bytes, 4 * (3 * 2 + 2));
}

TEST(Profiler, AContainerOwnsOnlyItsOwnParameters) {
  // The Sequential has none of its own: the column adds up to the model's size.
  nn::Sequential model(nn::Linear(4, 3), nn::Linear(3, 2));
  bench::Profiler profiler(model);
  (void)model(ones({1, 4}));
  const auto layers = profiler.layers();
  EXPECT_EQ(find_layer(layers, "").parameter_bytes, 0);
  std::int64_t sum = 0;
  for (const auto& p : layers) sum += p.parameter_bytes;
  EXPECT_EQ(sum, 4 * model.num_parameters());
}

TEST(Profiler, CountsAConvolutionsMultiplyAdds) {
  // Conv2d(2 -> 4, k 3, stride 1, padding 1) on (1, 2, 5, 5): 4 * 5 * 5 outputs of 2 * 9.
  nn::Sequential model(nn::Conv2d(2, 4, 3, 1, 1));
  bench::Profiler profiler(model);
  (void)model(ones({1, 2, 5, 5}));
  const auto& conv = find_layer(profiler.layers(), "0");
  EXPECT_EQ(conv.type, "Conv2d");
  EXPECT_EQ(conv.macs, 4 * 5 * 5 * 2 * 9);
  EXPECT_EQ(conv.activation_bytes, 4 * 4 * 5 * 5);
}

TEST(Profiler, BackwardTimeGoesToTheModuleThatRecordedTheNode) {
  FakeClock clock;
  nn::Sequential model(TickOnBackward(clock, 2), nn::ReLU(), TickOnBackward(clock, 3));
  bench::Profiler profiler(model, clock.options());
  Tensor x = ones({4}).requires_grad_();
  model(x).sum().backward();
  const auto layers = profiler.layers();
  EXPECT_DOUBLE_EQ(find_layer(layers, "0").backward_seconds, 2.0);
  EXPECT_DOUBLE_EQ(find_layer(layers, "2").backward_seconds, 3.0);
  EXPECT_EQ(find_layer(layers, "0").backward_nodes, 1);
  EXPECT_EQ(find_layer(layers, "1").backward_nodes, 1);  // ReLU's own node
  // The sum was computed outside every module: nobody gets its node.
  EXPECT_EQ(find_layer(layers, "").backward_nodes, 0);
}

TEST(Profiler, AContainersBackwardIsOnlyTheNodesOfItsOwnCode) {
  FakeClock clock;
  Wrapper model(clock, std::make_shared<TickOnBackward>(clock, 1), 0, 0, 4);
  bench::Profiler profiler(model, clock.options());
  Tensor x = ones({3}).requires_grad_();
  model(x).sum().backward();
  const auto layers = profiler.layers();
  EXPECT_DOUBLE_EQ(find_layer(layers, "").backward_seconds, 4.0);
  EXPECT_DOUBLE_EQ(find_layer(layers, "inner").backward_seconds, 1.0);
  EXPECT_EQ(find_layer(layers, "").backward_nodes, 1);
}

TEST(Profiler, NoGradForwardHasNoBackward) {
  FakeClock clock;
  nn::Sequential model(TickOnBackward(clock, 2));
  bench::Profiler profiler(model, clock.options());
  Tensor x = ones({4}).requires_grad_();
  {
    autograd::NoGradGuard no_grad;
    (void)model(x);
  }
  EXPECT_EQ(find_layer(profiler.layers(), "0").backward_nodes, 0);
}

TEST(Profiler, ACallThatThrowsIsNotCountedAndLeavesNoCallOpen) {
  FakeClock clock;
  Fallback model(std::make_shared<Thrower>(clock, 1));
  bench::Profiler profiler(model, clock.options());
  (void)model(ones({1}));
  (void)model(ones({1}));
  const auto layers = profiler.layers();
  EXPECT_EQ(find_layer(layers, "").calls, 2);
  EXPECT_EQ(find_layer(layers, "inner").calls, 0);
  // The failed calls' time is spent inside the Fallback's own call: it is the Fallback's.
  EXPECT_DOUBLE_EQ(find_layer(layers, "").forward_seconds, 2.0);
}

TEST(Profiler, AnExceptionReachesTheCallerAndLaterCallsAreCounted) {
  FakeClock clock;
  nn::Sequential model(Tick(clock, 1), Thrower(clock, 1));
  nn::Sequential other(Tick(clock, 2));
  bench::Profiler profiler(model, clock.options());
  EXPECT_THROW((void)model(ones({1})), std::runtime_error);
  (void)other(ones({1}));
  const auto& tick = find_layer(profiler.layers(), "<Sequential>");
  EXPECT_EQ(tick.calls, 1);
}

TEST(Profiler, AModuleOutsideTheModelIsNamedByItsType) {
  FakeClock clock;
  nn::Sequential model(Tick(clock, 1));
  nn::ReLU stray;
  bench::Profiler profiler(model, clock.options());
  (void)model(ones({1}));
  (void)stray(ones({1}));
  const auto& p = find_layer(profiler.layers(), "<ReLU>");
  EXPECT_EQ(p.type, "ReLU");
  EXPECT_EQ(p.depth, 0);
  EXPECT_EQ(p.calls, 1);
}

TEST(Profiler, SeesNothingBeforeItExistsNorAfterItIsGone) {
  FakeClock clock;
  nn::Sequential model(TickOnBackward(clock, 1));
  Tensor x = ones({2}).requires_grad_();
  std::vector<bench::LayerProfile> layers;
  {
    bench::Profiler first(model, clock.options());
    Tensor y = model(x).sum();  // recorded while `first` watched
    bench::Profiler second(model, clock.options());
    y.backward();  // `second` never saw the call that recorded these nodes
    layers = second.layers();
  }
  EXPECT_TRUE(layers.empty());
  EXPECT_FALSE(nn::hooks::installed());
}

TEST(Profiler, TimesRealWorkWithTheSteadyClockByDefault) {
  nn::Sequential model(nn::Linear(64, 64));
  bench::Profiler profiler(model);
  Tensor x = ones({64, 64}).requires_grad_();
  model(x).sum().backward();
  const auto& fc = find_layer(profiler.layers(), "0");
  EXPECT_GT(fc.forward_seconds, 0.0);
  EXPECT_GT(fc.backward_seconds, 0.0);
  EXPECT_LT(fc.total_seconds(), 60.0);  // seconds, not nanoseconds or a clock reading
}
