// Hidden grading suite for module 15 (acceleration). Never shipped to students.
//
// Oracles:
//  * every GEMM rung against reference_gemm (the framework's float64 triple loop), on awkward
//    shapes: 1x1, primes, tall and skinny, k past a block edge, all four transposes with strided
//    operands, beta = 0 over NaN, alpha and beta other than 1, k = 0, and the padding of C's rows;
//  * im2col / col2im against the framework's kernels::im2col / col2im, and the adjoint property
//    <im2col(x), y> = <x, col2im(y)> summed in double;
//  * the convolution against module 09 (ops::conv2d and autograd::Conv2dBackward);
//  * the fused bias + ReLU against its definition and against the unfused form, bit for bit;
//  * the switch: with the student's kernels selected, kernels::sgemm and Conv2d run them.
// Shapes are small: the whole suite runs in a few seconds on one core.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/acceleration.hpp"
#include "tinytorch/kernels/dispatch.hpp"
#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/kernels/im2col.hpp"
#include "tinytorch/kernels/threads.hpp"
#include "tinytorch/spatial.hpp"

namespace tinytorch {
namespace {

using std::int64_t;
using Floats = std::vector<float>;
using accel::BlockSizes;
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// A rung with its blocks bound: the GemmFn signature plus a name for failure messages.
using Gemm = std::function<void(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                                const float*, int64_t, float, float*, int64_t)>;

struct RungCase {
  std::string name;
  Gemm gemm;
};

template <auto F>
Gemm with_blocks(BlockSizes blocks) {
  return [blocks](bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) { F(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, blocks); };
}

std::vector<RungCase> rungs() {
  const BlockSizes odd{3, 5, 7}, unit{1, 1, 1};
  return {{"naive", accel::gemm_naive},
          {"unit_stride", accel::gemm_unit_stride},
          {"blocked", with_blocks<&accel::gemm_blocked>({})},
          {"blocked_odd_blocks", with_blocks<&accel::gemm_blocked>(odd)},
          {"blocked_unit_blocks", with_blocks<&accel::gemm_blocked>(unit)},
          {"packed", with_blocks<&accel::gemm_packed>({})},
          {"packed_odd_blocks", with_blocks<&accel::gemm_packed>(odd)},
          {"packed_unit_blocks", with_blocks<&accel::gemm_packed>(unit)},
          {"parallel", with_blocks<&accel::gemm_parallel>({})},
          {"parallel_odd_blocks", with_blocks<&accel::gemm_parallel>(odd)}};
}

Floats random_floats(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Floats v(count);
  for (float& x : v) x = uniform(rng);
  return v;
}

// One GEMM problem with every operand stored at its own leading dimension (a row plus `pad`).
struct Problem {
  bool ta = false, tb = false;
  int64_t m = 1, n = 1, k = 1;
  float alpha = 1.0f, beta = 0.0f;
  int64_t pad = 0;
  int64_t lda() const { return (ta ? m : k) + pad; }
  int64_t ldb() const { return (tb ? k : n) + pad; }
  int64_t ldc() const { return n + pad; }
  std::size_t a_size() const { return static_cast<std::size_t>((ta ? k : m) * lda()); }
  std::size_t b_size() const { return static_cast<std::size_t>((tb ? n : k) * ldb()); }
  std::size_t c_size() const { return static_cast<std::size_t>(m * ldc()); }
};

// Runs `gemm` and reference_gemm on the same operands and a C already holding `c0`; every element
// of C, padding included, must agree within a tolerance that grows with k.
void expect_matches_reference(const Gemm& gemm, const Problem& p, Floats c0 = {}) {
  const Floats a = random_floats(p.a_size(), 1), b = random_floats(p.b_size(), 2);
  if (c0.empty()) c0 = random_floats(p.c_size(), 3);
  Floats got = c0, want = c0;
  gemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, a.data(), p.lda(), b.data(), p.ldb(), p.beta, got.data(),
       p.ldc());
  accel::reference_gemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, a.data(), p.lda(), b.data(), p.ldb(),
                        p.beta, want.data(), p.ldc());
  const float tol = 1e-5f * static_cast<float>(p.k + 2);
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << "C flat index " << i << " (padding kept as it was)";
      continue;
    }
    ASSERT_NEAR(got[i], want[i], tol)
        << "C flat index " << i << " = (" << static_cast<int64_t>(i) / p.ldc() << ", "
        << static_cast<int64_t>(i) % p.ldc() << "), ldc " << p.ldc() << "; m, n, k = " << p.m
        << ", " << p.n << ", " << p.k << (p.ta ? ", A transposed" : "")
        << (p.tb ? ", B transposed" : "");
  }
}

