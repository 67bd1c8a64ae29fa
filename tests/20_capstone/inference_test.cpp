// Hidden grading suite for module 20: the inference session. The oracle is the model itself,
// offline: eval mode, grad mode off, the same batch. A session must give those very bits (float
// and int8), whatever mode the caller left the model or grad mode in, and predict_batch must be
// one forward pass whose row i goes back to sample i.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/inference.hpp"
#include "tinytorch/spatial.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using serve::InferenceSession;
using serve::InvalidRequest;

namespace {

const Shape kSample = {1, 8, 8};

// Conv -> BN -> ReLU -> pool -> flatten -> linear: 1 x 8 x 8 -> 4 x 8 x 8 -> 4 x 4 x 4 = 64 -> 10.
// With dropout, train mode visibly changes the output; without, module 17 can quantize it.
std::shared_ptr<nn::Sequential> small_cnn(bool dropout) {
  Generator g(7);
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1, true, g));
  net->push_back(std::make_shared<nn::BatchNorm2d>(4));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::MaxPool2d>(2));
  net->push_back(std::make_shared<nn::Flatten>());
  // Dropout keeps a reference to its generator: the global one outlives the net.
  if (dropout) net->push_back(std::make_shared<nn::Dropout>(0.5f));
  net->push_back(std::make_shared<nn::Linear>(64, 10, true, nn::Init::kaiming_uniform, g));
  // Running statistics far from a fresh batch's (mean about 2): train-mode batch norm then gives
  // other numbers than eval mode.
  Generator data(8);
  for (int i = 0; i < 20; ++i) (void)net->forward(randn({16, 1, 8, 8}, data) + 2.0f);
  return net;
}

Tensor images(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  return randn(Shape{n, 1, 8, 8}, g);
}

// What the model answers offline: eval mode, no graph.
Tensor offline(nn::Module& model, const Tensor& batch) {
  model.eval();
  autograd::NoGradGuard no_grad;
  return model.forward(batch);
}

// Sample i of a (N, ...) batch as a tensor of the sample shape.
Tensor sample(const Tensor& batch, std::int64_t i) {
  const std::vector<float> all = batch.to_vector();
  const auto per = static_cast<std::int64_t>(shape_numel(kSample));
  return from_vector(std::vector<float>(all.begin() + i * per, all.begin() + (i + 1) * per),
                     kSample);
}

std::vector<float> row(const Tensor& t, std::int64_t i) {
  const std::vector<float> all = t.to_vector();
  const std::int64_t per = t.numel() / t.size(0);
  return {all.begin() + i * per, all.begin() + (i + 1) * per};
}

// Output row i = (x_i . w_0, x_i . w_1) for samples of shape {3}: each row tells its sample apart.
// Records the batch size of every forward call.
class Recorder : public nn::Module {
 public:
  Tensor forward(const Tensor& input) override {
    batch_sizes.push_back(input.size(0));
    return input.matmul(weights_);
  }
  std::vector<std::int64_t> batch_sizes;

 private:
  Tensor weights_ = from_vector({1, 10, 100, -1, 0.5f, 2}, {3, 2});
};

}  // namespace

TEST(InferenceSession, FloatPredictIsTheOfflineForwardBitForBit) {
  auto model = small_cnn(true);
  const Tensor batch = images(12, 1);
  const std::vector<float> expected = offline(*model, batch).to_vector();
  model->train();
  const InferenceSession session(model, kSample);
  EXPECT_EQ(session.predict(batch).to_vector(), expected);
}

TEST(InferenceSession, ConstructorPutsTheModelInEvalMode) {
  auto model = small_cnn(true);
  model->train();
  const InferenceSession session(model, kSample);
  EXPECT_FALSE(model->is_training());
  EXPECT_EQ(session.precision(), serve::Precision::float32);
  EXPECT_EQ(session.sample_shape(), kSample);
}

