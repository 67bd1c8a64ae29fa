// Hidden grading suite for module 04 (layers). Never shipped to students.
//
// Oracles: hand-derived values for small layers (each in a comment); for initialisation, the
// distributions of torch.nn.init (bounds and variances in the comments) checked by sample
// statistics on layers large enough that the tolerances are many standard errors wide; for Dropout,
// the binomial fraction of zeros, likewise.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/layers.hpp"

namespace tinytorch {
namespace {

using nn::Dropout;
using nn::Flatten;
using nn::Init;
using nn::Linear;
using nn::Sequential;
using Names = std::vector<std::string>;
using Values = std::vector<float>;

// A module whose registration functions the test can call directly.
struct Bag : nn::Module {
  Tensor forward(const Tensor& x) override { return x; }
  using Module::register_buffer;
  using Module::register_module;
  using Module::register_parameter;
};

Names names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  Names out;
  for (const auto& [name, _] : named) out.push_back(name);
  return out;
}

struct Stats {
  double mean = 0, var = 0, max_abs = 0;
};
Stats stats(const Tensor& t) {
  const Values v = t.to_vector();
  Stats s;
  for (float x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (float x : v) {
    s.var += (x - s.mean) * (x - s.mean);
    s.max_abs = std::max(s.max_abs, static_cast<double>(std::fabs(x)));
  }
  s.var /= static_cast<double>(v.size());
  return s;
}

// Sets a (2, 3) layer to W = [[1, 0, -1], [2, 1, 0]], b = [0.5, -1].
Linear small_linear() {
  Linear lin(3, 2);
  lin.weight.copy_(tensor({{1, 0, -1}, {2, 1, 0}}));
  lin.bias.copy_(tensor({0.5f, -1}));
  return lin;
}

// ---- Module: registration and names
// --------------------------------------------------------------

TEST(Module, RegisteredParametersKeepTheirOrderAndRequiresGrad) {
  Bag bag;
  bag.register_parameter("w", ones({2, 2}));
  bag.register_parameter("frozen", zeros({3}), /*requires_grad=*/false);
  bag.register_parameter("b", zeros({2}));
  const auto named = bag.named_parameters();
  EXPECT_EQ(names_of(named), (Names{"w", "frozen", "b"}));
  EXPECT_TRUE(named[0].second.requires_grad());
  EXPECT_FALSE(named[1].second.requires_grad());
  EXPECT_TRUE(named[2].second.requires_grad());
}

TEST(Module, RegisterParameterReturnsTheStoredTensor) {
  // The returned tensor is a handle to the same storage the module will hand to an optimizer.
  Bag bag;
  const Tensor t = ones({4});
  const Tensor& registered = bag.register_parameter("w", t);
  EXPECT_TRUE(registered.shares_storage(t));
  EXPECT_TRUE(bag.parameters()[0].shares_storage(t));
}

TEST(Module, DuplicateParameterNameThrowsInvalidArgument) {
  Bag bag;
  bag.register_parameter("weight", ones({2}));
  EXPECT_THROW(bag.register_parameter("weight", zeros({2})), std::invalid_argument);
  EXPECT_EQ(bag.named_parameters().size(), 1u);
}

// One namespace per module: a name taken by a buffer or a child is taken for a parameter too, and
// the other way round (the lesson: "a name that is already taken throws").
TEST(Module, ANameTakenByABufferOrAChildCannotBeRegisteredAgain) {
  Bag bag;
  bag.register_buffer("running", zeros({1}));
  bag.register_module("child", std::make_shared<Bag>());
  EXPECT_THROW(bag.register_parameter("running", ones({1})), std::invalid_argument);
  EXPECT_THROW(bag.register_parameter("child", ones({1})), std::invalid_argument);
  EXPECT_THROW(bag.register_buffer("child", ones({1})), std::invalid_argument);
  EXPECT_THROW(bag.register_module("running", std::make_shared<Bag>()), std::invalid_argument);
  EXPECT_TRUE(bag.named_parameters().empty());
  EXPECT_EQ(bag.named_buffers().size(), 1u);
}

TEST(Module, NestedNamesAreDottedOwnParametersFirstThenChildrenDepthFirst) {
  // Registration order: child "encoder" (an MLP), own "scale", child "head". Own parameters come
  // first, then each child's in registration order, each subtree fully before the next.
  Bag net;
  net.register_module("encoder",
                      std::make_shared<Sequential>(Linear(4, 3), nn::ReLU(), Linear(3, 3)));
  net.register_parameter("scale", ones({1}));
  net.register_module("head", std::make_shared<Linear>(3, 2, /*bias=*/false));
  EXPECT_EQ(names_of(net.named_parameters()),
            (Names{"scale", "encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
                   "encoder.2.bias", "head.weight"}));
}

TEST(Module, ParametersMatchNamedParametersInOrderAndShareStorage) {
  Sequential mlp{Linear(4, 3), nn::Tanh(), Linear(3, 1)};
  const auto named = mlp.named_parameters();
  const auto params = mlp.parameters();
  ASSERT_EQ(params.size(), 4u);
  for (std::size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(params[i].shares_storage(named[i].second)) << named[i].first;
  }
  const auto first = std::dynamic_pointer_cast<Linear>(mlp[0]);
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(params[0].shares_storage(first->weight));
  EXPECT_TRUE(params[1].shares_storage(first->bias));
}

TEST(Module, NonRecursiveListsOnlyTheModulesOwnEntries) {
  Bag net;
  net.register_parameter("scale", ones({1}));
  net.register_buffer("steps", zeros({1}));
  auto child = std::make_shared<Bag>();
  child->register_parameter("w", ones({2}));
  child->register_buffer("running_mean", zeros({2}));
  net.register_module("child", child);
  EXPECT_EQ(names_of(net.named_parameters(/*recurse=*/false)), (Names{"scale"}));
  EXPECT_EQ(net.parameters(/*recurse=*/false).size(), 1u);
  EXPECT_EQ(names_of(net.named_buffers(/*recurse=*/false)), (Names{"steps"}));
}

TEST(Module, BuffersAreNamedLikeParametersButAreNotParameters) {
  Bag net;
  auto bn = std::make_shared<Bag>();
  bn->register_parameter("weight", ones({3}));
  bn->register_buffer("running_mean", zeros({3}));
  bn->register_buffer("running_var", ones({3}));
  net.register_buffer("steps", zeros({1}));
  net.register_module("bn", bn);
  EXPECT_EQ(names_of(net.named_buffers()), (Names{"steps", "bn.running_mean", "bn.running_var"}));
  EXPECT_EQ(names_of(net.named_parameters()), (Names{"bn.weight"}));
}

TEST(Module, ChildrenAreTheDirectChildrenInRegistrationOrder) {
  Bag net;
  auto a = std::make_shared<Sequential>(Linear(2, 2), nn::ReLU());
  auto b = std::make_shared<Linear>(2, 1);
  net.register_module("body", a);
  net.register_module("out", b);
  const auto named = net.named_children();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "body");
  EXPECT_EQ(named[1].first, "out");
  EXPECT_EQ(named[0].second, a);
  const auto kids = net.children();  // not the grandchildren inside "body"
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0], a);
  EXPECT_EQ(kids[1], b);
}