// Runs `body` with the framework's threads set to `threads`, restoring the count after.
class ThreadCount {
 public:
  explicit ThreadCount(int threads) : before_(kernels::num_threads()) {
    kernels::set_num_threads(threads);
  }
  ~ThreadCount() { kernels::set_num_threads(before_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int before_;
};

void PrintTo(const RungCase& rung, std::ostream* out) {
  *out << rung.name;
}

class Rung : public ::testing::TestWithParam<RungCase> {
 protected:
  const Gemm& gemm() const { return GetParam().gemm; }
};

TEST_P(Rung, OneByOne) {
  expect_matches_reference(gemm(), {.m = 1, .n = 1, .k = 1});
}

TEST_P(Rung, PrimeShapes) {
  expect_matches_reference(gemm(), {.m = 7, .n = 13, .k = 11});
  expect_matches_reference(gemm(), {.m = 37, .n = 29, .k = 41});
}

TEST_P(Rung, TallAndSkinny) {
  expect_matches_reference(gemm(), {.m = 301, .n = 3, .k = 17});
  expect_matches_reference(gemm(), {.m = 2, .n = 257, .k = 5});
  expect_matches_reference(gemm(), {.m = 5, .n = 1, .k = 300});
}

TEST_P(Rung, DepthPastEveryBlockEdge) {
  // k = 263 is past the default kc (256) and a multiple of none of the blocks; m = 131 past mc.
  expect_matches_reference(gemm(), {.m = 131, .n = 45, .k = 263});
}

TEST_P(Rung, EveryTransposeWithStridedOperands) {
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      SCOPED_TRACE(testing::Message() << "trans_a " << ta << ", trans_b " << tb);
      expect_matches_reference(gemm(), {.ta = ta, .tb = tb, .m = 19, .n = 23, .k = 31, .pad = 3});
    }
  }
}

TEST_P(Rung, BetaZeroOverwritesNaNInC) {
  const Problem p{.m = 9, .n = 21, .k = 6, .alpha = 1.0f, .beta = 0.0f};
  expect_matches_reference(gemm(), p, Floats(p.c_size(), kNaN));
}

TEST_P(Rung, AlphaAndBetaScaleTheirTerms) {
  expect_matches_reference(gemm(), {.m = 17, .n = 19, .k = 23, .alpha = 0.5f, .beta = -2.0f});
  expect_matches_reference(gemm(), {.m = 17, .n = 19, .k = 23, .alpha = -1.5f, .beta = 1.0f});
}

TEST_P(Rung, ZeroDepthScalesCByBeta) {
  // lda = 1 when k = 0: BLAS's rule, a leading dimension is at least 1.
  expect_matches_reference(gemm(), {.m = 4, .n = 5, .k = 0, .alpha = 1.0f, .beta = 0.5f, .pad = 1});
}

TEST_P(Rung, PaddingOfCRowsIsUntouched) {
  // A sentinel sits only in the padding of each row (columns n .. ldc-1), which no rung may read or
  // write; beta = 0 and 0.5 so that a write there, even of zero, changes it.
  for (const float beta : {0.0f, 0.5f}) {
    const Problem p{.m = 13, .n = 11, .k = 7, .alpha = 1.0f, .beta = beta, .pad = 5};
    Floats c0 = random_floats(p.c_size(), 9);
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = p.n; j < p.ldc(); ++j) c0[static_cast<std::size_t>(i * p.ldc() + j)] = 7.0f;
    }
    expect_matches_reference(gemm(), p, c0);
  }
}

TEST_P(Rung, SplitOverTwoThreadsByColumnsAndByRows) {
  const ThreadCount threads(2);
  for (const bool tb : {false, true}) {
    SCOPED_TRACE(testing::Message() << "trans_b " << tb);
    expect_matches_reference(gemm(), {.ta = tb, .tb = tb, .m = 70, .n = 90, .k = 50, .pad = 1});
    expect_matches_reference(gemm(), {.ta = tb, .tb = tb, .m = 600, .n = 9, .k = 40, .pad = 2});
  }
}

// The message names the rung and the operand: "gemm_naive: lda = 3 is smaller than ...".
void expect_invalid(const std::function<void()>& call, const std::vector<std::string>& words) {
  try {
    call();
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    for (const auto& w : words)
      EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "expected std::invalid_argument, got: " << e.what();
  }
}

