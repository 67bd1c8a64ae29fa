// Module 19 reference solution: the statistics and the loop of an honest benchmark.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "tinytorch/benchmarking.hpp"
#include "tinytorch/spatial.hpp"

namespace tinytorch::bench {

namespace {

void check_samples(const std::vector<double>& samples, std::size_t at_least, const char* what) {
  if (samples.size() < at_least) {
    throw std::invalid_argument(std::string(what) + ": needs at least " + std::to_string(at_least) +
                                " samples, got " + std::to_string(samples.size()));
  }
  for (double x : samples) {
    if (!std::isfinite(x)) {
      throw std::invalid_argument(std::string(what) + ": sample " + std::to_string(x) +
                                  " is not finite; time repetitions with a steady clock");
    }
  }
}

void check_level(double level, const char* what) {
  if (!(level > 0.0 && level < 1.0)) {
    throw std::invalid_argument(std::string(what) + ": level " + std::to_string(level) +
                                " is not in (0, 1); give e.g. 0.95");
  }
}

// Type-7 quantile of already sorted values.
double sorted_quantile(const std::vector<double>& sorted, double q) {
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const auto hi = static_cast<std::size_t>(std::ceil(h));
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// The median of n values drawn with replacement from `from`, into the scratch buffer `draw`.
double resampled_median(const std::vector<double>& from, std::vector<double>& draw,
                        std::mt19937_64& rng) {
  const std::uint64_t n = from.size();
  for (double& x : draw) x = from[rng() % n];
  std::sort(draw.begin(), draw.end());
  return sorted_quantile(draw, 0.5);
}

}  // namespace

double quantile(std::vector<double> samples, double q) {
  check_samples(samples, 1, "quantile");
  if (!(q >= 0.0 && q <= 1.0)) {
    throw std::invalid_argument("quantile: q = " + std::to_string(q) + " is not in [0, 1]");
  }
  std::sort(samples.begin(), samples.end());
  return sorted_quantile(samples, q);
}

double median(const std::vector<double>& samples) {
  return quantile(samples, 0.5);
}

Outliers tukey_outliers(const std::vector<double>& samples, double k) {
  const double q1 = quantile(samples, 0.25);
  const double q3 = quantile(samples, 0.75);
  Outliers out;
  out.low_fence = q1 - k * (q3 - q1);
  out.high_fence = q3 + k * (q3 - q1);
  for (double x : samples) {
    out.low += x < out.low_fence ? 1 : 0;
    out.high += x > out.high_fence ? 1 : 0;
  }
  return out;
}

Summary summarize(const std::vector<double>& samples) {
  check_samples(samples, 1, "summarize");
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  Summary s;
  s.n = static_cast<std::int64_t>(sorted.size());
  s.median = sorted_quantile(sorted, 0.5);
  s.q1 = sorted_quantile(sorted, 0.25);
  s.q3 = sorted_quantile(sorted, 0.75);
  s.iqr = s.q3 - s.q1;
  s.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(s.n);
  s.min = sorted.front();
  s.max = sorted.back();
  s.outliers = tukey_outliers(sorted);
  return s;
}

double normal_quantile(double p) {
  if (!(p > 0.0 && p < 1.0)) {
    throw std::invalid_argument("normal_quantile: p = " + std::to_string(p) + " is not in (0, 1)");
  }
  // Phi(z) = (1 + erf(z / sqrt 2)) / 2 is increasing: bisect on [-40, 40] to double precision.
  double lo = -40.0;
  double hi = 40.0;
  for (int i = 0; i < 200 && hi - lo > 1e-15; ++i) {
    const double mid = 0.5 * (lo + hi);
    const double phi = 0.5 * std::erfc(-mid / std::sqrt(2.0));
    (phi < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Interval median_ci(const std::vector<double>& samples, double level) {
  check_samples(samples, 2, "median_ci");
  check_level(level, "median_ci");
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  // The number of samples below the true median is Binomial(n, 1/2); its normal approximation
  // gives the ranks that bracket the median with probability `level`.
  const double n = static_cast<double>(sorted.size());
  const double half_width = normal_quantile((1.0 + level) / 2.0) * std::sqrt(n);
  const auto j =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor((n - half_width) / 2.0)), 1,
                               static_cast<std::int64_t>(n));
  const auto k =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(1.0 + (n + half_width) / 2.0)),
                               1, static_cast<std::int64_t>(n));
  return {sorted[static_cast<std::size_t>(j - 1)], sorted_quantile(sorted, 0.5),
          sorted[static_cast<std::size_t>(k - 1)], level};
}

Interval bootstrap_ratio_ci(const std::vector<double>& numerator,
                            const std::vector<double>& denominator,
                            const BootstrapOptions& options) {
  check_samples(numerator, 2, "bootstrap_ratio_ci (numerator)");
  check_samples(denominator, 2, "bootstrap_ratio_ci (denominator)");
  check_level(options.level, "bootstrap_ratio_ci");
  for (const auto* list : {&numerator, &denominator}) {
    for (double x : *list) {
      if (x <= 0.0) {
        throw std::invalid_argument("bootstrap_ratio_ci: sample " + std::to_string(x) +
                                    " is not a positive time");
      }
    }
  }
  if (options.resamples < 100) {
    throw std::invalid_argument(
        "bootstrap_ratio_ci: resamples = " + std::to_string(options.resamples) +
        " is too few for a percentile interval; give 1000 or more");
  }
  std::mt19937_64 rng(options.seed);
  std::vector<double> draw_num(numerator.size());
  std::vector<double> draw_den(denominator.size());
  std::vector<double> ratios(static_cast<std::size_t>(options.resamples));
  for (double& r : ratios) {
    const double num = resampled_median(numerator, draw_num, rng);
    r = num / resampled_median(denominator, draw_den, rng);
  }
  std::sort(ratios.begin(), ratios.end());
  const double tail = (1.0 - options.level) / 2.0;
  return {sorted_quantile(ratios, tail), median(numerator) / median(denominator),
          sorted_quantile(ratios, 1.0 - tail), options.level};
}

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::converged:
      return "converged";
    case StopReason::time_budget:
      return "time_budget";
    case StopReason::max_repeats:
      return "max_repeats";
  }
  return "unknown";
}

