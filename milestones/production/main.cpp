// Milestone: the capstone served as a production system. The cifar10 milestone's saved model is
// served by tinytorch-serve (the student's inference session, batcher, validation and metrics
// behind the framework's HTTP layer), started on a loopback port and driven by the milestone's
// own bounded load generator: the whole CIFAR-10 test set, one image per request, from several
// concurrent clients, then a burst of bad requests. Everything judged here is counted by this
// program from what came back over HTTP: accuracy against the offline model's on the same images,
// every request accounted for, every bad request refused, latency percentiles and throughput,
// once with dynamic batching and once with batches of one.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cifar.hpp"
#include "inference_loader.hpp"
#include "load_generator.hpp"
#include "production_requests.hpp"
#include "run.hpp"
#include "saved_model.hpp"
#include "server_process.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/charts.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better
namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr std::int64_t kClasses = 10;
// An argmax whose top two offline logits are closer than this may flip when the same image is
// computed in a batch of another size (another GEMM blocking, another rounding): such a flip is
// counted and shown, not failed.
constexpr double kNearTie = 1e-3;

// ---- what the offline model says ----------------------------------------------------------------

struct Offline {
  std::vector<std::int64_t> predicted;  // argmax per image
  std::vector<float> margin;            // top-1 minus top-2 logit per image
  double accuracy = 0;
};

using Forward = std::function<Tensor(const Tensor&)>;

Offline offline_predictions(const Forward& forward, const milestones::CifarSplit& test) {
  Offline out;
  autograd::NoGradGuard no_grad;
  std::int64_t correct = 0;
  for (std::int64_t begin = 0; begin < test.count; begin += 1000) {
    const std::int64_t n = std::min<std::int64_t>(1000, test.count - begin);
    std::vector<float> batch(test.images.begin() + begin * milestones::kCifarSample,
                             test.images.begin() + (begin + n) * milestones::kCifarSample);
    const Tensor logits = forward(from_vector(std::move(batch), {n, 3, 32, 32}));
    const std::vector<float> values = logits.contiguous().to_vector();
    if (static_cast<std::int64_t>(values.size()) != n * kClasses) {
      throw std::runtime_error("the cifar10 model returned logits of shape " +
                               shape_to_string(logits.shape()) + "; expected (N, 10)");
    }
    for (std::int64_t r = 0; r < n; ++r) {
      const float* row = values.data() + r * kClasses;
      std::vector<float> sorted(row, row + kClasses);
      std::sort(sorted.begin(), sorted.end(), std::greater<>());
      const auto best = std::max_element(row, row + kClasses) - row;
      out.predicted.push_back(best);
      out.margin.push_back(sorted[0] - sorted[1]);
      correct += best == static_cast<std::int64_t>(test.labels[begin + r]) ? 1 : 0;
    }
  }
  out.accuracy = static_cast<double>(correct) / static_cast<double>(test.count);
  return out;
}

// ---- one server configuration -------------------------------------------------------------------

struct Config {
  std::string name;
  std::int64_t max_batch;
  std::int64_t max_wait_ms;
};

struct PassResult {
  Config config;
  milestones::LoadReport load;
  double accuracy = 0;
  std::int64_t disagreements = 0;   // served argmax != offline argmax
  std::int64_t near_tie_flips = 0;  // of those, offline top two within kNearTie
  std::int64_t unreadable = 0;      // 200 answers that are not (1, 10) logits
  std::int64_t bad_sent = 0;
  std::int64_t bad_refused = 0;  // 4xx
  std::vector<std::string> bad_not_refused;
  bool healthy_after_bad = true;
  json server_metrics;
  std::int64_t server_requests_expected = 0;
  int exit_status = -1;
  std::vector<std::string> problems;  // each failed check, as a sentence
};

json metrics_of(const std::string& host, int port) {
  const auto probe = milestones::http_get(host, port, "/metrics", milliseconds(5000));
  if (probe.status != 200) return nullptr;
  return json::parse(probe.body, nullptr, false);
}