TEST(InferenceSession, PredictStaysInEvalModeAfterTrainIsCalledOnTheModel) {
  auto model = small_cnn(true);
  const Tensor batch = images(8, 2);
  const std::vector<float> expected = offline(*model, batch).to_vector();
  const InferenceSession session(model, kSample);
  model->train();  // e.g. a fine-tuning loop elsewhere shares the model
  EXPECT_EQ(session.predict(batch).to_vector(), expected);
}

TEST(InferenceSession, PredictRecordsNoGraphEvenWithGradModeOn) {
  auto model = small_cnn(false);
  const InferenceSession session(model, kSample);
  ASSERT_TRUE(autograd::GradMode::is_enabled());
  const Tensor out = session.predict(images(4, 3));
  EXPECT_FALSE(out.requires_grad());
  EXPECT_EQ(out.grad_fn(), nullptr);
  EXPECT_TRUE(autograd::GradMode::is_enabled()) << "predict must restore the caller's grad mode";
}

TEST(InferenceSession, PredictRefusesABatchOfTheWrongSampleShape) {
  const InferenceSession session(small_cnn(false), kSample);
  try {
    (void)session.predict(images(2, 4).reshape({2, 64}));
    FAIL() << "a (2, 64) batch for samples of (1, 8, 8) was accepted";
  } catch (const InvalidRequest& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[2, 64]"), std::string::npos) << message;
    EXPECT_NE(message.find("[1, 8, 8]"), std::string::npos) << message;
  }
}

TEST(InferenceSession, ConstructorRefusesANullModel) {
  EXPECT_THROW(InferenceSession(std::shared_ptr<nn::Module>(), kSample), std::invalid_argument);
}

TEST(InferenceSession, ConstructorRefusesAnEmptyOrZeroSampleShape) {
  EXPECT_THROW(InferenceSession(small_cnn(false), Shape{}), std::invalid_argument);
  EXPECT_THROW(InferenceSession(small_cnn(false), Shape{1, 0, 8}), std::invalid_argument);
}

TEST(InferenceSession, PredictBatchReturnsRowIOfTheStackedBatchForSampleI) {
  auto model = small_cnn(true);
  const Tensor batch = images(6, 5);
  const Tensor expected = offline(*model, batch);
  const InferenceSession session(model, kSample);
  std::vector<Tensor> samples;
  for (std::int64_t i = 0; i < 6; ++i) samples.push_back(sample(batch, i));
  const std::vector<Tensor> outputs = session.predict_batch(samples);
  ASSERT_EQ(outputs.size(), 6u);
  for (std::int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(outputs[i].shape(), (Shape{10})) << "output " << i;
    EXPECT_EQ(outputs[i].to_vector(), row(expected, i)) << "output " << i;
  }
}

TEST(InferenceSession, PredictBatchRunsOneForwardPassForTheWholeGroup) {
  auto recorder = std::make_shared<Recorder>();
  const InferenceSession session(recorder, {3});
  const std::vector<Tensor> outputs = session.predict_batch(
      {from_vector({1, 0, 0}, {3}), from_vector({0, 1, 0}, {3}), from_vector({0, 0, 1}, {3})});
  EXPECT_EQ(recorder->batch_sizes, (std::vector<std::int64_t>{3}));
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_EQ(outputs[0].to_vector(), (std::vector<float>{1, 10}));
  EXPECT_EQ(outputs[1].to_vector(), (std::vector<float>{100, -1}));
  EXPECT_EQ(outputs[2].to_vector(), (std::vector<float>{0.5f, 2}));
}

TEST(InferenceSession, PredictBatchOfNoSamplesRunsNothing) {
  auto recorder = std::make_shared<Recorder>();
  const InferenceSession session(recorder, {3});
  EXPECT_TRUE(session.predict_batch({}).empty());
  EXPECT_TRUE(recorder->batch_sizes.empty());
}

// {3, 1} holds as many values as {3}: only a shape check tells them apart.
TEST(InferenceSession, PredictBatchRefusesASampleOfAnotherShapeNamingItsIndex) {
  const InferenceSession session(std::make_shared<Recorder>(), {3});
  try {
    (void)session.predict_batch({from_vector({1, 2, 3}, {3}), from_vector({1, 2, 3}, {3, 1})});
    FAIL() << "a sample of shape [3, 1] was accepted for samples of [3]";
  } catch (const InvalidRequest& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("sample 1"), std::string::npos) << message;
    EXPECT_NE(message.find("[3, 1]"), std::string::npos) << message;
  }
}