TEST(Module, EvalAndTrainReachEveryDescendant) {
  auto inner = std::make_shared<Sequential>(Dropout(0.2f), Linear(3, 3));
  Sequential model{Linear(3, 3), Dropout(0.5f)};
  model.push_back(inner);
  model.eval();
  EXPECT_FALSE(model.is_training());
  EXPECT_FALSE(model[1]->is_training());
  EXPECT_FALSE(inner->is_training());
  EXPECT_FALSE((*inner)[0]->is_training());
  model.train();
  EXPECT_TRUE((*inner)[0]->is_training());
  EXPECT_TRUE(model[0]->is_training());
  inner->train(false);  // a subtree alone
  EXPECT_TRUE(model.is_training());
  EXPECT_FALSE((*inner)[1]->is_training());
}

TEST(Module, ZeroGradLeavesEveryGradientUndefined) {
  Sequential mlp{Linear(3, 4), nn::ReLU(), Linear(4, 2)};
  for (const Tensor& p : mlp.parameters()) p.set_grad(ones_like(p));
  mlp.zero_grad();
  for (const auto& [name, p] : mlp.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(Module, NumParametersCountsEveryElementOfEveryLayer) {
  // 784*128 + 128 + 128*10 + 10 = 100352 + 128 + 1280 + 10 = 101770
  Sequential mlp{Linear(784, 128), nn::ReLU(), Linear(128, 10)};
  EXPECT_EQ(mlp.num_parameters(), 101770);
}

// ---- Linear
// ----------------------------------------------------------------------------------------

TEST(Linear, WeightIsOutByInAndBiasIsOut) {
  Linear lin(5, 3);
  EXPECT_EQ(lin.in_features, 5);
  EXPECT_EQ(lin.out_features, 3);
  EXPECT_EQ(lin.weight.shape(), (Shape{3, 5}));
  EXPECT_EQ(lin.bias.shape(), (Shape{3}));
  EXPECT_TRUE(lin.weight.requires_grad());
  EXPECT_TRUE(lin.bias.requires_grad());
  EXPECT_EQ(names_of(lin.named_parameters()), (Names{"weight", "bias"}));
}

TEST(Linear, WithoutBiasHasOnlyAWeight) {
  Linear lin(3, 2, /*bias=*/false);
  EXPECT_FALSE(lin.bias.defined());
  EXPECT_EQ(names_of(lin.named_parameters()), (Names{"weight"}));
  // x W^T with W = [[1, 0, -1], [2, 1, 0]]: (1, 2, 3) -> (1 - 3, 2 + 2) = (-2, 4).
  lin.weight.copy_(tensor({{1, 0, -1}, {2, 1, 0}}));
  EXPECT_EQ(lin.forward(tensor({{1, 2, 3}})).to_vector(), (Values{-2, 4}));
}

TEST(Linear, ForwardIsInputTimesWeightTransposedPlusBias) {
  // W = [[1, 0, -1], [2, 1, 0]], b = [0.5, -1]:
  //   ( 1, 2, 3) -> (1 - 3 + 0.5, 2 + 2 - 1) = (-1.5,  3)
  //   (-1, 0, 2) -> (-1 - 2 + 0.5, -2 + 0 - 1) = (-2.5, -3)
  Linear lin = small_linear();
  const Tensor y = lin.forward(tensor({{1, 2, 3}, {-1, 0, 2}}));
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(y.to_vector(), (Values{-1.5f, 3, -2.5f, -3}));
  EXPECT_EQ(lin(tensor({{1, 2, 3}})).to_vector(), (Values{-1.5f, 3}));  // operator() = forward
}

TEST(Linear, LeadingDimensionsAreKept) {
  // (2, 2, 3) -> (2, 2, 2): every sample maps as in the 2-d case.
  Linear lin = small_linear();
  const Tensor x = tensor({{{1, 2, 3}, {-1, 0, 2}}, {{0, 0, 0}, {1, 1, 1}}});
  const Tensor y = lin.forward(x);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 2}));
  // (0, 0, 0) -> b = (0.5, -1); (1, 1, 1) -> (1 - 1 + 0.5, 2 + 1 - 1) = (0.5, 2).
  EXPECT_EQ(y.to_vector(), (Values{-1.5f, 3, -2.5f, -3, 0.5f, -1, 0.5f, 2}));
}