struct Setup {
  fs::path server;
  fs::path model_dir;
  fs::path work_dir;
  std::string precision;
  std::int64_t max_queue = 1024;
  milestones::LoadOptions load;
  std::size_t max_body_bytes = 64u << 20;
};

PassResult run_pass(const Config& config, const Setup& setup, const milestones::CifarSplit& test,
                    const Offline& offline, std::int64_t images, bool with_bad_burst,
                    const milestones::Run& run) {
  PassResult pass;
  pass.config = config;
  const fs::path port_file = setup.work_dir / fmt::format("{}.port.json", config.name);
  const fs::path log_file = setup.work_dir / fmt::format("{}.server.log", config.name);
  fs::remove(port_file);
  fs::remove(log_file);
  run.say(fmt::format("Starting {} --max-batch {} --max-wait-ms {} ...", setup.server.string(),
                      config.max_batch, config.max_wait_ms));
  milestones::ServerProcess server(
      {setup.server.string(), "--model-dir", setup.model_dir.string(), "--precision",
       setup.precision, "--host", setup.load.host, "--port", "0", "--port-file", port_file.string(),
       "--max-batch", std::to_string(config.max_batch), "--max-wait-ms",
       std::to_string(config.max_wait_ms), "--max-queue", std::to_string(setup.max_queue)},
      log_file);
  milestones::LoadOptions load = setup.load;
  load.port = server.wait_for_port(port_file, milliseconds(120000));
  if (!milestones::wait_healthy(load.host, load.port, milliseconds(60000))) {
    throw std::runtime_error(
        fmt::format("the server on port {} never answered GET /healthz with "
                    "200 within 60 s; its log {} ends:\n{}",
                    load.port, log_file.string(), server.log_tail(20)));
  }

  // The test set, one image per request, each client taking the next image.
  pass.load = milestones::drive(
      static_cast<std::size_t>(images),
      [&](std::size_t i) {
        return milestones::LoadRequest{
            "POST", "/v1/predict",
            milestones::image_body(test.images.data() + i * milestones::kCifarSample)};
      },
      load);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < images; ++i) {
    const auto& reply = pass.load.replies[static_cast<std::size_t>(i)];
    if (reply.status != 200) continue;
    const std::int64_t served = milestones::served_prediction(reply.body);
    if (served < 0) {
      ++pass.unreadable;
      continue;
    }
    correct += served == static_cast<std::int64_t>(test.labels[i]) ? 1 : 0;
    if (served != offline.predicted[i]) {
      ++pass.disagreements;
      pass.near_tie_flips += offline.margin[i] < kNearTie ? 1 : 0;
    }
  }
  pass.accuracy = static_cast<double>(correct) / static_cast<double>(images);
  pass.server_requests_expected = images;

  if (with_bad_burst) {
    const auto bad = milestones::bad_requests(test.images.data(), setup.max_body_bytes);
    std::vector<milestones::LoadRequest> requests;
    for (const auto& b : bad) requests.push_back(b.request);
    const auto report = milestones::drive(requests, load);
    pass.bad_sent = static_cast<std::int64_t>(bad.size());
    for (std::size_t i = 0; i < bad.size(); ++i) {
      const int status = report.replies[i].status;
      if (status >= 400 && status < 500 && status != 429) {
        ++pass.bad_refused;
      } else {
        pass.bad_not_refused.push_back(
            fmt::format("{}: {}", bad[i].what,
                        status == 0 ? "no answer (" + report.replies[i].error + ")"
                                    : fmt::format("status {}", status)));
      }
      pass.server_requests_expected += bad[i].reaches_predict ? 1 : 0;
    }
    // Still up: healthy, and a good request gets the same answer as before the burst.
    const auto again = milestones::drive(
        std::vector<milestones::LoadRequest>{
            {"POST", "/v1/predict", milestones::image_body(test.images.data())}},
        load);
    pass.server_requests_expected += 1;
    pass.healthy_after_bad =
        milestones::http_get(load.host, load.port, "/healthz", milliseconds(5000)).status == 200 &&
        again.all_ok() &&
        milestones::served_prediction(again.replies[0].body) == offline.predicted[0];
  }
  pass.server_metrics = metrics_of(load.host, load.port);
  pass.exit_status = server.terminate(milliseconds(30000));

  // The checks, each a sentence when it fails.
  const auto& l = pass.load;
  if (!l.all_ok()) {
    pass.problems.push_back(fmt::format(
        "{}: of {} requests {} ok, {} refused, {} busy (503), {} server errors, {} failed without "
        "an answer, {} unsent at the deadline, {} answered with another request's id",
        config.name, images, l.ok, l.refused, l.busy, l.server_errors, l.failed, l.not_sent,
        l.mismatched));
  }
  if (pass.unreadable > 0) {
    pass.problems.push_back(
        fmt::format("{}: {} answers were not (1, 10) logits", config.name, pass.unreadable));
  }
  if (pass.disagreements > pass.near_tie_flips) {
    pass.problems.push_back(fmt::format(
        "{}: {} images served a prediction other than the offline model's ({} of them near-ties)",
        config.name, pass.disagreements, pass.near_tie_flips));
  }
  if (with_bad_burst && pass.bad_refused != pass.bad_sent) {
    std::string list;
    for (const auto& s : pass.bad_not_refused) list += "\n    " + s;
    pass.problems.push_back(fmt::format("{}: {} of {} bad requests were not refused with a 4xx:{}",
                                        config.name, pass.bad_sent - pass.bad_refused,
                                        pass.bad_sent, list));
  }
  if (!pass.healthy_after_bad) {
    pass.problems.push_back(config.name +
                            ": after the bad requests the server was not healthy, or a good "
                            "request no longer got its answer");
  }
  const bool counted =
      pass.server_metrics.is_object() &&
      pass.server_metrics.value("requests", std::int64_t{-1}) == pass.server_requests_expected;
  if (!counted) {
    pass.problems.push_back(fmt::format(
        "{}: the server's /metrics counts {} predict requests; {} were sent to it", config.name,
        pass.server_metrics.is_object()
            ? pass.server_metrics.value("requests", json(nullptr)).dump()
            : "(no /metrics)",
        pass.server_requests_expected));
  }
  if (pass.exit_status != 0) {
    pass.problems.push_back(
        fmt::format("{}: after SIGTERM the server {}; its log {} ends:\n{}", config.name,
                    pass.exit_status < 0 ? "did not exit cleanly within 30 s"
                                         : fmt::format("exited with status {}", pass.exit_status),
                    log_file.string(), server.log_tail(10)));
  }
  return pass;
}

