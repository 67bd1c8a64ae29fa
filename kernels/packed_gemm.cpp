// Framework-owned: a single-threaded packed GEMM with an AVX2/FMA micro-kernel, in the layout of
// Goto and van de Geijn ("Anatomy of high-performance matrix multiplication", 2008) and BLIS.
//
// C (m, n) = alpha * op(A) (m, k) @ op(B) (k, n) + beta * C, row-major, is cut three ways:
//   jc: NC columns of C at a time          the packed B block (KC x NC) stays in L3
//   pc: KC terms of the sum at a time      beta applies on the first block only
//   ic: MC rows of C at a time             the packed A block (MC x KC) stays in L2
// and inside that, one 6 x 16 tile of C per micro-kernel call: 12 ymm accumulators, fed per term
// by two loads of B and six broadcasts of A, so every loaded float is used 6 or 16 times.
// Packing copies A and B into the order the micro-kernel reads them (and is where op() is
// applied), so transposes cost nothing in the inner loop and edges are zero-padded.
//
// Why not OpenBLAS for everything: its single-threaded sgemm ran the course's per-image
// convolution shapes (M = 32..64 output channels, N = 256..1024 pixels) at 10-25 GFLOP/s on the
// 2-core Zen machine, against 35 for 1024^3; a plain packed kernel is steady across shapes.
#include "packed_gemm.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace tinytorch::kernels::detail {
namespace {

using std::int64_t;

constexpr int64_t kMR = 6, kNR = 16;             // the micro-tile of C
constexpr int64_t kMaxKC = 384, kMC = 96, kNC = 2048;  // cache blocks (multiples of the tile)

// The sum is cut into equal blocks of at most kMaxKC terms: 288 terms stay one block rather than
// 256 + a 32-term tail that pays the tile's loads and stores for little arithmetic.
int64_t k_block(int64_t k) {
  const int64_t blocks = (k + kMaxKC - 1) / kMaxKC;
  return (k + blocks - 1) / blocks;
}

// A 64-byte aligned scratch buffer per thread, grown on demand, never shrunk.
class PackBuffer {
 public:
  float* get(int64_t floats) {
    if (floats > size_) {
      storage_.reset(static_cast<float*>(std::aligned_alloc(64, round_up(floats) * sizeof(float))));
      if (!storage_) throw std::bad_alloc();
      size_ = floats;
    }
    return storage_.get();
  }

