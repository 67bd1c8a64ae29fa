#include "tinytorch/kernels/gemm.hpp"

#include <cblas.h>

#include <string>

#include "tinytorch/kernels/threads.hpp"

namespace tinytorch::kernels {

void sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
           const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
           std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  (void)num_threads();  // make sure the thread count was decided before BLAS spins up its pool
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m), static_cast<blasint>(n),
              static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

const char* blas_info() {
  static const std::string info = [] {
    std::string config = openblas_get_config();
    return "OpenBLAS (" + config + ", core " + openblas_get_corename() + ")";
  }();
  return info.c_str();
}

}  // namespace tinytorch::kernels
