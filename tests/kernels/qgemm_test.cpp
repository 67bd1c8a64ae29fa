// The int8 GEMM against its definition computed in int64: every path this CPU runs must agree
// exactly, on odd shapes, strided operands and the corners where a narrower sum would saturate.
#include "tinytorch/kernels/qgemm.hpp"

#include <gtest/gtest.h>
#include <immintrin.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using tinytorch::kernels::kQGemmMaxK;
using tinytorch::kernels::QGemmPackedB;
using tinytorch::kernels::QGemmPath;

struct Problem {
  std::int64_t m, n, k, lda, ldb, ldc;
  std::vector<std::uint8_t> a;
  std::vector<std::int8_t> b;
};

Problem random_problem(std::int64_t m, std::int64_t n, std::int64_t k, std::uint32_t seed,
                       std::int64_t pad = 0) {
  Problem p{m, n, k, k + pad, k + pad, n + pad, {}, {}};
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127);
  p.a.resize(static_cast<std::size_t>(m * p.lda));
  p.b.resize(static_cast<std::size_t>(n * p.ldb));
  for (auto& x : p.a) x = static_cast<std::uint8_t>(u8(gen));
  for (auto& x : p.b) x = static_cast<std::int8_t>(s8(gen));
  return p;
}

// The definition, in int64 so that it cannot overflow whatever the inputs.
std::vector<std::int64_t> reference(const Problem& p) {
  std::vector<std::int64_t> c(static_cast<std::size_t>(p.m * p.n));
  for (std::int64_t i = 0; i < p.m; ++i) {
    for (std::int64_t j = 0; j < p.n; ++j) {
      std::int64_t s = 0;
      for (std::int64_t q = 0; q < p.k; ++q) {
        s += std::int64_t{p.a[i * p.lda + q]} * std::int64_t{p.b[j * p.ldb + q]};
      }
      c[i * p.n + j] = s;
    }
  }
  return c;
}

std::vector<QGemmPath> supported_paths() {
  std::vector<QGemmPath> paths;
  for (QGemmPath path : {QGemmPath::scalar, QGemmPath::avx2, QGemmPath::avx512_vnni}) {
    if (tinytorch::kernels::qgemm_path_supported(path)) paths.push_back(path);
  }
  return paths;
}

void expect_exact(const Problem& p, const std::string& what) {
  const QGemmPackedB packed(p.b.data(), p.n, p.k, p.ldb);
  const std::vector<std::int64_t> want = reference(p);
  for (QGemmPath path : supported_paths()) {
    std::vector<std::int32_t> c(static_cast<std::size_t>(p.m * p.ldc), -7);
    tinytorch::kernels::qgemm_u8s8s32(p.m, p.a.data(), p.lda, packed, c.data(), p.ldc, path);
    for (std::int64_t i = 0; i < p.m; ++i) {
      for (std::int64_t j = 0; j < p.n; ++j) {
        ASSERT_EQ(std::int64_t{c[i * p.ldc + j]}, want[i * p.n + j])
            << what << ", path " << tinytorch::kernels::qgemm_path_name(path) << ", C[" << i << "]["
            << j << "] of (" << p.m << ", " << p.n << ", k " << p.k << ")";
      }
      for (std::int64_t j = p.n; j < p.ldc; ++j) {
        ASSERT_EQ(c[i * p.ldc + j], -7) << what << ": wrote past column n in row " << i;
      }
    }
  }
}

TEST(QGemm, MatchesInt64ReferenceOnOddShapesOnEveryPath) {
  std::uint32_t seed = 1;
  for (std::int64_t m : {1, 3, 8, 13}) {
    for (std::int64_t n : {1, 7, 16, 17, 33, 48}) {
      for (std::int64_t k : {1, 3, 4, 5, 64, 67}) {
        expect_exact(random_problem(m, n, k, seed++), "random");
      }
    }
  }
}