namespace {

void check_options(const RunOptions& o) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("RunOptions: " + what); };
  if (o.warmup < 0) fail("warmup = " + std::to_string(o.warmup) + " is negative");
  if (o.min_repeats < 2) fail("min_repeats = " + std::to_string(o.min_repeats) + " is below 2");
  if (o.max_repeats < o.min_repeats) {
    fail("max_repeats = " + std::to_string(o.max_repeats) +
         " is below min_repeats = " + std::to_string(o.min_repeats));
  }
  if (!(o.max_seconds > 0.0))
    fail("max_seconds = " + std::to_string(o.max_seconds) + " is not > 0");
  if (!(o.target_relative_width > 0.0)) {
    fail("target_relative_width = " + std::to_string(o.target_relative_width) + " is not > 0");
  }
  check_level(o.level, "RunOptions");
}

}  // namespace

Measurement measure_samples(const std::string& name, const std::function<double()>& run_once,
                            const RunOptions& options) {
  check_options(options);
  Measurement m;
  m.name = name;
  double spent = 0.0;
  for (; m.warmup < options.warmup; ++m.warmup) spent += run_once();
  const auto min_n = static_cast<std::size_t>(options.min_repeats);
  const auto max_n = static_cast<std::size_t>(options.max_repeats);
  while (true) {
    const double t = run_once();
    spent += t;
    m.seconds.push_back(t);
    if (m.seconds.size() < min_n) continue;
    m.median_ci = median_ci(m.seconds, options.level);
    const double width = (m.median_ci.high - m.median_ci.low) / m.median_ci.estimate;
    if (width <= options.target_relative_width) {
      m.stop = StopReason::converged;
      break;
    }
    if (spent >= options.max_seconds) {
      m.stop = StopReason::time_budget;
      break;
    }
    if (m.seconds.size() >= max_n) {
      m.stop = StopReason::max_repeats;
      break;
    }
  }
  m.summary = summarize(m.seconds);
  return m;
}

Measurement measure(const std::string& name, const std::function<void()>& fn,
                    const RunOptions& options) {
  return measure_samples(
      name,
      [&fn] {
        const auto start = std::chrono::steady_clock::now();
        fn();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      },
      options);
}

Comparison compare(const Measurement& baseline, const Measurement& candidate,
                   const BootstrapOptions& options) {
  return {baseline.name, candidate.name,
          bootstrap_ratio_ci(baseline.seconds, candidate.seconds, options), options.resamples,
          options.seed};
}

namespace {

std::string shape_text(const Shape& shape) {
  std::ostringstream out;
  out << "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ")";
  return out.str();
}

std::int64_t linear_macs(const nn::Linear& layer, const Shape& input) {
  if (input.empty() || input.back() != layer.in_features) {
    throw std::invalid_argument("layer_cost: Linear(" + std::to_string(layer.in_features) + ", " +
                                std::to_string(layer.out_features) + ") cannot read input " +
                                shape_text(input) + "; its last dimension must be " +
                                std::to_string(layer.in_features));
  }
  const std::int64_t rows = shape_numel(input) / layer.in_features;  // every leading dimension
  return rows * layer.in_features * layer.out_features;
}

std::int64_t conv2d_macs(const nn::Conv2d& layer, const Shape& input) {
  const std::string name = "Conv2d(" + std::to_string(layer.in_channels) + ", " +
                           std::to_string(layer.out_channels) + ", k " +
                           std::to_string(layer.kernel_size) + ")";
  if (input.size() != 4 || input[1] != layer.in_channels) {
    throw std::invalid_argument("layer_cost: " + name + " cannot read input " + shape_text(input) +
                                "; it reads (N, " + std::to_string(layer.in_channels) + ", H, W)");
  }
  const std::int64_t padded_h = input[2] + 2 * layer.padding;
  const std::int64_t padded_w = input[3] + 2 * layer.padding;
  if (padded_h < layer.kernel_size || padded_w < layer.kernel_size) {
    throw std::invalid_argument("layer_cost: " + name + " has a window larger than input " +
                                shape_text(input) + " with its padding");
  }
  const std::int64_t ho = (padded_h - layer.kernel_size) / layer.stride + 1;
  const std::int64_t wo = (padded_w - layer.kernel_size) / layer.stride + 1;
  // Each output element is one dot product of C * k * k multiply-adds.
  return input[0] * layer.out_channels * ho * wo * layer.in_channels * layer.kernel_size *
         layer.kernel_size;
}

}  // namespace

LayerCost layer_cost(const nn::Module& layer, const Shape& input_shape, const Shape& output_shape) {
  LayerCost cost;
  if (const auto* linear = dynamic_cast<const nn::Linear*>(&layer)) {
    cost.type = "Linear";
    cost.macs = linear_macs(*linear, input_shape);
  } else if (const auto* conv = dynamic_cast<const nn::Conv2d*>(&layer)) {
    cost.type = "Conv2d";
    cost.macs = conv2d_macs(*conv, input_shape);
  } else {
    cost.type = "other";
  }
  cost.parameter_bytes = 4 * layer.num_parameters();
  cost.activation_bytes = 4 * shape_numel(output_shape);
  return cost;
}

std::int64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace tinytorch::bench
