// Module 15 — reference solution. The contract is modules/15_acceleration/acceleration.hpp.
//
// The ladder: each rung changes one thing and keeps the result.
//   1 naive        loops i, j, p: the definition
//   2 unit-stride  loops i, p, j: rows of B and C in the inner loop, vectorised
//   3 blocked      jc, pc, ic around rung 2: the block of B in use stays in cache
//   4 packed       panels + a kMr x kNr micro-kernel: C's tile in registers for the whole kc sum
//   5 parallel     the thread pool: whole column (or row) blocks of C per thread
//
// GCC in ISO C++ mode does not fuse a * b + c into one FMA instruction unless told it may (the
// rounding differs: one rounding instead of two). Every BLAS fuses; so does this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")  // (Clang fuses within one expression by default)
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/acceleration.hpp"
#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/kernels/threads.hpp"

namespace tinytorch::accel {

namespace {

using std::int64_t;

// ---- shared by the rungs ------------------------------------------------------------------------

// C = beta * C on the (m, n) window; beta == 0 writes zeros without reading (NaN must not survive).
void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f) {
      std::fill(row, row + n, 0.0f);
    } else {
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
    }
  }
}

float a_at(bool trans_a, const float* a, int64_t lda, int64_t i, int64_t p) {
  return trans_a ? a[p * lda + i] : a[i * lda + p];
}

float b_at(bool trans_b, const float* b, int64_t ldb, int64_t p, int64_t j) {
  return trans_b ? b[j * ldb + p] : b[p * ldb + j];
}

// op(B) as a row-major (k, n) matrix whose rows are unit-stride: B itself when it already is, else
// a copy (a transposed B is read once here instead of once per row of A).
const float* rows_of_b(bool trans_b, int64_t n, int64_t k, const float* b, int64_t& ldb,
                       std::vector<float>& copy) {
  if (!trans_b) return b;
  copy.resize(static_cast<std::size_t>(k * n));
  for (int64_t p = 0; p < k; ++p) {
    for (int64_t j = 0; j < n; ++j) copy[static_cast<std::size_t>(p * n + j)] = b[j * ldb + p];
  }
  ldb = n;
  return copy.data();
}

// ---- rung 4: packed panels and the micro-kernel -------------------------------------------------
// A vector of kLanes floats in GCC's vector extensions: the compiler maps it to this machine's
// registers (AVX-512: 16 floats, AVX: 8, SSE/NEON: 4), no intrinsics. Without the extensions, one
// float: the same code, scalar.
#if defined(__GNUC__)
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64, kVectorRegisters = 32;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32, kVectorRegisters = 16;
#else
constexpr int kVectorBytes = 16, kVectorRegisters = 16;
#endif
using vfloat = float __attribute__((vector_size(kVectorBytes)));
#else
constexpr int kVectorBytes = 4, kVectorRegisters = 16;
using vfloat = float;
#endif
constexpr int64_t kLanes = kVectorBytes / static_cast<int64_t>(sizeof(float));

// The tile of C held in registers: kMr rows of kNr = 2 vectors. It needs kMr * 2 accumulators,
// 2 registers for B's row and 1 for A's broadcast value: 6 * 2 + 3 = 15 of 16 registers, or
// 14 * 2 + 3 = 31 of 32. Each loaded B vector is used kMr times, each A value 2 * kLanes times.
constexpr int64_t kNr = 2 * kLanes;
constexpr int64_t kMr = kVectorRegisters == 32 ? 14 : 6;

vfloat load(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);  // an unaligned vector load (vmovups), no aliasing trouble
  return v;
}

void store(float* p, vfloat v) {
  std::memcpy(p, &v, sizeof v);
}

