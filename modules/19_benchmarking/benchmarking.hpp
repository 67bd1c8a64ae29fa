#pragma once
// Module 19: benchmarking. Measure honestly: warm up, repeat until the median is known well enough
// (or a time budget runs out), report the median and its spread rather than one lucky run, count
// outliers instead of hiding them, and compare two variants with a confidence interval for their
// ratio, measured in the same process. The contract for benchmarking.cpp:
//     auto base = bench::measure("naive", [&] { (void)naive(x); }, {.max_seconds = 2});
//     auto fast = bench::measure("blas", [&] { (void)fast(x); });
//     auto cmp = bench::compare(base, fast);       // cmp.speedup.low .. cmp.speedup.high
//     std::cout << bench::to_json(bench::machine_info(), {base, fast}, {cmp});
// Conventions follow Google Benchmark (JSON with a "context" and a "benchmarks" list, seconds of
// wall time per repetition) and pyperf (warm-up runs discarded, the median and the spread
// reported).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tinytorch/layers.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch::bench {

// ---- statistics (you write these in benchmarking.cpp) -------------------------------------------

/// The q-quantile of the samples by linear interpolation between order statistics (numpy's and R's
/// default, "type 7"): sort x, h = (n - 1) q, result = x[floor h] + (h - floor h) (x[ceil h] -
/// x[floor h]). quantile(x, 0.5) is the median. No samples, or q outside [0, 1] (or a non-finite
/// sample): std::invalid_argument naming what is wrong.
[[nodiscard]] double quantile(std::vector<double> samples, double q);
[[nodiscard]] double median(const std::vector<double>& samples);

/// Tukey's fences: a sample below q1 - k IQR or above q3 + k IQR is an outlier (k = 1.5 by
/// convention). Outliers are counted and reported, never dropped: a slow run is information.
struct Outliers {
  double low_fence = 0.0;
  double high_fence = 0.0;
  std::int64_t low = 0;   // samples < low_fence
  std::int64_t high = 0;  // samples > high_fence
};
[[nodiscard]] Outliers tukey_outliers(const std::vector<double>& samples, double k = 1.5);

/// What a set of timings says, all in the samples' unit (seconds).
struct Summary {
  std::int64_t n = 0;
  double median = 0.0;
  double q1 = 0.0;   // quantile 0.25
  double q3 = 0.0;   // quantile 0.75
  double iqr = 0.0;  // q3 - q1
  double mean = 0.0;
  double min = 0.0;
  double max = 0.0;
  Outliers outliers;  // Tukey, k = 1.5
};
[[nodiscard]] Summary summarize(const std::vector<double>& samples);

/// A confidence interval around an estimate.
struct Interval {
  double low = 0.0;
  double estimate = 0.0;
  double high = 0.0;
  double level = 0.95;
};

/// The standard normal's quantile: the z with Phi(z) = p (normal_quantile(0.975) = 1.959964...).
/// p outside (0, 1): std::invalid_argument.
[[nodiscard]] double normal_quantile(double p);

/// A distribution-free confidence interval for the median (no assumption about the timings'
/// shape): the order statistics x(j) and x(k) (1-based, of the sorted samples) with
/// j = floor((n - z sqrt(n)) / 2) and k = ceil(1 + (n + z sqrt(n)) / 2), z = normal_quantile((1 +
/// level) / 2), clamped to [1, n]. For n = 100 at 95%: x(40) and x(61). Cheap enough to recompute
/// after every repetition. Estimate: the median. Fewer than 2 samples, or level outside (0, 1):
/// std::invalid_argument.
[[nodiscard]] Interval median_ci(const std::vector<double>& samples, double level = 0.95);

/// Options of a bootstrap.
struct BootstrapOptions {
  double level = 0.95;
  std::int64_t resamples = 2000;
  std::uint64_t seed = 0;  // the same seed, the same interval
};

/// The percentile bootstrap interval of median(numerator) / median(denominator): resamples times,
/// draw n samples with replacement from each list independently (index = rng() % n, rng =
/// std::mt19937_64 seeded with options.seed, all numerator draws of a resample first, then all
/// denominator draws), take the ratio of the two medians; the interval is the (1 - level) / 2 and
/// (1 + level) / 2 quantiles of those ratios. Estimate: the ratio of the medians of the samples
/// themselves. Fewer than 2 samples in either list, a sample <= 0, resamples < 100 or level
/// outside (0, 1): std::invalid_argument naming it.
[[nodiscard]] Interval bootstrap_ratio_ci(const std::vector<double>& numerator,
                                          const std::vector<double>& denominator,
                                          const BootstrapOptions& options = {});

// ---- the harness (you write these too) ----------------------------------------------------------

/// When to stop repeating.
struct RunOptions {
  std::int64_t warmup = 2;       // repetitions run first and thrown away (cold caches, page faults)
  std::int64_t min_repeats = 5;  // never stop with fewer measured repetitions
  std::int64_t max_repeats = 1000;  // never run more
  double max_seconds = 1.0;         // budget: the sum of every repetition's time, warm-up included
  double target_relative_width = 0.05;  // stop when (ci.high - ci.low) / median <= this
  double level = 0.95;                  // of the median's interval
};