TEST(Linear, ASingleSampleVectorMapsToAVector) {
  // (in) -> (out), as torch.nn.Linear.
  Linear lin = small_linear();
  const Tensor y = lin.forward(tensor({1, 2, 3}));
  EXPECT_EQ(y.shape(), (Shape{2}));
  EXPECT_EQ(y.to_vector(), (Values{-1.5f, 3}));
}

TEST(Linear, InputOfTheWrongWidthThrowsInvalidArgumentNamingTheShape) {
  Linear lin(3, 2);
  try {
    (void)lin.forward(ones({4, 5}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[4, 5]"), std::string::npos) << e.what();
  }
}

TEST(Linear, ForwardIsRecordedForAutograd) {
  // Built from recorded Tensor ops (matmul, transpose, +), the output joins the graph.
  Linear lin(3, 2);
  const Tensor y = lin.forward(ones({4, 3}));
  EXPECT_TRUE(y.requires_grad());
  EXPECT_NE(y.grad_fn(), nullptr);
}

TEST(Linear, KaimingUniformIsUniformOnPlusMinusOneOverSqrtFanIn) {
  // PyTorch's default, kaiming_uniform_(a = sqrt(5)): gain = sqrt(2 / (1 + 5)) = sqrt(1/3), bound
  // = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in) = 1/20. U(-b, b) has variance b^2 / 3.
  // 120000 draws: the sample variance is within 1.5% (about 6 standard errors).
  Generator gen(1);
  Linear lin(400, 300, true, Init::kaiming_uniform, gen);
  const double b = 1.0 / 20.0;
  const Stats s = stats(lin.weight);
  EXPECT_LE(s.max_abs, b);
  EXPECT_GT(s.max_abs, 0.99 * b);  // the whole interval is used
  EXPECT_NEAR(s.mean, 0.0, 5e-4);
  EXPECT_NEAR(s.var, b * b / 3.0, 0.015 * b * b / 3.0);
}

TEST(Linear, DefaultInitIsKaimingUniform) {
  // Linear(400, 300) with no Init argument: the same bound 1/20 and variance (1/20)^2 / 3.
  Linear lin(400, 300);
  const double b = 1.0 / 20.0;
  const Stats s = stats(lin.weight);
  EXPECT_LE(s.max_abs, b);
  EXPECT_NEAR(s.var, b * b / 3.0, 0.015 * b * b / 3.0);
}

TEST(Linear, KaimingNormalHasVarianceTwoOverFanIn) {
  // N(0, 2 / fan_in) = N(0, 2/500 = 0.004). 200000 draws: variance within 1.5% (about 5 standard
  // errors); and it is a normal, not a uniform: P(|w| > 2 sigma) = 4.55%.
  Generator gen(2);
  Linear lin(500, 400, true, Init::kaiming_normal, gen);
  const double var = 2.0 / 500.0;
  const Stats s = stats(lin.weight);
  EXPECT_NEAR(s.mean, 0.0, 5e-4);
  EXPECT_NEAR(s.var, var, 0.015 * var);
  const Values w = lin.weight.to_vector();
  double tail = 0;
  for (float x : w) tail += std::fabs(x) > 2.0 * std::sqrt(var) ? 1 : 0;
  EXPECT_NEAR(tail / static_cast<double>(w.size()), 0.0455, 0.004);
}

TEST(Linear, XavierUniformIsUniformOnPlusMinusSqrtSixOverFanInPlusFanOut) {
  // b = sqrt(6 / (fan_in + fan_out)) = sqrt(6 / 800); variance b^2 / 3 = 2 / 800.
  Generator gen(3);
  Linear lin(300, 500, true, Init::xavier_uniform, gen);
  const double b = std::sqrt(6.0 / 800.0);
  const Stats s = stats(lin.weight);
  EXPECT_LE(s.max_abs, b);
  EXPECT_GT(s.max_abs, 0.99 * b);
  EXPECT_NEAR(s.var, 2.0 / 800.0, 0.015 * 2.0 / 800.0);
}

TEST(Linear, XavierNormalHasVarianceTwoOverFanInPlusFanOut) {
  // N(0, 2 / (fan_in + fan_out)) = N(0, 2 / 900); 200000 draws.
  Generator gen(4);
  Linear lin(400, 500, true, Init::xavier_normal, gen);
  const double var = 2.0 / 900.0;
  const Stats s = stats(lin.weight);
  EXPECT_NEAR(s.mean, 0.0, 5e-4);
  EXPECT_NEAR(s.var, var, 0.015 * var);
  EXPECT_GT(s.max_abs, std::sqrt(3.0 * var));  // beyond a same-variance uniform's bound
}

TEST(Linear, BiasIsUniformOnPlusMinusOneOverSqrtFanInWhateverTheWeightInit) {
  // b = 1 / sqrt(100) = 0.1 for every Init; variance 0.01 / 3 from 50000 draws (within 2.5%).
  for (Init init :
       {Init::kaiming_uniform, Init::kaiming_normal, Init::xavier_uniform, Init::xavier_normal}) {
    Generator gen(5);
    Linear lin(100, 50000, true, init, gen);
    const Stats s = stats(lin.bias);
    EXPECT_LE(s.max_abs, 0.1) << static_cast<int>(init);
    EXPECT_GT(s.max_abs, 0.099) << static_cast<int>(init);
    EXPECT_NEAR(s.var, 0.01 / 3.0, 0.025 * 0.01 / 3.0) << static_cast<int>(init);
  }
}

TEST(Linear, TheSameSeedGivesTheSameParameters) {
  for (Init init :
       {Init::kaiming_uniform, Init::kaiming_normal, Init::xavier_uniform, Init::xavier_normal}) {
    Generator g1(42), g2(42), g3(43);
    Linear a(6, 4, true, init, g1), b(6, 4, true, init, g2), c(6, 4, true, init, g3);
    EXPECT_EQ(a.weight.to_vector(), b.weight.to_vector());
    EXPECT_EQ(a.bias.to_vector(), b.bias.to_vector());
    EXPECT_NE(a.weight.to_vector(), c.weight.to_vector());
  }
}

// The lesson's rule: the weight is drawn first, then the bias. So from one seed the weight is the
// same whether the layer has a bias or not (a bias drawn first would shift every weight draw).
TEST(Linear, DrawsTheWeightBeforeTheBias) {
  for (const Init init : {Init::kaiming_uniform, Init::xavier_normal}) {
    Generator with(5), without(5);
    const Linear biased(3, 2, true, init, with), plain(3, 2, false, init, without);
    EXPECT_EQ(biased.weight.to_vector(), plain.weight.to_vector())
        << "init " << static_cast<int>(init);
  }
}

TEST(Linear, DrawsFromTheGivenGeneratorOnly) {
  // A layer built with its own generator leaves the default generator's sequence untouched, and
  // advances its own: two layers from one generator differ.
  manual_seed(9);
  Generator gen(1);
  Linear first(8, 8, true, Init::kaiming_uniform, gen);
  Linear second(8, 8, true, Init::kaiming_uniform, gen);
  EXPECT_NE(first.weight.to_vector(), second.weight.to_vector());
  Generator fresh(9);
  EXPECT_EQ(default_generator().next_u64(), fresh.next_u64());
}

// ---- Sequential
// ----------------------------------------------------------------------------------

TEST(Sequential, ChildrenAreNamedByPosition) {
  Sequential mlp{Linear(4, 3), nn::ReLU(), Linear(3, 1)};
  EXPECT_EQ(mlp.size(), 3u);
  const auto named = mlp.named_children();
  ASSERT_EQ(named.size(), 3u);
  EXPECT_EQ(named[0].first, "0");
  EXPECT_EQ(named[1].first, "1");
  EXPECT_EQ(named[2].first, "2");
  EXPECT_EQ(names_of(mlp.named_parameters()), (Names{"0.weight", "0.bias", "2.weight", "2.bias"}));
}

TEST(Sequential, PushBackAppendsUnderTheNextIndex) {
  Sequential seq;
  seq.push_back(std::make_shared<Linear>(2, 2));
  seq.push_back(std::make_shared<nn::Sigmoid>());
  seq.push_back(std::make_shared<Linear>(2, 1, /*bias=*/false));
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(names_of(seq.named_parameters()), (Names{"0.weight", "0.bias", "2.weight"}));
}

TEST(Sequential, ForwardAppliesTheModulesInOrder) {
  // Layer 0 (W, b of small_linear): (1, 2, 3) -> (-1.5, 3), (-1, 0, 2) -> (-2.5, -3).
  // ReLU: (0, 3), (0, 0).  Layer 2, W = [[2, -1]], b = [1]: 2*0 - 3 + 1 = -2; 0 - 0 + 1 = 1.
  Linear out(2, 1);
  out.weight.copy_(tensor({{2, -1}}));
  out.bias.copy_(tensor({1}));
  Sequential seq{small_linear(), nn::ReLU(), out};
  const Tensor y = seq.forward(tensor({{1, 2, 3}, {-1, 0, 2}}));
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(y.to_vector(), (Values{-2, 1}));
}

TEST(Sequential, EmptySequentialPassesTheInputThrough) {
  Sequential seq;
  EXPECT_EQ(seq.forward(tensor({1, 2})).to_vector(), (Values{1, 2}));
}

TEST(Sequential, IndexGivesTheModuleAtThatPosition) {
  Sequential seq{Linear(2, 3), nn::Tanh()};
  EXPECT_NE(std::dynamic_pointer_cast<Linear>(seq[0]), nullptr);
  EXPECT_NE(std::dynamic_pointer_cast<nn::Tanh>(seq[1]), nullptr);
  EXPECT_EQ(seq[1], seq.children()[1]);
}

TEST(Sequential, IndexPastTheEndThrowsOutOfRange) {
  Sequential seq{Linear(2, 3), nn::Tanh()};
  EXPECT_THROW((void)seq[2], std::out_of_range);
  EXPECT_THROW((void)Sequential()[0], std::out_of_range);
}

// ---- Dropout
// -------------------------------------------------------------------------------------

TEST(Dropout, ProbabilityOutsideZeroToOneThrowsInvalidArgument) {
  EXPECT_THROW(Dropout(-0.1f), std::invalid_argument);
  EXPECT_THROW(Dropout(1.0f), std::invalid_argument);
  EXPECT_THROW(Dropout(1.5f), std::invalid_argument);
}

TEST(Dropout, InEvalModeIsTheIdentity) {
  Generator gen(0);
  Dropout drop(0.5f, gen);
  drop.eval();
  const Tensor x = arange(12.0f).reshape({3, 4});
  EXPECT_EQ(drop.forward(x).to_vector(), x.to_vector());
}

TEST(Dropout, InTrainingZeroesAboutPAndScalesTheRestByOneOverOneMinusP) {
  // 100000 ones, p = 0.3: zeros ~ Binomial(1e5, 0.3), standard deviation 0.00145 as a fraction;
  // a kept element is 1 / (1 - 0.3).
  Generator gen(21);
  Dropout drop(0.3f, gen);
  const Values y = drop.forward(ones({100, 1000})).to_vector();
  double zeros_seen = 0;
  for (float v : y) {
    if (v == 0.0f) {
      ++zeros_seen;
    } else {
      ASSERT_NEAR(v, 1.0f / 0.7f, 1e-5f);
    }
  }
  EXPECT_NEAR(zeros_seen / 1e5, 0.3, 0.01);
}

TEST(Dropout, InTrainingKeepsTheMeanInExpectation) {
  // E[x m] = x ((1 - p) * 1 / (1 - p) + p * 0) = x: the mean of 1e5 twos stays 2 (within 1.5%).
  Generator gen(22);
  Dropout drop(0.5f, gen);
  EXPECT_NEAR(drop.forward(full({100000}, 2.0f)).mean().item(), 2.0f, 0.03f);
}

TEST(Dropout, WithPZeroIsTheIdentityEvenInTraining) {
  Dropout drop(0.0f);
  const Tensor x = arange(6.0f);
  EXPECT_EQ(drop.forward(x).to_vector(), x.to_vector());
}

TEST(Dropout, MasksComeFromTheGivenGenerator) {
  // Same seed, same mask; the next call draws a new mask.
  Generator g1(7), g2(7);
  Dropout a(0.5f, g1), b(0.5f, g2);
  const Tensor x = ones({1000});
  const Values first = a.forward(x).to_vector();
  EXPECT_EQ(first, b.forward(x).to_vector());
  EXPECT_NE(first, a.forward(x).to_vector());
}

TEST(Dropout, OutputIsRecordedForAutograd) {
  // input * mask is a recorded multiplication, so the gradient will reach the kept elements.
  Generator gen(3);
  Dropout drop(0.5f, gen);
  Tensor x = ones({4, 4});
  x.requires_grad_();
  const Tensor y = drop.forward(x);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_NE(y.grad_fn(), nullptr);
  EXPECT_EQ(y.shape(), (Shape{4, 4}));
}

// ---- Flatten and activation modules
// --------------------------------------------------------------

TEST(Flatten, MergesEveryDimensionAfterTheBatch) {
  const Tensor x = arange(120.0f).reshape({2, 3, 4, 5});
  const Tensor y = Flatten().forward(x);
  EXPECT_EQ(y.shape(), (Shape{2, 60}));
  EXPECT_EQ(y.to_vector(), x.to_vector());
}

TEST(Flatten, ReadsAStridedViewInLogicalOrder) {
  const Tensor x = arange(24.0f).reshape({2, 3, 4}).transpose(1, 2);  // (2, 4, 3) view
  const Tensor y = Flatten().forward(x);
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.to_vector(), x.to_vector());
}

TEST(ActivationModules, ForwardIsModule03sFunction) {
  const Tensor x = tensor({{-2, -0.5f, 0}, {0.5f, 1, 3}});
  EXPECT_EQ(nn::ReLU().forward(x).to_vector(), (Values{0, 0, 0, 0.5f, 1, 3}));
  EXPECT_EQ(nn::Sigmoid().forward(x).to_vector(), ops::sigmoid(x).to_vector());
  EXPECT_EQ(nn::Tanh().forward(x).to_vector(), ops::tanh(x).to_vector());
  EXPECT_EQ(nn::GELU().forward(x).to_vector(), ops::gelu(x).to_vector());
}

TEST(ActivationModules, HaveNoParameters) {
  Sequential acts{nn::ReLU(), nn::Sigmoid(), nn::Tanh(), nn::GELU()};
  EXPECT_EQ(acts.num_parameters(), 0);
  EXPECT_TRUE(acts.parameters().empty());
}

}  // namespace
}  // namespace tinytorch
