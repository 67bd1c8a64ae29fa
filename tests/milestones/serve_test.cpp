// Module 20's serving of saved models: load_inference_session reads a milestone's folder into a
// session that predicts what the saved model predicts (float32 and int8), and the tinytorch-serve
// program, started as a real process on loopback, answers every request it accepted when SIGTERM
// arrives and exits with status 0. Every wait is capped.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/process.hpp"
#include "inference_loader.hpp"
#include "saved_model.hpp"
#include "tinytorch/autograd.hpp"

namespace fs = std::filesystem;
using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;
using serve::Precision;

namespace {

constexpr std::int64_t kImages = 8;

class ServeTest : public ::testing::Test {
 protected:
  // A freshly initialised mnist MLP (seed 7), saved as the milestone saves it: the session must
  // reproduce whatever the weights are, trained or not.
  void SetUp() override {
    Generator generator(7);
    net_ = milestones::make_milestone_net("mnist", generator);
    milestones::save_milestone_model(dir_.path(), "mnist", *net_, {{"test_accuracy", 0.1}});
    Generator data(3);
    images_ = rand({kImages, 784}, data);
  }

  [[nodiscard]] Tensor offline(const Tensor& batch) const {
    net_->eval();
    autograd::NoGradGuard no_grad;
    return net_->forward(batch);
  }

  // Saves module 17's int8 model of the net next to the float one and returns it.
  quant::QuantizedModel save_int8() {
    net_->eval();
    Generator calibration(4);
    auto quantized = quant::QuantizedModel::from_float(*net_, {rand({32, 784}, calibration)});
    quantized.save(milestones::int8_model_file(dir_.path()));
    return quantized;
  }

