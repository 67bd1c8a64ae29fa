#pragma once
// One place decides how many threads the framework uses: TINYTORCH_NUM_THREADS if set, else the
// number of hardware threads. They are the pool of kernels::parallel_for, which GEMMs split over
// too; OpenBLAS itself is set to one thread, so it never competes with the pool for cores.
namespace tinytorch::kernels {

[[nodiscard]] int num_threads();
/// Sets the framework's thread count (n >= 1).
void set_num_threads(int n);

}  // namespace tinytorch::kernels
