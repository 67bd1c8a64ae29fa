// The production milestone's own machinery, on loopback against small in-process services: the
// load generator's accounting (every request answered once by its own reply, refusals, a server
// that is down, the deadline), the milestone's bad requests against the framework's HTTP layer
// with the reference validation, and the server process helper. Bounded: a few hundred small
// requests, timeouts of a few seconds.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "load_generator.hpp"
#include "production_requests.hpp"
#include "server_process.hpp"
#include "tinytorch/http_server.hpp"
#include "tinytorch/serving.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A "model" whose answer names its request: output = (sum of the sample, 0, ..., 0) with 10
// values, so a reply that went to the wrong request shows.
std::vector<Tensor> sum_model(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const auto& t : inputs) {
    float sum = 0.0f;
    for (float v : t.to_vector()) sum += v;
    std::vector<float> row(10, 0.0f);
    row[0] = sum;
    out.push_back(from_vector(std::move(row), {10}));
  }
  return out;
}

struct Service {
  explicit Service(Shape sample_shape, std::size_t max_body_bytes = 1u << 20)
      : server(batcher,
               {.sample_shape = std::move(sample_shape),
                .max_batch = 256,
                .max_body_bytes = max_body_bytes},
               metrics) {
    server.start();
  }
  serve::Metrics metrics;
  serve::DynamicBatcher batcher{sum_model,
                                serve::BatcherOptions().max_batch_size(8).max_wait(500us)};
  serve::InferenceServer server;
};

milestones::LoadOptions options_for(int port) {
  milestones::LoadOptions o;
  o.port = port;
  o.clients = 4;
  o.request_timeout = 5000ms;
  o.deadline = 30000ms;
  return o;
}

std::string vector_body(int i) {
  return "{\"inputs\": [[" + std::to_string(i) + ", 1]]}";
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("tt-production-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST(LoadGenerator, AnswersEveryRequestOnceWithItsOwnReply) {
  Service s({2});
  std::vector<milestones::LoadRequest> requests;
  for (int i = 0; i < 300; ++i) requests.push_back({"POST", "/v1/predict", vector_body(i)});
  const auto report = milestones::drive(requests, options_for(s.server.port()));
  EXPECT_TRUE(report.all_ok());
  EXPECT_EQ(report.ok, 300);
  EXPECT_EQ(report.mismatched, 0);
  for (int i = 0; i < 300; ++i) {
    const auto& reply = report.replies[i];
    ASSERT_EQ(reply.status, 200) << "request " << i;
    EXPECT_EQ(reply.echoed_id, std::to_string(i));
    EXPECT_EQ(json::parse(reply.body)["outputs"][0][0].get<double>(), i + 1.0) << "request " << i;
  }
  EXPECT_EQ(report.ok_latencies_ms().size(), 300u);
  EXPECT_GT(report.throughput(), 0.0);
  EXPECT_EQ(s.metrics.snapshot().requests, 300);  // the server saw each exactly once
}

TEST(LoadGenerator, CountsRefusalsAsRefusedNotAsLost) {
  Service s({2});
  std::vector<milestones::LoadRequest> requests;
  for (int i = 0; i < 40; ++i) {
    requests.push_back(
        {"POST", "/v1/predict", i % 4 == 0 ? "{\"inputs\": [[1]]}" : vector_body(i)});
  }
  const auto report = milestones::drive(requests, options_for(s.server.port()));
  EXPECT_EQ(report.refused, 10);
  EXPECT_EQ(report.ok, 30);
  EXPECT_EQ(report.failed + report.not_sent + report.busy + report.server_errors, 0);
  EXPECT_EQ(report.mismatched, 0);  // refusals carry their id too
  EXPECT_FALSE(report.all_ok());
}

TEST(LoadGenerator, AServerThatIsDownFailsEveryRequestWithoutThrowing) {
  int port = 0;
  {
    Service s({2});
    port = s.server.port();
  }  // stopped: nothing listens on the port now
  std::vector<milestones::LoadRequest> requests(12, {"POST", "/v1/predict", vector_body(1)});
  auto options = options_for(port);
  options.request_timeout = 1000ms;
  const auto report = milestones::drive(requests, options);
  EXPECT_EQ(report.failed, 12);
  EXPECT_EQ(report.ok, 0);
  EXPECT_FALSE(report.replies[0].error.empty());
}

TEST(LoadGenerator, LeavesRequestsUnsentAfterTheDeadline) {
  Service s({2});
  std::vector<milestones::LoadRequest> requests(20, {"POST", "/v1/predict", vector_body(1)});
  auto options = options_for(s.server.port());
  options.deadline = 0ms;
  const auto report = milestones::drive(requests, options);
  EXPECT_EQ(report.not_sent, 20);
  EXPECT_EQ(s.metrics.snapshot().requests, 0);
}

TEST(LoadGenerator, RefusesZeroClients) {
  auto options = options_for(8080);
  options.clients = 0;
  EXPECT_THROW((void)milestones::drive(std::vector<milestones::LoadRequest>{}, options),
               std::invalid_argument);
}

TEST(NearestRank, IsOneOfTheValuesAtRankCeilQN) {
  // n = 10: p50 is rank 5, p95 rank ceil(9.5) = 10, p0 rank 1.
  const std::vector<double> v = {7, 1, 9, 3, 5, 2, 8, 4, 10, 6};
  EXPECT_EQ(milestones::nearest_rank(v, 50), 5);
  EXPECT_EQ(milestones::nearest_rank(v, 95), 10);
  EXPECT_EQ(milestones::nearest_rank(v, 0), 1);
  EXPECT_EQ(milestones::nearest_rank({}, 99), 0);
}

TEST(ProductionRequests, AnImageReadsBackToTheSameFloats) {
  std::vector<float> image(milestones::kCifarSample);
  for (std::size_t i = 0; i < image.size(); ++i) {
    image[i] = std::nextafter(static_cast<float>(i) / 3.0f - 400.0f, 1e9f) * 1.0001f;
  }
  const json doc = json::parse(milestones::image_body(image.data()));
  ASSERT_EQ(doc["inputs"].size(), 1u);
  const auto& sample = doc["inputs"][0];
  ASSERT_EQ(sample.size(), 3u);
  ASSERT_EQ(sample[2].size(), 32u);
  ASSERT_EQ(sample[2][31].size(), 32u);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        ASSERT_EQ(static_cast<float>(sample[c][y][x].get<double>()), image[(c * 32 + y) * 32 + x]);
      }
    }
  }
}

