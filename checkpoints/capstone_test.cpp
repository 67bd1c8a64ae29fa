// Checkpoint "capstone": Can I serve my trained model to many callers at once, and give each one
// the answer the model gives offline?
//
// Answered end to end with your module 20 code over modules 02-17: an MLP learns to tell 10
// Gaussian clusters apart, and an inference session serves it through the dynamic batcher to 8
// threads at once, float and int8. Each caller gets its own sample's class, so the accuracy
// through the service is the offline accuracy; a malformed request is refused with its fault
// named; the metrics count every request. (The HTTP server around these pieces is the
// framework's: `tinytorch-serve`, see the module's README.)
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/inference.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/training.hpp"

namespace {

using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;

constexpr std::int64_t kClasses = 10, kDims = 16, kPerClass = 30;

struct Split {
  Tensor x, y;
};

// kPerClass samples of each class: the class centre (fixed by seed 1) plus unit noise.
Split clusters(std::uint64_t seed) {
  Generator centres_gen(1), noise(seed);
  const std::vector<float> c = (randn({kClasses, kDims}, centres_gen) * 1.5f).to_vector();
  const std::vector<float> n = randn({kClasses * kPerClass, kDims}, noise).to_vector();
  std::vector<float> x, y;
  for (std::int64_t i = 0; i < kClasses * kPerClass; ++i) {
    const std::int64_t label = i % kClasses;
    for (std::int64_t d = 0; d < kDims; ++d) x.push_back(c[label * kDims + d] + n[i * kDims + d]);
    y.push_back(static_cast<float>(label));
  }
  return {from_vector(x, {kClasses * kPerClass, kDims}), from_vector(y, {kClasses * kPerClass})};
}

std::shared_ptr<nn::Sequential> trained_mlp(const Split& train) {
  Generator init(0);
  auto model = std::make_shared<nn::Sequential>(
      nn::Linear(kDims, 64, true, nn::Init::kaiming_uniform, init), nn::ReLU(),
      nn::Linear(64, kClasses, true, nn::Init::kaiming_uniform, init));
  optim::Adam opt(model->parameters(), optim::AdamOptions(3e-3));
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    cross_entropy(model->forward(train.x), train.y).backward();
    opt.step();
  }
  return model;
}

// Every test sample submitted from 8 threads; the class each caller got back, by sample.
std::vector<float> served_classes(const serve::InferenceSession& session, const Tensor& x) {
  serve::DynamicBatcher batcher(session.batch_function(),
                                serve::BatcherOptions().max_batch_size(16).max_wait(1ms));
  const std::int64_t n = x.size(0);
  const std::vector<float> values = x.to_vector();
  std::vector<std::future<Tensor>> answers(static_cast<std::size_t>(n));
  std::vector<std::thread> callers;
  for (std::int64_t t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (std::int64_t i = t; i < n; i += 8) {
        std::vector<float> sample(values.begin() + i * kDims, values.begin() + (i + 1) * kDims);
        answers[i] = batcher.submit(from_vector(std::move(sample), {kDims}));
      }
    });
  }
  for (auto& caller : callers) caller.join();
  std::vector<float> classes;
  for (auto& answer : answers) {
    EXPECT_EQ(answer.wait_for(10s), std::future_status::ready);
    classes.push_back(answer.get().argmax(0).item());
  }
  return classes;
}

double accuracy(const std::vector<float>& classes, const Tensor& labels) {
  const std::vector<float> y = labels.to_vector();
  std::int64_t right = 0;
  for (std::size_t i = 0; i < y.size(); ++i) right += classes[i] == y[i] ? 1 : 0;
  return static_cast<double>(right) / static_cast<double>(y.size());
}

class Capstone : public ::testing::Test {
 protected:
  Split train_ = clusters(2), test_ = clusters(3);
  std::shared_ptr<nn::Sequential> model_ = trained_mlp(train_);
};

TEST_F(Capstone, ManyCallersGetTheOfflineAnswersFromTheFloatModel) {
  const serve::InferenceSession session(model_, {kDims});
  session.warmup();
  Tensor offline;
  {
    autograd::NoGradGuard no_grad;
    offline = model_->forward(test_.x);
  }
  const std::vector<float> served = served_classes(session, test_.x);
  EXPECT_EQ(served, offline.argmax(1).to_vector());
  EXPECT_GT(accuracy(served, test_.y), 0.9) << "the model did not learn the clusters";
}

TEST_F(Capstone, ManyCallersGetTheOfflineAnswersFromTheInt8Model) {
  model_->eval();
  auto quantized = quant::QuantizedModel::from_float(*model_, {train_.x});
  const std::vector<float> offline = quantized.forward(test_.x).argmax(1).to_vector();
  const serve::InferenceSession session(std::move(quantized), {kDims});
  EXPECT_EQ(served_classes(session, test_.x), offline);
}

TEST_F(Capstone, AMalformedRequestIsRefusedAndCounted) {
  const serve::InferenceSession session(model_, {kDims});
  serve::Metrics metrics;
  try {
    (void)serve::parse_request(R"({"inputs": [[1, 2, 3]]})", session.input_spec());
    FAIL() << "a sample of 3 values was accepted for a model of " << kDims;
  } catch (const serve::InvalidRequest& e) {
    EXPECT_NE(std::string(e.what()).find("inputs[0]"), std::string::npos) << e.what();
    metrics.record(1ms, false);
  }
  metrics.record(2ms, true);
  const serve::MetricsSnapshot snapshot = metrics.snapshot();
  EXPECT_EQ(snapshot.requests, 2);
  EXPECT_EQ(snapshot.errors, 1);
  EXPECT_DOUBLE_EQ(snapshot.p99_ms, 2.0);
}

}  // namespace
