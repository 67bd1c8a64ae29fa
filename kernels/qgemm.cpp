// The int8 GEMM: C (m, n) int32 = A (m, k) uint8 @ B (n, k)^T int8, three paths (qgemm.hpp).
// Each SIMD path is compiled for its instruction set with a target attribute and chosen at run
// time, so one binary runs on any x86-64 and uses VNNI where the CPU has it.
#include "tinytorch/kernels/qgemm.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "tinytorch/kernels/parallel.hpp"

namespace tinytorch::kernels {

namespace {

constexpr std::int64_t kBlock = 16;  // columns per packed panel (one zmm of int32)

// Four bytes of row `a` from k index 4 * group, zero-filled past k (the packed B is zero there
// too, so the padding adds nothing).
std::uint32_t load_group(const std::uint8_t* a, std::int64_t group, std::int64_t k) {
  std::uint32_t v = 0;
  const std::int64_t begin = group * 4;
  std::memcpy(&v, a + begin, static_cast<std::size_t>(std::min<std::int64_t>(4, k - begin)));
  return v;
}

// ---- scalar: the definition ---------------------------------------------------------------------

void scalar_rows(std::int64_t rows, const std::uint8_t* a, std::int64_t lda, const QGemmPackedB& b,
                 std::int32_t* c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < b.n(); ++j) {
      const std::int8_t* panel = b.panel(j / kBlock) + (j % kBlock) * 4;
      std::int32_t sum = 0;
      for (std::int64_t p = 0; p < b.k(); ++p) {
        sum += static_cast<std::int32_t>(a[i * lda + p]) * panel[(p / 4) * 64 + p % 4];
      }
      c[i * ldc + j] = sum;
    }
  }
}

// ---- AVX2: vpmaddwd on widened values -----------------------------------------------------------

// MR rows x 8 columns (half a panel). Per group of 4 k: the 8 columns' 32 bytes are sign-extended
// into two registers of 16 int16 (columns 0-3, 4-7; 4 k each), the row's 4 bytes zero-extended and
// repeated; vpmaddwd sums pairs of products into int32: lo holds (col0: k0k1, k2k3, col1: ...).
// One hadd at the end folds the pairs; the permute restores column order.
template <int MR>
__attribute__((target("avx2"))) void avx2_tile(const std::uint8_t* a, std::int64_t lda,
                                               const std::int8_t* panel, std::int64_t k,
                                               std::int32_t* c, std::int64_t ldc,
                                               std::int64_t cols) {
  __m256i lo[MR], hi[MR];
  for (int r = 0; r < MR; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
  const std::int64_t groups = (k + 3) / 4;
  const std::int64_t full = k / 4;
  for (std::int64_t g = 0; g < groups; ++g) {
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + g * 64));
    const __m256i b_lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(bytes));
    const __m256i b_hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(bytes, 1));
    for (int r = 0; r < MR; ++r) {
      std::uint32_t four;
      if (g < full) {
        std::memcpy(&four, a + r * lda + g * 4, 4);
      } else {
        four = load_group(a + r * lda, g, k);
      }
      const __m128i wide = _mm_cvtepu8_epi16(_mm_cvtsi32_si128(static_cast<int>(four)));
      const __m256i a16 = _mm256_broadcastq_epi64(wide);  // a0 a1 a2 a3 as int16, x4
      lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(a16, b_lo));
      hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(a16, b_hi));
    }
  }
  const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
  for (int r = 0; r < MR; ++r) {
    const __m256i sums = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(lo[r], hi[r]), order);
    if (cols == 8) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc), sums);
    } else {
      alignas(32) std::int32_t tmp[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), sums);
      std::copy(tmp, tmp + cols, c + r * ldc);
    }
  }
}

template <int MR>
__attribute__((target("avx2"))) void avx2_row_block(const std::uint8_t* a, std::int64_t lda,
                                                    const QGemmPackedB& b, std::int32_t* c,
                                                    std::int64_t ldc) {
  for (std::int64_t j0 = 0; j0 < b.n(); j0 += 8) {
    const std::int8_t* panel = b.panel(j0 / kBlock) + (j0 % kBlock) * 4;
    avx2_tile<MR>(a, lda, panel, b.k(), c + j0, ldc, std::min<std::int64_t>(8, b.n() - j0));
  }
}

// ---- AVX-512 VNNI: vpdpbusd ---------------------------------------------------------------------