  static std::string load_error(const fs::path& dir, Precision precision) {
    try {
      (void)milestones::load_inference_session(dir, precision);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }

  tito::TempDir dir_{"tt_serve"};
  std::shared_ptr<nn::Sequential> net_;
  Tensor images_;
};

TEST_F(ServeTest, FloatSessionFromTheFolderPredictsTheSavedModelBitForBit) {
  const auto loaded = milestones::load_inference_session(dir_.path(), Precision::float32);
  EXPECT_EQ(loaded.milestone, "mnist");
  EXPECT_EQ(loaded.session.sample_shape(), (Shape{784}));
  EXPECT_EQ(loaded.model_bytes, fs::file_size(dir_.path() / "model.safetensors"));
  EXPECT_EQ(loaded.session.predict(images_).to_vector(), offline(images_).to_vector());
}

TEST_F(ServeTest, Int8SessionFromTheFolderPredictsTheQuantizedModelBitForBit) {
  const quant::QuantizedModel quantized = save_int8();
  const auto loaded = milestones::load_inference_session(dir_.path(), Precision::int8);
  EXPECT_EQ(loaded.session.precision(), Precision::int8);
  EXPECT_EQ(loaded.weights, milestones::int8_model_file(dir_.path()));
  EXPECT_EQ(loaded.session.predict(images_).to_vector(), quantized.forward(images_).to_vector());
}

TEST_F(ServeTest, AMissingFolderIsNamedWithTheMilestoneToRun) {
  const std::string message = load_error(dir_.path() / "nothing", Precision::float32);
  EXPECT_NE(message.find((dir_.path() / "nothing").string()), std::string::npos) << message;
  EXPECT_NE(message.find("tito milestone run"), std::string::npos) << message;
}

TEST_F(ServeTest, AMissingInt8ModelIsNamedWithHowToSaveOne) {
  const std::string message = load_error(dir_.path(), Precision::int8);
  EXPECT_NE(message.find("model.int8.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("QuantizedModel::from_float"), std::string::npos) << message;
}

TEST_F(ServeTest, ACorruptConfigIsNamed) {
  std::ofstream(dir_.path() / "config.json") << "{ not json";
  const std::string message = load_error(dir_.path(), Precision::float32);
  EXPECT_NE(message.find("config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("malformed"), std::string::npos) << message;
}

TEST_F(ServeTest, ATruncatedWeightsFileIsNamed) {
  fs::resize_file(dir_.path() / "model.safetensors", 100);
  const std::string message = load_error(dir_.path(), Precision::float32);
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
}

// The server program, as the production milestone starts it. max-wait is 20 s and the batch holds
// 64: the 8 requests sit in the queue until SIGTERM, whose drain must run them at once (the test
// gives it 10 s, so a drain that waits out max-wait fails).
TEST_F(ServeTest, SigtermAnswersEveryAcceptedRequestAndExitsWithStatusZero) {
  const fs::path port_file = dir_.path() / "port.json";
  std::future<tito::ProcessResult> server = std::async(std::launch::async, [&] {
    tito::ProcessOptions options;
    options.timeout = 60s;  // a server that ignores SIGTERM is killed, and the test fails
    options.stdio = tito::Stdio::separate;
    return tito::run_process({TINYTORCH_SERVE, "--model-dir", dir_.path().string(), "--port", "0",
                              "--port-file", port_file.string(), "--max-batch", "64",
                              "--max-wait-ms", "20000", "--threads", "16", "--warmup", "1"},
                             options);
  });
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!fs::exists(port_file) && std::chrono::steady_clock::now() < deadline &&
         server.wait_for(10ms) != std::future_status::ready) {
  }
  ASSERT_TRUE(fs::exists(port_file)) << "the server wrote no port file";
  const nlohmann::json where = nlohmann::json::parse(std::ifstream(port_file));
  const int port = where.at("port").get<int>();
  const int pid = where.at("pid").get<int>();
  ASSERT_GT(port, 0);

  // A failed assertion below must not leave the test waiting out the server's 60 s limit.
  struct KillOnFailure {
    int pid;
    ~KillOnFailure() {
      if (pid > 0) ::kill(pid, SIGKILL);
    }
  } guard{pid};

  const std::vector<float> all_pixels = images_.to_vector();
  std::vector<std::future<httplib::Result>> replies;
  for (std::int64_t i = 0; i < kImages; ++i) {
    const std::vector<float> pixels(all_pixels.begin() + i * 784,
                                    all_pixels.begin() + (i + 1) * 784);
    const std::string body = nlohmann::json{{"inputs", {pixels}}}.dump();
    replies.push_back(std::async(std::launch::async, [port, body] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(30, 0);
      return client.Post("/v1/predict", body, "application/json");
    }));
  }
  // Every request accepted (queued in the batcher) before the signal.
  httplib::Client probe("127.0.0.1", port);
  probe.set_read_timeout(5, 0);
  std::int64_t queued = 0;
  while (queued < kImages && std::chrono::steady_clock::now() < deadline) {
    if (auto res = probe.Get("/metrics"); res && res->status == 200) {
      queued = nlohmann::json::parse(res->body).at("queued").get<std::int64_t>();
    }
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(queued, kImages) << "the requests never all reached the batcher's queue";
  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);

  const std::vector<float> expected = offline(images_).to_vector();
  for (std::int64_t i = 0; i < kImages; ++i) {
    ASSERT_EQ(replies[i].wait_for(15s), std::future_status::ready) << "request " << i;
    const httplib::Result res = replies[i].get();
    ASSERT_TRUE(res) << "request " << i << ": " << httplib::to_string(res.error());
    ASSERT_EQ(res->status, 200) << res->body;
    const std::vector<float> got =
        nlohmann::json::parse(res->body).at("outputs").at(0).get<std::vector<float>>();
    const std::vector<float> want(expected.begin() + i * 10, expected.begin() + (i + 1) * 10);
    EXPECT_TRUE(allclose(from_vector(got, {10}), from_vector(want, {10}), 1e-5f, 1e-5f))
        << "request " << i;
  }
  ASSERT_EQ(server.wait_for(15s), std::future_status::ready) << "the server did not exit";
  guard.pid = 0;  // exited: its pid may belong to another process from now on
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 10s) << "the drain waited out max-wait";
  const tito::ProcessResult result = server.get();
  EXPECT_TRUE(result.ok()) << result.describe() << "\n" << result.error;
  const std::string out = result.output;
  const auto stopped = nlohmann::json::parse(out.substr(out.rfind("{\"")));
  EXPECT_EQ(stopped.at("event"), "stopped") << out;
  EXPECT_EQ(stopped.at("requests"), kImages) << out;
  EXPECT_EQ(stopped.at("errors"), 0) << out;
}

TEST_F(ServeTest, ServerRefusesAMissingModelWithStatusOneAndTheReason) {
  tito::ProcessOptions options;
  options.timeout = 30s;
  options.stdio = tito::Stdio::separate;
  const tito::ProcessResult result = tito::run_process(
      {TINYTORCH_SERVE, "--model-dir", (dir_.path() / "nothing").string()}, options);
  EXPECT_EQ(result.exit_code, 1) << result.describe();
  EXPECT_NE(result.error.find("does not exist"), std::string::npos) << result.error;
}

}  // namespace