 private:
  static std::size_t round_up(int64_t floats) {  // aligned_alloc wants a multiple of the alignment
    return static_cast<std::size_t>((floats + 15) / 16 * 16);
  }
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> storage_;
  int64_t size_ = 0;
};

// op(A)[i][p] for row-major A: (m, k) with row stride lda, or (k, m) when transposed.
struct MatrixView {
  const float* data;
  int64_t ld;
  bool trans;
  [[nodiscard]] float at(int64_t row, int64_t col) const {
    return trans ? data[col * ld + row] : data[row * ld + col];
  }
};

// Rows [i0, i0+mc) x terms [p0, p0+kc) of op(A) -> panels of kMR rows: panel[p*kMR + r].
void pack_a(const MatrixView& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out) {
  for (int64_t ir = 0; ir < mc; ir += kMR) {
    const int64_t rows = std::min(kMR, mc - ir);
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = 0; r < rows; ++r) out[p * kMR + r] = a.at(i0 + ir + r, p0 + p);
      for (int64_t r = rows; r < kMR; ++r) out[p * kMR + r] = 0.0f;
    }
    out += kMR * kc;
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// out[q*ldo + r] = in[r*ldi + q] for an 8x8 block: eight row loads, three rounds of shuffles.
void transpose_8x8(const float* in, int64_t ldi, float* out, int64_t ldo) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(in + i * ldi);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(out + i * ldo, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(out + (i + 4) * ldo, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

// Terms [p0, p0+kc) x columns [j0, j0+nc) of op(B) -> panels of kNR columns: panel[p*kNR + j].
void pack_b(const MatrixView& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int64_t cols = std::min(kNR, nc - jr);
    int64_t p = 0;
#if defined(__AVX2__) && defined(__FMA__)
    if (b.trans && cols == kNR) {  // B^T stored (n, k): whole 8x8 blocks turned by shuffles
      const float* src = b.data + (j0 + jr) * b.ld + p0;
      for (; p + 8 <= kc; p += 8) {
        transpose_8x8(src + p, b.ld, out + p * kNR, kNR);
        transpose_8x8(src + 8 * b.ld + p, b.ld, out + p * kNR + 8, kNR);
      }
    }
#endif
    for (; p < kc; ++p) {
      float* dst = out + p * kNR;
      if (!b.trans && cols == kNR) {  // the common case: 16 contiguous floats of one row of B
        const float* src = b.data + (p0 + p) * b.ld + j0 + jr;
#if defined(__AVX2__) && defined(__FMA__)
        _mm256_store_ps(dst, _mm256_loadu_ps(src));  // two moves, not a call to memcpy
        _mm256_store_ps(dst + 8, _mm256_loadu_ps(src + 8));
#else
        std::copy_n(src, kNR, dst);
#endif
      } else {
        for (int64_t j = 0; j < cols; ++j) dst[j] = b.at(p0 + p, j0 + jr + j);
        std::fill(dst + cols, dst + kNR, 0.0f);
      }
    }
    out += kNR * kc;
  }
}

// c (kMR x kNR, row stride ldc) = alpha * sum over p of a[p*kMR + r] * b[p*kNR + j] + beta * c;
// beta == 0 never reads c (it may hold garbage or NaN, as BLAS allows).
#if defined(__AVX2__) && defined(__FMA__)
void micro_kernel(int64_t kc, const float* a, const float* b, float alpha, float beta, float* c,
                  int64_t ldc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00), c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10), c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20), c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30), c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40), c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50), c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += kMR;
    b += kNR;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  auto store = [&](float* dst, __m256 acc) {
    acc = _mm256_mul_ps(va, acc);
    if (beta != 0.0f) acc = _mm256_fmadd_ps(vb, _mm256_loadu_ps(dst), acc);
    _mm256_storeu_ps(dst, acc);
  };
  store(c + 0 * ldc, c00), store(c + 0 * ldc + 8, c01);
  store(c + 1 * ldc, c10), store(c + 1 * ldc + 8, c11);
  store(c + 2 * ldc, c20), store(c + 2 * ldc + 8, c21);
  store(c + 3 * ldc, c30), store(c + 3 * ldc + 8, c31);
  store(c + 4 * ldc, c40), store(c + 4 * ldc + 8, c41);
  store(c + 5 * ldc, c50), store(c + 5 * ldc + 8, c51);
}
#else
void micro_kernel(int64_t kc, const float* a, const float* b, float alpha, float beta, float* c,
                  int64_t ldc) {
  float acc[kMR][kNR] = {};
  for (int64_t p = 0; p < kc; ++p, a += kMR, b += kNR) {
    for (int64_t r = 0; r < kMR; ++r) {
      for (int64_t j = 0; j < kNR; ++j) acc[r][j] += a[r] * b[j];
    }
  }
  for (int64_t r = 0; r < kMR; ++r) {
    for (int64_t j = 0; j < kNR; ++j) {
      float& dst = c[r * ldc + j];
      dst = beta == 0.0f ? alpha * acc[r][j] : alpha * acc[r][j] + beta * dst;
    }
  }
}
#endif

// An edge tile: the micro-kernel wrote alpha * A@B into `tile`; C (rows x cols of it) gets that
// plus beta * C.
void write_back(const float* tile, int64_t rows, int64_t cols, float beta, float* c, int64_t ldc) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = c + r * ldc;
    const float* t = tile + r * kNR;
    if (beta == 0.0f) {
      std::copy_n(t, cols, row);
    } else {
      for (int64_t j = 0; j < cols; ++j) row[j] = t[j] + beta * row[j];
    }
  }
}

}  // namespace

void packed_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // an empty sum: C = beta * C
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    }
    return;
  }
  thread_local PackBuffer a_buffer, b_buffer;
  const MatrixView av{a, lda, trans_a}, bv{b, ldb, trans_b};
  const int64_t kc_max = k_block(k);
  float* ap = a_buffer.get((kMC + kMR) * kc_max);
  float* bp = b_buffer.get((kNC + kNR) * kc_max);
  alignas(64) float tile[kMR * kNR];
  for (int64_t jc = 0; jc < n; jc += kNC) {
    const int64_t nc = std::min(kNC, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      const float beta_here = pc == 0 ? beta : 1.0f;  // later blocks add to what the first wrote
      pack_b(bv, pc, kc, jc, nc, bp);
      for (int64_t ic = 0; ic < m; ic += kMC) {
        const int64_t mc = std::min(kMC, m - ic);
        pack_a(av, ic, mc, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t cols = std::min(kNR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int64_t rows = std::min(kMR, mc - ir);
            float* cij = c + (ic + ir) * ldc + jc + jr;
            if (rows == kMR && cols == kNR) {
              micro_kernel(kc, ap + ir * kc, bp + jr * kc, alpha, beta_here, cij, ldc);
            } else {
              micro_kernel(kc, ap + ir * kc, bp + jr * kc, alpha, 0.0f, tile, kNR);
              write_back(tile, rows, cols, beta_here, cij, ldc);
            }
          }
        }
      }
    }
  }
}

bool packed_sgemm_is_vectorised() {
#if defined(__AVX2__) && defined(__FMA__)
  return true;
#else
  return false;
#endif
}

}  // namespace tinytorch::kernels::detail