TEST_P(Rung, LeadingDimensionSmallerThanARowIsAClearError) {
  Floats a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
  expect_invalid(
      [&] { gemm()(false, false, 4, 5, 6, 1, a.data(), 3, b.data(), 5, 0, c.data(), 5); },
      {"lda", "3"});
  expect_invalid([&] { gemm()(false, true, 4, 5, 6, 1, a.data(), 6, b.data(), 5, 0, c.data(), 5); },
                 {"ldb", "5"});
  expect_invalid(
      [&] { gemm()(false, false, 4, 5, 6, 1, a.data(), 6, b.data(), 5, 0, c.data(), 4); },
      {"ldc", "4"});
  EXPECT_EQ(c, Floats(64, 0.0f)) << "nothing is written before the check";
}

TEST_P(Rung, NegativeSizeIsAClearError) {
  Floats a(8, 1.0f), b(8, 1.0f), c(8, 0.0f);
  expect_invalid(
      [&] { gemm()(false, false, -1, 2, 2, 1, a.data(), 2, b.data(), 2, 0, c.data(), 2); }, {"-1"});
}

INSTANTIATE_TEST_SUITE_P(Ladder, Rung, ::testing::ValuesIn(rungs()),
                         [](const auto& info) { return info.param.name; });

TEST(Blocks, ZeroBlockSizeIsAClearErrorOnEveryBlockedRung) {
  Floats a(16, 1.0f), b(16, 1.0f), c(16, 0.0f);
  const auto call = [&](auto f, BlockSizes blocks) {
    return [&, f, blocks] {
      f(false, false, 2, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2, blocks);
    };
  };
  expect_invalid(call(&accel::gemm_blocked, {0, 8, 8}), {"gemm_blocked", "mc"});
  expect_invalid(call(&accel::gemm_packed, {8, 0, 8}), {"gemm_packed", "kc"});
  expect_invalid(call(&accel::gemm_parallel, {8, 8, 0}), {"gemm_parallel", "nc"});
}

// ---- matmul -------------------------------------------------------------------------------------

Tensor random_tensor(const Shape& shape, unsigned seed) {
  int64_t count = 1;
  for (const int64_t d : shape) count *= d;
  return from_vector(random_floats(static_cast<std::size_t>(count), seed), shape);
}

TEST(Matmul, MatchesTheReferenceOnAContiguousAndATransposedOperand) {
  const Tensor a = random_tensor({23, 17}, 4), bt = random_tensor({29, 17}, 5);
  const Tensor b = bt.transpose(0, 1);  // (17, 29), a strided view
  const Tensor got = accel::matmul(a, b);
  ASSERT_EQ(got.shape(), (Shape{23, 29}));
  Floats want(23 * 29);
  const Floats av = a.to_vector(), bv = bt.to_vector();
  accel::reference_gemm(false, true, 23, 29, 17, 1.0f, av.data(), 17, bv.data(), 17, 0.0f,
                        want.data(), 29);
  const Floats g = got.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], want[i], 1e-4f) << i;
}

TEST(Matmul, MismatchedInnerDimensionsNameBothShapes) {
  expect_invalid([] { (void)accel::matmul(zeros({2, 3}), zeros({4, 5})); }, {"2, 3", "4, 5"});
}

// ---- im2col / col2im ----------------------------------------------------------------------------

kernels::ConvGeometry geometry(int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                               int64_t stride, int64_t padding) {
  kernels::ConvGeometry g;
  g.channels = c;
  g.height = h;
  g.width = w;
  g.kernel_h = kh;
  g.kernel_w = kw;
  g.stride = stride;
  g.padding = padding;
  return g;
}

std::vector<kernels::ConvGeometry> geometries() {
  return {geometry(3, 6, 5, 3, 3, 1, 1), geometry(2, 7, 8, 2, 3, 2, 1),
          geometry(1, 5, 5, 5, 5, 1, 2), geometry(4, 4, 6, 1, 1, 1, 0),
          geometry(2, 9, 7, 3, 2, 3, 0)};
}

std::string describe(const kernels::ConvGeometry& g) {
  return "C " + std::to_string(g.channels) + ", H x W " + std::to_string(g.height) + "x" +
         std::to_string(g.width) + ", kernel " + std::to_string(g.kernel_h) + "x" +
         std::to_string(g.kernel_w) + ", stride " + std::to_string(g.stride) + ", padding " +
         std::to_string(g.padding);
}

