#pragma once
// One place decides how many threads the framework uses, for OpenBLAS and our own pool alike:
// TINYTORCH_NUM_THREADS if set, else the number of hardware threads.
namespace tinytorch::kernels {

[[nodiscard]] int num_threads();
/// Sets the thread count for BLAS and the framework (n >= 1).
void set_num_threads(int n);

}  // namespace tinytorch::kernels
