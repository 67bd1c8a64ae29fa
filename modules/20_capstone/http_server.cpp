// The HTTP layer of module 20 (framework-owned): routes, status codes and JSON bodies around the
// student's batcher, validation and metrics. See http_server.hpp for the endpoints.
#include "tinytorch/http_server.hpp"

#include <httplib.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tinytorch::serve {

namespace {

using Clock = std::chrono::steady_clock;

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

nlohmann::json error_body(const std::string& message) {
  return {{"error", message}};
}

// One batcher request per sample: samples of different clients then share batches.
std::vector<std::future<Tensor>> submit_samples(DynamicBatcher& batcher, const Tensor& batch,
                                                const InputSpec& spec) {
  const std::vector<float> values = batch.to_vector();  // (N, sample...) row-major
  const auto per_sample = static_cast<std::size_t>(shape_numel(spec.sample_shape));
  std::vector<std::future<Tensor>> answers;
  for (std::size_t i = 0; i * per_sample < values.size(); ++i) {
    std::vector<float> sample(values.begin() + static_cast<std::ptrdiff_t>(i * per_sample),
                              values.begin() + static_cast<std::ptrdiff_t>((i + 1) * per_sample));
    answers.push_back(batcher.submit(from_vector(std::move(sample), spec.sample_shape)));
  }
  return answers;
}

}  // namespace

struct InferenceServer::Impl {
  Impl(DynamicBatcher* b, InputSpec s, TextGenerator* g, Metrics& m, ServerOptions o)
      : batcher(b), spec(std::move(s)), generator(g), metrics(m), options(std::move(o)) {
    if (options.threads < 1) {
      throw std::invalid_argument("InferenceServer: threads is " + std::to_string(options.threads) +
                                  "; give 1 or more");
    }
    routes();
  }
  // Exactly one of the two is set: the model this server answers for.
  DynamicBatcher* batcher;  // a tensor model: POST /v1/predict
  InputSpec spec;
  TextGenerator* generator;  // a text model: POST /v1/generate
  Metrics& metrics;
  ServerOptions options;
  httplib::Server http;
  std::thread listener;
  int port = 0;
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> generated_tokens{0};

  [[nodiscard]] std::string model_name(const char* kind) const {
    return options.model.empty() ? std::string(kind) : kind + (" '" + options.model + "'");
  }

  void predict(const httplib::Request& req, httplib::Response& res) {
    if (batcher == nullptr) {
      reply(res, 404,
            error_body("this server serves the " + model_name("text model") +
                       ", which takes no tensors: POST {\"prompt\": \"...\"} to /v1/generate"));
      return;
    }
    const auto start = Clock::now();
    bool ok = false;
    try {
      const Tensor batch = parse_request(req.body, spec);
      auto answers = submit_samples(*batcher, batch, spec);
      nlohmann::json outputs = nlohmann::json::array();
      for (auto& answer : answers) outputs.push_back(answer.get().to_vector());
      reply(res, 200, {{"outputs", std::move(outputs)}});
      ok = true;
    } catch (const InvalidRequest& e) {
      reply(res, 400, error_body(e.what()));
    } catch (const QueueFull& e) {
      res.set_header("Retry-After", "1");
      reply(res, 503, error_body(e.what()));
    } catch (const BatcherStopped& e) {
      reply(res, 503, error_body(e.what()));
    } catch (const std::exception& e) {
      reply(res, 500, error_body(std::string("the model failed: ") + e.what()));
    }
    metrics.record(Clock::now() - start, ok);
  }

  void generate(const httplib::Request& req, httplib::Response& res) {
    if (generator == nullptr) {
      reply(
          res, 404,
          error_body("this server serves the " + model_name("tensor model") +
                     ", which generates no text: POST {\"inputs\": [...]} to /v1/predict, or "
                     "serve a text model (tinytorch-serve --model-dir .tito/milestones/tinygpt)"));
      return;
    }
    const auto start = Clock::now();
    bool ok = false;
    try {
      if (draining) {
        reply(res, 503,
              error_body("the server is shutting down; send the prompt elsewhere or later"));
        metrics.record(Clock::now() - start, false);
        return;
      }
      const GenerateRequest request = generator->parse(req.body);
      const Completion done = generator->generate(request);
      generated_tokens += done.tokens;
      reply(res, 200,
            {{"text", done.text}, {"tokens", done.tokens}, {"prompt_tokens", done.prompt_tokens}});
      ok = true;
    } catch (const InvalidRequest& e) {
      reply(res, 400, error_body(e.what()));
    } catch (const std::exception& e) {
      reply(res, 500, error_body(std::string("the model failed: ") + e.what()));
    }
    metrics.record(Clock::now() - start, ok);
  }

