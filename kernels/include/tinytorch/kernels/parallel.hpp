#pragma once
// Framework-owned: a minimal parallel loop over an index range, sized by kernels::num_threads().
//
// The framework's only threads: a pool started once, sized by kernels::num_threads(). GEMMs split
// over it (kernels::sgemm; OpenBLAS is kept to one thread so the two never fight over cores), and
// so do the loops around them (im2col, col2im, pooling, normalisation, a convolution's images).
// Work is split into one contiguous block per thread; the calling thread runs the first block.
// Below `grain` items per thread the loop runs serially: waking a thread costs microseconds.
// Inside a block, a nested parallel_for (or sgemm) runs serially on that block's thread.
#include <cstdint>
#include <functional>

namespace tinytorch::kernels {

/// Calls body(begin_i, end_i) on disjoint blocks covering [begin, end). body must not throw past a
/// block boundary it does not own; an exception from any block is rethrown on the calling thread.
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& body);

/// True on a thread that is running a block of a parallel_for (nested loops run serially there).
[[nodiscard]] bool in_parallel_region();

}  // namespace tinytorch::kernels