// op(A)[i0 : i0+mb, p0 : p0+kb] * alpha -> panels of kMr rows; panel r holds kb columns of kMr
// values each (p-major), rows past mb zero. The micro-kernel then reads A strictly in order.
void pack_a(bool trans_a, const float* a, int64_t lda, int64_t i0, int64_t mb, int64_t p0,
            int64_t kb, float alpha, float* out) {
  for (int64_t ir = 0; ir < mb; ir += kMr) {
    const int64_t rows = std::min(kMr, mb - ir);
    for (int64_t p = 0; p < kb; ++p) {
      for (int64_t r = 0; r < kMr; ++r) {
        *out++ = r < rows ? alpha * a_at(trans_a, a, lda, i0 + ir + r, p0 + p) : 0.0f;
      }
    }
  }
}

// op(B)[p0 : p0+kb, j0 : j0+nb] -> panels of kNr columns; panel j holds kb rows of kNr values,
// columns past nb zero.
void pack_b(bool trans_b, const float* b, int64_t ldb, int64_t p0, int64_t kb, int64_t j0,
            int64_t nb, float* out) {
  for (int64_t jr = 0; jr < nb; jr += kNr) {
    const int64_t cols = std::min(kNr, nb - jr);
    for (int64_t p = 0; p < kb; ++p) {
      if (!trans_b && cols == kNr) {
        std::memcpy(out, b + (p0 + p) * ldb + j0 + jr, kNr * sizeof(float));
        out += kNr;
        continue;
      }
      for (int64_t j = 0; j < kNr; ++j) {
        *out++ = j < cols ? b_at(trans_b, b, ldb, p0 + p, j0 + jr + j) : 0.0f;
      }
    }
  }
}

// C tile (rows x cols, at most kMr x kNr) = beta * C + A panel (kb, kMr) @ B panel (kb, kNr).
void micro_kernel(int64_t kb, const float* ap, const float* bp, float beta, float* c, int64_t ldc,
                  int64_t rows, int64_t cols) {
  vfloat acc[kMr][2] = {};
  for (int64_t p = 0; p < kb; ++p) {
    const vfloat b0 = load(bp), b1 = load(bp + kLanes);
    for (int64_t r = 0; r < kMr; ++r) {
      const vfloat a = vfloat{} + ap[r];  // broadcast
      acc[r][0] += a * b0;
      acc[r][1] += a * b1;
    }
    ap += kMr;
    bp += kNr;
  }
  if (rows == kMr && cols == kNr) {
    for (int64_t r = 0; r < kMr; ++r) {
      float* row = c + r * ldc;
      if (beta == 0.0f) {
        store(row, acc[r][0]);
        store(row + kLanes, acc[r][1]);
      } else {
        store(row, beta * load(row) + acc[r][0]);
        store(row + kLanes, beta * load(row + kLanes) + acc[r][1]);
      }
    }
    return;
  }
  // An edge tile: the full tile computed (the panels are zero-padded), only its window written.
  float tile[kMr][kNr];
  for (int64_t r = 0; r < kMr; ++r) {
    store(tile[r], acc[r][0]);
    store(tile[r] + kLanes, acc[r][1]);
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* row = c + r * ldc;
    for (int64_t j = 0; j < cols; ++j) {
      row[j] = beta == 0.0f ? tile[r][j] : beta * row[j] + tile[r][j];
    }
  }
}

// The packing buffers, one pair per thread, grown as needed and kept: a GEMM inside a training
// step must not allocate (or zero) megabytes each call.
std::vector<float>& thread_buffer(int which) {
  thread_local std::vector<float> buffers[2];
  return buffers[which];
}

float* reserve(int which, int64_t floats) {
  std::vector<float>& buffer = thread_buffer(which);
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<std::size_t>(floats));
  return buffer.data();
}

int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// Below this many multiply-adds a GEMM stays on the calling thread: waking a thread costs about as
// much as 2^17 of them.
constexpr int64_t kSplitWork = int64_t{1} << 17;

}  // namespace

// ---- the ladder ---------------------------------------------------------------------------------

void gemm_naive(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                int64_t ldc) {
  check_gemm("gemm_naive", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int64_t p = 0; p < k; ++p)
        sum += a_at(trans_a, a, lda, i, p) * b_at(trans_b, b, ldb, p, j);
      float& out = c[i * ldc + j];
      out = beta == 0.0f ? alpha * sum : alpha * sum + beta * out;
    }
  }
}

