// Module 20 reference solution: the dynamic batcher, request validation and metrics.
#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/serving.hpp"

namespace tinytorch::serve {

// ---- dynamic batcher ---------------------------------------------------------------------------

namespace {

void check_options(const BatchFunction& run_batch, const BatcherOptions& options) {
  if (!run_batch) throw std::invalid_argument("DynamicBatcher: the batch function is empty");
  if (options.max_batch_size() < 1) {
    throw std::invalid_argument("DynamicBatcher: max_batch_size is " +
                                std::to_string(options.max_batch_size()) + "; give 1 or more");
  }
  if (options.max_queue() < 1) {
    throw std::invalid_argument("DynamicBatcher: max_queue is " +
                                std::to_string(options.max_queue()) + "; give 1 or more");
  }
  if (options.max_wait().count() < 0) {
    throw std::invalid_argument("DynamicBatcher: max_wait is negative (" +
                                std::to_string(options.max_wait().count()) +
                                " us); give 0 or more");
  }
}

}  // namespace

DynamicBatcher::DynamicBatcher(BatchFunction run_batch, BatcherOptions options)
    : run_batch_(std::move(run_batch)), options_(options) {
  check_options(run_batch_, options_);
  worker_ = std::thread([this] { worker_loop(); });
}

DynamicBatcher::~DynamicBatcher() {
  shutdown();
}

std::future<Tensor> DynamicBatcher::submit(Tensor input) {
  std::future<Tensor> answer;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw BatcherStopped("DynamicBatcher: shutting down, no new requests accepted");
    if (static_cast<std::int64_t>(queue_.size()) >= options_.max_queue()) {
      throw QueueFull("DynamicBatcher: queue full (max_queue = " +
                      std::to_string(options_.max_queue()) + " requests waiting); retry later");
    }
    queue_.push_back({std::move(input), {}, std::chrono::steady_clock::now()});
    answer = queue_.back().answer.get_future();
  }
  wake_.notify_one();
  return answer;
}

void DynamicBatcher::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::int64_t DynamicBatcher::queued() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(queue_.size());
}

void DynamicBatcher::worker_loop() {
  for (;;) {
    std::vector<Pending> batch = next_batch();
    if (batch.empty()) return;  // stopping and drained
    run(std::move(batch));
  }
}

// Blocks until a batch is due: full, or its oldest request has waited max_wait, or we are draining
// (then nobody else is coming: go at once). Empty only when stopping with nothing left.
std::vector<DynamicBatcher::Pending> DynamicBatcher::next_batch() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  if (queue_.empty()) return {};
  const auto full = [&] {
    return static_cast<std::int64_t>(queue_.size()) >= options_.max_batch_size();
  };
  const auto deadline = queue_.front().arrived + options_.max_wait();
  wake_.wait_until(lock, deadline, [&] { return stopping_ || full(); });
  const auto n =
      std::min<std::size_t>(queue_.size(), static_cast<std::size_t>(options_.max_batch_size()));
  std::vector<Pending> batch;
  batch.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

// Outside the lock: submitters keep queueing while the model runs.
void DynamicBatcher::run(std::vector<Pending> batch) {
  std::vector<Tensor> inputs;
  inputs.reserve(batch.size());
  for (const auto& p : batch) inputs.push_back(p.input);
  try {
    std::vector<Tensor> outputs = run_batch_(inputs);
    if (outputs.size() != batch.size()) {
      throw std::runtime_error("DynamicBatcher: the batch function returned " +
                               std::to_string(outputs.size()) + " outputs for " +
                               std::to_string(batch.size()) + " inputs");
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].answer.set_value(std::move(outputs[i]));
  } catch (...) {
    const auto error = std::current_exception();
    for (auto& p : batch) p.answer.set_exception(error);
  }
}

}  // namespace tinytorch::serve
