// Visible tests for module 20 (capstone): run them with `tito module test 20`. The hidden suite
// that grades the module checks more cases of the same behaviours, from many threads.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/inference.hpp"
#include "tinytorch/serving.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;

namespace {

// Answers each request with its input plus 1.
std::vector<Tensor> add_one(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const auto& t : inputs) out.push_back(from_vector({t.to_vector()[0] + 1.0f}, {1}));
  return out;
}

}  // namespace

TEST(DynamicBatcher, EachCallerGetsItsOwnAnswer) {
  serve::DynamicBatcher batcher(add_one, serve::BatcherOptions().max_batch_size(4).max_wait(1ms));
  std::vector<std::future<Tensor>> answers;
  for (int i = 0; i < 10; ++i) answers.push_back(batcher.submit(from_vector({float(i)}, {1})));
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(answers[i].wait_for(5s), std::future_status::ready) << "request " << i;
    EXPECT_EQ(answers[i].get().to_vector()[0], float(i) + 1.0f) << "request " << i;
  }
}

TEST(DynamicBatcher, SubmitAfterShutdownIsRefused) {
  serve::DynamicBatcher batcher(add_one, serve::BatcherOptions());
  batcher.shutdown();
  EXPECT_THROW((void)batcher.submit(from_vector({1.0f}, {1})), serve::BatcherStopped);
}

TEST(DynamicBatcher, RefusesAMaxBatchSizeOfZero) {
  EXPECT_THROW(serve::DynamicBatcher(add_one, serve::BatcherOptions().max_batch_size(0)),
               std::invalid_argument);
}

// A small MLP: (N, 4) -> (N, 3), in eval mode for the offline answer.
std::shared_ptr<nn::Sequential> small_mlp() {
  Generator g(20);
  return std::make_shared<nn::Sequential>(
      nn::Linear(4, 8, true, nn::Init::kaiming_uniform, g), nn::ReLU(),
      nn::Dropout(0.5f),  // the global generator: Dropout keeps a reference
      nn::Linear(8, 3, true, nn::Init::kaiming_uniform, g));
}

TEST(InferenceSession, PredictsWhatTheModelPredictsOfflineInEvalMode) {
  auto model = small_mlp();
  Generator g(21);
  const Tensor batch = randn({5, 4}, g);
  model->eval();
  Tensor expected;
  {
    autograd::NoGradGuard no_grad;
    expected = model->forward(batch);
  }
  model->train();  // the session must not care
  const serve::InferenceSession session(model, {4});
  const Tensor got = session.predict(batch);
  EXPECT_EQ(got.to_vector(), expected.to_vector());
  EXPECT_FALSE(got.requires_grad());
}

TEST(InferenceSession, PredictBatchGivesEachSampleItsOwnRow) {
  auto model = small_mlp();
  const serve::InferenceSession session(model, {4});
  const Tensor a = from_vector({1, 2, 3, 4}, {4});
  const Tensor b = from_vector({-1, 0, 1, 0}, {4});
  const std::vector<Tensor> out = session.predict_batch({a, b});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{3}));
  // Row 1 of the two samples run as one batch (a batch of another size may round differently).
  const std::vector<float> both =
      session.predict(from_vector({1, 2, 3, 4, -1, 0, 1, 0}, {2, 4})).to_vector();
  EXPECT_EQ(out[1].to_vector(), std::vector<float>(both.begin() + 3, both.end()));
}
