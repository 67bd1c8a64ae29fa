#pragma once
// Framework-owned: a minimal parallel loop over an index range, sized by kernels::num_threads().
//
// OpenBLAS brings its own threads for GEMM; this is for the memory-bound loops around it (im2col,
// col2im, pooling, normalisation) that would otherwise run on one core while the others idle.
// Work is split into one contiguous block per thread; the calling thread runs the first block.
// Below `grain` items per thread the loop runs serially: starting a thread costs microseconds.
#include <cstdint>
#include <functional>

namespace tinytorch::kernels {

/// Calls body(begin_i, end_i) on disjoint blocks covering [begin, end). body must not throw past a
/// block boundary it does not own; an exception from any block is rethrown on the calling thread.
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& body);

}  // namespace tinytorch::kernels
