// Module 20 — fill in each TODO. The contract is serving.hpp: read each function's comment there
// first, and the lesson in README.md for the why.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 20` after
// each part. Suggested order: the DynamicBatcher (constructor, submit, next_batch, run,
// worker_loop, shutdown, queued).
#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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