json pass_metrics(const PassResult& p) {
  const auto latencies = p.load.ok_latencies_ms();
  return {{"max_batch", p.config.max_batch},
          {"max_wait_ms", p.config.max_wait_ms},
          {"accuracy", p.accuracy},
          {"ok", p.load.ok},
          {"failed",
           p.load.failed + p.load.not_sent + p.load.server_errors + p.load.busy + p.load.refused},
          {"mismatched", p.load.mismatched},
          {"disagreements", p.disagreements},
          {"near_tie_flips", p.near_tie_flips},
          {"p50_ms", milestones::nearest_rank(latencies, 50)},
          {"p95_ms", milestones::nearest_rank(latencies, 95)},
          {"p99_ms", milestones::nearest_rank(latencies, 99)},
          {"max_ms", milestones::nearest_rank(latencies, 100)},
          {"throughput_rps", p.load.throughput()},
          {"exit_status", p.exit_status}};
}

// The latency distribution of each configuration, with its percentiles, and the throughputs.
std::string latency_svg(const PassResult& batched, const PassResult& single) {
  std::vector<std::string> charts;
  for (const PassResult* p : {&batched, &single}) {
    const auto latencies = p->load.ok_latencies_ms();
    const std::vector<charts::Marker> markers = {{"p50", milestones::nearest_rank(latencies, 50)},
                                                 {"p95", milestones::nearest_rank(latencies, 95)},
                                                 {"p99", milestones::nearest_rank(latencies, 99)}};
    charts.push_back(
        charts::histogram({fmt::format("{} (max batch {}, max wait {} ms)", p->config.name,
                                       p->config.max_batch, p->config.max_wait_ms),
                           "latency per request (ms)", "requests"},
                          latencies, 40, markers));
  }
  const std::vector<charts::Bar> bars = {
      {batched.config.name, batched.load.throughput(), std::nullopt, std::nullopt},
      {single.config.name, single.load.throughput(), std::nullopt, std::nullopt}};
  charts.push_back(
      charts::bar_chart({"throughput", "server configuration", "requests per second"}, bars));
  return charts::side_by_side(charts);
}

