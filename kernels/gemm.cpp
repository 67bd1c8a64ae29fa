#include "tinytorch/kernels/gemm.hpp"

#include <cblas.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "packed_gemm.hpp"
#include "tinytorch/kernels/dispatch.hpp"
#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/kernels/threads.hpp"

namespace tinytorch::kernels {
namespace {

using std::int64_t;

// Below this many multiply-adds a GEMM runs on the calling thread: waking the pool costs about
// as much as 2^17 of them.
constexpr int64_t kSplitWork = int64_t{1} << 17;

// One thread's share of C: rows [i0, i0+rows) x columns [j0, j0+cols), an independent GEMM.
void serial_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
  if (m == 1 && k > 0) {
    // One row of A (a decode step of a KV-cached model, module 16): C is a vector-matrix product.
    // The packed kernel would pack all of B to read it once and pad the row to a 4- or 6-row
    // tile; gemv streams B once, unpacked. c is zeroed first when beta == 0, so NaN there cannot
    // leak into the result whatever the BLAS's scal does with 0 * NaN.
    if (beta == 0.0f) std::fill(c, c + n, 0.0f);
    const auto inc_a = static_cast<blasint>(trans_a ? lda : 1);  // A's one row, as a vector
    // trans_b: B is (n, k) row-major, c = B a; else B is (k, n), c = B^T a.
    cblas_sgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans,
                static_cast<blasint>(trans_b ? n : k), static_cast<blasint>(trans_b ? k : n), alpha,
                b, static_cast<blasint>(ldb), a, inc_a, beta, c, 1);
    return;
  }
  if (detail::packed_sgemm_is_vectorised()) {
    detail::packed_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m), static_cast<blasint>(n),
              static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace

// C splits into blocks of whole columns (or, when C is tall and narrow, whole rows), one per
// thread; each block is a GEMM of its own over the same k, so no two threads write one float.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (const KernelSet* student = detail::selected_student_kernels()) {
    student->gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (m <= 0 || n <= 0) return;
  const int64_t threads = num_threads();
  if (threads <= 1 || in_parallel_region() || m * n * k < kSplitWork) {
    serial_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  constexpr int64_t kColumnsAlign = 16, kRowsAlign = 6;  // the micro-kernel's tile
  const bool by_columns = n >= m || n >= threads * 4 * kColumnsAlign;
  const int64_t extent = by_columns ? n : m, align = by_columns ? kColumnsAlign : kRowsAlign;
  const int64_t units = (extent + align - 1) / align;
  parallel_for(0, units, 1, [&](int64_t lo, int64_t hi) {
    const int64_t start = lo * align, stop = std::min(hi * align, extent);
    if (by_columns) {
      const float* b_cols = trans_b ? b + start * ldb : b + start;
      serial_sgemm(trans_a, trans_b, m, stop - start, k, alpha, a, lda, b_cols, ldb, beta,
                   c + start, ldc);
    } else {
      const float* a_rows = trans_a ? a + start : a + start * lda;
      serial_sgemm(trans_a, trans_b, stop - start, n, k, alpha, a_rows, lda, b, ldb, beta,
                   c + start * ldc, ldc);
    }
  });
}

// Entries of at least kSplitWork multiply-adds each split themselves over the pool; smaller ones
// go to the threads whole, enough per block to be worth a wake-up.
void sgemm_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, std::span<const int64_t> a_offsets, const float* b,
                   int64_t ldb, std::span<const int64_t> b_offsets, float beta, float* c,
                   int64_t ldc, int64_t c_stride) {
  if (a_offsets.size() != b_offsets.size()) {
    throw std::invalid_argument("sgemm_batched: " + std::to_string(a_offsets.size()) +
                                " offsets for A but " + std::to_string(b_offsets.size()) +
                                " for B; give one of each per batch entry");
  }
  const auto batch = static_cast<int64_t>(a_offsets.size());
  const auto entry = [&](int64_t i) {
    sgemm(trans_a, trans_b, m, n, k, alpha, a + a_offsets[static_cast<std::size_t>(i)], lda,
          b + b_offsets[static_cast<std::size_t>(i)], ldb, beta, c + i * c_stride, ldc);
  };
  const int64_t work = std::max<int64_t>(m * n * k, 1);
  if (work >= kSplitWork) {
    for (int64_t i = 0; i < batch; ++i) entry(i);
    return;
  }
  parallel_for(0, batch, std::max<int64_t>(1, kSplitWork / work), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) entry(i);
  });
}

const char* blas_info() {
  static const std::string info = [] {
    std::string config = openblas_get_config();
    std::string gemm = detail::packed_sgemm_is_vectorised()
                           ? "sgemm: TinyTorch packed AVX2/FMA 6x16 and 4x24 kernels"
                           : "sgemm: OpenBLAS";
    return "OpenBLAS (" + config + ", core " + openblas_get_corename() + "); " + gemm;
  }();
  return info.c_str();
}

}  // namespace tinytorch::kernels