enum class StopReason { converged, time_budget, max_repeats };
[[nodiscard]] const char* to_string(StopReason reason);

/// One benchmark's result: every measured repetition kept, in order.
struct Measurement {
  std::string name;
  std::int64_t warmup = 0;      // warm-up repetitions actually run
  std::vector<double> seconds;  // measured repetitions, warm-up excluded
  Summary summary;              // of seconds
  Interval median_ci;           // median_ci(seconds, options.level)
  StopReason stop = StopReason::max_repeats;
};

/// The loop, with the clock abstracted away: run_once() runs the work once and returns how many
/// seconds it took. First options.warmup calls (their time counts against the budget, their value
/// is not kept), then repeat: call, keep the value, and stop when, in this order,
///   - at least min_repeats are kept and median_ci's relative width <= target_relative_width
///     (converged);
///   - the seconds spent so far (warm-up included) >= max_seconds (time_budget), but never before
///     min_repeats are kept: a budget too small for min_repeats still gives min_repeats;
///   - max_repeats are kept (max_repeats).
/// Options that make no sense (warmup < 0, min_repeats < 2, max_repeats < min_repeats,
/// max_seconds <= 0, target_relative_width <= 0, level outside (0, 1)): std::invalid_argument
/// naming the option.
[[nodiscard]] Measurement measure_samples(const std::string& name,
                                          const std::function<double()>& run_once,
                                          const RunOptions& options = {});

/// measure_samples around fn, timed by std::chrono::steady_clock (wall time, as Google
/// Benchmark's real_time).
[[nodiscard]] Measurement measure(const std::string& name, const std::function<void()>& fn,
                                  const RunOptions& options = {});

/// Two variants compared: speedup = median(baseline) / median(candidate), with its bootstrap
/// interval (bootstrap_ratio_ci(baseline.seconds, candidate.seconds)). > 1: the candidate is
/// faster. An interval that contains 1 means "no difference shown", whatever the estimate says.
struct Comparison {
  std::string baseline;
  std::string candidate;
  Interval speedup;
  std::int64_t resamples = 0;
  std::uint64_t seed = 0;
};
[[nodiscard]] Comparison compare(const Measurement& baseline, const Measurement& candidate,
                                 const BootstrapOptions& options = {});

// ---- the profiler's counts (you write these too) ------------------------------------------------
// What one layer costs, from shapes alone: no timing, so every figure here has an exact answer.
// The per-layer timing, through module hooks, is the Profiler of profiler.hpp.

/// One layer's cost for one forward pass over a whole batch.
struct LayerCost {
  std::string type;                   // "Linear", "Conv2d", or "other"
  std::int64_t macs = 0;              // multiply-adds; bias additions and activations not counted
  std::int64_t parameter_bytes = 0;   // 4 bytes (float32) per parameter element, recursively
  std::int64_t activation_bytes = 0;  // 4 bytes per element of the output
};

/// The cost of `layer` given the shapes it read and wrote:
///   Linear (in -> out), input (..., in):  macs = (elements of the input / in) * in * out
///   Conv2d (C -> O, k, stride s, padding p), input (N, C, H, W): Ho = (H + 2p - k) / s + 1 (and
///   Wo alike), macs = N * O * Ho * Wo * C * k * k
///   anything else: type "other", macs 0 (pooling and activations compare or apply a function;
///   they multiply-add nothing worth counting)
/// An input that does not fit the layer (Linear: last dimension not in_features; Conv2d: not 4-d,
/// or C not in_channels, or a window larger than the padded input): std::invalid_argument naming
/// the layer and the shape.
[[nodiscard]] LayerCost layer_cost(const nn::Module& layer, const Shape& input_shape,
                                   const Shape& output_shape);

/// The most memory this process has held resident since it started, in bytes (Linux:
/// getrusage's ru_maxrss, which is in KiB). It only grows: read it before and after a step.
[[nodiscard]] std::int64_t peak_rss_bytes();

// ---- framework-owned (machine.cpp, report.cpp): you use these, you do not write them -----------

/// What the timings were taken on, recorded with every result.
struct Machine {
  std::string cpu_model;   // "model name" of /proc/cpuinfo, or "unknown"
  int threads = 1;         // hardware threads
  int kernel_threads = 1;  // threads the kernels use (TINYTORCH_NUM_THREADS)
  std::string blas;        // kernels::blas_info()
  std::string compiler;    // "GCC 12.2.0"
  std::string build_type;  // "Release" or "Debug"
};
/// The CPU model from the text of /proc/cpuinfo: the value of the first "model name" line (x86),
/// else of "Model" or "Hardware" (ARM boards), trimmed; "unknown" when none is there.
[[nodiscard]] std::string cpu_model_from_cpuinfo(const std::string& cpuinfo);
[[nodiscard]] Machine machine_info();

/// A Google-Benchmark-like report: {"context": machine and date, "benchmarks": one object per
/// measurement (name, samples, median, q1, q3, iqr, mean, min, max, outliers, median_ci, warmup,
/// repeats, stop, time_unit "s"), "comparisons": one per comparison}. Pretty-printed JSON text.
[[nodiscard]] std::string to_json(const Machine& machine, const std::vector<Measurement>& results,
                                  const std::vector<Comparison>& comparisons = {});

}  // namespace tinytorch::bench
