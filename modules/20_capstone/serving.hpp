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
#include <cstddef>
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

// ---- request validation ------------------------------------------------------------------------

/// What a served model accepts: the shape of ONE sample (no batch dimension) and the limits that
/// keep one request from taking the service down.
struct InputSpec {
  Shape sample_shape;                      // e.g. {784} for the mnist MLP, {3, 32, 32} for cifar10
  std::int64_t max_batch = 256;            // samples per request
  std::size_t max_body_bytes = 64u << 20;  // bytes of one JSON body
};

/// A request the service refuses: the message names the fault (and where, e.g. inputs[3][1]) and
/// says what to send instead. The HTTP layer answers it with a 4xx and the message.
class InvalidRequest : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Checks a batch (N, sample_shape...) handed in-process: N in [1, max_batch], the sample shape as
/// spec says, every value finite. Otherwise InvalidRequest naming the shapes, or the flat index of
/// the first non-finite value.
void validate_batch(const Tensor& batch, const InputSpec& spec);

/// Parses a JSON body {"inputs": [sample, ...], "dtype": "float32" (optional)} where each sample is
/// nested arrays of numbers of spec.sample_shape, into a (N, sample_shape...) tensor.
/// InvalidRequest, naming the fault, for: a body over max_body_bytes (checked before parsing),
/// text that is not JSON, no "inputs" array, N = 0 or N > max_batch, a dtype other than "float32",
/// a nesting depth or a length that does not match the sample shape (naming the path and both
/// lengths), an element that is not a number (a string, a bool, null: naming the path and its
/// type), and a number outside float32's finite range (it would become inf in the model).
[[nodiscard]] Tensor parse_request(std::string_view body, const InputSpec& spec);

// ---- metrics -----------------------------------------------------------------------------------

/// The q-th percentile (q in [0, 100]) of values by the nearest-rank method: sort, take the value
/// of rank max(1, ceil(q / 100 * n)). Always one of the values, never an interpolation. Empty
/// values or q outside [0, 100] (or NaN): std::invalid_argument.
[[nodiscard]] double percentile(std::vector<double> values, double q);

/// What Metrics::snapshot() reports. Latencies are in milliseconds, over the most recent `window`
/// successful requests; 0 while there is none (latency_samples says how many there are).
struct MetricsSnapshot {
  std::int64_t requests = 0;  // every request recorded, ok or not, since the start
  std::int64_t errors = 0;    // those recorded with ok = false
  std::int64_t latency_samples = 0;
  double p50_ms = 0.0;
  double p95_ms = 0.0;
  double p99_ms = 0.0;
};

/// Request counters and a latency window, safe to record into from many threads at once. Memory is
/// bounded: only the most recent `window` latencies are kept (a service runs for weeks).
class Metrics {
 public:
  /// window < 1: std::invalid_argument.
  explicit Metrics(std::size_t window = 10000);
  /// One finished request. Its latency joins the window only when ok: a fast refusal would make
  /// the service look quicker than it is. A negative latency: std::invalid_argument.
  void record(std::chrono::nanoseconds latency, bool ok);
  [[nodiscard]] MetricsSnapshot snapshot() const;

 private:
  std::size_t window_;
  mutable std::mutex mutex_;
  std::int64_t requests_ = 0;
  std::int64_t errors_ = 0;
  std::vector<double> latencies_ms_;  // a ring of at most window_ values
  std::size_t next_ = 0;              // where the next latency goes once the ring is full
};

}  // namespace tinytorch::serve