// The model the server is started on, and the same model offline: the float nn::Module as the
// cifar10 milestone saved it, or module 17's int8 model beside it (model.int8.safetensors), read
// by the framework's loader. model_bytes: the size of the weights file that is served.
struct OfflineModel {
  Forward forward;
  std::uintmax_t model_bytes = 0;
  fs::path weights;
};

OfflineModel load_offline_model(const fs::path& dir, const std::string& precision) {
  if (precision == "int8") {
    auto loaded = std::make_shared<milestones::LoadedSession>(
        milestones::load_inference_session(dir, serve::Precision::int8));
    if (loaded->milestone != "cifar10") {
      throw std::runtime_error(fmt::format(
          "{}: this is the {} model; the production milestone serves the cifar10 one: point "
          "--model-dir at it",
          (dir / "config.json").string(), loaded->milestone));
    }
    return {[loaded](const Tensor& x) { return loaded->session.predict(x); }, loaded->model_bytes,
            loaded->weights};
  }
  auto saved =
      std::make_shared<milestones::SavedModel>(milestones::load_milestone_model("cifar10", dir));
  return {[saved](const Tensor& x) { return saved->model->forward(x); },
          fs::file_size(dir / "model.safetensors"), dir / "model.safetensors"};
}

fs::path default_server() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (ec ? fs::path(".") : self.parent_path()) / "tinytorch-serve";
}

}  // namespace

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run(
        "production", "The capstone served under load", argc, argv,
        {{"--model-dir", "DIR", "the saved cifar10 model (default .tito/milestones/cifar10)"},
         {"--precision", "P", "float32 (default) or int8 (module 17's model.int8.safetensors)"},
         {"--server", "PATH", "the server program (default: tinytorch-serve beside this one)"},
         {"--clients", "N", "concurrent clients (default 8)"},
         {"--images", "N", "test images sent to each configuration (default all 10,000)"},
         {"--max-batch", "N", "the batched configuration's max batch (default 32)"},
         {"--max-wait-ms", "N", "the batched configuration's max wait (default 2)"},
         {"--max-queue", "N", "the server's queue limit (default 1024)"},
         {"--timeout-s", "N", "cap on each request's connect, send and read (default 30)"}});
    if (run.help_requested()) return 0;
    Setup setup;
    setup.model_dir =
        run.option("--model-dir").value_or(milestones::default_model_dir("cifar10").string());
    setup.precision = run.option("--precision").value_or("float32");
    if (setup.precision != "float32" && setup.precision != "int8") {
      throw std::invalid_argument("--precision " + setup.precision + ": give float32 or int8");
    }
    setup.server = run.option("--server").value_or(default_server().string());
    setup.max_queue = run.option_number("--max-queue", 1024);
    setup.load.clients = static_cast<int>(run.option_number("--clients", 8));
    setup.load.request_timeout = milliseconds(1000 * run.option_number("--timeout-s", 30));
    setup.work_dir = run.out_path().has_parent_path() ? run.out_path().parent_path() : ".";
    setup.work_dir /= "production";
    fs::create_directories(setup.work_dir);
    if (!fs::exists(setup.server)) {
      throw std::runtime_error(setup.server.string() +
                               ": no server program; build the target tinytorch-serve (tito "
                               "builds it with this milestone) or pass --server PATH");
    }

    // The offline reference, computed here on the same images the server will get.
    const OfflineModel model = load_offline_model(setup.model_dir, setup.precision);
    const auto dir = run.data_dir() / "cifar-10-batches-bin";
    run.say(fmt::format("Reading the CIFAR-10 test set from {}", dir.string()));
    auto test = milestones::load_cifar10(dir, false);
    milestones::normalize_cifar10(test.images);
    const std::int64_t images = std::min(run.option_number("--images", test.count), test.count);
    if (images < 1) throw std::invalid_argument("--images must be at least 1");
    const Offline offline = offline_predictions(model.forward, test);
    const double offline_accuracy = [&] {
      std::int64_t correct = 0;
      for (std::int64_t i = 0; i < images; ++i) {
        correct += offline.predicted[i] == static_cast<std::int64_t>(test.labels[i]) ? 1 : 0;
      }
      return static_cast<double>(correct) / static_cast<double>(images);
    }();
    const std::uintmax_t model_bytes = model.model_bytes;
    run.say(fmt::format("Offline accuracy of {} on {} images: {:.4f}; model {} bytes",
                        setup.model_dir.string(), images, offline_accuracy, model_bytes));

    const Config batched{"dynamic batching", run.option_number("--max-batch", 32),
                         run.option_number("--max-wait-ms", 2)};
    const Config single{"batch size 1", 1, 0};
    for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{
             {"model_dir", setup.model_dir.string()},
             {"precision", setup.precision},
             {"server", setup.server.string()},
             {"clients", setup.load.clients},
             {"images", images},
             {"max_batch", batched.max_batch},
             {"max_wait_ms", batched.max_wait_ms},
             {"max_queue", setup.max_queue},
             {"request_timeout_s", setup.load.request_timeout.count() / 1000},
             {"cpu_cores", ::sysconf(_SC_NPROCESSORS_ONLN)}}) {
      run.setting(key, value);
    }

    std::vector<PassResult> passes;
    passes.push_back(run_pass(batched, setup, test, offline, images, true, run));
    run.record("configuration", 1, 2, pass_metrics(passes.back()), 0);
    passes.push_back(run_pass(single, setup, test, offline, images, false, run));
    run.record("configuration", 2, 2, pass_metrics(passes.back()), 0);

    const fs::path chart = run.chart("latency", latency_svg(passes[0], passes[1]));
    run.say("Latency distribution and throughput: " + chart.string());

    std::vector<std::string> problems;
    for (const auto& p : passes)
      problems.insert(problems.end(), p.problems.begin(), p.problems.end());
    for (const auto& p : problems) run.say("  FAILED " + p);
    const PassResult& b = passes[0];
    const auto latencies = b.load.ok_latencies_ms();
    const double speedup =
        passes[1].load.throughput() > 0 ? b.load.throughput() / passes[1].load.throughput() : 0.0;
    run.say(
        fmt::format("Dynamic batching: {:.1f} requests/s against {:.1f} with batches of one "
                    "({:.2f}x)",
                    b.load.throughput(), passes[1].load.throughput(), speedup));
    const json batcher = b.server_metrics.is_object()
                             ? json{{"max_batch_size", b.server_metrics.value("max_batch_size", 0)},
                                    {"max_wait_us", b.server_metrics.value("max_wait_us", 0)},
                                    {"max_queue", b.server_metrics.value("max_queue", 0)}}
                             : json(nullptr);
    return run.finish(
        problems.empty(),
        "every test image answered once, by its own reply, with the offline model's prediction "
        "(near-ties within 1e-3 excepted and counted); every bad request refused with a 4xx and "
        "the server healthy afterwards; the server's own request count agrees; SIGTERM exits 0",
        {{"accuracy_offline", offline_accuracy},
         {"accuracy_served", b.accuracy},
         {"accuracy_served_batch1", passes[1].accuracy},
         {"p50_ms", milestones::nearest_rank(latencies, 50)},
         {"p95_ms", milestones::nearest_rank(latencies, 95)},
         {"p99_ms", milestones::nearest_rank(latencies, 99)},
         {"throughput_rps", b.load.throughput()},
         {"throughput_batch1_rps", passes[1].load.throughput()},
         {"batching_speedup", speedup},
         {"model_bytes", model_bytes},
         {"bad_requests", b.bad_sent},
         {"bad_refused", b.bad_refused},
         {"batcher", batcher},
         {"problems", problems}});
  });
}
