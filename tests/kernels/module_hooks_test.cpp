// The framework's module hooks (modules/04_layers/hooks.hpp) and the attribution of autograd nodes
// to the module that recorded them (modules/07_autograd/graph.cpp): framework code, tested here
// against the reference library, since no student writes it.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/hooks.hpp"
#include "tinytorch/layers.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)

namespace {

// Writes down every hook call as "<tag> <event> <module type>".
class Recorder : public nn::ModuleHooks {
 public:
  Recorder(std::vector<std::string>& log, std::string tag, bool backward = false)
      : log_(&log), tag_(std::move(tag)), backward_(backward) {}
  void before_forward(const nn::Module& m, const Tensor&) override { add("before", m); }
  void after_forward(const nn::Module& m, const Tensor&, const Tensor&) override {
    add("after", m);
  }
  void forward_failed(const nn::Module& m) override { add("failed", m); }
  bool watches_backward() const override { return backward_; }
  void before_backward(const nn::Module* m, const autograd::Node& node) override {
    log_->push_back(tag_ + " backward " + nn::module_type_name(*m) + " " + node.name());
  }

 private:
  void add(const char* event, const nn::Module& m) {
    log_->push_back(tag_ + " " + event + " " + nn::module_type_name(m));
  }
  std::vector<std::string>* log_;
  std::string tag_;
  bool backward_;
};

class Throws : public nn::Module {
 public:
  Tensor forward(const Tensor&) override { throw std::runtime_error("Throws: on purpose"); }
};

}  // namespace

TEST(ModuleHooks, NoneAreInstalledByDefault) {
  EXPECT_FALSE(nn::hooks::installed());
  EXPECT_FALSE(nn::hooks::backward_watched());
  EXPECT_EQ(nn::hooks::current_module(), nullptr);
}

TEST(ModuleHooks, CallsNestInsideTheirCallersCall) {
  std::vector<std::string> log;
  nn::Sequential model(nn::Linear(2, 3), nn::ReLU());
  {
    Recorder r(log, "r");
    const nn::HooksGuard guard(r);
    (void)model(ones({1, 2}));
  }
  const std::vector<std::string> expected = {"r before Sequential", "r before Linear",
                                             "r after Linear",      "r before ReLU",
                                             "r after ReLU",        "r after Sequential"};
  EXPECT_EQ(log, expected);
  EXPECT_FALSE(nn::hooks::installed());
}

TEST(ModuleHooks, BeforeRunsInInstallationOrderAndAfterInReverse) {
  std::vector<std::string> log;
  nn::ReLU relu;
  Recorder a(log, "a");
  Recorder b(log, "b");
  const nn::HooksGuard ga(a);
  const nn::HooksGuard gb(b);
  (void)relu(ones({1}));
  const std::vector<std::string> expected = {"a before ReLU", "b before ReLU", "b after ReLU",
                                             "a after ReLU"};
  EXPECT_EQ(log, expected);
}

TEST(ModuleHooks, AGuardRemovesOnlyItsOwnHooksInAnyOrder) {
  std::vector<std::string> log;
  nn::ReLU relu;
  Recorder a(log, "a");
  Recorder b(log, "b");
  auto ga = std::make_unique<nn::HooksGuard>(a);
  const nn::HooksGuard gb(b);
  ga.reset();  // the first one goes first
  (void)relu(ones({1}));
  const std::vector<std::string> expected = {"b before ReLU", "b after ReLU"};
  EXPECT_EQ(log, expected);
}

TEST(ModuleHooks, AForwardThatThrowsReportsFailureAndRethrows) {
  std::vector<std::string> log;
  nn::Sequential model{nn::ReLU(), Throws()};
  Recorder r(log, "r");
  const nn::HooksGuard guard(r);
  EXPECT_THROW((void)model(ones({1})), std::runtime_error);
  const std::vector<std::string> expected = {"r before Sequential", "r before ReLU",
                                             "r after ReLU",        "r before Throws",
                                             "r failed Throws",     "r failed Sequential"};
  EXPECT_EQ(log, expected);
  EXPECT_EQ(nn::hooks::current_module(), nullptr);
}

TEST(ModuleHooks, ADirectForwardCallIsNotSeen) {
  std::vector<std::string> log;
  nn::ReLU relu;
  Recorder r(log, "r");
  const nn::HooksGuard guard(r);
  (void)relu.forward(ones({1}));
  EXPECT_TRUE(log.empty());
}

TEST(ModuleHooks, BackwardNodesAreReportedWithTheModuleThatRecordedThem) {
  std::vector<std::string> log;
  nn::Sequential model{nn::ReLU()};
  Tensor x = from_vector({-1.0f, 2.0f}, {2}).requires_grad_();
  Recorder r(log, "r", /*backward=*/true);
  const nn::HooksGuard guard(r);
  Tensor y = model(x).sum();  // the sum is recorded outside every module: not reported
  log.clear();
  y.backward();
  const std::vector<std::string> expected = {"r backward ReLU ReluBackward"};
  EXPECT_EQ(log, expected);
}

TEST(ModuleHooks, WatchedNodesKeepTheirNameAndGiveTheSameGradients) {
  nn::Linear fc(3, 2);
  const Tensor x = from_vector({1.0f, -2.0f, 0.5f}, {1, 3});
  fc(x).sum().backward();
  const Tensor plain = fc.weight.grad().clone();
  fc.zero_grad();
  std::vector<std::string> log;
  Recorder r(log, "r", /*backward=*/true);
  const nn::HooksGuard guard(r);
  Tensor y = fc(x).sum();
  Tensor out = fc(x);
  EXPECT_EQ(out.grad_fn()->name(), "AddBackward");  // the bias addition, seen through the wrapper
  y.backward();
  const Tensor watched = fc.weight.grad();
  for (std::int64_t i = 0; i < plain.numel(); ++i) {
    EXPECT_FLOAT_EQ(watched.data_ptr()[i], plain.data_ptr()[i]);
  }
  EXPECT_FALSE(log.empty());
}

TEST(ModuleHooks, HooksThatDoNotWatchBackwardLeaveTheGraphAlone) {
  std::vector<std::string> log;
  nn::ReLU relu;
  Tensor x = ones({2}).requires_grad_();
  Recorder r(log, "r", /*backward=*/false);
  const nn::HooksGuard guard(r);
  EXPECT_FALSE(nn::hooks::backward_watched());
  Tensor y = relu(x).sum();
  log.clear();
  y.backward();
  EXPECT_TRUE(log.empty());
}

TEST(ModuleHooks, TypeNamesDropTheNamespace) {
  EXPECT_EQ(nn::module_type_name(nn::Linear(1, 1)), "Linear");
  EXPECT_EQ(nn::module_type_name(nn::Sequential()), "Sequential");
}