void gemm_unit_stride(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                      float* c, int64_t ldc) {
  check_gemm("gemm_unit_stride", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  scale_c(m, n, beta, c, ldc);
  if (m == 0 || n == 0 || k == 0 || alpha == 0.0f) return;
  std::vector<float> copy;
  const float* rows = rows_of_b(trans_b, n, k, b, ldb, copy);
  for (int64_t i = 0; i < m; ++i) {
    float* c_row = c + i * ldc;
    for (int64_t p = 0; p < k; ++p) {
      const float a_ip = alpha * a_at(trans_a, a, lda, i, p);
      const float* b_row = rows + p * ldb;
      for (int64_t j = 0; j < n; ++j) c_row[j] += a_ip * b_row[j];
    }
  }
}

void gemm_blocked(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc, const BlockSizes& blocks) {
  check_gemm("gemm_blocked", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  check_blocks("gemm_blocked", blocks);
  scale_c(m, n, beta, c, ldc);
  if (m == 0 || n == 0 || k == 0 || alpha == 0.0f) return;
  std::vector<float> copy;
  const float* rows = rows_of_b(trans_b, n, k, b, ldb, copy);
  for (int64_t jc = 0; jc < n; jc += blocks.nc) {
    const int64_t j_end = std::min(jc + blocks.nc, n);
    for (int64_t pc = 0; pc < k; pc += blocks.kc) {
      const int64_t p_end = std::min(pc + blocks.kc, k);
      for (int64_t ic = 0; ic < m; ic += blocks.mc) {
        const int64_t i_end = std::min(ic + blocks.mc, m);
        // The (kc, nc) block of B is reused by every row of this block of A.
        for (int64_t i = ic; i < i_end; ++i) {
          float* c_row = c + i * ldc;
          for (int64_t p = pc; p < p_end; ++p) {
            const float a_ip = alpha * a_at(trans_a, a, lda, i, p);
            const float* b_row = rows + p * ldb;
            for (int64_t j = jc; j < j_end; ++j) c_row[j] += a_ip * b_row[j];
          }
        }
      }
    }
  }
}

void gemm_packed(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc, const BlockSizes& blocks) {
  check_gemm("gemm_packed", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  check_blocks("gemm_packed", blocks);
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  // The packed panels are sized for this product, not for the largest block: (kc, nc) of B and
  // (mc, kc) of A, both rounded up to whole tiles.
  const int64_t nc = std::min(blocks.nc, n), kc = std::min(blocks.kc, k),
                mc = std::min(blocks.mc, m);
  float* bp = reserve(0, kc * round_up(nc, kNr));
  float* ap = reserve(1, round_up(mc, kMr) * kc);
  for (int64_t jc = 0; jc < n; jc += nc) {
    const int64_t nb = std::min(nc, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc) {
      const int64_t kb = std::min(kc, k - pc);
      // The first slice of the sum applies beta; the later ones add to what it wrote.
      const float beta_here = pc == 0 ? beta : 1.0f;
      pack_b(trans_b, b, ldb, pc, kb, jc, nb, bp);
      for (int64_t ic = 0; ic < m; ic += mc) {
        const int64_t mb = std::min(mc, m - ic);
        pack_a(trans_a, a, lda, ic, mb, pc, kb, alpha, ap);
        for (int64_t jr = 0; jr < nb; jr += kNr) {
          for (int64_t ir = 0; ir < mb; ir += kMr) {
            micro_kernel(kb, ap + ir * kb, bp + jr * kb, beta_here, c + (ic + ir) * ldc + jc + jr,
                         ldc, std::min(kMr, mb - ir), std::min(kNr, nb - jr));
          }
        }
      }
    }
  }
}

void gemm_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                   int64_t ldc, const BlockSizes& blocks) {
  check_gemm("gemm_parallel", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  check_blocks("gemm_parallel", blocks);
  const int64_t threads = kernels::num_threads();
  if (threads <= 1 || kernels::in_parallel_region() || m * n * k < kSplitWork) {
    gemm_packed(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, blocks);
    return;
  }
  // Split C by columns (each thread packs its own part of B) unless C is tall and narrow; blocks
  // are whole tiles, so no tile straddles two threads.
  const bool by_columns = n >= m || n >= threads * 4 * kNr;
  const int64_t extent = by_columns ? n : m, align = by_columns ? kNr : kMr;
  const int64_t units = (extent + align - 1) / align;
  kernels::parallel_for(0, units, 1, [&](int64_t lo, int64_t hi) {
    const int64_t start = lo * align, stop = std::min(hi * align, extent);
    if (by_columns) {
      const float* b_cols = trans_b ? b + start * ldb : b + start;
      gemm_packed(trans_a, trans_b, m, stop - start, k, alpha, a, lda, b_cols, ldb, beta, c + start,
                  ldc, blocks);
    } else {
      const float* a_rows = trans_a ? a + start : a + start * lda;
      gemm_packed(trans_a, trans_b, stop - start, n, k, alpha, a_rows, lda, b, ldb, beta,
                  c + start * ldc, ldc, blocks);
    }
  });
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2) {
    throw std::invalid_argument("accel::matmul: needs two 2-d tensors, got " +
                                shape_to_string(a.shape()) + " and " + shape_to_string(b.shape()));
  }
  if (a.size(1) != b.size(0)) {
    throw std::invalid_argument("accel::matmul: inner dimensions differ: a " +
                                shape_to_string(a.shape()) + " @ b " + shape_to_string(b.shape()) +
                                " (a's columns must equal b's rows)");
  }
  const Tensor x = a.contiguous(), y = b.contiguous();
  const int64_t m = x.size(0), k = x.size(1), n = y.size(1);
  Tensor out = empty({m, n});
  gemm_parallel(false, false, m, n, k, 1.0f, x.data_ptr(), std::max<int64_t>(k, 1), y.data_ptr(),
                std::max<int64_t>(n, 1), 0.0f, out.data_ptr(), std::max<int64_t>(n, 1));
  return out;
}

// ---- convolution --------------------------------------------------------------------------------

void im2col(const float* images, int64_t count, const kernels::ConvGeometry& g, float* cols) {
  const int64_t ho_n = g.out_h(), wo_n = g.out_w(), L = ho_n * wo_n, ld = count * L;
  for (int64_t n = 0; n < count; ++n) {
    for (int64_t ch = 0; ch < g.channels; ++ch) {
      const float* plane = images + (n * g.channels + ch) * g.height * g.width;
      for (int64_t i = 0; i < g.kernel_h; ++i) {
        for (int64_t j = 0; j < g.kernel_w; ++j) {
          float* row = cols + ((ch * g.kernel_h + i) * g.kernel_w + j) * ld + n * L;
          for (int64_t ho = 0; ho < ho_n; ++ho) {
            const int64_t h = ho * g.stride - g.padding + i;
            float* out = row + ho * wo_n;
            if (h < 0 || h >= g.height) {
              std::fill(out, out + wo_n, 0.0f);
              continue;
            }
            for (int64_t wo = 0; wo < wo_n; ++wo) {
              const int64_t w = wo * g.stride - g.padding + j;
              out[wo] = w >= 0 && w < g.width ? plane[h * g.width + w] : 0.0f;
            }
          }
        }
      }
    }
  }
}

void col2im(const float* cols, int64_t count, const kernels::ConvGeometry& g, float* images) {
  const int64_t ho_n = g.out_h(), wo_n = g.out_w(), L = ho_n * wo_n, ld = count * L;
  for (int64_t n = 0; n < count; ++n) {
    for (int64_t ch = 0; ch < g.channels; ++ch) {
      float* plane = images + (n * g.channels + ch) * g.height * g.width;
      for (int64_t i = 0; i < g.kernel_h; ++i) {
        for (int64_t j = 0; j < g.kernel_w; ++j) {
          const float* row = cols + ((ch * g.kernel_h + i) * g.kernel_w + j) * ld + n * L;
          for (int64_t ho = 0; ho < ho_n; ++ho) {
            const int64_t h = ho * g.stride - g.padding + i;
            if (h < 0 || h >= g.height) continue;
            for (int64_t wo = 0; wo < wo_n; ++wo) {
              const int64_t w = wo * g.stride - g.padding + j;
              if (w >= 0 && w < g.width) plane[h * g.width + w] += row[ho * wo_n + wo];
            }
          }
        }
      }
    }
  }
}

namespace {

// The geometry of a convolution, after the checks module 09's conv2d makes.
kernels::ConvGeometry conv_geometry(const Tensor& input, const Tensor& weight, int64_t stride,
                                    int64_t padding) {
  const auto shapes = [&] {
    return "input " + shape_to_string(input.shape()) + ", weight " +
           shape_to_string(weight.shape());
  };
  if (input.dim() != 4 || weight.dim() != 4) {
    throw std::invalid_argument(
        "accel::conv2d: input (N, C, H, W) and weight (O, C, kh, kw) must "
        "be 4-d; got " +
        shapes());
  }
  if (input.size(1) != weight.size(1)) {
    throw std::invalid_argument("accel::conv2d: input channels differ from the weight's: " +
                                shapes());
  }
  if (stride < 1 || padding < 0) {
    throw std::invalid_argument("accel::conv2d: stride " + std::to_string(stride) +
                                " must be >= 1 and padding " + std::to_string(padding) + " >= 0");
  }
  kernels::ConvGeometry g;
  g.channels = input.size(1);
  g.height = input.size(2);
  g.width = input.size(3);
  g.kernel_h = weight.size(2);
  g.kernel_w = weight.size(3);
  g.stride = stride;
  g.padding = padding;
  if (g.kernel_h > g.height + 2 * padding || g.kernel_w > g.width + 2 * padding) {
    throw std::invalid_argument("accel::conv2d: kernel larger than the padded input: " + shapes() +
                                ", padding " + std::to_string(padding));
  }
  return g;
}

// Images per chunk: one im2col of a chunk is about kChunkFloats floats (a few MB), so the column
// matrix is wide enough for the GEMM to be efficient and small enough to stay near the cache.
constexpr int64_t kChunkFloats = int64_t{1} << 20;

int64_t chunk_size(const kernels::ConvGeometry& g) {
  return std::max<int64_t>(1, kChunkFloats / std::max<int64_t>(1, g.col_rows() * g.out_pixels()));
}

}  // namespace

// Per chunk of b images:  cols (K, b*L) = im2col(chunk),  Y' (O, b*L) = W (O, K) @ cols,
// then Y' is scattered to y (b, O, L) with the bias added.
Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
                      int64_t padding) {
  const kernels::ConvGeometry g = conv_geometry(input, weight, stride, padding);
  const int64_t count = input.size(0), o = weight.size(0), K = g.col_rows(), L = g.out_pixels();
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != o)) {
    throw std::invalid_argument("accel::conv2d: bias " + shape_to_string(bias.shape()) +
                                " must be (O) = (" + std::to_string(o) + ")");
  }
  const Tensor x = input.contiguous(), w = weight.contiguous();
  Tensor y = empty({count, o, g.out_h(), g.out_w()});
  const Tensor bias_c = bias.defined() ? bias.contiguous() : Tensor();
  const int64_t chunk = chunk_size(g);
  std::vector<float> cols, out;
  for (int64_t n0 = 0; n0 < count; n0 += chunk) {
    const int64_t b = std::min(chunk, count - n0), width = b * L;
    cols.resize(static_cast<std::size_t>(K * width));
    out.resize(static_cast<std::size_t>(o * width));
    accel::im2col(x.data_ptr() + n0 * g.image_size(), b, g, cols.data());
    gemm_parallel(false, false, o, width, K, 1.0f, w.data_ptr(), K, cols.data(), width, 0.0f,
                  out.data(), width);
    for (int64_t n = 0; n < b; ++n) {
      for (int64_t oc = 0; oc < o; ++oc) {
        const float add = bias_c.defined() ? bias_c.data_ptr()[oc] : 0.0f;
        const float* src = out.data() + oc * width + n * L;
        float* dst = y.data_ptr() + ((n0 + n) * o + oc) * L;
        for (int64_t l = 0; l < L; ++l) dst[l] = src[l] + add;
      }
    }
  }
  return y;
}