TEST(InferenceSession, WarmupRunsTheRequestedZeroBatches) {
  auto recorder = std::make_shared<Recorder>();
  const InferenceSession session(recorder, {3});
  session.warmup(3, 4);
  EXPECT_EQ(recorder->batch_sizes, (std::vector<std::int64_t>{4, 4, 4}));
}

TEST(InferenceSession, WarmupRefusesANegativeCountOrAnEmptyBatch) {
  const InferenceSession session(std::make_shared<Recorder>(), {3});
  EXPECT_THROW(session.warmup(-1, 1), std::invalid_argument);
  EXPECT_THROW(session.warmup(1, 0), std::invalid_argument);
}

TEST(InferenceSession, BatchFunctionOutlivesTheSession) {
  auto recorder = std::make_shared<Recorder>();
  serve::BatchFunction run;
  {
    auto session = std::make_unique<InferenceSession>(recorder, Shape{3});
    run = session->batch_function();
  }
  const std::vector<Tensor> outputs = run({from_vector({0, 1, 0}, {3})});
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].to_vector(), (std::vector<float>{100, -1}));
}

TEST(InferenceSession, Int8PredictIsTheQuantizedModelsForwardBitForBit) {
  auto model = small_cnn(false);
  model->eval();
  const auto quantized = quant::QuantizedModel::from_float(*model, {images(16, 9)});
  const Tensor batch = images(10, 10);
  const std::vector<float> expected = quantized.forward(batch).to_vector();
  const InferenceSession session(quantized, kSample);
  EXPECT_EQ(session.precision(), serve::Precision::int8);
  EXPECT_EQ(session.predict(batch).to_vector(), expected);
}

TEST(InferenceSession, Int8PredictBatchReturnsRowIForSampleI) {
  auto model = small_cnn(false);
  model->eval();
  const auto quantized = quant::QuantizedModel::from_float(*model, {images(16, 9)});
  const Tensor batch = images(5, 11);
  const Tensor expected = quantized.forward(batch);
  const InferenceSession session(quantized, kSample);
  std::vector<Tensor> samples;
  for (std::int64_t i = 0; i < 5; ++i) samples.push_back(sample(batch, i));
  const std::vector<Tensor> outputs = session.predict_batch(samples);
  ASSERT_EQ(outputs.size(), 5u);
  for (std::int64_t i = 0; i < 5; ++i) EXPECT_EQ(outputs[i].to_vector(), row(expected, i));
}

// The whole path a server takes: many callers, one batcher, the session's function. Batches of
// other sizes may round differently in the last bit (the GEMM blocks differently), so the check is
// each caller's class and its logits to 1e-5.
TEST(InferenceSession, ServesManyCallersThroughTheBatcherWithTheOfflineAnswers) {
  auto model = small_cnn(true);
  const Tensor batch = images(48, 12);
  const Tensor expected = offline(*model, batch);
  const std::vector<float> expected_class = expected.argmax(1).to_vector();
  const InferenceSession session(model, kSample);
  serve::DynamicBatcher batcher(
      session.batch_function(),
      serve::BatcherOptions().max_batch_size(8).max_wait(std::chrono::microseconds(500)));
  std::vector<std::future<Tensor>> answers(48);
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (std::int64_t i = t; i < 48; i += 4) answers[i] = batcher.submit(sample(batch, i));
    });
  }
  for (auto& caller : callers) caller.join();
  for (std::int64_t i = 0; i < 48; ++i) {
    ASSERT_EQ(answers[i].wait_for(std::chrono::seconds(5)), std::future_status::ready) << i;
    const Tensor got = answers[i].get();
    EXPECT_EQ(got.argmax(0).item(), expected_class[i]) << "caller " << i;
    EXPECT_TRUE(allclose(got, from_vector(row(expected, i), {10}), 1e-5f, 1e-5f)) << i;
  }
}
