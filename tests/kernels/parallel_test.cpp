// kernels::parallel_for: every index exactly once, exceptions carried back, nesting and
// concurrent callers safe, and a child process after fork() still gets its loop run.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/kernels/threads.hpp"

namespace {

using std::int64_t;
using tinytorch::kernels::parallel_for;

TEST(ParallelFor, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 5}) {
    tinytorch::kernels::set_num_threads(threads);
    std::vector<std::atomic<int>> hits(1001);
    parallel_for(0, 1001, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) ++hits[static_cast<std::size_t>(i)];
    });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1) << threads << " threads";
  }
  tinytorch::kernels::set_num_threads(2);
}

TEST(ParallelFor, RethrowsABlocksExceptionOnTheCaller) {
  tinytorch::kernels::set_num_threads(2);
  EXPECT_THROW(parallel_for(0, 100, 1,
                            [](int64_t lo, int64_t) {
                              if (lo > 0) throw std::runtime_error("second block failed");
                            }),
               std::runtime_error);
  std::atomic<int> calls = 0;  // the pool still works afterwards (atomic: two blocks add at once)
  parallel_for(0, 2, 1, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 1 + 1);
}

TEST(ParallelFor, NestedLoopsRunSeriallyInsideABlock) {
  tinytorch::kernels::set_num_threads(2);
  std::atomic<int> inner_blocks = 0;
  parallel_for(0, 2, 1, [&](int64_t, int64_t) {
    EXPECT_TRUE(tinytorch::kernels::in_parallel_region());
    parallel_for(0, 100, 1, [&](int64_t lo, int64_t hi) {
      EXPECT_EQ(hi - lo, 100);  // one block: the whole range
      ++inner_blocks;
    });
  });
  EXPECT_EQ(inner_blocks.load(), 2);
  EXPECT_FALSE(tinytorch::kernels::in_parallel_region());
}

TEST(ParallelFor, ConcurrentCallersEachGetTheirWholeRange) {
  tinytorch::kernels::set_num_threads(2);
  std::atomic<int64_t> total = 0;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        parallel_for(0, 64, 1, [&](int64_t lo, int64_t hi) { total += hi - lo; });
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(total.load(), 4 * 200 * 64);
}

TEST(ParallelFor, WorksInAChildProcessForkedAfterThePoolStarted) {
  tinytorch::kernels::set_num_threads(2);
  parallel_for(0, 2, 1, [](int64_t, int64_t) {});  // the pool's workers exist now
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int64_t sum = 0;
    parallel_for(0, 10, 1, [&](int64_t lo, int64_t hi) { sum += hi - lo; });
    ::_exit(sum == 10 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