// MR rows x (16 * NB) columns. Per group of 4 k: one 64-byte load per panel (16 columns x 4 k),
// the row's 4 bytes broadcast to every lane, and vpdpbusd adds the 4 u8 * s8 products of each lane
// to its int32, widened inside the instruction: no intermediate saturates.
template <int MR, int NB>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void vnni_tile(
    const std::uint8_t* a, std::int64_t lda, const QGemmPackedB& b, std::int64_t block,
    std::int32_t* c, std::int64_t ldc) {
  __m512i acc[MR][NB];
  for (int r = 0; r < MR; ++r) {
    for (int t = 0; t < NB; ++t) acc[r][t] = _mm512_setzero_si512();
  }
  const std::int64_t k = b.k();
  const std::int64_t full = k / 4;
  const std::int8_t* panels[NB];
  for (int t = 0; t < NB; ++t) panels[t] = b.panel(block + t);
  for (std::int64_t g = 0; g < full; ++g) {
    __m512i w[NB];
    for (int t = 0; t < NB; ++t) w[t] = _mm512_loadu_si512(panels[t] + g * 64);
    for (int r = 0; r < MR; ++r) {
      std::int32_t four;
      std::memcpy(&four, a + r * lda + g * 4, 4);
      const __m512i x = _mm512_set1_epi32(four);
      for (int t = 0; t < NB; ++t) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], x, w[t]);
    }
  }
  if (full * 4 < k) {  // the last, partial group of k
    __m512i w[NB];
    for (int t = 0; t < NB; ++t) w[t] = _mm512_loadu_si512(panels[t] + full * 64);
    for (int r = 0; r < MR; ++r) {
      const __m512i x = _mm512_set1_epi32(static_cast<int>(load_group(a + r * lda, full, k)));
      for (int t = 0; t < NB; ++t) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], x, w[t]);
    }
  }
  for (int t = 0; t < NB; ++t) {
    const std::int64_t j0 = (block + t) * kBlock;
    const std::int64_t cols = std::min<std::int64_t>(kBlock, b.n() - j0);
    const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
    for (int r = 0; r < MR; ++r) _mm512_mask_storeu_epi32(c + r * ldc + j0, mask, acc[r][t]);
  }
}

template <int MR>
void vnni_row_block(const std::uint8_t* a, std::int64_t lda, const QGemmPackedB& b, std::int32_t* c,
                    std::int64_t ldc) {
  const std::int64_t blocks = (b.n() + kBlock - 1) / kBlock;
  std::int64_t block = 0;
  for (; block + 2 <= blocks; block += 2) vnni_tile<MR, 2>(a, lda, b, block, c, ldc);
  if (block < blocks) vnni_tile<MR, 1>(a, lda, b, block, c, ldc);
}

// ---- dispatch -----------------------------------------------------------------------------------

// Rows [0, rows) in blocks of MR, the remainder one smaller block at a time.
template <int MR, template <int> class Block>
void by_row_blocks(std::int64_t rows, const std::uint8_t* a, std::int64_t lda,
                   const QGemmPackedB& b, std::int32_t* c, std::int64_t ldc) {
  std::int64_t i = 0;
  for (; i + MR <= rows; i += MR) Block<MR>::run(a + i * lda, lda, b, c + i * ldc, ldc);
  if constexpr (MR > 1) {
    if (i < rows) by_row_blocks<MR / 2, Block>(rows - i, a + i * lda, lda, b, c + i * ldc, ldc);
  }
}

template <int MR>
struct Avx2Block {
  static void run(const std::uint8_t* a, std::int64_t lda, const QGemmPackedB& b, std::int32_t* c,
                  std::int64_t ldc) {
    avx2_row_block<MR>(a, lda, b, c, ldc);
  }
};

template <int MR>
struct VnniBlock {
  static void run(const std::uint8_t* a, std::int64_t lda, const QGemmPackedB& b, std::int32_t* c,
                  std::int64_t ldc) {
    vnni_row_block<MR>(a, lda, b, c, ldc);
  }
};

void run_rows(QGemmPath path, std::int64_t rows, const std::uint8_t* a, std::int64_t lda,
              const QGemmPackedB& b, std::int32_t* c, std::int64_t ldc) {
  switch (path) {
    case QGemmPath::avx512_vnni:
      by_row_blocks<8, VnniBlock>(rows, a, lda, b, c, ldc);
      return;
    case QGemmPath::avx2:
      by_row_blocks<4, Avx2Block>(rows, a, lda, b, c, ldc);
      return;
    case QGemmPath::scalar:
      scalar_rows(rows, a, lda, b, c, ldc);
      return;
  }
}

