// Checkpoint "spatial": Can I build a convolutional network and train it on images?
//
// Answered end to end with your module 09 layers over modules 02-08: a small CNN (convolution,
// batch norm, ReLU, max pooling, average pooling) learns to tell horizontal stripes from vertical
// ones. Both kinds of image have the same pixel statistics, so no single pixel tells them apart:
// only neighbouring pixels together do, which is what a convolution sees. After training, eval mode
// (running statistics, no batch needed) must classify fresh images, one at a time.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/spatial.hpp"

namespace {

using namespace tinytorch;  // NOLINT(google-build-using-namespace)

struct Images {
  Tensor x;  // (n, 1, 8, 8)
  Tensor y;  // (n): 0 horizontal stripes, 1 vertical stripes
};

// Stripes two pixels wide at a random phase, plus noise: pixel (r, c) is bright when
// ((r + phase) / 2) is even (horizontal) or ((c + phase) / 2) is even (vertical).
Images stripes(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  std::vector<float> pixels, labels;
  for (std::int64_t i = 0; i < n; ++i) {
    const bool vertical = g.below(2) == 1;
    const auto phase = static_cast<std::int64_t>(g.below(4));
    for (std::int64_t r = 0; r < 8; ++r) {
      for (std::int64_t c = 0; c < 8; ++c) {
        const std::int64_t k = vertical ? c : r;
        const float bright = ((k + phase) / 2) % 2 == 0 ? 1.0f : -1.0f;
        pixels.push_back(bright + 0.3f * g.normal());
      }
    }
    labels.push_back(vertical ? 1.0f : 0.0f);
  }
  return {from_vector(pixels, {n, 1, 8, 8}), from_vector(labels, {n})};
}

std::shared_ptr<nn::Sequential> cnn(std::uint64_t seed) {
  Generator g(seed);
  return std::make_shared<nn::Sequential>(
      nn::Conv2d(1, 4, 3, 1, 1, true, g), nn::BatchNorm2d(4), nn::ReLU(), nn::MaxPool2d(2),
      nn::Conv2d(4, 8, 3, 1, 1, true, g), nn::ReLU(), nn::AvgPool2d(4), nn::Flatten(),
      nn::Linear(8, 2, true, nn::Init::kaiming_uniform, g));
}

float accuracy(nn::Module& model, const Images& data) {
  autograd::NoGradGuard no_grad;
  const std::vector<float> predicted = model.forward(data.x).argmax(1).to_vector();
  const std::vector<float> labels = data.y.to_vector();
  int correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i] ? 1 : 0;
  return static_cast<float>(correct) / static_cast<float>(labels.size());
}

TEST(CheckpointSpatial, ASmallCnnLearnsStripeOrientation) {
  const Images train = stripes(256, 1), test = stripes(200, 2);
  auto model = cnn(3);
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(0.02));
  for (int epoch = 0; epoch < 8; ++epoch) {
    for (std::int64_t start = 0; start < 256; start += 32) {
      const Shape batch{32, 1, 8, 8};
      const Tensor x = from_vector(std::vector<float>(train.x.data().begin() + start * 64,
                                                      train.x.data().begin() + (start + 32) * 64),
                                   batch);
      const Tensor y = from_vector(
          std::vector<float>(train.y.data().begin() + start, train.y.data().begin() + start + 32),
          {32});
      optimizer.zero_grad();
      Tensor loss = cross_entropy(model->forward(x), y);
      loss.backward();
      optimizer.step();
    }
  }
  model->eval();
  EXPECT_GE(accuracy(*model, test), 0.95f);
}

// Eval mode reads the running statistics, so an image's prediction does not depend on the rest of
// its batch: one image alone gives the same logits as inside a batch of 200.
TEST(CheckpointSpatial, EvalModePredictsOneImageAsInABatch) {
  const Images train = stripes(64, 4), test = stripes(200, 5);
  auto model = cnn(6);
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(0.01));
  for (int step = 0; step < 5; ++step) {
    optimizer.zero_grad();
    Tensor loss = cross_entropy(model->forward(train.x), train.y);
    loss.backward();
    optimizer.step();
  }
  model->eval();
  autograd::NoGradGuard no_grad;
  const std::vector<float> batch = model->forward(test.x).to_vector();
  const Tensor first = from_vector(
      std::vector<float>(test.x.data().begin(), test.x.data().begin() + 64), {1, 1, 8, 8});
  const std::vector<float> alone = model->forward(first).to_vector();
  ASSERT_EQ(alone.size(), 2u);
  EXPECT_NEAR(alone[0], batch[0], 1e-4f);
  EXPECT_NEAR(alone[1], batch[1], 1e-4f);
}

// A convolution is a matrix product in disguise: a 1x1 convolution is exactly a Linear layer
// applied at every pixel, W (O, C) times each pixel's C channel values.
TEST(CheckpointSpatial, AOneByOneConvolutionIsALinearLayerPerPixel) {
  Generator g(7);
  const Tensor x = randn({2, 3, 4, 5}, g), w = randn({6, 3, 1, 1}, g);
  const Tensor conv = conv2d(x, w);  // (2, 6, 4, 5)
  // (N, C, H, W) -> (N, H, W, C) @ (C, O) -> (N, H, W, O) -> (N, O, H, W)
  const Tensor linear =
      x.permute({0, 2, 3, 1}).matmul(w.reshape({6, 3}).transpose(0, 1)).permute({0, 3, 1, 2});
  EXPECT_TRUE(allclose(conv, linear.contiguous(), 1e-5f, 1e-5f));
}

}  // namespace
