// Checkpoint "precision": Can I run a trained network in 8-bit integers and keep its accuracy?
//
// Answered end to end with your module 17 code over modules 02-09: an MLP learns to tell 10
// Gaussian clusters apart in 64 dimensions, is calibrated on training samples and converted to
// int8; the int8 model classifies the held-out samples within one point of the float model, its
// safetensors file is at least 3x smaller than the float checkpoint, and it reads back from that
// file to exactly the same outputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/quantized_model.hpp"
#include "tinytorch/training.hpp"

namespace {

using namespace tinytorch;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

constexpr std::int64_t kClasses = 10, kDims = 64, kPerClass = 60;

struct Split {
  Tensor x, y;
};

// kPerClass samples of each class: the class centre (fixed by seed 1) plus unit noise.
Split clusters(std::uint64_t seed) {
  Generator centres_gen(1), noise(seed);
  const Tensor centres = randn({kClasses, kDims}, centres_gen) * 0.6f;
  std::vector<float> x, y;
  const std::vector<float> c = centres.to_vector();
  const std::vector<float> n = randn({kClasses * kPerClass, kDims}, noise).to_vector();
  for (std::int64_t i = 0; i < kClasses * kPerClass; ++i) {
    const std::int64_t label = i % kClasses;
    for (std::int64_t d = 0; d < kDims; ++d) x.push_back(c[label * kDims + d] + n[i * kDims + d]);
    y.push_back(static_cast<float>(label));
  }
  return {from_vector(x, {kClasses * kPerClass, kDims}), from_vector(y, {kClasses * kPerClass})};
}

double accuracy(const Tensor& logits, const Tensor& labels) {
  return train::accuracy(logits, labels);
}

struct Trained {
  Generator init{0};
  nn::Sequential model{nn::Linear(kDims, 128, true, nn::Init::kaiming_uniform, init), nn::ReLU(),
                       nn::Linear(128, kClasses, true, nn::Init::kaiming_uniform, init)};
  Split train = clusters(2), test = clusters(3);
  Trained() {
    optim::Adam opt(model.parameters(), optim::AdamOptions(3e-3));
    for (int step = 0; step < 150; ++step) {
      opt.zero_grad();
      const Tensor loss = cross_entropy(model(train.x), train.y);
      loss.backward();
      opt.step();
    }
    model.eval();
  }
};

Trained& trained() {
  static Trained t;
  return t;
}

fs::path scratch(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("tt_checkpoint_precision_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

TEST(PrecisionCheckpoint, Int8ModelKeepsTheFloatAccuracyWithinOnePoint) {
  Trained& t = trained();
  const double float_acc = accuracy(t.model(t.test.x), t.test.y);
  ASSERT_GT(float_acc, 0.8) << "the float MLP did not learn the clusters";
  const auto q = quant::QuantizedModel::from_float(t.model, {t.train.x});
  const double int8_acc = accuracy(q.forward(t.test.x), t.test.y);
  EXPECT_GE(int8_acc, float_acc - 0.01) << "float " << float_acc << ", int8 " << int8_acc;
}

TEST(PrecisionCheckpoint, Int8FileIsAtLeastThreeTimesSmaller) {
  Trained& t = trained();
  const fs::path float_file = scratch("float.safetensors"), int8_file = scratch("int8.safetensors");
  train::save_checkpoint(t.model, float_file);
  quant::QuantizedModel::from_float(t.model, {t.train.x}).save(int8_file);
  EXPECT_GE(static_cast<double>(fs::file_size(float_file)),
            3.0 * static_cast<double>(fs::file_size(int8_file)))
      << fs::file_size(float_file) << " against " << fs::file_size(int8_file) << " bytes";
  fs::remove_all(float_file.parent_path());
}

TEST(PrecisionCheckpoint, Int8ModelReadsBackToTheSameOutputs) {
  Trained& t = trained();
  const auto q = quant::QuantizedModel::from_float(t.model, {t.train.x});
  const fs::path file = scratch("int8.safetensors");
  q.save(file);
  const auto back = quant::QuantizedModel::load(file);
  EXPECT_EQ(back.forward(t.test.x).to_vector(), q.forward(t.test.x).to_vector());
  fs::remove_all(file.parent_path());
}

}  // namespace
