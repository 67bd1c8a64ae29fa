// Hidden grading suite for module 20: the dynamic batcher. Every verdict is deterministic: where a
// test needs the worker to be busy, a Gate holds the batch function until the test opens it, so
// no verdict depends on the scheduler's timing. Waits are bounded (kBound) so a broken batcher
// fails in seconds instead of hanging the suite.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tinytorch/serving.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;

namespace {

constexpr auto kBound = 5s;  // far above any correct batcher's latency; only a broken one hits it
// A max_wait no test may rely on: long enough that only "the batch is full" or "draining" can run a
// batch within kBound, short enough that a broken batcher's destructor still returns in seconds.
constexpr auto kLongWait = std::chrono::duration_cast<std::chrono::microseconds>(20s);

Tensor scalar(float v) {
  return from_vector({v}, {1});
}

// Records every batch the worker runs; answers each request with 2 * its value.
struct Recorder {
  std::mutex mutex;
  std::vector<std::vector<float>> batches;
  serve::BatchFunction function() {
    return [this](const std::vector<Tensor>& inputs) {
      std::vector<float> values;
      std::vector<Tensor> out;
      for (const auto& t : inputs) {
        values.push_back(t.to_vector()[0]);
        out.push_back(scalar(2.0f * t.to_vector()[0]));
      }
      std::lock_guard lock(mutex);
      batches.push_back(values);
      return out;
    };
  }
  std::vector<std::size_t> sizes() {
    std::lock_guard lock(mutex);
    std::vector<std::size_t> s;
    for (const auto& b : batches) s.push_back(b.size());
    return s;
  }
};

// Holds the batch function until open(): makes "the worker is busy" a fact, not a timing guess.
struct Gate {
  std::promise<void> entered_promise;
  std::shared_future<void> entered = entered_promise.get_future().share();
  std::promise<void> open_promise;
  std::shared_future<void> opened = open_promise.get_future().share();
  std::atomic<bool> first{true};
  void wait_here() {
    if (first.exchange(false)) entered_promise.set_value();
    opened.wait_for(kBound);
  }
  void open() { open_promise.set_value(); }
};

serve::BatchFunction gated(Gate& gate, Recorder& recorder) {
  auto inner = recorder.function();
  return [&gate, inner](const std::vector<Tensor>& inputs) {
    gate.wait_here();
    return inner(inputs);
  };
}

float get_value(std::future<Tensor>& f) {
  if (f.wait_for(kBound) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within " << kBound.count() << " s";
    return -1.0f;
  }
  return f.get().to_vector()[0];
}

}  // namespace

TEST(DynamicBatcher, AnswersOneRequestWithItsOwnOutput) {
  Recorder rec;
  serve::DynamicBatcher batcher(rec.function(), serve::BatcherOptions().max_wait(0us));
  auto f = batcher.submit(scalar(21.0f));
  EXPECT_EQ(get_value(f), 42.0f);
}

