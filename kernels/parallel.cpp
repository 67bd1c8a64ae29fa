#include "tinytorch/kernels/parallel.hpp"

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

#include "tinytorch/kernels/threads.hpp"

namespace tinytorch::kernels {
namespace {
// A body that itself calls parallel_for runs its inner loop serially: the threads are all busy.
thread_local bool inside_parallel_region = false;
}  // namespace

void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& body) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  const std::int64_t by_grain = n / std::max<std::int64_t>(grain, 1);
  const auto threads = std::min<std::int64_t>(num_threads(), std::max<std::int64_t>(by_grain, 1));
  if (threads <= 1 || inside_parallel_region) {
    body(begin, end);
    return;
  }
  // Blocks of n / threads items, the first n % threads of them one item longer.
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(threads));
  auto run_block = [&](std::int64_t t) {
    const std::int64_t lo = begin + t * (n / threads) + std::min(t, n % threads);
    const std::int64_t hi = lo + n / threads + (t < n % threads ? 1 : 0);
    inside_parallel_region = true;
    try {
      body(lo, hi);
    } catch (...) {
      errors[static_cast<std::size_t>(t)] = std::current_exception();
    }
    inside_parallel_region = false;
  };
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads - 1));
  for (std::int64_t t = 1; t < threads; ++t) workers.emplace_back(run_block, t);
  run_block(0);
  for (auto& w : workers) w.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace tinytorch::kernels
