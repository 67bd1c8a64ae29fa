// Checkpoint "acceleration": Can my framework train on kernels I wrote myself?
//
// Answered end to end with your module 15 code over modules 02-14: with your kernels selected (the
// switch TINYTORCH_KERNELS=student sets), every matrix product and convolution of a small CNN runs
// on your gemm_parallel, im2col and col2im, and the CNN learns to tell which half of an image holds
// a bright square. Before that, your best rung must agree with the float64 oracle.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/acceleration.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/kernels/dispatch.hpp"
#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/spatial.hpp"

namespace {

using namespace tinytorch;

constexpr std::int64_t kSide = 8;

// Selects the student's kernels for the scope, the framework's again after.
struct StudentKernels {
  StudentKernels() { kernels::set_kernel_source(kernels::KernelSource::student); }
  ~StudentKernels() { kernels::set_kernel_source(kernels::KernelSource::framework); }
  StudentKernels(const StudentKernels&) = delete;
  StudentKernels& operator=(const StudentKernels&) = delete;
};

struct Batch {
  Tensor images;  // (B, 1, 8, 8): noise plus one bright 2x2 square
  Tensor labels;  // (B): 0 when the square is in the left half, 1 in the right
};

Batch batch(std::int64_t b, Generator& g) {
  Tensor images = randn({b, 1, kSide, kSide}, g);
  images.mul_(0.3f);
  std::vector<float> labels(static_cast<std::size_t>(b));
  for (std::int64_t n = 0; n < b; ++n) {
    const std::int64_t right = g.below(2), row = g.below(kSide - 1), col = g.below(kSide / 2 - 1);
    const std::int64_t x = col + right * (kSide / 2);
    for (std::int64_t i = 0; i < 2; ++i) {
      for (std::int64_t j = 0; j < 2; ++j) images.at({n, 0, row + i, x + j}) += 2.0f;
    }
    labels[static_cast<std::size_t>(n)] = static_cast<float>(right);
  }
  return {images, from_vector(labels, {b})};
}

TEST(AccelerationCheckpoint, MyBestRungAgreesWithTheOracle) {
  constexpr std::int64_t m = 67, n = 45, k = 131;
  Generator g(0);
  const std::vector<float> a = randn({m, k}, g).to_vector(), b = randn({k, n}, g).to_vector();
  std::vector<float> mine(m * n), oracle(m * n);
  accel::gemm_parallel(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, mine.data(), n);
  accel::reference_gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, oracle.data(),
                        n);
  for (std::size_t i = 0; i < mine.size(); ++i) ASSERT_NEAR(mine[i], oracle[i], 1e-3f) << i;
}

TEST(AccelerationCheckpoint, TheSwitchRoutesTheFrameworksGemmToMine) {
  const StudentKernels mine;
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
  // lda = 3 is smaller than a row of A (4, 6): only your rung checks, and names itself.
  try {
    kernels::sgemm(false, false, 4, 5, 6, 1.0f, a.data(), 3, b.data(), 5, 0.0f, c.data(), 5);
    FAIL() << "kernels::sgemm did not run your gemm_parallel (no error for lda = 3)";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("gemm_parallel"), std::string::npos) << e.what();
  }
}

TEST(AccelerationCheckpoint, ACnnTrainsOnMyKernels) {
  const StudentKernels mine;
  Generator g(1);
  auto net = std::make_shared<nn::Sequential>(
      nn::Conv2d(1, 4, 3, 1, 1, true, g), nn::ReLU(), nn::Flatten(),
      nn::Linear(4 * kSide * kSide, 2, true, nn::Init::kaiming_uniform, g));
  optim::Adam opt(net->parameters(), optim::AdamOptions(0.01));
  for (int step = 0; step < 150; ++step) {
    const Batch b = batch(16, g);
    opt.zero_grad();
    cross_entropy(net->forward(b.images), b.labels).backward();
    opt.step();
  }
  autograd::NoGradGuard no_grad;
  const Batch test = batch(200, g);
  const std::vector<float> p = net->forward(test.images).argmax(1).to_vector();
  const std::vector<float> t = test.labels.to_vector();
  int correct = 0;
  for (std::size_t i = 0; i < p.size(); ++i) correct += p[i] == t[i] ? 1 : 0;
  EXPECT_GT(correct / static_cast<double>(p.size()), 0.9) << "chance is 1/2";
}

}  // namespace
