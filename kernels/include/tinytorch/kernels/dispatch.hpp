#pragma once
// Framework-owned: the one switch that decides whose kernels run inside the framework.
//
// kernels::sgemm (and so ops::matmul, Linear, attention) and kernels::im2col / col2im (and so
// Conv2d) run the framework's own kernels by default. With TINYTORCH_KERNELS=student, or
// set_kernel_source(KernelSource::student), they run module 15's instead: the student's best GEMM
// rung (accel::gemm_parallel) and their im2col / col2im, and Winograd is switched off, so every
// multiply-add of a training run goes through the student's code.
// `tito milestone run ID --kernels student` sets the variable for the milestone program.
// A third source, naive (TINYTORCH_KERNELS=naive), runs module 15's rung 1, the three-loop
// accel::gemm_naive, for every GEMM (with module 15's im2col, no Winograd): the baseline that the
// olympics milestone measures every optimisation against.
#include <cstdint>

#include "tinytorch/kernels/im2col.hpp"

namespace tinytorch::kernels {

enum class KernelSource { framework, student, naive };

/// The source in use: set_kernel_source's, else TINYTORCH_KERNELS ("framework", "student" or
/// "naive", read once). Another value of TINYTORCH_KERNELS throws std::invalid_argument naming it.
[[nodiscard]] KernelSource kernel_source();
void set_kernel_source(KernelSource source);
/// "framework", "student" or "naive".
[[nodiscard]] const char* kernel_source_name(KernelSource source);

/// What the student's module registers: functions with the framework kernels' own signatures.
struct KernelSet {
  void (*gemm)(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
               float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
               float beta, float* c, std::int64_t ldc) = nullptr;
  void (*im2col)(const float* images, std::int64_t count, const ConvGeometry& g,
                 float* cols) = nullptr;
  void (*col2im)(const float* cols, std::int64_t count, const ConvGeometry& g,
                 float* images) = nullptr;
};

namespace detail {
/// Module 15's kernels. Defined by modules/15_acceleration/acceleration_ops.cpp (a framework
/// file, always linked): the hook the student's module registers into.
[[nodiscard]] const KernelSet& student_kernels();
/// Module 15's rung 1 (accel::gemm_naive) with module 15's im2col and col2im. Defined by
/// acceleration_ops.cpp too.
[[nodiscard]] const KernelSet& naive_kernels();
/// Module 15's kernels when the student's or the naive ones are selected, else nullptr (one
/// relaxed load on the hot path).
[[nodiscard]] const KernelSet* selected_student_kernels();
}  // namespace detail

}  // namespace tinytorch::kernels