TEST(ProductionRequests, EveryBadRequestIsRefusedWithA4xxAndTheServerStaysUp) {
  const std::size_t max_body = 8u << 20;
  Service s({3, 32, 32}, max_body);
  std::vector<float> image(milestones::kCifarSample, 0.25f);
  const auto bad = milestones::bad_requests(image.data(), max_body);
  std::vector<milestones::LoadRequest> requests;
  for (const auto& b : bad) requests.push_back(b.request);
  const auto report = milestones::drive(requests, options_for(s.server.port()));
  std::int64_t reaching = 0;
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_GE(report.replies[i].status, 400) << bad[i].what << ": " << report.replies[i].error;
    EXPECT_LT(report.replies[i].status, 500) << bad[i].what << ": " << report.replies[i].body;
    reaching += bad[i].reaches_predict ? 1 : 0;
  }
  EXPECT_EQ(s.metrics.snapshot().requests, reaching);  // what the milestone expects /metrics says
  EXPECT_TRUE(milestones::wait_healthy("127.0.0.1", s.server.port(), 2000ms));
  const auto good = milestones::drive(
      std::vector<milestones::LoadRequest>{
          {"POST", "/v1/predict", milestones::image_body(image.data())}},
      options_for(s.server.port()));
  ASSERT_TRUE(good.all_ok());
  EXPECT_EQ(milestones::served_prediction(good.replies[0].body), 0);  // the sum sits in logit 0
}

TEST(ProductionRequests, AnAnswerThatIsNotOneRowOfLogitsReadsAsMinusOne) {
  EXPECT_EQ(milestones::served_prediction(R"({"outputs": [[0, 3, 1, 0, 0, 0, 0, 0, 0, 0]]})"), 1);
  EXPECT_EQ(milestones::served_prediction(R"({"outputs": [[0, 3]]})"), -1);
  EXPECT_EQ(milestones::served_prediction(R"({"error": "busy"})"), -1);
  EXPECT_EQ(milestones::served_prediction("not json"), -1);
}

TEST(ServerProcess, ReadsThePortFileAndDrainsOnSigterm) {
  const fs::path dir = temp_dir("drain");
  const fs::path port_file = dir / "port.json";
  // A stand-in server: writes its port file, exits 0 on SIGTERM.
  milestones::ServerProcess server(
      {"/bin/sh", "-c",
       "trap 'exit 0' TERM; echo '{\"host\": \"127.0.0.1\", \"port\": 4242}' > " +
           port_file.string() + "; while :; do sleep 0.05; done"},
      dir / "server.log");
  EXPECT_EQ(server.wait_for_port(port_file, 10000ms), 4242);
  EXPECT_EQ(server.terminate(10000ms), 0);
  fs::remove_all(dir);
}

TEST(ServerProcess, AServerThatExitsEarlyIsAnErrorWithItsLog) {
  const fs::path dir = temp_dir("early");
  milestones::ServerProcess server({"/bin/sh", "-c", "echo 'cannot load the model' >&2; exit 3"},
                                   dir / "server.log");
  try {
    (void)server.wait_for_port(dir / "port.json", 10000ms);
    FAIL() << "no error for a server that exited";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("status 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot load the model"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(ServerProcess, AServerThatIgnoresSigtermIsKilledAndReported) {
  const fs::path dir = temp_dir("stuck");
  milestones::ServerProcess server({"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"},
                                   dir / "server.log");
  EXPECT_EQ(server.terminate(300ms), -1);
  EXPECT_FALSE(server.running());
  fs::remove_all(dir);
}
