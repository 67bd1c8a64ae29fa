// Visible tests for module 20 (capstone): run them with `tito module test 20`. The hidden suite
// that grades the module checks more cases of the same behaviours, from many threads.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <vector>

#include "tinytorch/serving.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;

namespace {

// Answers each request with its input plus 1.
std::vector<Tensor> add_one(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const auto& t : inputs) out.push_back(from_vector({t.to_vector()[0] + 1.0f}, {1}));
  return out;
}

}  // namespace

TEST(DynamicBatcher, EachCallerGetsItsOwnAnswer) {
  serve::DynamicBatcher batcher(add_one, serve::BatcherOptions().max_batch_size(4).max_wait(1ms));
  std::vector<std::future<Tensor>> answers;
  for (int i = 0; i < 10; ++i) answers.push_back(batcher.submit(from_vector({float(i)}, {1})));
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(answers[i].wait_for(5s), std::future_status::ready) << "request " << i;
    EXPECT_EQ(answers[i].get().to_vector()[0], float(i) + 1.0f) << "request " << i;
  }
}

TEST(DynamicBatcher, SubmitAfterShutdownIsRefused) {
  serve::DynamicBatcher batcher(add_one, serve::BatcherOptions());
  batcher.shutdown();
  EXPECT_THROW((void)batcher.submit(from_vector({1.0f}, {1})), serve::BatcherStopped);
}

TEST(DynamicBatcher, RefusesAMaxBatchSizeOfZero) {
  EXPECT_THROW(serve::DynamicBatcher(add_one, serve::BatcherOptions().max_batch_size(0)),
               std::invalid_argument);
}
