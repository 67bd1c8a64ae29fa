#pragma once
// Framework-owned: the int8 GEMM behind module 17's quantized layers.
//
//   C(m, n) int32 = A(m, k) uint8 @ B(n, k)^T int8        (exact: every sum is an integer sum)
//
// A holds activations (quint8, one row per sample or per im2col column), B the weights (qint8, one
// row per output channel, as nn::Linear stores them). The kernel does integer multiply-adds only:
// zero points and scales are the caller's (module 17 subtracts the activation zero point through
// the weights' row sums and requantizes the int32 result).
//
// Three paths, chosen at run time from what the CPU has (qgemm_path()):
//   avx512_vnni  vpdpbusd: 16 lanes x 4 u8*s8 products summed straight into int32 per instruction.
//   avx2         vpmaddwd on 16-bit values: u8 zero-extended and s8 sign-extended, pairs of
//                products summed into int32. NOT vpmaddubsw: that instruction sums a pair of u8*s8
//                products into a *saturating int16*, and 255*(-128) + 255*(-128) = -65,280 does not
//                fit: it would silently return -32,768. Widening first costs half the throughput
//                and is exact for every input.
//   scalar       plain loops; the definition the others are tested against.
// Each path is exact while every partial sum fits int32, i.e. for k <= kQGemmMaxK; a larger k
// throws. Results are identical on every path and every thread count.
#include <cstdint>
#include <string>
#include <vector>

namespace tinytorch::kernels {

enum class QGemmPath { scalar, avx2, avx512_vnni };

/// 2^31 / (255 * 128) rounded down: the largest k for which no int32 sum can overflow.
inline constexpr std::int64_t kQGemmMaxK = 65793;

/// The fastest path this CPU supports (TINYTORCH_QGEMM=scalar|avx2|avx512_vnni forces a slower
/// one).
[[nodiscard]] QGemmPath qgemm_path();
[[nodiscard]] bool qgemm_path_supported(QGemmPath path);
[[nodiscard]] std::string qgemm_path_name(QGemmPath path);

/// B (n, k) int8 repacked once for the kernels: columns in blocks of 16, k in groups of 4 (zero
/// padded), so that one 64-byte load feeds one vpdpbusd. Weights are packed when a layer is built,
/// not at every call.
class QGemmPackedB {
 public:
  QGemmPackedB() = default;
  /// b: (n, k) row-major with row stride ldb >= k.
  QGemmPackedB(const std::int8_t* b, std::int64_t n, std::int64_t k, std::int64_t ldb);
  [[nodiscard]] std::int64_t n() const { return n_; }
  [[nodiscard]] std::int64_t k() const { return k_; }
  [[nodiscard]] std::int64_t k_groups() const { return (k_ + 3) / 4; }
  [[nodiscard]] const std::int8_t* panel(std::int64_t block) const {
    return data_.data() + block * k_groups() * 64;
  }

 private:
  std::int64_t n_ = 0;
  std::int64_t k_ = 0;
  std::vector<std::int8_t> data_;  // (ceil(n / 16), ceil(k / 4), 16, 4)
};

/// C = A @ B^T with A (m, k) uint8 (row stride lda >= k) and C (m, n) int32 (row stride ldc >= n),
/// split over the framework's threads. path defaults to qgemm_path(); an unsupported path throws.
void qgemm_u8s8s32(std::int64_t m, const std::uint8_t* a, std::int64_t lda, const QGemmPackedB& b,
                   std::int32_t* c, std::int64_t ldc);
void qgemm_u8s8s32(std::int64_t m, const std::uint8_t* a, std::int64_t lda, const QGemmPackedB& b,
                   std::int32_t* c, std::int64_t ldc, QGemmPath path);

}  // namespace tinytorch::kernels
