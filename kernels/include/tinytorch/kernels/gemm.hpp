#pragma once
// Framework-owned fast layer: single-precision GEMM, row-major, split over the framework's threads.
// With AVX2/FMA it runs the packed kernel of kernels/packed_gemm.cpp, otherwise OpenBLAS's
// cblas_sgemm (blas_info() says which). Raw pointers plus leading dimensions are BLAS's own
// vocabulary; keeping it makes a strided sub-matrix (a view) usable without a copy.
#include <cstdint>
#include <span>

namespace tinytorch::kernels {

/// C = alpha * op(A) @ op(B) + beta * C, all row-major.
///   op(A) is (m, k): A is (m, k) with row stride lda, or (k, m) when trans_a.
///   op(B) is (k, n): B is (k, n) with row stride ldb, or (n, k) when trans_b.
///   C is (m, n) with row stride ldc.
void sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
           const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
           std::int64_t ldc);

/// A batch of independent GEMMs of one shape: for i in [0, batch),
///   C_i = alpha * op(A_i) @ op(B_i) + beta * C_i,  A_i = a + a_offsets[i],  B_i = b +
///   b_offsets[i], C_i = c + i * c_stride
/// (offsets rather than one stride each, so broadcast batch dimensions can repeat an operand).
/// a_offsets and b_offsets hold `batch` entries. Small products are spread over the threads a
/// whole GEMM at a time; large ones split themselves, one after another.
void sgemm_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                   float alpha, const float* a, std::int64_t lda,
                   std::span<const std::int64_t> a_offsets, const float* b, std::int64_t ldb,
                   std::span<const std::int64_t> b_offsets, float beta, float* c, std::int64_t ldc,
                   std::int64_t c_stride);

/// The name of the BLAS library in use, e.g. "OpenBLAS 0.3.21 (pthread, Haswell)".
[[nodiscard]] const char* blas_info();

}  // namespace tinytorch::kernels