  [[nodiscard]] nlohmann::json metrics_body() const {
    const MetricsSnapshot s = metrics.snapshot();
    nlohmann::json body = {{"model", options.model}, {"requests", s.requests},
                           {"errors", s.errors},     {"latency_samples", s.latency_samples},
                           {"p50_ms", s.p50_ms},     {"p95_ms", s.p95_ms},
                           {"p99_ms", s.p99_ms}};
    if (batcher != nullptr) {
      body["queued"] = batcher->queued();
      body["max_batch_size"] = batcher->options().max_batch_size();
      body["max_wait_us"] = batcher->options().max_wait().count();
      body["max_queue"] = batcher->options().max_queue();
    } else {
      body["generated_tokens"] = generated_tokens.load();
      body["max_new_tokens"] = generator->limits().max_new_tokens;
    }
    return body;
  }

  void routes() {
    http.Post("/v1/predict",
              [this](const httplib::Request& req, httplib::Response& res) { predict(req, res); });
    http.Post("/v1/generate",
              [this](const httplib::Request& req, httplib::Response& res) { generate(req, res); });
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      if (draining) {
        reply(res, 503, {{"status", "draining"}});
      } else {
        reply(res, 200, {{"status", "ok"}});
      }
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, metrics_body());
    });
    // httplib refuses an oversized body itself (413) before our handler runs: give it a message.
    const std::size_t max_body =
        batcher != nullptr ? spec.max_body_bytes : generator->limits().max_body_bytes;
    http.set_payload_max_length(max_body);
    http.set_error_handler([this, max_body](const httplib::Request&, httplib::Response& res) {
      if (res.status == 413) {
        reply(res, 413,
              error_body("request body over " + std::to_string(max_body) + " bytes; send " +
                         (batcher != nullptr ? "fewer samples per request" : "a shorter prompt")));
      } else if (res.body.empty()) {
        reply(res, res.status, error_body("no such endpoint or method"));
      }
    });
    // Every answer carries the client's X-Request-Id back, refusals included: a load generator
    // can then prove that each reply belongs to its own request.
    http.set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      if (req.has_header("X-Request-Id")) {
        res.set_header("X-Request-Id", req.get_header_value("X-Request-Id"));
      }
    });
    // Headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm holds
    // the body back until the client's delayed ACK, adding ~40 ms to every answer.
    http.set_tcp_nodelay(true);
    const int threads = options.threads;
    // httplib owns the task queue it is given (its API takes a raw pointer).
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  }
};

InferenceServer::InferenceServer(DynamicBatcher& batcher, InputSpec spec, Metrics& metrics,
                                 ServerOptions options)
    : impl_(std::make_unique<Impl>(&batcher, std::move(spec), nullptr, metrics,
                                   std::move(options))) {}

InferenceServer::InferenceServer(TextGenerator& generator, Metrics& metrics, ServerOptions options)
    : impl_(std::make_unique<Impl>(nullptr, InputSpec{}, &generator, metrics, std::move(options))) {
}

InferenceServer::~InferenceServer() {
  stop();
}

void InferenceServer::start() {
  Impl& s = *impl_;
  s.port = s.options.port == 0
               ? s.http.bind_to_any_port(s.options.host)
               : (s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
  if (s.port < 0) {
    throw std::runtime_error("InferenceServer: cannot listen on " + s.options.host + ":" +
                             std::to_string(s.options.port) +
                             " (in use? pick another port or 0 for any)");
  }
  // bind() already listens: connections queue in the backlog until the accept loop runs.
  s.listener = std::thread([&s] { s.http.listen_after_bind(); });
  // Wait for the accept loop: httplib's stop() does nothing to a server not yet running, so a
  // stop() right after start() would leave the loop to start afterwards and never end.
  // (cpp-httplib 0.11 has no wait_until_ready.)
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!s.http.is_running()) {
    if (Clock::now() > deadline) {
      throw std::runtime_error("InferenceServer: the listener on port " + std::to_string(s.port) +
                               " did not start within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int InferenceServer::port() const {
  return impl_->port;
}

void InferenceServer::stop() {
  Impl& s = *impl_;
  if (s.draining.exchange(true)) return;
  // The batcher answers every accepted sample, later ones get 503; a running generation finishes
  // (httplib's stop() joins its worker threads) and later ones get 503.
  if (s.batcher != nullptr) s.batcher->shutdown();
  s.http.stop();
  if (s.listener.joinable()) s.listener.join();
}

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void InferenceServer::serve_until_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal = 0;
  sigwait(&set, &signal);
  stop();
}

}  // namespace tinytorch::serve
