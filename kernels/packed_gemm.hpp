#pragma once
// Internal to kernels/: the single-threaded packed GEMM behind kernels::sgemm (packed_gemm.cpp).
#include <cstdint>

namespace tinytorch::kernels::detail {

/// Same contract as kernels::sgemm, on the calling thread only.
void packed_sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                  float beta, float* c, std::int64_t ldc);

/// Whether the micro-kernel was compiled with AVX2 and FMA (else it is plain C++ and OpenBLAS is
/// used instead).
[[nodiscard]] bool packed_sgemm_is_vectorised();

}  // namespace tinytorch::kernels::detail