QGemmPath detect_path() {
  QGemmPath best = QGemmPath::scalar;
  if (qgemm_path_supported(QGemmPath::avx512_vnni)) {
    best = QGemmPath::avx512_vnni;
  } else if (qgemm_path_supported(QGemmPath::avx2)) {
    best = QGemmPath::avx2;
  }
  if (const char* forced = std::getenv("TINYTORCH_QGEMM")) {
    for (QGemmPath p : {QGemmPath::scalar, QGemmPath::avx2, QGemmPath::avx512_vnni}) {
      if (qgemm_path_name(p) == forced && qgemm_path_supported(p)) return p;
    }
    throw std::runtime_error(std::string("TINYTORCH_QGEMM=") + forced +
                             ": not a path this CPU runs (scalar, avx2 or avx512_vnni, where "
                             "supported); unset it to choose automatically");
  }
  return best;
}

}  // namespace

bool qgemm_path_supported(QGemmPath path) {
  switch (path) {
    case QGemmPath::scalar:
      return true;
    case QGemmPath::avx2:
      return __builtin_cpu_supports("avx2") != 0;
    case QGemmPath::avx512_vnni:
      return __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0 &&
             __builtin_cpu_supports("avx512vnni") != 0;
  }
  return false;
}

std::string qgemm_path_name(QGemmPath path) {
  switch (path) {
    case QGemmPath::scalar:
      return "scalar";
    case QGemmPath::avx2:
      return "avx2";
    case QGemmPath::avx512_vnni:
      return "avx512_vnni";
  }
  return "unknown";
}

QGemmPath qgemm_path() {
  static const QGemmPath path = detect_path();
  return path;
}

QGemmPackedB::QGemmPackedB(const std::int8_t* b, std::int64_t n, std::int64_t k, std::int64_t ldb)
    : n_(n), k_(k) {
  if (n < 0 || k < 0 || ldb < k) {
    throw std::invalid_argument("QGemmPackedB: need n >= 0, k >= 0 and ldb >= k, got n " +
                                std::to_string(n) + ", k " + std::to_string(k) + ", ldb " +
                                std::to_string(ldb));
  }
  if (k > kQGemmMaxK) {
    throw std::invalid_argument("QGemmPackedB: k = " + std::to_string(k) + " exceeds " +
                                std::to_string(kQGemmMaxK) +
                                ", the largest k whose int32 sums cannot overflow");
  }
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
  data_.assign(static_cast<std::size_t>(blocks * k_groups() * 64), 0);
  if (k == 0) return;  // nothing to pack (and data_ is empty: no panel to point into)
  for (std::int64_t j = 0; j < n; ++j) {
    std::int8_t* panel = data_.data() + (j / kBlock) * k_groups() * 64 + (j % kBlock) * 4;
    for (std::int64_t p = 0; p < k; ++p) panel[(p / 4) * 64 + p % 4] = b[j * ldb + p];
  }
}

void qgemm_u8s8s32(std::int64_t m, const std::uint8_t* a, std::int64_t lda, const QGemmPackedB& b,
                   std::int32_t* c, std::int64_t ldc) {
  qgemm_u8s8s32(m, a, lda, b, c, ldc, qgemm_path());
}

void qgemm_u8s8s32(std::int64_t m, const std::uint8_t* a, std::int64_t lda, const QGemmPackedB& b,
                   std::int32_t* c, std::int64_t ldc, QGemmPath path) {
  if (!qgemm_path_supported(path)) {
    throw std::invalid_argument("qgemm_u8s8s32: this CPU cannot run the " + qgemm_path_name(path) +
                                " path");
  }
  if (m < 0 || lda < b.k() || ldc < b.n()) {
    throw std::invalid_argument("qgemm_u8s8s32: need m >= 0, lda >= k and ldc >= n, got m " +
                                std::to_string(m) + ", lda " + std::to_string(lda) + " (k " +
                                std::to_string(b.k()) + "), ldc " + std::to_string(ldc) + " (n " +
                                std::to_string(b.n()) + ")");
  }
  if (m == 0 || b.n() == 0) return;
  if (b.k() == 0) {  // empty sums: C = 0 (and B holds no panel for the paths to read)
    for (std::int64_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, b.n(), 0);
    return;
  }
  // About 64 K multiply-adds per thread at least: below that, waking a thread costs more.
  const std::int64_t per_row = std::max<std::int64_t>(1, b.n() * b.k());
  const std::int64_t grain = std::max<std::int64_t>(8, (std::int64_t{1} << 16) / per_row);
  parallel_for(0, m, grain, [&](std::int64_t begin, std::int64_t end) {
    run_rows(path, end - begin, a + begin * lda, lda, b, c + begin * ldc, ldc);
  });
}

}  // namespace tinytorch::kernels
