#pragma once
// Module 20: capstone. The pieces of an inference service around your own framework. The contract
// for serving.cpp:
//     serve::DynamicBatcher batcher(run_model, serve::BatcherOptions().max_batch_size(32)
//                                                  .max_wait(std::chrono::milliseconds(2)));
//     std::future<Tensor> answer = batcher.submit(image);   // serve::QueueFull when saturated
//     Tensor logits = answer.get();                          // this caller's own row, nobody
//     else's batcher.shutdown();                                    // refuse new work, finish the
//     queue
//
//     Tensor batch = serve::parse_request(body, spec);       // serve::InvalidRequest naming the
//     fault metrics.record(latency, /*ok=*/true);  metrics.snapshot().p99_ms
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tinytorch/tensor.hpp"

namespace tinytorch::serve {

// ---- dynamic batcher ---------------------------------------------------------------------------

/// Settings of a DynamicBatcher, libtorch-style: BatcherOptions().max_batch_size(32).max_wait(2ms).
class BatcherOptions {
 public:
  /// At most this many requests in one call of the batch function (>= 1).
  BatcherOptions& max_batch_size(std::int64_t n) {
    max_batch_size_ = n;
    return *this;
  }
  /// How long the first request of a batch may wait for company before its batch runs anyway.
  BatcherOptions& max_wait(std::chrono::microseconds wait) {
    max_wait_ = wait;
    return *this;
  }
  /// Requests waiting (not yet in a running batch) beyond which submit() refuses (>= 1).
  BatcherOptions& max_queue(std::int64_t n) {
    max_queue_ = n;
    return *this;
  }
  [[nodiscard]] std::int64_t max_batch_size() const { return max_batch_size_; }
  [[nodiscard]] std::chrono::microseconds max_wait() const { return max_wait_; }
  [[nodiscard]] std::int64_t max_queue() const { return max_queue_; }

 private:
  std::int64_t max_batch_size_ = 32;
  std::chrono::microseconds max_wait_{2000};
  std::int64_t max_queue_ = 1024;
};

/// submit() on a full queue: back-pressure. The caller should answer "busy, retry" (HTTP 503), not
/// wait.
class QueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// submit() after shutdown() began: the service is draining and takes no new work.
class BatcherStopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Runs one batch: inputs[i] is request i's tensor, the result must hold exactly one output per
/// input, in the same order. It runs on the batcher's worker thread, one batch at a time.
using BatchFunction = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs)>;

/// Groups concurrent requests into batches for one worker thread.
///
/// A batch runs as soon as it holds max_batch_size requests, or when its oldest request has waited
/// max_wait, whichever comes first. Each submit() returns a future that receives exactly that
/// request's output, or the exception of its batch (a throwing batch function, or one that returns
/// the wrong number of outputs: std::runtime_error naming both counts), and the batcher goes on
/// with the next batch. No request is lost or answered twice; requests run in the order submitted.
class DynamicBatcher {
 public:
  /// Starts the worker thread. max_batch_size or max_queue below 1, a negative max_wait, or an
  /// empty batch function: std::invalid_argument naming the setting.
  DynamicBatcher(BatchFunction run_batch, BatcherOptions options);
  /// shutdown(): every request already accepted is still answered.
  ~DynamicBatcher();
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  /// Queues one request. Throws QueueFull (naming max_queue) when max_queue requests are already
  /// waiting, BatcherStopped after shutdown(); in both cases nothing is queued. Never blocks on a
  /// full queue.
  [[nodiscard]] std::future<Tensor> submit(Tensor input);

  /// Refuses new requests, runs every queued one (in batches, as usual), then joins the worker.
  /// Idempotent; safe to call from any thread but the worker.
  void shutdown();

  /// Requests waiting now (not counting a batch that is running).
  [[nodiscard]] std::int64_t queued() const;
  [[nodiscard]] const BatcherOptions& options() const { return options_; }

 private:
  struct Pending {
    Tensor input;
    std::promise<Tensor> answer;
    std::chrono::steady_clock::time_point arrived;
  };
  void worker_loop();
  [[nodiscard]] std::vector<Pending> next_batch();
  void run(std::vector<Pending> batch);

  BatchFunction run_batch_;
  BatcherOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread worker_;  // last: started once every member above exists
};

}  // namespace tinytorch::serve
