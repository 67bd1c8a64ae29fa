// Module 20 — fill in each TODO. The contract is serving.hpp: read each function's comment there
// first, and the lesson in README.md for the why.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 20` after
// each part. Suggested order: the DynamicBatcher (constructor, submit, next_batch, run,
// worker_loop, shutdown, queued, destructor); validate_batch, parse_request; percentile, Metrics.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tinytorch/errors.hpp"
#include "tinytorch/serving.hpp"

namespace tinytorch::serve {

// ---- dynamic batcher ---------------------------------------------------------------------------

DynamicBatcher::DynamicBatcher(BatchFunction run_batch, BatcherOptions options)
    : run_batch_(std::move(run_batch)), options_(options) {
  // TODO: refuse an empty batch function, max_batch_size < 1, max_queue < 1 and a negative
  //   max_wait with std::invalid_argument naming the setting and its value. Then start worker_ on
  //   worker_loop(). Start the thread last: it reads every other member.
  throw NotImplemented("20_capstone", "DynamicBatcher::DynamicBatcher");
}

// TODO: call shutdown(), so that no accepted request is dropped when the batcher goes away.
DynamicBatcher::~DynamicBatcher() = default;

std::future<Tensor> DynamicBatcher::submit(Tensor input) {
  // TODO: under the lock: BatcherStopped if stopping_; QueueFull (say what max_queue is and to
  //   retry) if queue_ already holds max_queue requests: never wait for room. Otherwise push a
  //   Pending {input, promise, now} and take its future. After unlocking, wake the worker.
  (void)input;
  throw NotImplemented("20_capstone", "DynamicBatcher::submit");
}

void DynamicBatcher::shutdown() {
  // TODO: set stopping_ under the lock, wake the worker, join it if joinable. The worker drains
  //   the queue before it returns, so every accepted request is answered. A second call is a no-op.
  throw NotImplemented("20_capstone", "DynamicBatcher::shutdown");
}

std::int64_t DynamicBatcher::queued() const {
  // TODO: queue_.size(), read under the lock.
  throw NotImplemented("20_capstone", "DynamicBatcher::queued");
}

void DynamicBatcher::worker_loop() {
  // TODO: repeat: batch = next_batch(); an empty batch means "stopping and drained": return;
  //   otherwise run(batch).
  throw NotImplemented("20_capstone", "DynamicBatcher::worker_loop");
}

std::vector<DynamicBatcher::Pending> DynamicBatcher::next_batch() {
  // TODO: wait on wake_ until stopping_ or the queue is non-empty; empty queue now => return {}.
  //   Then wait until the batch is full (max_batch_size waiting), or stopping_, or the oldest
  //   request's arrived + max_wait (wait_until with a predicate: spurious wake-ups happen).
  //   Move at most max_batch_size requests from the FRONT of the queue into the batch.
  throw NotImplemented("20_capstone", "DynamicBatcher::next_batch");
}

void DynamicBatcher::run(std::vector<Pending> batch) {
  // TODO: without holding the lock (submitters must not wait for the model), call run_batch_ on
  //   the inputs. If it returns one output per input, set each promise's value. If it throws, or
  //   returns the wrong count (std::runtime_error naming both counts), give every promise of this
  //   batch the exception (std::current_exception()), and let the worker go on.
  (void)batch;
  throw NotImplemented("20_capstone", "DynamicBatcher::run");
}

}  // namespace tinytorch::serve

namespace tinytorch::serve {

// ---- request validation ------------------------------------------------------------------------

void validate_batch(const Tensor& batch, const InputSpec& spec) {
  // TODO: InvalidRequest (naming batch.shape() and spec.sample_shape) unless batch is
  //   (N, sample_shape...) with 1 <= N <= spec.max_batch; then InvalidRequest naming the flat
  //   index of the first value that is not finite (std::isfinite).
  (void)batch;
  (void)spec;
  throw NotImplemented("20_capstone", "validate_batch");
}

Tensor parse_request(std::string_view body, const InputSpec& spec) {
  // TODO: refuse a body over spec.max_body_bytes BEFORE parsing (parsing is the expensive part).
  //   nlohmann::json::parse(body, nullptr, false) and is_discarded(): not JSON. Then, each with an
  //   InvalidRequest that names the fault: no "inputs" array; a "dtype" other than "float32";
  //   N outside [1, max_batch]; walk each sample depth first with its path ("inputs[3][1]"): an
  //   array of the wrong length or a non-array where the shape wants one; a non-number where a
  //   number belongs (say node.type_name()); a number with |v| > FLT_MAX (inf once a float).
  //   Return a (N, sample_shape...) tensor of the values in row-major order.
  (void)body;
  (void)spec;
  throw NotImplemented("20_capstone", "parse_request");
}

// ---- metrics -----------------------------------------------------------------------------------

double percentile(std::vector<double> values, double q) {
  // TODO: std::invalid_argument for no values or q outside [0, 100] (NaN too: test !(q >= 0 &&
  //   q <= 100)). Sort; nearest rank = max(1, ceil(q / 100 * n)); return values[rank - 1].
  (void)values;
  (void)q;
  throw NotImplemented("20_capstone", "percentile");
}

Metrics::Metrics(std::size_t window) : window_(window) {
  // TODO: std::invalid_argument for a window of 0.
  throw NotImplemented("20_capstone", "Metrics::Metrics");
}

void Metrics::record(std::chrono::nanoseconds latency, bool ok) {
  // TODO: negative latency: std::invalid_argument. Under the lock: count the request; count an
  //   error and stop when !ok; else put the latency in milliseconds into the ring: push_back while
  //   it holds fewer than window_, then overwrite latencies_ms_[next_] and advance next_ mod
  //   window_.
  (void)latency;
  (void)ok;
  throw NotImplemented("20_capstone", "Metrics::record");
}

MetricsSnapshot Metrics::snapshot() const {
  // TODO: copy the counters and the latencies under the lock, compute p50/p95/p99 with
  //   percentile() outside it (only when there is at least one latency), set latency_samples.
  throw NotImplemented("20_capstone", "Metrics::snapshot");
}

}  // namespace tinytorch::serve
