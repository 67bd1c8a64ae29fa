// Visible tests for module 04 (layers). Run them with `tito module test 04`.
//
// Each expected value is derived by hand in a comment. The grading suite checks more: every
// initialisation's statistics, nested names and buffers, train/eval through deep trees, Dropout's
// fraction and scale, errors, and that every forward is recorded for autograd.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/layers.hpp"

namespace tinytorch {
namespace {

using nn::Dropout;
using nn::Init;
using nn::Linear;
using nn::Sequential;
using Names = std::vector<std::string>;
using Values = std::vector<float>;

Names names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  Names out;
  for (const auto& [name, _] : named) out.push_back(name);
  return out;
}

// A module that registers its own parameter and a child: the shape of every model you will write.
struct Scaled : nn::Module {
  Scaled() {
    scale = register_parameter("scale", full({1}, 2.0f));
    body = register_module("body", std::make_shared<Linear>(3, 2));
  }
  Tensor forward(const Tensor& x) override { return body->forward(x) * scale; }
  Tensor scale;
  std::shared_ptr<Linear> body;
};

TEST(Module, RegisteredParametersRequireGradAndAreListedByName) {
  Scaled m;
  EXPECT_EQ(names_of(m.named_parameters()), (Names{"scale", "body.weight", "body.bias"}));
  for (const Tensor& p : m.parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(Module, DuplicateParameterNameThrowsInvalidArgument) {
  struct Twice : nn::Module {
    Twice() {
      register_parameter("w", ones({1}));
      register_parameter("w", ones({1}));
    }
    Tensor forward(const Tensor& x) override { return x; }
  };
  EXPECT_THROW(Twice{}, std::invalid_argument);
}

TEST(Module, EvalReachesChildren) {
  Sequential model{Linear(2, 2), Dropout(0.5f)};
  model.eval();
  EXPECT_FALSE(model.is_training());
  EXPECT_FALSE(model[1]->is_training());
  model.train();
  EXPECT_TRUE(model[1]->is_training());
}

TEST(Module, NumParametersOfAnMlp) {
  // (2*4 + 4) + (4*1 + 1) = 12 + 5 = 17
  Sequential mlp{Linear(2, 4), nn::ReLU(), Linear(4, 1)};
  EXPECT_EQ(mlp.num_parameters(), 17);
}

TEST(Module, ZeroGradClearsGradients) {
  Linear lin(2, 2);
  lin.weight.set_grad(ones({2, 2}));
  lin.zero_grad();
  EXPECT_FALSE(lin.weight.grad().defined());
}

TEST(Linear, HasWeightOutByInAndBiasOut) {
  Linear lin(4, 3);
  EXPECT_EQ(lin.weight.shape(), (Shape{3, 4}));
  EXPECT_EQ(lin.bias.shape(), (Shape{3}));
}

TEST(Linear, ForwardComputesXWTransposePlusB) {
  // W = [[1, 2], [0, -1], [3, 0]], b = [1, 1, 1]; x = (2, 1):
  //   (1*2 + 2*1, 0*2 - 1*1, 3*2 + 0*1) + 1 = (5, 0, 7)
  Linear lin(2, 3);
  lin.weight.copy_(tensor({{1, 2}, {0, -1}, {3, 0}}));
  lin.bias.copy_(tensor({1, 1, 1}));
  const Tensor y = lin.forward(tensor({{2, 1}}));
  EXPECT_EQ(y.shape(), (Shape{1, 3}));
  EXPECT_EQ(y.to_vector(), (Values{5, 0, 7}));
}

TEST(Linear, WrongInputWidthThrowsInvalidArgument) {
  Linear lin(4, 3);
  EXPECT_THROW((void)lin.forward(ones({2, 5})), std::invalid_argument);
}

TEST(Linear, DefaultInitStaysWithinOneOverSqrtFanIn) {
  // kaiming_uniform (PyTorch's default): U(-1/sqrt(in), 1/sqrt(in)) = U(-0.125, 0.125) for in = 64.
  Linear lin(64, 32);
  for (float w : lin.weight.to_vector()) EXPECT_LE(std::fabs(w), 0.125f);
  for (float b : lin.bias.to_vector()) EXPECT_LE(std::fabs(b), 0.125f);
}

TEST(Linear, TheSameSeedGivesTheSameLayer) {
  Generator g1(3), g2(3);
  Linear a(5, 4, true, Init::xavier_uniform, g1);
  Linear b(5, 4, true, Init::xavier_uniform, g2);
  EXPECT_EQ(a.weight.to_vector(), b.weight.to_vector());
  EXPECT_EQ(a.bias.to_vector(), b.bias.to_vector());
}

TEST(Sequential, NamesChildrenByPosition) {
  Sequential mlp{Linear(2, 4), nn::ReLU(), Linear(4, 1)};
  EXPECT_EQ(names_of(mlp.named_parameters()), (Names{"0.weight", "0.bias", "2.weight", "2.bias"}));
}

TEST(Sequential, ForwardChainsTheLayers) {
  // ReLU then Tanh of (-1, 0, 2): (0, 0, 2) -> (tanh 0, tanh 0, tanh 2).
  Sequential seq{nn::ReLU(), nn::Tanh()};
  const Values y = seq.forward(tensor({-1, 0, 2})).to_vector();
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_NEAR(y[2], std::tanh(2.0), 1e-6);
}

TEST(Sequential, IndexPastTheEndThrowsOutOfRange) {
  Sequential seq{nn::ReLU()};
  EXPECT_THROW((void)seq[1], std::out_of_range);
}

TEST(Dropout, IsTheIdentityInEvalAndDropsInTraining) {
  // Eval: unchanged. Training with p = 0.5: each element is 0 or 1 / (1 - 0.5) = 2.
  Generator gen(1);
  Dropout drop(0.5f, gen);
  const Tensor x = ones({1000});
  const Values y = drop.forward(x).to_vector();
  int zeros_seen = 0;
  for (float v : y) {
    EXPECT_TRUE(v == 0.0f || v == 2.0f) << v;
    zeros_seen += v == 0.0f ? 1 : 0;
  }
  EXPECT_GT(zeros_seen, 400);
  EXPECT_LT(zeros_seen, 600);
  drop.eval();
  EXPECT_EQ(drop.forward(x).to_vector(), x.to_vector());
}

TEST(Flatten, KeepsTheBatchDimension) {
  const Tensor y = nn::Flatten().forward(zeros({2, 3, 4}));
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
}

}  // namespace
}  // namespace tinytorch
