// Module 20 reference solution: the dynamic batcher, request validation and metrics.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

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

// ---- request validation ------------------------------------------------------------------------

namespace {

std::string batch_limit_message(std::int64_t n, const InputSpec& spec) {
  return "request holds " + std::to_string(n) + " samples; send between 1 and " +
         std::to_string(spec.max_batch) + " per request";
}

void check_batch_size(std::int64_t n, const InputSpec& spec) {
  if (n < 1 || n > spec.max_batch) throw InvalidRequest(batch_limit_message(n, spec));
}

// Depth-first over one sample's nested arrays; appends its numbers in row-major order.
void read_sample(const nlohmann::json& node, const Shape& shape, std::size_t depth,
                 const std::string& path, std::vector<float>& out) {
  if (depth == shape.size()) {
    if (!node.is_number()) {
      throw InvalidRequest(path + " is " + std::string(node.type_name()) +
                           "; every element must be a number (float32)");
    }
    const double v = node.get<double>();
    if (!std::isfinite(v) || std::fabs(v) > static_cast<double>(FLT_MAX)) {
      throw InvalidRequest(path + " = " + node.dump() +
                           " is outside float32's finite range; send values within +-3.4e38");
    }
    out.push_back(static_cast<float>(v));
    return;
  }
  if (!node.is_array()) {
    throw InvalidRequest(path + " is " + std::string(node.type_name()) + "; expected an array of " +
                         std::to_string(shape[depth]) + " (sample shape " + shape_to_string(shape) +
                         ")");
  }
  if (static_cast<std::int64_t>(node.size()) != shape[depth]) {
    throw InvalidRequest(path + " has " + std::to_string(node.size()) + " elements; expected " +
                         std::to_string(shape[depth]) + " (sample shape " + shape_to_string(shape) +
                         ")");
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    read_sample(node[i], shape, depth + 1, path + "[" + std::to_string(i) + "]", out);
  }
}

}  // namespace

void validate_batch(const Tensor& batch, const InputSpec& spec) {
  if (batch.dim() != static_cast<std::int64_t>(spec.sample_shape.size()) + 1) {
    throw InvalidRequest("input shape " + shape_to_string(batch.shape()) + " does not match (N, " +
                         "sample shape " + shape_to_string(spec.sample_shape) + ")");
  }
  check_batch_size(batch.shape()[0], spec);
  const Shape sample(batch.shape().begin() + 1, batch.shape().end());
  if (sample != spec.sample_shape) {
    throw InvalidRequest("input shape " + shape_to_string(batch.shape()) + ": each sample is " +
                         shape_to_string(sample) + ", the model takes " +
                         shape_to_string(spec.sample_shape));
  }
  const std::vector<float> values = batch.to_vector();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw InvalidRequest("input holds a non-finite value (" + std::to_string(values[i]) +
                           ") at flat index " + std::to_string(i) + "; send finite numbers only");
    }
  }
}

Tensor parse_request(std::string_view body, const InputSpec& spec) {
  if (body.size() > spec.max_body_bytes) {
    throw InvalidRequest("request body is " + std::to_string(body.size()) +
                         " bytes; the limit is " + std::to_string(spec.max_body_bytes) +
                         ": send fewer samples per request");
  }
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw InvalidRequest("request body is not valid JSON");
  if (!doc.is_object() || !doc.contains("inputs") || !doc["inputs"].is_array()) {
    throw InvalidRequest(R"(request body must be an object {"inputs": [sample, ...]})");
  }
  if (doc.contains("dtype") && doc["dtype"] != "float32") {
    throw InvalidRequest("dtype " + doc["dtype"].dump() + " is not served; send \"float32\"");
  }
  const nlohmann::json& inputs = doc["inputs"];
  const auto n = static_cast<std::int64_t>(inputs.size());
  check_batch_size(n, spec);
  std::vector<float> values;
  values.reserve(static_cast<std::size_t>(n * shape_numel(spec.sample_shape)));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    read_sample(inputs[i], spec.sample_shape, 0, "inputs[" + std::to_string(i) + "]", values);
  }
  Shape shape = spec.sample_shape;
  shape.insert(shape.begin(), n);
  return from_vector(std::move(values), shape);
}

// ---- metrics -----------------------------------------------------------------------------------

double percentile(std::vector<double> values, double q) {
  if (values.empty()) throw std::invalid_argument("percentile: no values");
  if (!(q >= 0.0 && q <= 100.0)) {
    throw std::invalid_argument("percentile: q = " + std::to_string(q) + "; give 0 to 100");
  }
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least q% of the values at or below it.
  const auto n = static_cast<double>(values.size());
  const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q / 100.0 * n)));
  return values[rank - 1];
}

Metrics::Metrics(std::size_t window) : window_(window) {
  if (window_ < 1) throw std::invalid_argument("Metrics: window is 0; give 1 or more latencies");
  latencies_ms_.reserve(std::min<std::size_t>(window_, 1u << 16));
}

void Metrics::record(std::chrono::nanoseconds latency, bool ok) {
  if (latency.count() < 0) throw std::invalid_argument("Metrics::record: negative latency");
  const double ms = std::chrono::duration<double, std::milli>(latency).count();
  std::lock_guard lock(mutex_);
  ++requests_;
  if (!ok) {
    ++errors_;
    return;
  }
  if (latencies_ms_.size() < window_) {
    latencies_ms_.push_back(ms);
  } else {
    latencies_ms_[next_] = ms;  // overwrite the oldest
    next_ = (next_ + 1) % window_;
  }
}

MetricsSnapshot Metrics::snapshot() const {
  std::vector<double> window;
  MetricsSnapshot s;
  {
    std::lock_guard lock(mutex_);
    s.requests = requests_;
    s.errors = errors_;
    window = latencies_ms_;  // copy, then sort outside the lock: recorders do not wait on it
  }
  s.latency_samples = static_cast<std::int64_t>(window.size());
  if (!window.empty()) {
    s.p50_ms = percentile(window, 50.0);
    s.p95_ms = percentile(window, 95.0);
    s.p99_ms = percentile(window, 99.0);
  }
  return s;
}

}  // namespace tinytorch::serve
