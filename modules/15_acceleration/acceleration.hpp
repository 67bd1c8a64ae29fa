#pragma once
// Module 15: acceleration, the contract for acceleration.cpp. You build the speed your framework
// has borrowed so far: a GEMM ladder from three loops to a kernel that rivals BLAS, your own
// im2col / col2im and a convolution on them, and one fused operation.
//
//     accel::gemm_naive(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);   // rung 1
//     accel::gemm_parallel(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n); // rung 5
//     TINYTORCH_KERNELS=student tito milestone run mnist --kernels student         // your GEMM
//     inside
//
// Every rung computes the same thing, BLAS's sgemm in row-major order, with the same signature as
// the framework's kernels::sgemm (so any rung can stand in for it):
//
//     C = alpha * op(A) @ op(B) + beta * C
//       op(A) is (m, k): A is stored (m, k) with row stride lda, or (k, m) when trans_a
//       op(B) is (k, n): B is stored (k, n) with row stride ldb, or (n, k) when trans_b
//       C is (m, n) with row stride ldc
//
// Rules every rung keeps (the hidden tests check each one):
//   * beta == 0 means C is written, never read: NaN or garbage already in C must not survive
//     (0 * NaN is NaN). k == 0 means C = beta * C. m == 0 or n == 0 touch nothing.
//   * Bad arguments throw std::invalid_argument before anything is written: call check_gemm (and
//     check_blocks for the rungs with blocks) first; they name the rung and the shape at fault.
//   * Elements of C outside the (m, n) window (the padding of a row when ldc > n) are untouched.
#include <cstdint>
#include <string>
#include <vector>

#include "tinytorch/kernels/im2col.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch::accel {

/// The one GEMM signature: every rung, kernels::sgemm and reference_gemm have it.
using GemmFn = void (*)(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                        float alpha, const float* a, std::int64_t lda, const float* b,
                        std::int64_t ldb, float beta, float* c, std::int64_t ldc);

/// Cache blocking: C is computed in (mc, nc) blocks, each summing over k in slices of kc. Rung 3
/// and up take them as parameters; every positive value must give the same result (a block at
/// the edge of the matrix is simply smaller). The defaults suit rung 4's packed panels: a kc x nr
/// sliver of B stays in L1, an mc x kc panel of A in L2, a kc x nc panel of B in L3.
struct BlockSizes {
  std::int64_t mc = 120;   // rows of A (and C) per block
  std::int64_t kc = 256;   // depth of one slice of the sum
  std::int64_t nc = 3072;  // columns of B (and C) per block
};

// ---- framework-owned (acceleration_ops.cpp): checks, the float64 oracle, the machine ------------

/// Throws std::invalid_argument naming `rung` and the shape at fault when m, n or k is negative,
/// when lda / ldb / ldc is smaller than a row of the matrix as stored (e.g. "lda = 3 is smaller
/// than a row of A (m, k) = (4, 5)"), or when a pointer is null while its matrix has elements.
void check_gemm(const char* rung, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                std::int64_t k, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                const float* c, std::int64_t ldc);

/// Throws std::invalid_argument naming `rung` and the block size when mc, kc or nc is < 1.
void check_blocks(const char* rung, const BlockSizes& blocks);

/// The oracle: the same GEMM with every product and sum in double, rounded once into C. Slow
/// (three loops), exact enough to judge every rung.
void reference_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                    float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                    float beta, float* c, std::int64_t ldc);

/// One of this CPU's caches as Linux describes it in /sys/devices/system/cpu/cpu0/cache/index*/.
struct CacheLevel {
  int level = 0;                // 1, 2, 3
  std::string type;             // "Data", "Instruction", "Unified"
  std::int64_t size_bytes = 0;  // per instance
  std::int64_t line_bytes = 0;  // coherency_line_size
  std::string shared_with;      // shared_cpu_list, e.g. "0-1": the CPUs that share this cache
};
/// cpu0's caches, smallest level first; empty where sysfs does not describe them (not Linux).
[[nodiscard]] std::vector<CacheLevel> cpu_caches();

// ---- module 15: the ladder you write in acceleration.cpp ----------------------------------------

/// Rung 1: the definition, three loops i, j, p with the sum in a register. Its inner loop walks B
/// down a column: one cache line fetched per multiply-add.
void gemm_naive(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                float beta, float* c, std::int64_t ldc);