// Per chunk:  dY' (O, b*L) gathered from dy,  dW += dY' @ cols^T,  dcols = W^T @ dY',
// dX_chunk = col2im(dcols).  db = the sum of dY over images and pixels.
Conv2dGrads conv2d_backward(const Tensor& input, const Tensor& weight, const Tensor& grad_output,
                            int64_t stride, int64_t padding) {
  const kernels::ConvGeometry g = conv_geometry(input, weight, stride, padding);
  const int64_t count = input.size(0), o = weight.size(0), K = g.col_rows(), L = g.out_pixels();
  const Shape expected{count, o, g.out_h(), g.out_w()};
  if (grad_output.shape() != expected) {
    throw std::invalid_argument("accel::conv2d_backward: grad_output " +
                                shape_to_string(grad_output.shape()) + " must be " +
                                shape_to_string(expected));
  }
  const Tensor x = input.contiguous(), w = weight.contiguous(), dy = grad_output.contiguous();
  Conv2dGrads grads{zeros(input.shape()), zeros(weight.shape()), zeros({o})};
  const int64_t chunk = chunk_size(g);
  std::vector<float> cols, dyt, dcols;
  for (int64_t n0 = 0; n0 < count; n0 += chunk) {
    const int64_t b = std::min(chunk, count - n0), width = b * L;
    dyt.resize(static_cast<std::size_t>(o * width));
    for (int64_t n = 0; n < b; ++n) {
      for (int64_t oc = 0; oc < o; ++oc) {
        const float* src = dy.data_ptr() + ((n0 + n) * o + oc) * L;
        std::copy(src, src + L, dyt.data() + oc * width + n * L);
      }
    }
    cols.resize(static_cast<std::size_t>(K * width));
    accel::im2col(x.data_ptr() + n0 * g.image_size(), b, g, cols.data());
    gemm_parallel(false, true, o, K, width, 1.0f, dyt.data(), width, cols.data(), width, 1.0f,
                  grads.weight.data_ptr(), K);
    dcols.resize(static_cast<std::size_t>(K * width));
    gemm_parallel(true, false, K, width, o, 1.0f, w.data_ptr(), K, dyt.data(), width, 0.0f,
                  dcols.data(), width);
    accel::col2im(dcols.data(), b, g, grads.input.data_ptr() + n0 * g.image_size());
    for (int64_t oc = 0; oc < o; ++oc) {
      double sum = 0;
      for (int64_t l = 0; l < width; ++l) sum += dyt[static_cast<std::size_t>(oc * width + l)];
      grads.bias.data_ptr()[oc] += static_cast<float>(sum);
    }
  }
  return grads;
}

// ---- one fused operation ------------------------------------------------------------------------

void bias_relu_unfused(const float* x, const float* bias, int64_t rows, int64_t cols, float* y) {
  for (int64_t i = 0; i < rows; ++i) {  // pass 1: y = x + bias, written to memory
    for (int64_t j = 0; j < cols; ++j) y[i * cols + j] = x[i * cols + j] + bias[j];
  }
  for (int64_t e = 0; e < rows * cols; ++e) y[e] = std::max(y[e], 0.0f);  // pass 2: read back
}

void bias_relu_fused(const float* x, const float* bias, int64_t rows, int64_t cols, float* y) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* in = x + i * cols;
    float* out = y + i * cols;
    for (int64_t j = 0; j < cols; ++j) out[j] = std::max(in[j] + bias[j], 0.0f);
  }
}

}  // namespace tinytorch::accel
