// Hidden grading suite for module 20: the service end to end over loopback HTTP (the framework's
// cpp-httplib layer around the student's batcher, validation and metrics). Bounded: small bodies,
// a few dozen requests, client timeouts of a few seconds.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tinytorch/http_server.hpp"
#include "tinytorch/serving.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A "model" whose answer is checkable per sample: the sum of the sample's values, and its batch
// size.
std::vector<Tensor> sum_model(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const auto& t : inputs) {
    float sum = 0.0f;
    for (float v : t.to_vector()) sum += v;
    out.push_back(from_vector({sum, float(inputs.size())}, {2}));
  }
  return out;
}

struct Service {
  serve::Metrics metrics;
  serve::DynamicBatcher batcher{sum_model,
                                serve::BatcherOptions().max_batch_size(8).max_wait(500us)};
  serve::InferenceServer server{
      batcher, {.sample_shape = {3}, .max_batch = 4, .max_body_bytes = 2048}, metrics};
  Service() { server.start(); }
  [[nodiscard]] std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server.port());
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(5, 0);
    return c;
  }
};

}  // namespace

TEST(HttpServer, PredictAnswersEachSample) {
  Service s;
  auto res = s.client()->Post("/v1/predict", R"({"inputs": [[1, 2, 3], [10, 20, 30]]})",
                              "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  ASSERT_EQ(body["outputs"].size(), 2u);
  EXPECT_EQ(body["outputs"][0][0].get<float>(), 6.0f);
  EXPECT_EQ(body["outputs"][1][0].get<float>(), 60.0f);
}

TEST(HttpServer, ABadRequestGets400WithAMessageAndTheServerStaysUp) {
  Service s;
  auto c = s.client();
  auto bad = c->Post("/v1/predict", R"({"inputs": [[1, "x", 3]]})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(json::parse(bad->body)["error"].get<std::string>().find("inputs[0][1]"),
            std::string::npos)
      << bad->body;
  auto health = c->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST(HttpServer, AnOversizedBodyGets413) {
  Service s;
  auto res = s.client()->Post("/v1/predict", std::string(4096, ' '), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413) << res->body;
}

TEST(HttpServer, ConcurrentClientsEachGetTheirOwnAnswersAndMetricsCountThem) {
  Service s;
  constexpr int kClients = 4;
  constexpr int kEach = 10;
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto client = s.client();
      for (int i = 0; i < kEach; ++i) {
        const float v = float(c * 100 + i);
        const json req = {{"inputs", {{v, 0, 0}}}};
        auto res = client->Post("/v1/predict", req.dump(), "application/json");
        if (!res || res->status != 200 || json::parse(res->body)["outputs"][0][0] != v) ++wrong;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  auto metrics = s.client()->Get("/metrics");
  ASSERT_TRUE(metrics);
  const json m = json::parse(metrics->body);
  EXPECT_EQ(m["requests"].get<int>(), kClients * kEach);
  EXPECT_EQ(m["errors"].get<int>(), 0);
}

TEST(HttpServer, StopClosesTheListenerAndRefusesNewWork) {
  Service s;
  s.server.stop();
  // The listener is gone after stop(): a client gets no connection at all, which is the drain's
  // end.
  auto res = s.client()->Get("/healthz");
  EXPECT_FALSE(res);
  EXPECT_THROW((void)s.batcher.submit(from_vector({1, 2, 3}, {3})), serve::BatcherStopped);
}