TEST(Im2col, MatchesTheFrameworksLayoutEntryForEntry) {
  constexpr int64_t count = 2;
  for (const auto& g : geometries()) {
    SCOPED_TRACE(describe(g));
    const Floats x = random_floats(static_cast<std::size_t>(count * g.image_size()), 6);
    const auto size = static_cast<std::size_t>(g.col_rows() * count * g.out_pixels());
    Floats got(size, kNaN), want(size);
    accel::im2col(x.data(), count, g, got.data());
    kernels::im2col(x.data(), count, g, want.data());
    EXPECT_EQ(got, want);
  }
}

TEST(Col2im, AccumulatesLikeTheFrameworks) {
  constexpr int64_t count = 2;
  for (const auto& g : geometries()) {
    SCOPED_TRACE(describe(g));
    const Floats cols =
        random_floats(static_cast<std::size_t>(g.col_rows() * count * g.out_pixels()), 7);
    const Floats start = random_floats(static_cast<std::size_t>(count * g.image_size()), 8);
    Floats got = start, want = start;
    accel::col2im(cols.data(), count, g, got.data());
    kernels::col2im(cols.data(), count, g, want.data());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f) << i;
  }
}

TEST(Col2im, IsTheAdjointOfIm2col) {
  constexpr int64_t count = 3;
  for (const auto& g : geometries()) {
    SCOPED_TRACE(describe(g));
    const auto image_size = static_cast<std::size_t>(count * g.image_size());
    const auto col_size = static_cast<std::size_t>(g.col_rows() * count * g.out_pixels());
    const Floats x = random_floats(image_size, 10), y = random_floats(col_size, 11);
    Floats cols(col_size), back(image_size, 0.0f);
    accel::im2col(x.data(), count, g, cols.data());
    accel::col2im(y.data(), count, g, back.data());
    double left = 0, right = 0;  // <im2col(x), y> and <x, col2im(y)>
    for (std::size_t i = 0; i < col_size; ++i) left += static_cast<double>(cols[i]) * y[i];
    for (std::size_t i = 0; i < image_size; ++i) right += static_cast<double>(x[i]) * back[i];
    EXPECT_NEAR(left, right, 1e-4 * (1.0 + std::abs(left)));
  }
}

// ---- convolution against module 09 --------------------------------------------------------------

// Within tol relative to the larger of 1 and the expected value.
void expect_tensors_near(const Tensor& got, const Tensor& want, float tol, const char* what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const Floats g = got.to_vector(), w = want.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) {
    ASSERT_NEAR(g[i], w[i], tol * std::max(1.0f, std::abs(w[i]))) << what << " at " << i;
  }
}

struct ConvCase {
  Shape x, w;
  int64_t stride, padding;
  bool bias;
};

std::vector<ConvCase> conv_cases() {
  return {{{3, 2, 7, 6}, {4, 2, 3, 3}, 1, 1, true},
          {{2, 3, 9, 8}, {5, 3, 3, 2}, 2, 1, true},
          {{2, 4, 5, 5}, {3, 4, 1, 1}, 1, 0, false},
          {{1, 1, 6, 6}, {2, 1, 5, 5}, 1, 2, true}};
}

TEST(Conv2d, ForwardMatchesModule09) {
  for (const auto& c : conv_cases()) {
    const Tensor x = random_tensor(c.x, 12), w = random_tensor(c.w, 13);
    const Tensor b = c.bias ? random_tensor({c.w[0]}, 14) : Tensor();
    expect_tensors_near(accel::conv2d_forward(x, w, b, c.stride, c.padding),
                        ops::conv2d(x, w, b, c.stride, c.padding), 1e-4f, "output");
  }
}

TEST(Conv2d, BackwardMatchesModule09) {
  for (const auto& c : conv_cases()) {
    const Tensor x = random_tensor(c.x, 15), w = random_tensor(c.w, 16);
    const Tensor y = ops::conv2d(x, w, Tensor(), c.stride, c.padding);
    const Tensor dy = random_tensor(y.shape(), 17);
    autograd::Conv2dBackward node(x, w, true, c.stride, c.padding);
    const std::vector<Tensor> want = node.backward(dy);
    const accel::Conv2dGrads got = accel::conv2d_backward(x, w, dy, c.stride, c.padding);
    expect_tensors_near(got.input, want[0], 1e-4f, "dX");
    expect_tensors_near(got.weight, want[1], 1e-4f, "dW");
    expect_tensors_near(got.bias, want[2], 1e-4f, "db");
  }
}

