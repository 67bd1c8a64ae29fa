// Checkpoint "layers": Can I assemble a network from layers and run a batch through it?
//
// Answered end to end with your module 04 layers, the way a training script uses them: an MLP for
// MNIST-shaped images is built from a Sequential, its parameters are listed by name and counted,
// a batch runs through it in training and in evaluation mode, and a hand-set network solves XOR.
// Every expected number is derived in a comment.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/layers.hpp"

namespace {

using namespace tinytorch;
using nn::Dropout;
using nn::Flatten;
using nn::Linear;
using nn::ReLU;
using nn::Sequential;
using Values = std::vector<float>;

// (N, 1, 28, 28) images -> 10 class scores.
std::shared_ptr<Sequential> mnist_mlp(Generator& gen) {
  return std::make_shared<Sequential>(
      Flatten(), Linear(784, 128, true, nn::Init::kaiming_uniform, gen), ReLU(), Dropout(0.2f, gen),
      Linear(128, 10, true, nn::Init::kaiming_uniform, gen));
}

TEST(LayersCheckpoint, AnMlpListsItsParametersByNameAndCountsThem) {
  // Names follow the positions in the Sequential (Flatten, ReLU, Dropout have none):
  // 784*128 + 128 + 128*10 + 10 = 101770 numbers to train.
  Generator gen(0);
  const auto model = mnist_mlp(gen);
  std::vector<std::string> names;
  for (const auto& [name, p] : model->named_parameters()) {
    names.push_back(name);
    EXPECT_TRUE(p.requires_grad()) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"1.weight", "1.bias", "4.weight", "4.bias"}));
  EXPECT_EQ(model->num_parameters(), 101770);
}

TEST(LayersCheckpoint, ABatchOfImagesBecomesABatchOfScores) {
  // (32, 1, 28, 28) -> Flatten (32, 784) -> (32, 128) -> (32, 10). In eval mode Dropout is the
  // identity, so the forward pass is deterministic: running it twice gives the same scores.
  Generator gen(1);
  const auto model = mnist_mlp(gen);
  const Tensor images = rand({32, 1, 28, 28}, gen);
  model->eval();
  const Tensor scores = (*model)(images);
  EXPECT_EQ(scores.shape(), (Shape{32, 10}));
  EXPECT_EQ(scores.to_vector(), (*model)(images).to_vector());
}

TEST(LayersCheckpoint, TrainingModeMakesDropoutRandom) {
  // In training, Dropout draws a new mask each call, so two passes over one batch differ; back in
  // eval mode they agree again.
  Generator gen(2);
  const auto model = mnist_mlp(gen);
  const Tensor images = rand({8, 1, 28, 28}, gen);
  model->train();
  EXPECT_NE((*model)(images).to_vector(), (*model)(images).to_vector());
  model->eval();
  EXPECT_EQ((*model)(images).to_vector(), (*model)(images).to_vector());
}

TEST(LayersCheckpoint, AHandSetSequentialSolvesXor) {
  // Linear(2, 2) with W = [[1, 1], [1, 1]], b = (0, -1); ReLU; Linear(2, 1) with W = [[1, -2]],
  // b = 0. h = relu(x1 + x2, x1 + x2 - 1); y = h1 - 2 h2: 0, 1, 1, 0 on the four inputs.
  Linear hidden(2, 2), out(2, 1);
  hidden.weight.copy_(tensor({{1, 1}, {1, 1}}));
  hidden.bias.copy_(tensor({0, -1}));
  out.weight.copy_(tensor({{1, -2}}));
  out.bias.zero_();
  Sequential xor_net{hidden, ReLU(), out};
  const Tensor y = xor_net.forward(tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}}));
  EXPECT_EQ(y.to_vector(), (Values{0, 1, 1, 0}));
}

TEST(LayersCheckpoint, OneSeedRebuildsTheSameNetwork) {
  // Every weight comes from the generator handed in, so the same seed gives the same model.
  Generator g1(7), g2(7);
  const auto a = mnist_mlp(g1), b = mnist_mlp(g2);
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].to_vector(), pb[i].to_vector());
}

}  // namespace
