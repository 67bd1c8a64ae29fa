#pragma once
// Module 20: the HTTP layer of the inference service. Framework-owned (you use it, you do not write
// it): cpp-httplib speaks HTTP, nlohmann/json the bodies, and your serving.cpp does the work.
// A server answers for one model, a tensor model (an image classifier) or a text model (tinygpt):
//     POST /v1/predict  {"inputs": [sample, ...]}  -> 200 {"outputs": [[...], ...]}
//                       a bad request -> 400 (413 if too big) {"error": "..."}; a full queue -> 503
//     POST /v1/generate {"prompt": "ROMEO:", "max_new_tokens": 100, "temperature": 0, "top_k": 0,
//                       "seed": 0} (only prompt required; text_generation.hpp has the rules)
//                       -> 200 {"text": the new characters, "tokens": N, "prompt_tokens": P}
//                       a bad request -> 400 {"error": "..."} naming the field
//     The route of the other kind of model answers 404 {"error": ...} naming the model served.
//     GET  /healthz     -> 200 {"status": "ok"}, 503 {"status": "draining"} once stop() began
//     GET  /metrics     -> 200 {"requests", "errors", "latency_samples", "p50_ms", "p95_ms",
//     "p99_ms", "model", and "queued" (samples waiting in the batcher) with the batcher's settings,
//     or "generated_tokens" and "max_new_tokens" for a text model}
// An X-Request-Id header is echoed on every answer.
// Each sample of a predict request is its own batcher request, so samples from many clients share
// batches; generate requests run one at a time (TextGenerator says why).
#include <cstdint>
#include <memory>
#include <string>

#include "tinytorch/serving.hpp"
#include "tinytorch/text_generation.hpp"

namespace tinytorch::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 0;                    // 0: the system picks a free port (see InferenceServer::port)
  int threads = 8;                 // HTTP worker threads: concurrent connections served at once
  std::string model;               // the served model's name ("mnist", "tinygpt"), for messages
};

/// An HTTP front for a DynamicBatcher (a tensor model) or a TextGenerator (a text model). The
/// batcher's function maps inputs of spec.sample_shape to one output tensor each; metrics records
/// every predict request.
class InferenceServer {
 public:
  InferenceServer(DynamicBatcher& batcher, InputSpec spec, Metrics& metrics,
                  ServerOptions options = {});
  /// An HTTP front for a text model: POST /v1/generate runs generator (one request at a time);
  /// metrics records every generate request.
  InferenceServer(TextGenerator& generator, Metrics& metrics, ServerOptions options = {});
  ~InferenceServer();
  InferenceServer(const InferenceServer&) = delete;
  InferenceServer& operator=(const InferenceServer&) = delete;

  /// Binds and serves on a background thread; returns once it accepts connections. A port that
  /// cannot be bound: std::runtime_error naming host and port.
  void start();
  /// The bound port (after start()).
  [[nodiscard]] int port() const;
  /// Drains: health turns 503, new predictions and generations are refused (503), the batcher
  /// answers what it has accepted and running generations finish, then the listener stops.
  /// Idempotent.
  void stop();
  /// Blocks until SIGTERM or SIGINT arrives, then stop(). Needs block_stop_signals() called first
  /// in main, before any thread exists, so that no other thread takes the signal's default action.
  void serve_until_signal();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards, so that
/// serve_until_signal() receives them. Call first thing in main.
void block_stop_signals();

}  // namespace tinytorch::serve
