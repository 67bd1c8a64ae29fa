// kernels::sgemm against OpenBLAS's cblas_sgemm (the reference BLAS), over the shapes where a
// packed kernel goes wrong: edges that are not multiples of the 6x16 tile, sums longer than one
// cache block, transposes, strided views, alpha and beta, and splits over threads.
#include <cblas.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/kernels/threads.hpp"

namespace {

using std::int64_t;

struct Case {
  bool trans_a, trans_b;
  int64_t m, n, k;
  float alpha, beta;
  int64_t pad = 0;  // extra floats per row: lda, ldb, ldc larger than the matrix (a view)
};

std::vector<float> random_values(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

// Runs one case through kernels::sgemm and cblas_sgemm; returns the largest difference relative
// to the size of the sum (k terms of magnitude <= 1).
double max_error(const Case& c) {
  const int64_t a_rows = c.trans_a ? c.k : c.m, a_cols = c.trans_a ? c.m : c.k;
  const int64_t b_rows = c.trans_b ? c.n : c.k, b_cols = c.trans_b ? c.k : c.n;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.n + c.pad;
  const auto a = random_values(static_cast<std::size_t>(a_rows * lda), 1);
  const auto b = random_values(static_cast<std::size_t>(b_rows * ldb), 2);
  auto expected = random_values(static_cast<std::size_t>(c.m * ldc), 3);
  auto got = expected;
  if (c.beta == 0.0f) {  // beta == 0 must not read C: fill it with NaN to prove it
    std::fill(got.begin(), got.end(), std::numeric_limits<float>::quiet_NaN());
  }
  cblas_sgemm(CblasRowMajor, c.trans_a ? CblasTrans : CblasNoTrans,
              c.trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(c.m), static_cast<int>(c.n),
              static_cast<int>(c.k), c.alpha, a.data(), static_cast<int>(lda), b.data(),
              static_cast<int>(ldb), c.beta, expected.data(), static_cast<int>(ldc));
  tinytorch::kernels::sgemm(c.trans_a, c.trans_b, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(),
                            ldb, c.beta, got.data(), ldc);
  double worst = 0.0;
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      const double diff = std::abs(double{got[i * ldc + j]} - double{expected[i * ldc + j]});
      worst = std::isnan(diff) ? std::numeric_limits<double>::infinity() : std::max(worst, diff);
    }
    for (int64_t j = c.n; j < ldc; ++j) {  // the padding between rows is not C's: untouched
      if (c.beta != 0.0f && got[i * ldc + j] != expected[i * ldc + j]) return 1e30;
    }
  }
  return worst / std::sqrt(static_cast<double>(std::max<int64_t>(c.k, 1)));
}

constexpr double kTolerance = 1e-5;  // float rounding of a k-term sum, scaled by sqrt(k)

TEST(Sgemm, MatchesOpenBlasOnTileEdges) {
  for (int64_t m : {1, 5, 6, 7, 13, 32}) {
    for (int64_t n : {1, 15, 16, 17, 33}) {
      for (int64_t k : {1, 3, 27}) {
        EXPECT_LT(max_error({false, false, m, n, k, 1.0f, 0.0f}), kTolerance)
            << m << "x" << n << "x" << k;
      }
    }
  }
}

TEST(Sgemm, MatchesOpenBlasWithEveryTranspose) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      EXPECT_LT(max_error({ta, tb, 37, 45, 29, 1.0f, 0.0f}), kTolerance) << ta << tb;
      EXPECT_LT(max_error({ta, tb, 64, 288, 1024, 1.0f, 1.0f}), kTolerance) << ta << tb;
    }
  }
}

// One row of A (a KV-cached decode step) takes the gemv path: every transpose, strides, alpha and
// beta, NaN in C under beta = 0.
TEST(Sgemm, OneRowProductsMatchOpenBlas) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      EXPECT_LT(max_error({ta, tb, 1, 45, 29, 1.0f, 0.0f}), kTolerance) << ta << tb;
      EXPECT_LT(max_error({ta, tb, 1, 512, 128, -0.5f, 0.75f, 3}), kTolerance) << ta << tb;
    }
  }
}

TEST(Sgemm, SumsLongerThanOneCacheBlockAddUp) {
  EXPECT_LT(max_error({false, false, 20, 40, 257, 1.0f, 0.0f}), kTolerance);
  EXPECT_LT(max_error({false, false, 100, 2100, 600, 1.0f, 0.5f}), kTolerance);
}

TEST(Sgemm, AppliesAlphaAndBeta) {
  EXPECT_LT(max_error({false, false, 9, 18, 7, 0.5f, 0.0f}), kTolerance);
  EXPECT_LT(max_error({false, true, 9, 18, 7, -2.0f, 1.0f}), kTolerance);
  EXPECT_LT(max_error({true, false, 9, 18, 7, 1.0f, -0.25f}), kTolerance);
}

