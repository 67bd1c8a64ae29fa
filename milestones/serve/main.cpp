// tinytorch-serve: a saved model behind the module 20 HTTP service, until SIGTERM or SIGINT.
//     tinytorch-serve --model-dir .tito/milestones/cifar10 --port 0 --port-file port.json
// The folder's config.json says which model it is: an image classifier (mnist, mnist-cnn, cifar10)
// is served on POST /v1/predict through the dynamic batcher, tinygpt's text model on
// POST /v1/generate (greedy unless a request asks for a temperature, one request at a time).
// Prints one JSON line when it listens ({"event": "listening", "host", "port", "pid", ...}) and one
// when it has drained and stopped ({"event": "stopped", the metrics}); errors go to stderr. Exit
// status: 0 after a clean drain, 1 when the model or the port fails, 2 for bad options.
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "inference_loader.hpp"
#include "saved_model.hpp"
#include "tinytorch/atomic_file.hpp"
#include "tinytorch/http_server.hpp"

namespace {

namespace fs = std::filesystem;
namespace serve = tinytorch::serve;

struct Settings {
  fs::path model_dir;
  std::string precision_name = "float32";
  [[nodiscard]] serve::Precision precision() const {
    return precision_name == "int8" ? serve::Precision::int8 : serve::Precision::float32;
  }
  std::string host = "127.0.0.1";
  int port = 0;
  fs::path port_file;
  std::int64_t max_batch = 32;
  double max_wait_ms = 2.0;
  std::int64_t max_queue = 1024;
  int threads = 8;
  std::int64_t warmup = 2;
};

void add_options(CLI::App& app, Settings& s) {
  app.add_option("--model-dir", s.model_dir,
                 "Folder of a saved model (config.json, model.safetensors), e.g. "
                 ".tito/milestones/cifar10")
      ->required();
  app.add_option("--precision", s.precision_name,
                 "float32 (model.safetensors) or int8 (model.int8.safetensors)")
      ->check(CLI::IsMember({"float32", "int8"}));
  app.add_option("--host", s.host, "Address to listen on (loopback by default)");
  app.add_option("--port", s.port, "TCP port; 0 lets the system pick a free one")
      ->check(CLI::Range(0, 65535));
  app.add_option("--port-file", s.port_file,
                 "Once listening, write {\"host\", \"port\", \"pid\"} here as JSON (atomically)");
  app.add_option("--max-batch", s.max_batch, "Most samples in one forward pass")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  app.add_option("--max-wait-ms", s.max_wait_ms,
                 "Longest a sample waits for company before its batch runs anyway")
      ->check(CLI::Range(0.0, 60000.0));
  app.add_option("--max-queue", s.max_queue, "Samples waiting beyond which requests get 503")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 24));
  app.add_option("--threads", s.threads, "HTTP worker threads (concurrent connections)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--warmup", s.warmup,
                 "Batches of --max-batch zero samples run before listening (a text model: "
                 "generations of one character)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1000}));
}

void print_line(const nlohmann::json& line) {
  std::fputs((line.dump() + "\n").c_str(), stdout);
  std::fflush(stdout);  // a parent reads it through a pipe: do not sit in a buffer
}

// Written beside the target and renamed: a reader polling for the file never sees half of it.
void write_port_file(const fs::path& file, const nlohmann::json& doc) {
  tinytorch::write_file_atomically(file, doc.dump() + "\n", "the port file");
}

// Listens, announces where, serves until SIGTERM or SIGINT and the drain, then reports.
int serve_until_stopped(const Settings& s, serve::InferenceServer& server,
                        const serve::Metrics& metrics, nlohmann::json model,
                        nlohmann::json serving) {
  server.start();
  const nlohmann::json where = {{"host", s.host}, {"port", server.port()}, {"pid", ::getpid()}};
  nlohmann::json listening = where;
  listening["event"] = "listening";
  listening["model"] = std::move(model);
  listening.update(serving);
  if (!s.port_file.empty()) write_port_file(s.port_file, where);
  print_line(listening);

  server.serve_until_signal();  // returns after the drain: every accepted request answered
  const serve::MetricsSnapshot m = metrics.snapshot();
  print_line({{"event", "stopped"},
              {"requests", m.requests},
              {"errors", m.errors},
              {"p50_ms", m.p50_ms},
              {"p95_ms", m.p95_ms},
              {"p99_ms", m.p99_ms}});
  return 0;
}