TEST(Conv2d, BackwardOfABatchLargerThanOneChunkSumsEveryImage) {
  // 40 images of 3x32x32 with a 3x3 kernel: a column matrix of 27 rows by 40 x 1024 pixels, more
  // than one chunk of a few MB at once in most implementations.
  const Tensor x = random_tensor({40, 3, 32, 32}, 18), w = random_tensor({2, 3, 3, 3}, 19);
  const Tensor dy = random_tensor({40, 2, 32, 32}, 20);
  autograd::Conv2dBackward node(x, w, true, 1, 1);
  const std::vector<Tensor> want = node.backward(dy);
  const accel::Conv2dGrads got = accel::conv2d_backward(x, w, dy, 1, 1);
  expect_tensors_near(got.weight, want[1], 1e-3f, "dW");
  expect_tensors_near(got.bias, want[2], 1e-3f, "db");
}

TEST(Conv2d, ChannelsThatDoNotMatchAreAClearError) {
  expect_invalid(
      [] {
        (void)accel::conv2d_forward(zeros({1, 3, 5, 5}), zeros({2, 4, 3, 3}), Tensor(), 1, 0);
      },
      {"1, 3, 5, 5", "2, 4, 3, 3"});
}

// ---- fused bias + ReLU --------------------------------------------------------------------------

TEST(BiasRelu, FusedMatchesTheDefinition) {
  constexpr int64_t rows = 3, cols = 5;
  const Floats x = random_floats(rows * cols, 21), bias{0.5f, -0.25f, 0.0f, 1.0f, -1.0f};
  Floats y(rows * cols, kNaN);
  accel::bias_relu_fused(x.data(), bias.data(), rows, cols, y.data());
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const auto e = static_cast<std::size_t>(i * cols + j);
      EXPECT_EQ(y[e], std::max(x[e] + bias[static_cast<std::size_t>(j)], 0.0f)) << i << ", " << j;
    }
  }
}

TEST(BiasRelu, FusedAndUnfusedAgreeBitForBit) {
  constexpr int64_t rows = 37, cols = 53;
  const Floats x = random_floats(rows * cols, 22), bias = random_floats(cols, 23);
  Floats fused(rows * cols, kNaN), unfused(rows * cols, kNaN);
  accel::bias_relu_fused(x.data(), bias.data(), rows, cols, fused.data());
  accel::bias_relu_unfused(x.data(), bias.data(), rows, cols, unfused.data());
  EXPECT_EQ(fused, unfused);
}

TEST(BiasRelu, BothFormsWorkInPlace) {
  constexpr int64_t rows = 4, cols = 6;
  const Floats x = random_floats(rows * cols, 24), bias = random_floats(cols, 25);
  Floats want(rows * cols);
  for (std::size_t e = 0; e < want.size(); ++e) want[e] = std::max(x[e] + bias[e % cols], 0.0f);
  Floats a = x, b = x;
  accel::bias_relu_fused(a.data(), bias.data(), rows, cols, a.data());
  accel::bias_relu_unfused(b.data(), bias.data(), rows, cols, b.data());
  EXPECT_EQ(a, want);
  EXPECT_EQ(b, want);
}

// ---- the switch ---------------------------------------------------------------------------------

// Selects the student's kernels for one test, restoring the framework's after.
class StudentKernels : public ::testing::Test {
 protected:
  void SetUp() override { kernels::set_kernel_source(kernels::KernelSource::student); }
  void TearDown() override { kernels::set_kernel_source(kernels::KernelSource::framework); }
};

TEST_F(StudentKernels, SgemmRunsTheStudentsBestRung) {
  // The framework's sgemm does not check leading dimensions; the student's rung 5 does, and says
  // so.
  Floats a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
  expect_invalid(
      [&] { kernels::sgemm(false, false, 4, 5, 6, 1, a.data(), 3, b.data(), 5, 0, c.data(), 5); },
      {"gemm_parallel", "lda"});
}

TEST_F(StudentKernels, MatmulAndConv2dAgreeWithTheFrameworksKernels) {
  const Tensor a = random_tensor({33, 47}, 26), b = random_tensor({47, 21}, 27);
  const Tensor x = random_tensor({2, 3, 8, 8}, 28), w = random_tensor({4, 3, 3, 3}, 29);
  const Tensor bias = random_tensor({4}, 30);
  const Tensor mm = ops::matmul(a, b), conv = ops::conv2d(x, w, bias, 1, 1);
  kernels::set_kernel_source(kernels::KernelSource::framework);
  expect_tensors_near(mm, ops::matmul(a, b), 1e-4f, "matmul");
  expect_tensors_near(conv, ops::conv2d(x, w, bias, 1, 1), 1e-4f, "conv2d");
}

}  // namespace
}  // namespace tinytorch
