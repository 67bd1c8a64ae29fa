// Module 15 — fill in each TODO. The contract is acceleration.hpp: read each function's comment
// there first, and the lesson in README.md for why each rung is faster than the last.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 15` after
// each function, and `tito module bench 15` after each rung to see what it gained.
// Suggested order: gemm_naive, gemm_unit_stride, gemm_blocked, gemm_packed, gemm_parallel, matmul,
// im2col, col2im, conv2d_forward, conv2d_backward, bias_relu_unfused, bias_relu_fused.
//
// Every rung starts with check_gemm(...) (and check_blocks(...) where it takes blocks): the
// framework's checks, which name the shape at fault. Test each rung against reference_gemm.
//
// GCC in ISO C++ mode does not fuse a * b + c into one FMA instruction unless told it may (the
// rounding differs). Every BLAS fuses; this line lets your micro-kernel fuse too.
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
#include "tinytorch/errors.hpp"
#include "tinytorch/kernels/parallel.hpp"  // kernels::parallel_for, in_parallel_region
#include "tinytorch/kernels/threads.hpp"   // kernels::num_threads

namespace tinytorch::accel {

using std::int64_t;

// ---- the ladder ---------------------------------------------------------------------------------

void gemm_naive(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                int64_t ldc) {
  // TODO: rung 1, the definition.
  //   1. check_gemm("gemm_naive", ...).
  //   2. for i < m, for j < n: sum over p < k of op(A)[i][p] * op(B)[p][j], in a float.
  //      op(A)[i][p] is a[i*lda + p], or a[p*lda + i] when trans_a; op(B)[p][j] is b[p*ldb + j],
  //      or b[j*ldb + p] when trans_b.
  //   3. c[i*ldc + j] = alpha * sum + beta * c[i*ldc + j], except that beta == 0 must not read C
  //      (0 * NaN is NaN, and C may hold anything).
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda;
  (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
  throw NotImplemented("15_acceleration", "gemm_naive");
}

void gemm_unit_stride(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                      float* c, int64_t ldc) {
  // TODO: rung 2, the same sum in the loop order i, p, j.
  //   1. check_gemm; then scale C by beta once (zeros when beta == 0, without reading C).
  //   2. When trans_b, copy op(B) into a (k, n) std::vector first, so that every row is
  //      unit-stride.
  //   3. for i, for p: a_ip = alpha * op(A)[i][p]; for j: c_row[j] += a_ip * b_row[j].
  //      The inner loop touches consecutive floats of B and C: the compiler vectorises it.
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda;
  (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
  throw NotImplemented("15_acceleration", "gemm_unit_stride");
}

void gemm_blocked(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc, const BlockSizes& blocks) {
  // TODO: rung 3, rung 2 inside blocks.
  //   1. check_gemm and check_blocks("gemm_blocked", blocks); scale C by beta; copy a transposed B.
  //   2. for jc in steps of nc, for pc in steps of kc, for ic in steps of mc: rung 2's loops over
  //      [ic, min(ic + mc, m)) x [pc, min(pc + kc, k)) x [jc, min(jc + nc, n)).
  //      The last block of each dimension is smaller: min(), never a rounded-up bound.
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda;
  (void)b, (void)ldb, (void)beta, (void)c, (void)ldc, (void)blocks;
  throw NotImplemented("15_acceleration", "gemm_blocked");
}

void gemm_packed(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc, const BlockSizes& blocks) {
  // TODO: rung 4, packed panels and a register-tiled micro-kernel (README, "The micro-kernel").
  //   1. check_gemm, check_blocks. m == 0 or n == 0: return. k == 0 or alpha == 0: scale C, return.
  //   2. A vector type: using vfloat = float __attribute__((vector_size(32)));  (8 floats; 64 bytes
  //      with AVX-512, 16 with SSE). a * b, a + b work lane by lane; vfloat{} + x broadcasts x;
  //      std::memcpy loads and stores it at any address.
  //   3. The tile: kMr rows x kNr = 2 vectors of C, e.g. 6 x 16 with 16 vector registers.
  //   4. for jc (nc), for pc (kc): pack op(B)[pc.., jc..] into panels of kNr columns, each
  //      (kb, kNr) row after row, zero-padded past the edge. for ic (mc): pack alpha * op(A)[ic..]
  //      into panels of kMr rows, each stored column after column (kb, kMr), zero-padded.
  //      for each (kMr, kNr) tile: the micro-kernel.
  //   5. micro-kernel: vfloat acc[kMr][2] = {}; for p < kb: load B's 2 vectors, then for each row r
  //      acc[r][0] += broadcast(A[r]) * b0, acc[r][1] += ... b1. Then write the tile: beta * C +
  //      acc for the first kc slice (beta == 0: acc alone), C + acc for the later ones. An edge
  //      tile writes only its rows x cols window (go through a small float buffer).
  //   6. Keep the packing buffers between calls (thread_local std::vector<float>, grown as needed).
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda;
  (void)b, (void)ldb, (void)beta, (void)c, (void)ldc, (void)blocks;
  throw NotImplemented("15_acceleration", "gemm_packed");
}

void gemm_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                   int64_t ldc, const BlockSizes& blocks) {
  // TODO: rung 5, rung 4 over the threads.
  //   1. check_gemm, check_blocks.
  //   2. One thread (kernels::num_threads() == 1), inside a parallel region
  //      (kernels::in_parallel_region()), or fewer than about 2^17 multiply-adds: gemm_packed.
  //   3. Otherwise split C's columns (or, for a tall narrow C, its rows) into whole tiles and
  //      kernels::parallel_for over them: each block is a gemm_packed of its own on a sub-matrix
  //      (B's columns start at b + j0, or b + j0*ldb when trans_b; C's at c + j0).
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda;
  (void)b, (void)ldb, (void)beta, (void)c, (void)ldc, (void)blocks;
  throw NotImplemented("15_acceleration", "gemm_parallel");
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  // TODO: 2-d only (std::invalid_argument naming both shapes otherwise, and when a's columns differ
  // from b's rows); contiguous copies where needed; empty({m, n}); gemm_parallel with beta = 0.
  (void)a, (void)b;
  throw NotImplemented("15_acceleration", "matmul");
}

// ---- convolution --------------------------------------------------------------------------------

void im2col(const float* images, int64_t count, const kernels::ConvGeometry& g, float* cols) {
  // TODO: for each image n, channel c, tap (i, j), output pixel (ho, wo):
  //   cols[((c*kh + i)*kw + j) * (count*L) + n*L + ho*Wo + wo] = x[n][c][ho*s - p + i][wo*s - p +
  //   j] or 0 where that row or column falls in the padding. g.out_h(), g.out_w() give Ho, Wo.
  (void)images, (void)count, (void)g, (void)cols;
  throw NotImplemented("15_acceleration", "im2col");
}

void col2im(const float* cols, int64_t count, const kernels::ConvGeometry& g, float* images) {
  // TODO: the same walk as im2col, backwards: images[...] += cols[...] where im2col read it;
  // entries that came from the padding are dropped. Accumulate, never overwrite.
  (void)cols, (void)count, (void)g, (void)images;
  throw NotImplemented("15_acceleration", "col2im");
}

Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
                      int64_t padding) {
  // TODO: module 09's convolution on your own kernels.
  //   1. Check as module 09 does: 4-d input and weight, matching channels, stride >= 1,
  //      padding >= 0, a kernel no larger than the padded input, bias (O) when defined.
  //   2. For a chunk of b images: cols (K, b*L) = im2col(chunk); Y' (O, b*L) = W (O, K) @ cols by
  //      gemm_parallel; copy Y' into y (b, O, L) adding bias[o].
  (void)input, (void)weight, (void)bias, (void)stride, (void)padding;
  throw NotImplemented("15_acceleration", "conv2d_forward");
}

Conv2dGrads conv2d_backward(const Tensor& input, const Tensor& weight, const Tensor& grad_output,
                            int64_t stride, int64_t padding) {
  // TODO: per chunk: dY' (O, b*L) from grad_output; dW += dY' @ cols^T (gemm_parallel with
  // trans_b, beta = 1); dcols = W^T @ dY' (trans_a); dX_chunk = col2im(dcols) into zeros;
  // db[o] = the sum of dY' over its row. grad_output of the wrong shape: std::invalid_argument.
  (void)input, (void)weight, (void)grad_output, (void)stride, (void)padding;
  throw NotImplemented("15_acceleration", "conv2d_backward");
}

// ---- one fused operation ------------------------------------------------------------------------

void bias_relu_unfused(const float* x, const float* bias, int64_t rows, int64_t cols, float* y) {
  // TODO: pass 1 writes y = x + bias (bias[j] added to column j of every row); pass 2 reads y back
  // and writes max(y, 0). Two separate loops over memory: that is the point.
  (void)x, (void)bias, (void)rows, (void)cols, (void)y;
  throw NotImplemented("15_acceleration", "bias_relu_unfused");
}

void bias_relu_fused(const float* x, const float* bias, int64_t rows, int64_t cols, float* y) {
  // TODO: one pass: y = max(x + bias, 0), the sum kept in a register.
  (void)x, (void)bias, (void)rows, (void)cols, (void)y;
  throw NotImplemented("15_acceleration", "bias_relu_fused");
}

}  // namespace tinytorch::accel
