// acceleration-bench: module 15's benchmark (`tito module bench 15`). Every rung of the GEMM ladder
// beside kernels::sgemm and OpenBLAS, in one run, on this machine: GFLOP/s (2 m n k / seconds),
// the median and the spread (min - max) over repeated runs after a warm-up, at each size and thread
// count. Rungs 1-4 are single-threaded by design and are timed once, at 1 thread. Each result is
// also compared with OpenBLAS's (largest relative difference), so a fast wrong rung shows.
// Then the caches this machine reports (sysfs) and the fused bias + ReLU against its unfused form.
// --json prints one JSON object per measurement instead of the table.
#include <cblas.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tinytorch/acceleration.hpp"
#include "tinytorch/errors.hpp"
#include "tinytorch/kernels/dispatch.hpp"
#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/kernels/threads.hpp"

namespace {

using std::int64_t;
using Clock = std::chrono::steady_clock;
using tinytorch::accel::GemmFn;

struct Rung {
  std::string name;
  GemmFn gemm;
  bool threaded;  // uses the thread pool (timed at every thread count)
};

void openblas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

// The rungs that take block sizes, at their defaults (the GemmFn signature has none).
template <auto F>
void with_default_blocks(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                         float* c, int64_t ldc) {
  F(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, tinytorch::accel::BlockSizes{});
}

std::vector<Rung> all_rungs() {
  namespace accel = tinytorch::accel;
  return {{"1 naive", &accel::gemm_naive, false},
          {"2 unit-stride", &accel::gemm_unit_stride, false},
          {"3 blocked", &with_default_blocks<&accel::gemm_blocked>, false},
          {"4 packed", &with_default_blocks<&accel::gemm_packed>, false},
          {"5 parallel", &with_default_blocks<&accel::gemm_parallel>, true},
          {"kernels::sgemm", &tinytorch::kernels::sgemm, true},
          {"OpenBLAS", &openblas_gemm, true}};
}

struct Stats {
  double median = 0, min = 0, max = 0;
  int runs = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return {n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v.front(), v.back(),
          static_cast<int>(n)};
}

struct Options {
  std::vector<int64_t> sizes{256, 512, 1024};
  std::vector<int> threads{1, 2};
  int repeats = 5;
  double budget_s = 8;  // at most this long per rung and size (after the first run)
  bool json = false;
};

struct Measurement {
  std::string rung;
  int64_t n = 0;
  int threads = 1;
  std::optional<Stats> gflops;  // empty: the rung is not implemented yet
  double max_rel_diff = 0;      // against OpenBLAS
};

std::vector<float> random_matrix(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> m(static_cast<std::size_t>(n * n));
  for (float& x : m) x = uniform(rng);
  return m;
}

double max_rel_diff(const std::vector<float>& got, const std::vector<float>& want) {
  double scale = 0, diff = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
    diff = std::max(diff, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  return std::isfinite(diff) ? diff / std::max(scale, 1e-30) : INFINITY;
}

Measurement measure(const Rung& rung, int64_t n, int threads, const Options& options,
                    const std::vector<float>& a, const std::vector<float>& b,
                    const std::vector<float>& expected) {
  Measurement out{rung.name, n, threads, std::nullopt, 0};
  std::vector<float> c(static_cast<std::size_t>(n * n));
  const auto run = [&] {
    rung.gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  };
  try {
    run();  // warm-up: pages touched, packing buffers grown, threads awake
  } catch (const tinytorch::NotImplemented&) {
    return out;
  }
  out.max_rel_diff = max_rel_diff(c, expected);
  std::vector<double> rates;
  const auto start = Clock::now();
  while (static_cast<int>(rates.size()) < options.repeats) {
    const auto t0 = Clock::now();
    run();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    rates.push_back(2.0 * static_cast<double>(n) * n * n / seconds * 1e-9);
    const double spent = std::chrono::duration<double>(Clock::now() - start).count();
    if (rates.size() >= 3 && spent > options.budget_s) break;  // slow rungs: 3 runs are enough
  }
  out.gflops = stats(rates);
  return out;
}

void set_threads(int threads) {
  tinytorch::kernels::set_num_threads(threads);
  openblas_set_num_threads(threads);  // OpenBLAS's own threads, for its column only
}

void print_caches() {
  const auto caches = tinytorch::accel::cpu_caches();
  if (caches.empty()) {
    fmt::print("caches: /sys/devices/system/cpu/cpu0/cache does not describe them here\n");
    return;
  }
  fmt::print("caches of cpu0 (/sys/devices/system/cpu/cpu0/cache):\n");
  for (const auto& cache : caches) {
    fmt::print("  L{} {:<12} {:>8} KiB  line {} B  shared by CPUs {}\n", cache.level, cache.type,
               cache.size_bytes / 1024, cache.line_bytes, cache.shared_with);
  }
}

std::string cell(const Measurement& m) {
  if (!m.gflops) return "not implemented";
  std::string text =
      fmt::format("{:7.1f} ({:.1f}-{:.1f})", m.gflops->median, m.gflops->min, m.gflops->max);
  if (m.max_rel_diff > 1e-3) text += " WRONG";
  return text;
}

const Measurement* find(const std::vector<Measurement>& all, const std::string& rung, int64_t n,
                        int threads) {
  for (const auto& m : all) {
    if (m.rung == rung && m.n == n && m.threads == threads && m.gflops) return &m;
  }
  return nullptr;
}

void print_table(const std::vector<Measurement>& all, const Options& options) {
  fmt::print("\nGFLOP/s, median (min-max) of up to {} runs; C = A @ B, n x n x n, float32\n",
             options.repeats);
  std::vector<std::string> header{"rung"};
  for (int64_t n : options.sizes) {
    for (int t : options.threads) header.push_back(fmt::format("n={} {}T", n, t));
  }
  const std::size_t width = 26;
  std::string line = fmt::format("{:<16}", header[0]);
  for (std::size_t i = 1; i < header.size(); ++i) line += fmt::format("{:>{}}", header[i], width);
  fmt::print("{}\n", line);
  for (const auto& rung : all_rungs()) {
    line = fmt::format("{:<16}", rung.name);
    for (int64_t n : options.sizes) {
      for (int t : options.threads) {
        const Measurement* m = nullptr;
        for (const auto& x : all) {
          if (x.rung == rung.name && x.n == n && x.threads == t) m = &x;
        }
        line += fmt::format("{:>{}}", m == nullptr ? "(1 thread)" : cell(*m), width);
      }
    }
    fmt::print("{}\n", line);
  }
  const int64_t big = options.sizes.back();
  if (const auto* best = find(all, "5 parallel", big, 1), *blas = find(all, "OpenBLAS", big, 1);
      best != nullptr && blas != nullptr) {
    fmt::print("\nrung 5 / OpenBLAS, 1 thread, n={}: {:.0f}%\n", big,
               100.0 * best->gflops->median / blas->gflops->median);
  }
  for (int64_t n : options.sizes) {
    if (const auto* top = find(all, "5 parallel", n, 1), *bottom = find(all, "1 naive", n, 1);
        top != nullptr && bottom != nullptr) {
      fmt::print("rung 5 / rung 1, 1 thread, n={}: {:.1f}x\n", n,
                 top->gflops->median / bottom->gflops->median);
    }
  }
}

// Memory traffic: the unfused bias + ReLU writes and reads back an intermediate the fused one
// keeps in a register. GB/s counts the bytes each form must move at least (x in, y out: 8 bytes
// per element) so the two are judged on the same work.
void fused_bench(const Options& options) {
  constexpr int64_t rows = 4096, cols = 4096;  // 64 MiB each for x and y: past every cache
  std::mt19937 rng(7);
  static_assert(rows == cols, "random_matrix makes square matrices");
  std::vector<float> x = random_matrix(rows, rng), bias(cols, 0.1f), y(x.size());
  using Fn = void (*)(const float*, const float*, int64_t, int64_t, float*);
  const std::pair<const char*, Fn> forms[] = {
      {"bias+relu unfused", &tinytorch::accel::bias_relu_unfused},
      {"bias+relu fused", &tinytorch::accel::bias_relu_fused}};
  if (!options.json) fmt::print("\nbias + ReLU on ({}, {}), GB/s of x in + y out:\n", rows, cols);
  for (const auto& [name, fn] : forms) {
    std::vector<double> rates;
    try {
      for (int r = 0; r < options.repeats + 1; ++r) {
        const auto t0 = Clock::now();
        fn(x.data(), bias.data(), rows, cols, y.data());
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (r > 0) rates.push_back(8.0 * rows * cols / s * 1e-9);
      }
    } catch (const tinytorch::NotImplemented&) {
      if (!options.json) fmt::print("  {:<18} not implemented\n", name);
      continue;
    }
    const Stats s = stats(rates);
    if (options.json) {
      std::cout << nlohmann::json{{"op", name},
                                  {"gbytes_per_s", s.median},
                                  {"min", s.min},
                                  {"max", s.max},
                                  {"runs", s.runs}}
                << "\n";
    } else {
      fmt::print("  {:<18} {:6.1f} ({:.1f}-{:.1f})\n", name, s.median, s.min, s.max);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Module 15's benchmark: the GEMM ladder beside kernels::sgemm and OpenBLAS"};
  app.add_option("--sizes", options.sizes, "Matrix sizes n (n x n x n)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", options.threads, "Thread counts")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--repeats", options.repeats, "Timed runs per measurement (after one warm-up)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--budget", options.budget_s,
                 "Seconds a slow rung may take per size before it stops at 3 runs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", options.json, "One JSON object per measurement instead of the table");
  CLI11_PARSE(app, argc, argv);
  std::sort(options.sizes.begin(), options.sizes.end());

  if (tinytorch::kernels::kernel_source() == tinytorch::kernels::KernelSource::student) {
    // kernels::sgemm would be rung 5 again, and its column would compare rung 5 with itself.
    tinytorch::kernels::set_kernel_source(tinytorch::kernels::KernelSource::framework);
  }
  if (!options.json) {
    print_caches();
    fmt::print("{}\n", tinytorch::kernels::blas_info());
  }
  std::vector<Measurement> all;
  std::mt19937 rng(42);
  for (int64_t n : options.sizes) {
    const std::vector<float> a = random_matrix(n, rng), b = random_matrix(n, rng);
    std::vector<float> expected(static_cast<std::size_t>(n * n));
    set_threads(1);
    openblas_gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, expected.data(), n);
    for (int threads : options.threads) {
      set_threads(threads);
      for (const auto& rung : all_rungs()) {
        if (!rung.threaded && threads != 1) continue;
        if (!options.json) {
          fmt::print(stderr, "\r  timing {:<16} n={:<5} {} thread(s)   ", rung.name, n, threads);
        }
        all.push_back(measure(rung, n, threads, options, a, b, expected));
        const Measurement& m = all.back();
        if (options.json) {
          nlohmann::json line = {{"rung", m.rung}, {"n", n}, {"threads", threads}};
          if (m.gflops) {
            line.update({{"gflops", m.gflops->median},
                         {"min", m.gflops->min},
                         {"max", m.gflops->max},
                         {"runs", m.gflops->runs},
                         {"max_rel_diff_vs_openblas", m.max_rel_diff}});
          } else {
            line["gflops"] = nullptr;
            line["note"] = "not implemented";
          }
          std::cout << line << std::endl;
        }
      }
    }
  }
  set_threads(1);
  if (!options.json) {
    fmt::print(stderr, "\r{:60}\r", "");
    print_table(all, options);
  }
  fused_bench(options);
  return 0;
}
