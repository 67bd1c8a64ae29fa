#pragma once
// Framework-owned fast layer: single-precision GEMM through OpenBLAS, row-major.
// Raw pointers plus leading dimensions are BLAS's own vocabulary; keeping it makes a strided
// sub-matrix (a view) usable without a copy.
#include <cstdint>

namespace tinytorch::kernels {

/// C = alpha * op(A) @ op(B) + beta * C, all row-major.
///   op(A) is (m, k): A is (m, k) with row stride lda, or (k, m) when trans_a.
///   op(B) is (k, n): B is (k, n) with row stride ldb, or (n, k) when trans_b.
///   C is (m, n) with row stride ldc.
void sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
           const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
           std::int64_t ldc);

/// The name of the BLAS library in use, e.g. "OpenBLAS 0.3.21 (pthread, Haswell)".
[[nodiscard]] const char* blas_info();

}  // namespace tinytorch::kernels