TEST(QGemm, HonoursRowStridesAndLeavesPaddingUntouched) {
  expect_exact(random_problem(9, 21, 37, 99, /*pad=*/5), "strided");
}

TEST(QGemm, LargeBatchSplitOverThreadsMatchesReference) {
  expect_exact(random_problem(300, 40, 200, 7), "threaded");
}

// Every product 255 * (-128): a pair sums to -65,280, which vpmaddubsw's int16 would clamp to
// -32,768. The kernel must return the true sum.
TEST(QGemm, MostNegativeProductsDoNotSaturate) {
  Problem p = random_problem(5, 19, 70, 3);
  std::fill(p.a.begin(), p.a.end(), std::uint8_t{255});
  std::fill(p.b.begin(), p.b.end(), std::int8_t{-128});
  expect_exact(p, "255 * -128");
}

TEST(QGemm, MostPositiveProductsDoNotSaturate) {
  Problem p = random_problem(5, 19, 70, 4);
  std::fill(p.a.begin(), p.a.end(), std::uint8_t{255});
  std::fill(p.b.begin(), p.b.end(), std::int8_t{127});
  expect_exact(p, "255 * 127");
}

// At k = kQGemmMaxK the worst sum, 65,793 * 255 * (-128) = -2,147,483,520, still fits int32.
TEST(QGemm, LargestAllowedKIsExactAtTheExtremes) {
  Problem p = random_problem(2, 3, kQGemmMaxK, 5);
  std::fill(p.a.begin(), p.a.end(), std::uint8_t{255});
  for (std::int64_t q = 0; q < p.k; ++q) {
    p.b[q] = -128;                            // row 0: the most negative sum
    p.b[p.ldb + q] = 127;                     // row 1: the most positive sum
    p.b[2 * p.ldb + q] = q % 2 ? -128 : 127;  // row 2: alternating
  }
  expect_exact(p, "k = kQGemmMaxK");
}

TEST(QGemm, KBeyondTheInt32LimitIsRefused) {
  std::vector<std::int8_t> b(static_cast<std::size_t>(kQGemmMaxK + 1));
  EXPECT_THROW(QGemmPackedB(b.data(), 1, kQGemmMaxK + 1, kQGemmMaxK + 1), std::invalid_argument);
}

TEST(QGemm, EmptyMOrKIsExact) {
  Problem p = random_problem(0, 5, 8, 6);
  expect_exact(p, "m = 0");
  p = random_problem(4, 5, 0, 6);  // k = 0: every sum is 0
  expect_exact(p, "k = 0");
}

// Why the AVX2 path widens to 16 bits first: vpmaddubsw, the obvious u8 * s8 instruction, adds
// each pair of products into a saturating int16. This test pins that trap down on the hardware.
__attribute__((target("avx2"))) std::int16_t maddubs_pair(std::uint8_t a, std::int8_t b) {
  const __m256i va = _mm256_set1_epi8(static_cast<char>(a));
  const __m256i vb = _mm256_set1_epi8(static_cast<char>(b));
  return static_cast<std::int16_t>(_mm256_extract_epi16(_mm256_maddubs_epi16(va, vb), 0));
}

TEST(QGemm, VpmaddubswSaturatesWhereTheKernelMustNot) {
  if (!tinytorch::kernels::qgemm_path_supported(QGemmPath::avx2)) GTEST_SKIP() << "no AVX2";
  EXPECT_EQ(maddubs_pair(255, -128), -32768);  // the true sum is -65,280
  EXPECT_EQ(maddubs_pair(100, -100), -20000);  // in range: exact
}

TEST(QGemm, ReportsTheChosenPath) {
  const QGemmPath path = tinytorch::kernels::qgemm_path();
  EXPECT_TRUE(tinytorch::kernels::qgemm_path_supported(path));
  EXPECT_FALSE(tinytorch::kernels::qgemm_path_name(path).empty());
}

}  // namespace