TEST(Sgemm, EmptySumScalesCByBeta) {
  EXPECT_LT(max_error({false, false, 4, 5, 0, 1.0f, 0.5f}), kTolerance);
  EXPECT_LT(max_error({false, false, 4, 5, 0, 1.0f, 0.0f}), kTolerance);
}

TEST(Sgemm, ReadsAndWritesStridedViews) {
  EXPECT_LT(max_error({false, false, 13, 19, 11, 1.0f, 1.0f, 5}), kTolerance);
  EXPECT_LT(max_error({true, true, 13, 19, 11, 1.0f, 0.0f, 3}), kTolerance);
}

TEST(Sgemm, SplitsOverThreadsByColumnsAndByRows) {
  const int before = tinytorch::kernels::num_threads();
  tinytorch::kernels::set_num_threads(3);
  EXPECT_LT(max_error({false, false, 40, 1000, 64, 1.0f, 0.0f}), kTolerance);  // wide: columns
  EXPECT_LT(max_error({true, false, 1000, 40, 64, 1.0f, 1.0f}), kTolerance);   // tall: rows
  EXPECT_LT(max_error({false, true, 999, 997, 65, 1.0f, 0.0f}), kTolerance);
  tinytorch::kernels::set_num_threads(before);
}

TEST(Sgemm, RunsSeriallyInsideAParallelLoop) {
  std::vector<double> errors(4);
  tinytorch::kernels::parallel_for(0, 4, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      errors[static_cast<std::size_t>(i)] = max_error({false, false, 50 + i, 700, 90, 1.0f, 0.0f});
    }
  });
  for (double e : errors) EXPECT_LT(e, kTolerance);
}

// A batch of `count` (m, k) @ (k, n) products whose A operand repeats every `repeat` entries (a
// broadcast batch dimension), against cblas_sgemm entry by entry.
double batched_error(int64_t count, int64_t repeat, int64_t m, int64_t n, int64_t k) {
  const auto a = random_values(static_cast<std::size_t>(repeat * m * k), 1);
  const auto b = random_values(static_cast<std::size_t>(count * k * n), 2);
  std::vector<int64_t> a_offsets, b_offsets;
  for (int64_t i = 0; i < count; ++i) {
    a_offsets.push_back((i % repeat) * m * k);
    b_offsets.push_back(i * k * n);
  }
  std::vector<float> got(static_cast<std::size_t>(count * m * n), NAN), expected(got.size());
  tinytorch::kernels::sgemm_batched(false, false, m, n, k, 1.0f, a.data(), k, a_offsets, b.data(),
                                    n, b_offsets, 0.0f, got.data(), n, m * n);
  for (int64_t i = 0; i < count; ++i) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, a.data() + a_offsets[static_cast<std::size_t>(i)],
                static_cast<int>(k), b.data() + b_offsets[static_cast<std::size_t>(i)],
                static_cast<int>(n), 0.0f, expected.data() + i * m * n, static_cast<int>(n));
  }
  double worst = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double diff = std::abs(double{got[i]} - double{expected[i]});
    worst = std::isnan(diff) ? std::numeric_limits<double>::infinity() : std::max(worst, diff);
  }
  return worst / std::sqrt(static_cast<double>(k));
}

TEST(SgemmBatched, SmallEntriesSpreadOverThreadsMatchOpenBlas) {
  const int before = tinytorch::kernels::num_threads();
  tinytorch::kernels::set_num_threads(3);
  EXPECT_LT(batched_error(37, 37, 9, 17, 13), kTolerance);  // attention-sized, one entry each
  tinytorch::kernels::set_num_threads(before);
}

TEST(SgemmBatched, BroadcastOperandRepeatsThroughItsOffsets) {
  EXPECT_LT(batched_error(12, 3, 8, 24, 16), kTolerance);
}

TEST(SgemmBatched, LargeEntriesSplitThemselves) {
  EXPECT_LT(batched_error(3, 3, 70, 300, 80), kTolerance);
}

TEST(SgemmBatched, MismatchedOffsetCountsAreRefused) {
  const std::vector<float> x(16, 1.0f);
  std::vector<float> y(16);
  const std::vector<int64_t> two{0, 0}, three{0, 0, 0};
  EXPECT_THROW(tinytorch::kernels::sgemm_batched(false, false, 2, 2, 2, 1.0f, x.data(), 2, two,
                                                 x.data(), 2, three, 0.0f, y.data(), 2, 4),
               std::invalid_argument);
}

}  // namespace
