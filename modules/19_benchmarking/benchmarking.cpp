// Module 19 — fill in each TODO. The contract is benchmarking.hpp: read each function's comment
// there first, and the lesson in README.md for the why.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 19` after
// each function. Suggested order: quantile, median, tukey_outliers, summarize, normal_quantile,
// median_ci, bootstrap_ratio_ci, to_string, measure_samples, measure, compare; then layer_cost
// and peak_rss_bytes.
//
// machine_info() and to_json() are framework-owned (machine.cpp, report.cpp): you use them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/benchmarking.hpp"
#include "tinytorch/errors.hpp"
#include "tinytorch/spatial.hpp"

namespace tinytorch::bench {

// ---- statistics ---------------------------------------------------------------------------------

double quantile(std::vector<double> samples, double q) {
  // TODO: refuse an empty list, a non-finite sample and q outside [0, 1] (std::invalid_argument
  //   naming it). Sort, h = (n - 1) * q, interpolate between x[floor h] and x[ceil h].
  (void)samples;
  (void)q;
  throw NotImplemented("19_benchmarking", "quantile");
}

double median(const std::vector<double>& samples) {
  // TODO: one line.
  (void)samples;
  throw NotImplemented("19_benchmarking", "median");
}

Outliers tukey_outliers(const std::vector<double>& samples, double k) {
  // TODO: q1, q3 by quantile; fences q1 - k * IQR and q3 + k * IQR; count the samples strictly
  //   outside each fence. Count them, keep them: do not remove anything from the samples.
  (void)samples;
  (void)k;
  throw NotImplemented("19_benchmarking", "tukey_outliers");
}

Summary summarize(const std::vector<double>& samples) {
  // TODO: n, median, q1, q3, iqr = q3 - q1, mean, min, max and tukey_outliers(samples) (k = 1.5).
  //   Sort once and read every quantile from the sorted copy.
  (void)samples;
  throw NotImplemented("19_benchmarking", "summarize");
}

double normal_quantile(double p) {
  // TODO: refuse p outside (0, 1). Phi(z) = 0.5 * erfc(-z / sqrt(2)) increases with z: bisect
  //   on [-40, 40] until the bracket is narrower than 1e-15.
  (void)p;
  throw NotImplemented("19_benchmarking", "normal_quantile");
}

Interval median_ci(const std::vector<double>& samples, double level) {
  // TODO: refuse fewer than 2 samples and a level outside (0, 1). z = normal_quantile((1 + level)
  //   / 2); ranks j = floor((n - z sqrt n) / 2), k = ceil(1 + (n + z sqrt n) / 2), both clamped to
  //   [1, n] and 1-based; return {x(j), median, x(k), level} from the sorted samples.
  (void)samples;
  (void)level;
  throw NotImplemented("19_benchmarking", "median_ci");
}

Interval bootstrap_ratio_ci(const std::vector<double>& numerator,
                            const std::vector<double>& denominator,
                            const BootstrapOptions& options) {
  // TODO: refuse what the contract refuses. std::mt19937_64 rng(options.seed). For each of
  //   options.resamples: draw numerator.size() values numerator[rng() % n] and take their median,
  //   then the same for the denominator, and keep the ratio. Sort the ratios; the interval is
  //   their (1 - level) / 2 and (1 + level) / 2 quantiles. Resample BOTH lists: each one's noise
  //   belongs in the interval.
  (void)numerator;
  (void)denominator;
  (void)options;
  throw NotImplemented("19_benchmarking", "bootstrap_ratio_ci");
}

// ---- the harness --------------------------------------------------------------------------------

const char* to_string(StopReason reason) {
  // TODO: "converged", "time_budget", "max_repeats".
  (void)reason;
  throw NotImplemented("19_benchmarking", "to_string");
}

Measurement measure_samples(const std::string& name, const std::function<double()>& run_once,
                            const RunOptions& options) {
  // TODO: check the options (std::invalid_argument naming the bad one). Run options.warmup calls
  //   whose values count against the budget but are not kept. Then loop: call, keep, and once
  //   min_repeats are kept test, in order: median_ci's relative width <= target (converged), the
  //   time spent >= max_seconds (time_budget), max_repeats kept (max_repeats). Fill summary,
  //   median_ci, warmup and stop.
  (void)name;
  (void)run_once;
  (void)options;
  throw NotImplemented("19_benchmarking", "measure_samples");
}

Measurement measure(const std::string& name, const std::function<void()>& fn,
                    const RunOptions& options) {
  // TODO: measure_samples with a run_once that times fn() by std::chrono::steady_clock.
  (void)name;
  (void)fn;
  (void)options;
  throw NotImplemented("19_benchmarking", "measure");
}

Comparison compare(const Measurement& baseline, const Measurement& candidate,
                   const BootstrapOptions& options) {
  // TODO: speedup = bootstrap_ratio_ci(baseline.seconds, candidate.seconds, options).
  (void)baseline;
  (void)candidate;
  (void)options;
  throw NotImplemented("19_benchmarking", "compare");
}

// ---- the profiler's counts ----------------------------------------------------------------------

LayerCost layer_cost(const nn::Module& layer, const Shape& input_shape, const Shape& output_shape) {
  // TODO: dynamic_cast the layer to nn::Linear, then nn::Conv2d (tinytorch/spatial.hpp);
  //   count the multiply-adds by the formulas in the contract, after checking that the input fits
  //   (std::invalid_argument naming the layer and the shape). parameter_bytes = 4 per parameter,
  //   activation_bytes = 4 per element of output_shape (shape_numel).
  (void)layer;
  (void)input_shape;
  (void)output_shape;
  throw NotImplemented("19_benchmarking", "layer_cost");
}

std::int64_t peak_rss_bytes() {
  // TODO: getrusage(RUSAGE_SELF, ...) from <sys/resource.h>; ru_maxrss is in KiB on Linux.
  throw NotImplemented("19_benchmarking", "peak_rss_bytes");
}

}  // namespace tinytorch::bench