TEST(DynamicBatcher, ManyThreadsEachGetTheirOwnAnswerExactlyOnce) {
  Recorder rec;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  constexpr std::int64_t kMaxBatch = 16;
  std::atomic<int> wrong{0};
  {
    serve::DynamicBatcher batcher(
        rec.function(), serve::BatcherOptions().max_batch_size(kMaxBatch).max_wait(200us).max_queue(
                            kThreads * kPerThread));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<std::future<Tensor>> answers;
        for (int i = 0; i < kPerThread; ++i) {
          answers.push_back(batcher.submit(scalar(static_cast<float>(t * kPerThread + i))));
        }
        for (int i = 0; i < kPerThread; ++i) {
          if (answers[i].wait_for(kBound) != std::future_status::ready ||
              answers[i].get().to_vector()[0] != 2.0f * static_cast<float>(t * kPerThread + i)) {
            ++wrong;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(wrong.load(), 0) << "callers that got no answer or someone else's";
  std::multiset<float> seen;
  for (const auto& b : rec.batches) seen.insert(b.begin(), b.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread))
      << "requests run in total";
  EXPECT_EQ(std::set<float>(seen.begin(), seen.end()).size(), seen.size()) << "a request ran twice";
  for (std::size_t s : rec.sizes()) EXPECT_LE(s, static_cast<std::size_t>(kMaxBatch));
}

TEST(DynamicBatcher, GroupsRequestsThatWaitWhileTheWorkerIsBusy) {
  Recorder rec;
  Gate gate;
  serve::DynamicBatcher batcher(gated(gate, rec),
                                serve::BatcherOptions().max_batch_size(4).max_wait(0us));
  auto first = batcher.submit(scalar(0.0f));
  ASSERT_EQ(gate.entered.wait_for(kBound), std::future_status::ready);
  std::vector<std::future<Tensor>> rest;
  for (int i = 1; i <= 6; ++i) rest.push_back(batcher.submit(scalar(static_cast<float>(i))));
  gate.open();
  EXPECT_EQ(get_value(first), 0.0f);
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(get_value(rest[i - 1]), 2.0f * static_cast<float>(i));
  // The six queued behind the busy worker go as a full batch of 4, then the 2 left.
  EXPECT_EQ(rec.sizes(), (std::vector<std::size_t>{1, 4, 2}));
}

TEST(DynamicBatcher, RunsRequestsInTheOrderSubmitted) {
  Recorder rec;
  Gate gate;
  serve::DynamicBatcher batcher(gated(gate, rec),
                                serve::BatcherOptions().max_batch_size(3).max_wait(0us));
  auto first = batcher.submit(scalar(0.0f));
  ASSERT_EQ(gate.entered.wait_for(kBound), std::future_status::ready);
  std::vector<std::future<Tensor>> rest;
  for (int i = 1; i <= 5; ++i) rest.push_back(batcher.submit(scalar(static_cast<float>(i))));
  gate.open();
  for (auto& f : rest) get_value(f);
  std::vector<float> order;
  for (const auto& b : rec.batches) order.insert(order.end(), b.begin(), b.end());
  EXPECT_EQ(order, (std::vector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(DynamicBatcher, AFullBatchRunsWithoutWaitingForMaxWait) {
  Recorder rec;
  // max_wait of kLongWait: only "the batch is full" can make these answers arrive within kBound.
  serve::DynamicBatcher batcher(rec.function(),
                                serve::BatcherOptions().max_batch_size(4).max_wait(kLongWait));
  std::vector<std::future<Tensor>> answers;
  for (int i = 0; i < 4; ++i) answers.push_back(batcher.submit(scalar(static_cast<float>(i))));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(get_value(answers[i]), 2.0f * static_cast<float>(i));
  batcher.shutdown();
}

TEST(DynamicBatcher, APartialBatchRunsAfterMaxWait) {
  Recorder rec;
  serve::DynamicBatcher batcher(rec.function(),
                                serve::BatcherOptions().max_batch_size(64).max_wait(1ms));
  auto f = batcher.submit(scalar(5.0f));
  EXPECT_EQ(get_value(f), 10.0f);
  EXPECT_EQ(rec.sizes(), (std::vector<std::size_t>{1}));
}

TEST(DynamicBatcher, AFullQueueRefusesInsteadOfBlocking) {
  Recorder rec;
  Gate gate;
  serve::DynamicBatcher batcher(
      gated(gate, rec), serve::BatcherOptions().max_batch_size(1).max_wait(0us).max_queue(3));
  auto running = batcher.submit(scalar(0.0f));
  ASSERT_EQ(gate.entered.wait_for(kBound), std::future_status::ready);
  std::vector<std::future<Tensor>> waiting;
  for (int i = 1; i <= 3; ++i) waiting.push_back(batcher.submit(scalar(static_cast<float>(i))));
  EXPECT_EQ(batcher.queued(), 3);
  EXPECT_THROW((void)batcher.submit(scalar(99.0f)), serve::QueueFull);
  gate.open();
  EXPECT_EQ(get_value(running), 0.0f);
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(get_value(waiting[i - 1]), 2.0f * static_cast<float>(i));
  for (const auto& b : rec.batches) {
    EXPECT_EQ(std::count(b.begin(), b.end(), 99.0f), 0) << "the refused request ran anyway";
  }
}

TEST(DynamicBatcher, QueueFullMessageNamesTheLimit) {
  Recorder rec;
  Gate gate;
  serve::DynamicBatcher batcher(
      gated(gate, rec), serve::BatcherOptions().max_batch_size(1).max_wait(0us).max_queue(2));
  auto running = batcher.submit(scalar(0.0f));
  ASSERT_EQ(gate.entered.wait_for(kBound), std::future_status::ready);
  auto a = batcher.submit(scalar(1.0f));
  auto b = batcher.submit(scalar(2.0f));
  try {
    (void)batcher.submit(scalar(3.0f));
    ADD_FAILURE() << "a full queue accepted a request";
  } catch (const serve::QueueFull& e) {
    EXPECT_NE(std::string(e.what()).find("max_queue"), std::string::npos) << e.what();
  }
  gate.open();
}

TEST(DynamicBatcher, ShutdownAnswersEveryQueuedRequest) {
  Recorder rec;
  Gate gate;
  serve::DynamicBatcher batcher(gated(gate, rec),
                                serve::BatcherOptions().max_batch_size(2).max_wait(kLongWait));
  auto running = batcher.submit(scalar(0.0f));
  auto second = batcher.submit(scalar(1.0f));  // with the first: a full batch of 2 runs at once
  ASSERT_EQ(gate.entered.wait_for(kBound), std::future_status::ready);
  std::vector<std::future<Tensor>> queued;
  for (int i = 2; i <= 6; ++i) queued.push_back(batcher.submit(scalar(static_cast<float>(i))));
  // The last batch is partial and max_wait is kLongWait: only the drain can run it.
  std::thread stopper([&] { batcher.shutdown(); });
  gate.open();
  // Answers first, each within kBound, and only then the join: a drain that waits out max_wait
  // would still answer everything, kLongWait later, so the join alone would not catch it.
  EXPECT_EQ(get_value(running), 0.0f);
  EXPECT_EQ(get_value(second), 2.0f);
  for (int i = 2; i <= 6; ++i) EXPECT_EQ(get_value(queued[i - 2]), 2.0f * static_cast<float>(i));
  stopper.join();
}

TEST(DynamicBatcher, SubmitAfterShutdownIsRefused) {
  Recorder rec;
  serve::DynamicBatcher batcher(rec.function(), serve::BatcherOptions());
  batcher.shutdown();
  EXPECT_THROW((void)batcher.submit(scalar(1.0f)), serve::BatcherStopped);
  EXPECT_NO_THROW(batcher.shutdown()) << "a second shutdown must be a no-op";
}

TEST(DynamicBatcher, DestructorDrainsTheQueue) {
  Recorder rec;
  Gate gate;
  std::vector<std::future<Tensor>> answers;
  std::thread opener;
  {
    serve::DynamicBatcher batcher(gated(gate, rec),
                                  serve::BatcherOptions().max_batch_size(8).max_wait(kLongWait));
    for (int i = 0; i < 3; ++i) answers.push_back(batcher.submit(scalar(static_cast<float>(i))));
    opener = std::thread([&] { gate.open(); });
  }
  opener.join();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get_value(answers[i]), 2.0f * static_cast<float>(i));
}

TEST(DynamicBatcher, ABatchFunctionErrorReachesEveryCallerOfThatBatchOnly) {
  std::atomic<int> calls{0};
  Gate gate;
  auto fails_first = [&](const std::vector<Tensor>& inputs) -> std::vector<Tensor> {
    if (calls++ == 0) {
      gate.wait_here();
      throw std::runtime_error("model exploded");
    }
    return inputs;
  };
  serve::DynamicBatcher batcher(fails_first,
                                serve::BatcherOptions().max_batch_size(1).max_wait(0us));
  auto bad = batcher.submit(scalar(1.0f));
  ASSERT_EQ(gate.entered.wait_for(kBound), std::future_status::ready);
  auto good = batcher.submit(scalar(7.0f));
  gate.open();
  ASSERT_EQ(bad.wait_for(kBound), std::future_status::ready);
  EXPECT_THROW((void)bad.get(), std::runtime_error);
  EXPECT_EQ(get_value(good), 7.0f) << "the batcher must go on after a failed batch";
}

TEST(DynamicBatcher, AWrongOutputCountIsAnErrorForTheWholeBatch) {
  auto drops_one = [](const std::vector<Tensor>& inputs) {
    return std::vector<Tensor>(inputs.begin(), inputs.end() - 1);
  };
  serve::DynamicBatcher batcher(drops_one,
                                serve::BatcherOptions().max_batch_size(2).max_wait(kLongWait));
  auto a = batcher.submit(scalar(1.0f));
  auto b = batcher.submit(scalar(2.0f));
  ASSERT_EQ(a.wait_for(kBound), std::future_status::ready);
  ASSERT_EQ(b.wait_for(kBound), std::future_status::ready);
  EXPECT_THROW((void)a.get(), std::runtime_error);
  EXPECT_THROW((void)b.get(), std::runtime_error);
}

TEST(DynamicBatcher, RefusesAMaxBatchSizeBelowOne) {
  Recorder rec;
  EXPECT_THROW(serve::DynamicBatcher(rec.function(), serve::BatcherOptions().max_batch_size(0)),
               std::invalid_argument);
}

TEST(DynamicBatcher, RefusesAMaxQueueBelowOne) {
  Recorder rec;
  EXPECT_THROW(serve::DynamicBatcher(rec.function(), serve::BatcherOptions().max_queue(0)),
               std::invalid_argument);
}

TEST(DynamicBatcher, RefusesANegativeMaxWait) {
  Recorder rec;
  EXPECT_THROW(serve::DynamicBatcher(rec.function(), serve::BatcherOptions().max_wait(-1us)),
               std::invalid_argument);
}

TEST(DynamicBatcher, RefusesAnEmptyBatchFunction) {
  EXPECT_THROW(serve::DynamicBatcher(serve::BatchFunction{}, serve::BatcherOptions()),
               std::invalid_argument);
}