int serve_image_model(const Settings& s) {
  milestones::LoadedSession loaded = milestones::load_inference_session(s.model_dir, s.precision());
  loaded.session.warmup(s.warmup, s.max_batch);
  const auto max_wait = std::chrono::microseconds(static_cast<std::int64_t>(s.max_wait_ms * 1000));
  serve::DynamicBatcher batcher(loaded.session.batch_function(), serve::BatcherOptions()
                                                                     .max_batch_size(s.max_batch)
                                                                     .max_wait(max_wait)
                                                                     .max_queue(s.max_queue));
  serve::Metrics metrics;
  serve::InferenceServer server(batcher, loaded.session.input_spec(), metrics,
                                serve::ServerOptions{s.host, s.port, s.threads, loaded.milestone});
  return serve_until_stopped(s, server, metrics,
                             {{"milestone", loaded.milestone},
                              {"precision", serve::to_string(s.precision())},
                              {"file", loaded.weights.string()},
                              {"bytes", loaded.model_bytes},
                              {"sample_shape", loaded.session.sample_shape()}},
                             {{"endpoint", "/v1/predict"},
                              {"batcher",
                               {{"max_batch_size", s.max_batch},
                                {"max_wait_us", max_wait.count()},
                                {"max_queue", s.max_queue}}}});
}

// tinygpt: the saved GPT and its tokenizer, one generation at a time (TextGenerator says why);
// the batcher's options do not apply.
int serve_text_model(const Settings& s) {
  if (s.precision() != serve::Precision::float32) {
    throw std::runtime_error(
        fmt::format("{} holds the tinygpt model, which is saved in float32 only; serve it with "
                    "--precision float32",
                    s.model_dir.string()));
  }
  milestones::SavedGPT saved = milestones::load_gpt_model(s.model_dir);
  serve::TextGenerator generator(saved.model, saved.tokenizer);
  const std::string first_character = saved.tokenizer.decode({0});
  for (std::int64_t i = 0; i < s.warmup; ++i) {
    (void)generator.generate(
        generator.parse(nlohmann::json{{"prompt", first_character}, {"max_new_tokens", 1}}.dump()));
  }
  serve::Metrics metrics;
  serve::InferenceServer server(generator, metrics,
                                serve::ServerOptions{s.host, s.port, s.threads, "tinygpt"});
  const fs::path weights = s.model_dir / "model.safetensors";
  return serve_until_stopped(s, server, metrics,
                             {{"milestone", "tinygpt"},
                              {"precision", "float32"},
                              {"file", weights.string()},
                              {"bytes", fs::file_size(weights)},
                              {"vocab_size", saved.model->config.vocab_size},
                              {"context", saved.model->config.context}},
                             {{"endpoint", "/v1/generate"},
                              {"generate",
                               {{"max_new_tokens", generator.limits().max_new_tokens},
                                {"default_new_tokens", generator.limits().default_new_tokens},
                                {"one_at_a_time", true}}}});
}

int serve_model(const Settings& s) {
  return milestones::saved_model_milestone(s.model_dir) == milestones::kTextMilestone
             ? serve_text_model(s)
             : serve_image_model(s);
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists: every thread started later inherits the mask, so SIGTERM waits for
  // serve_until_signal instead of killing the process mid-request.
  serve::block_stop_signals();
  CLI::App app{"Serve a saved model over HTTP until SIGTERM or SIGINT (module 20)"};
  Settings settings;
  add_options(app, settings);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    return serve_model(settings);
  } catch (const std::exception& e) {
    fmt::print(stderr, "tinytorch-serve: {}\n", e.what());
    return 1;
  }
}
