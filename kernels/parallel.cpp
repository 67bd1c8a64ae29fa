#include "tinytorch/kernels/parallel.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

#include "tinytorch/kernels/threads.hpp"

namespace tinytorch::kernels {
namespace {

// A body that itself calls parallel_for runs its inner loop serially: the threads are all busy.
thread_local bool inside_parallel_region = false;

// The framework's one pool: workers started once and parked on a condition variable between
// loops, so a parallel loop costs a wake-up (microseconds), not a thread start. run() hands block
// t of `blocks` to worker t-1 and runs block 0 on the caller.
class Pool {
 public:
  ~Pool() {
    if (::getpid() != owner_) {  // a forked child: the workers (and their locks) are not ours
      for (auto& w : workers_) w.detach();
      return;
    }
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  // False when another thread is using the pool, or in a child process forked after the workers
  // started (they were not copied into it): the caller then runs its loop alone.
  bool run(int blocks, const std::function<void(int)>& block) {
    if (::getpid() != owner_) return false;
    std::unique_lock busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    grow(blocks - 1);
    {
      const std::lock_guard lock(mutex_);
      job_ = &block;
      active_ = blocks - 1;
      pending_ = blocks - 1;
      ++generation_;
    }
    wake_.notify_all();
    block(0);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
    return true;
  }

 private:
  void grow(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      const int id = static_cast<int>(workers_.size());
      workers_.emplace_back([this, id] { work(id); });
    }
  }

  void work(int id) {
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (id >= active_) continue;  // this loop needs fewer blocks than there are workers
      const auto* job = job_;
      lock.unlock();
      (*job)(id + 1);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  const pid_t owner_ = ::getpid();
  std::mutex run_mutex_;  // one parallel loop at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  std::uint64_t generation_ = 0;
  int active_ = 0, pending_ = 0;
  bool stopping_ = false;
};

Pool& pool() {
  static Pool instance;
  return instance;
}

}  // namespace

bool in_parallel_region() {
  return inside_parallel_region;
}

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
  const std::function<void(int)> run_block = [&](int t) {
    const std::int64_t lo = begin + t * (n / threads) + std::min<std::int64_t>(t, n % threads);
    const std::int64_t hi = lo + n / threads + (t < n % threads ? 1 : 0);
    inside_parallel_region = true;
    try {
      body(lo, hi);
    } catch (...) {
      errors[static_cast<std::size_t>(t)] = std::current_exception();
    }
    inside_parallel_region = false;
  };
  if (!pool().run(static_cast<int>(threads), run_block)) {
    body(begin, end);  // the pool is busy with another thread's loop
    return;
  }
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace tinytorch::kernels
