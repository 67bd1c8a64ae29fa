// Framework-owned: a single-threaded packed GEMM with an AVX2/FMA micro-kernel, in the layout of
// Goto and van de Geijn ("Anatomy of high-performance matrix multiplication", 2008) and BLIS.
//
// C (m, n) = alpha * op(A) (m, k) @ op(B) (k, n) + beta * C, row-major, is cut three ways:
//   jc: NC columns of C at a time          the packed B block (KC x NC) stays in L3
//   pc: KC terms of the sum at a time      beta applies on the first block only
//   ic: MC rows of C at a time             the packed A block (MC x KC) stays in L2
// and inside that, one 6 x 16 (or 4 x 24) tile of C per micro-kernel call: 12 ymm accumulators,
// fed per term by two (three) loads of B and six (four) broadcasts of A, so every loaded float is
// used several times.
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

constexpr int64_t kMaxKC = 384, kMC = 96, kNC = 2016;  // cache blocks (multiples of every tile)

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
      // aligned_alloc: the packed panels are read with aligned AVX loads. Owned at once by the
      // unique_ptr below, whose deleter frees it.
      // NOLINTNEXTLINE(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
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
    void operator()(float* p) const {
      std::free(p);  // NOLINT(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
    }
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

// Rows [i0, i0+mc) x terms [p0, p0+kc) of op(A) -> panels of mr rows: panel[p*mr + r].
void pack_a(const MatrixView& a, int64_t mr, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float* out) {
  for (int64_t ir = 0; ir < mc; ir += mr) {
    const int64_t rows = std::min(mr, mc - ir);
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = 0; r < rows; ++r) out[p * mr + r] = a.at(i0 + ir + r, p0 + p);
      for (int64_t r = rows; r < mr; ++r) out[p * mr + r] = 0.0f;
    }
    out += mr * kc;
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

// Terms [p0, p0+kc) x columns [j0, j0+nc) of op(B) -> panels of nr columns: panel[p*nr + j].
void pack_b(const MatrixView& b, int64_t nr, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
            float* out) {
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int64_t cols = std::min(nr, nc - jr);
    int64_t p = 0;
#if defined(__AVX2__) && defined(__FMA__)
    if (b.trans && cols == nr) {  // B^T stored (n, k): whole 8x8 blocks turned by shuffles
      const float* src = b.data + (j0 + jr) * b.ld + p0;
      for (; p + 8 <= kc; p += 8) {
        for (int64_t v = 0; v < nr; v += 8) {
          transpose_8x8(src + v * b.ld + p, b.ld, out + p * nr + v, nr);
        }
      }
    }
#endif
    for (; p < kc; ++p) {
      float* dst = out + p * nr;
      if (!b.trans && cols == nr) {  // the common case: nr contiguous floats of one row of B
        const float* src = b.data + (p0 + p) * b.ld + j0 + jr;
#if defined(__AVX2__) && defined(__FMA__)
        for (int64_t v = 0; v < nr; v += 8) {  // moves, not a call to memcpy per row
          _mm256_store_ps(dst + v, _mm256_loadu_ps(src + v));
        }
#else
        std::copy_n(src, nr, dst);
#endif
      } else {
        for (int64_t j = 0; j < cols; ++j) dst[j] = b.at(p0 + p, j0 + jr + j);
        std::fill(dst + cols, dst + nr, 0.0f);
      }
    }
    out += nr * kc;
  }
}