/// Rung 2: the loop order i, p, j, so that the inner loop runs along a row of B and a row of C,
/// both unit-stride (the compiler vectorises it). Scale C by beta first (write 0 when beta == 0).
/// A transposed B (trans_b) has no unit-stride row to walk: copy op(B) into a (k, n) buffer once.
void gemm_unit_stride(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                      float alpha, const float* a, std::int64_t lda, const float* b,
                      std::int64_t ldb, float beta, float* c, std::int64_t ldc);

/// Rung 3: rung 2 inside blocks of (mc, kc, nc), so that the block of B being reused stays in
/// cache while every row of A's block passes over it.
void gemm_blocked(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                  float beta, float* c, std::int64_t ldc, const BlockSizes& blocks = {});

/// Rung 4: the blocks of rung 3 copied ("packed") into panels laid out in the order the
/// micro-kernel reads them, and a register-tiled micro-kernel: an (kMr, kNr) tile of C held in
/// vector registers while it sums over kc. Portable: GCC's vector extensions, no intrinsics.
void gemm_packed(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                 float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                 float beta, float* c, std::int64_t ldc, const BlockSizes& blocks = {});

/// Rung 5: rung 4 split over the framework's thread pool (kernels::parallel_for), each thread
/// owning whole column (or row) blocks of C so that no two threads write one float.
void gemm_parallel(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                   float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                   float beta, float* c, std::int64_t ldc, const BlockSizes& blocks = {});

/// a (m, k) @ b (k, n) -> (m, n) on your best rung (gemm_parallel). Both must be 2-d (any strides:
/// non-contiguous operands are made contiguous first); a k that differs between them throws
/// std::invalid_argument naming both shapes.
[[nodiscard]] Tensor matmul(const Tensor& a, const Tensor& b);

// ---- module 15: convolution on your own im2col --------------------------------------------------

/// images (count, C, H, W) -> cols (C*kh*kw, count*L), the layout of kernels/im2col.hpp:
///   cols[(c*kh + i)*kw + j][n*L + ho*Wo + wo] = x[n][c][ho*s - p + i][wo*s - p + j]
///   (s = stride, p = padding)
/// with 0 where that position is padding. Every element of cols is written.
void im2col(const float* images, std::int64_t count, const kernels::ConvGeometry& g, float* cols);

/// The adjoint of im2col: images += the sum of each column entry at the position im2col read it
/// from (padding entries dropped). Accumulates: zero `images` first for a plain gradient. Adjoint
/// means <im2col(x), y> = <x, col2im(y)> for every x and y.
void col2im(const float* cols, std::int64_t count, const kernels::ConvGeometry& g, float* images);

/// The convolution of module 09 (same arguments, same result as ops::conv2d) by YOUR im2col and
/// YOUR gemm_parallel: input (N, C, H, W), weight (O, C, kh, kw), bias (O) or undefined ->
/// (N, O, Ho, Wo). Bad shapes throw std::invalid_argument as module 09's conv2d does.
[[nodiscard]] Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                    std::int64_t stride, std::int64_t padding);

struct Conv2dGrads {
  Tensor input;   // (N, C, H, W)
  Tensor weight;  // (O, C, kh, kw)
  Tensor bias;    // (O)
};
/// The gradients of conv2d_forward given grad_output (N, O, Ho, Wo), by your im2col, col2im and
/// gemm_parallel: dW = sum_n dY_n @ cols_n^T, dX_n = col2im(W^T @ dY_n), db = sum of dY.
[[nodiscard]] Conv2dGrads conv2d_backward(const Tensor& input, const Tensor& weight,
                                          const Tensor& grad_output, std::int64_t stride,
                                          std::int64_t padding);

// ---- module 15: one fused operation -------------------------------------------------------------
// y = relu(x + bias) = max(x + bias, 0), x (rows, cols) row-major, bias (cols): the end of every
// Linear and Conv2d layer followed by a ReLU. A few operations per element, so memory traffic, not
// arithmetic, sets its speed. In and out may be the same buffer.

/// The unfused form, as a framework of separate operations runs it: pass 1 writes x + bias to y,
/// pass 2 reads y back and writes relu(y). Four trips through memory per element (x in, y out,
/// y in, y out).
void bias_relu_unfused(const float* x, const float* bias, std::int64_t rows, std::int64_t cols,
                       float* y);
/// The fused form: one pass, each element read once, biased and clamped in a register, written
/// once (two trips). Same values as bias_relu_unfused, bit for bit.
void bias_relu_fused(const float* x, const float* bias, std::int64_t rows, std::int64_t cols,
                     float* y);

}  // namespace tinytorch::accel