// c (MR x 8*NV, row stride ldc) = alpha * sum over p of a[p*MR + r] * b[p*8*NV + j] + beta * c.
// beta == 0 never reads c (it may hold garbage or NaN, as BLAS allows). MR*NV accumulators live
// in registers (12 of the 16 ymm for both tiles used below), fed per term by NV loads of B and
// MR broadcasts of A.
#if defined(__AVX2__) && defined(__FMA__)
template <int64_t MR, int64_t NV>
void micro_kernel(int64_t kc, const float* a, const float* b, float alpha, float beta, float* c,
                  int64_t ldc) {
  __m256 acc[MR][NV];
#pragma GCC unroll 8
  for (int64_t r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int64_t v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  }
  for (int64_t p = 0; p < kc; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int64_t v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + 8 * v);
#pragma GCC unroll 8
    for (int64_t r = 0; r < MR; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
#pragma GCC unroll 4
      for (int64_t v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(ar, bv[v], acc[r][v]);
    }
    a += MR;
    b += 8 * NV;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
  for (int64_t r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int64_t v = 0; v < NV; ++v) {
      float* dst = c + r * ldc + 8 * v;
      __m256 out = _mm256_mul_ps(va, acc[r][v]);
      if (beta != 0.0f) out = _mm256_fmadd_ps(vb, _mm256_loadu_ps(dst), out);
      _mm256_storeu_ps(dst, out);
    }
  }
}
#else
template <int64_t MR, int64_t NV>
void micro_kernel(int64_t kc, const float* a, const float* b, float alpha, float beta, float* c,
                  int64_t ldc) {
  constexpr int NR = 8 * NV;
  float acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p, a += MR, b += NR) {
    for (int64_t r = 0; r < MR; ++r) {
      for (int64_t j = 0; j < NR; ++j) acc[r][j] += a[r] * b[j];
    }
  }
  for (int64_t r = 0; r < MR; ++r) {
    for (int64_t j = 0; j < NR; ++j) {
      float& dst = c[r * ldc + j];
      dst = beta == 0.0f ? alpha * acc[r][j] : alpha * acc[r][j] + beta * dst;
    }
  }
}
#endif

// The blocked loops around one micro-kernel shape MR x 8*NV.
template <int64_t MR, int64_t NV>
void blocked_sgemm(const MatrixView& av, const MatrixView& bv, int64_t m, int64_t n, int64_t k,
                   float alpha, float beta, float* c, int64_t ldc) {
  constexpr int64_t NR = 8 * NV;
  static_assert(kMC % MR == 0 && kNC % NR == 0);
  thread_local PackBuffer a_buffer, b_buffer;
  const int64_t kc_max = k_block(k);
  float* ap = a_buffer.get((kMC + MR) * kc_max);
  float* bp = b_buffer.get((kNC + NR) * kc_max);
  alignas(64) float tile[MR * NR];
  for (int64_t jc = 0; jc < n; jc += kNC) {
    const int64_t nc = std::min(kNC, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      const float beta_here = pc == 0 ? beta : 1.0f;  // later blocks add to what the first wrote
      pack_b(bv, NR, pc, kc, jc, nc, bp);
      for (int64_t ic = 0; ic < m; ic += kMC) {
        const int64_t mc = std::min(kMC, m - ic);
        pack_a(av, MR, ic, mc, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t cols = std::min(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t rows = std::min<int64_t>(MR, mc - ir);
            float* cij = c + (ic + ir) * ldc + jc + jr;
            if (rows == MR && cols == NR) {
              micro_kernel<MR, NV>(kc, ap + ir * kc, bp + jr * kc, alpha, beta_here, cij, ldc);
              continue;
            }
            // An edge tile: compute the whole tile aside, then write back the part inside C.
            micro_kernel<MR, NV>(kc, ap + ir * kc, bp + jr * kc, alpha, 0.0f, tile, NR);
            for (int64_t r = 0; r < rows; ++r) {
              float* row = cij + r * ldc;
              for (int64_t j = 0; j < cols; ++j) {
                row[j] =
                    beta_here == 0.0f ? tile[r * NR + j] : tile[r * NR + j] + beta_here * row[j];
              }
            }
          }
        }
      }
    }
  }
}

// C's rows and columns padded up to whole tiles: the multiply-adds a tile shape would do.
int64_t padded_work(int64_t m, int64_t n, int64_t mr, int64_t nr) {
  return (m + mr - 1) / mr * mr * ((n + nr - 1) / nr * nr);
}

}  // namespace

// Two tile shapes, 6 x 16 and 4 x 24 (12 accumulators each): the convolutions' M = 32 or 64
// output channels are whole 4-row tiles but leave a 6-row tile 11% or 3% empty, so each call
// takes the shape that pads C least (6 x 16 on a tie).
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
  const MatrixView av{a, lda, trans_a}, bv{b, ldb, trans_b};
  if (padded_work(m, n, 4, 24) < padded_work(m, n, 6, 16)) {
    blocked_sgemm<4, 3>(av, bv, m, n, k, alpha, beta, c, ldc);
  } else {
    blocked_sgemm<6, 2>(av, bv, m, n, k, alpha, beta, c, ldc);
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
