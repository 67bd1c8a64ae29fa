// Hidden grading suite for module 09 (spatial). Never shipped to students.
//
// Oracles: PyTorch (expected.hpp, written by generate_expected.py from the same inputs, which the
// header also holds), a direct seven-loop convolution written here from the definition, and
// autograd::gradcheck (central differences) for every backward.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "expected.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/spatial.hpp"

namespace tinytorch {
namespace {

using Values = std::vector<float>;
using std::int64_t;

// |actual - expected| <= atol + rtol * |expected| element by element, naming the first miss.
::testing::AssertionResult Near(const Tensor& actual, const Values& expected, float rtol = 1e-4f,
                                float atol = 1e-5f) {
  if (!actual.defined()) return ::testing::AssertionFailure() << "tensor is undefined";
  const Values got = actual.to_vector();
  if (got.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "got " << got.size() << " elements, expected " << expected.size();
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - expected[i]) <= atol + rtol * std::fabs(expected[i]))) {
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", expected " << expected[i];
    }
  }
  return ::testing::AssertionSuccess();
}

Tensor make(const Values& v, const Shape& shape) {
  return from_vector(v, shape);
}

// The definition, seven loops: out[n][o][y][x] = b[o] + sum_{c,i,j} w[o][c][i][j] * in[n][c][y*s -
// p + i][x*s - p + j], with positions outside the input reading 0.
Tensor direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t s, int64_t p) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t o = w.size(0), kh = w.size(2), kw = w.size(3);
  const int64_t ho = (h + 2 * p - kh) / s + 1, wo = (wd + 2 * p - kw) / s + 1;
  Tensor out = zeros({n, o, ho, wo});
  for (int64_t in = 0; in < n; ++in)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t y = 0; y < ho; ++y)
        for (int64_t xx = 0; xx < wo; ++xx) {
          double acc = b.defined() ? b.at({oc}) : 0.0;
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t r = y * s - p + i, q = xx * s - p + j;
                if (r < 0 || r >= h || q < 0 || q >= wd) continue;
                acc += static_cast<double>(w.at({oc, ic, i, j})) * x.at({in, ic, r, q});
              }
          out.at({in, oc, y, xx}) = static_cast<float>(acc);
        }
  return out;
}

// L = sum(f(inputs) * r) for a fixed random r: each output element gets its own weight in the
// gradient (a plain sum would give batch norm's input a zero gradient whatever the code does).
std::function<Tensor(const std::vector<Tensor>&)> weighted(
    std::function<Tensor(const std::vector<Tensor>&)> f, const Shape& out_shape,
    std::uint64_t seed) {
  Generator gen(seed);
  Tensor r = randn(out_shape, gen);
  return [f = std::move(f), r](const std::vector<Tensor>& in) { return f(in) * r; };
}

Tensor leaf(const Shape& shape, std::uint64_t seed, float scale = 1.0f) {
  Generator gen(seed);
  Tensor t = randn(shape, gen);
  t.mul_(scale);
  return t.requires_grad_(true);
}

// The conv inputs of expected.hpp.
Tensor conv_x() {
  return make(expected::kConvX, expected::kConvXShape);
}
Tensor conv_w() {
  return make(expected::kConvW, expected::kConvWShape);
}
Tensor conv_b() {
  return make(expected::kConvB, expected::kConvBShape);
}
Tensor pool_x() {
  return make(expected::kPoolX, expected::kPoolXShape);
}
Tensor bn_x() {
  return make(expected::kBnX, expected::kBnXShape);
}
Tensor channel(const Values& v) {
  return make(v, {static_cast<int64_t>(v.size())});
}

// ---- conv_output_size -------------------------------------------------------------------------

// floor((32 + 2 - 3) / 1) + 1 = 32 ("same" padding); floor((7 + 0 - 3) / 2) + 1 = 3;
// floor((8 + 2 - 3) / 2) + 1 = 4; a 5-kernel on 5 inputs fits once.
TEST(ConvOutputSize, FollowsTheFloorFormula) {
  EXPECT_EQ(conv_output_size(32, 3, 1, 1), 32);
  EXPECT_EQ(conv_output_size(7, 3, 2, 0), 3);
  EXPECT_EQ(conv_output_size(8, 3, 2, 1), 4);
  EXPECT_EQ(conv_output_size(5, 5, 1, 0), 1);
  EXPECT_EQ(conv_output_size(6, 2, 2, 0), 3);
}

TEST(ConvOutputSize, RejectsAKernelLargerThanThePaddedInput) {
  EXPECT_THROW((void)conv_output_size(4, 7, 1, 1), std::invalid_argument);
}

TEST(ConvOutputSize, RejectsNonPositiveStrideAndNegativePadding) {
  EXPECT_THROW((void)conv_output_size(8, 3, 0, 0), std::invalid_argument);
  EXPECT_THROW((void)conv_output_size(8, 3, 1, -1), std::invalid_argument);
}

// ---- conv2d forward ---------------------------------------------------------------------------

TEST(Conv2dForward, MatchesTheDirectConvolutionStride1NoPadding) {
  Generator gen(1);
  const Tensor x = randn({2, 3, 6, 5}, gen), w = randn({4, 3, 3, 3}, gen), b = randn({4}, gen);
  const Tensor got = ops::conv2d(x, w, b, 1, 0);
  EXPECT_EQ(got.shape(), (Shape{2, 4, 4, 3}));
  EXPECT_TRUE(Near(got, direct_conv2d(x, w, b, 1, 0).to_vector()));
}

TEST(Conv2dForward, MatchesTheDirectConvolutionStride2Padding2) {
  Generator gen(2);
  const Tensor x = randn({3, 2, 7, 8}, gen), w = randn({5, 2, 3, 3}, gen), b = randn({5}, gen);
  const Tensor got = ops::conv2d(x, w, b, 2, 2);
  EXPECT_EQ(got.shape(), (Shape{3, 5, 5, 5}));
  EXPECT_TRUE(Near(got, direct_conv2d(x, w, b, 2, 2).to_vector()));
}

TEST(Conv2dForward, MatchesTheDirectConvolutionForAOneByOneKernel) {
  Generator gen(3);
  const Tensor x = randn({2, 4, 3, 3}, gen), w = randn({6, 4, 1, 1}, gen);
  EXPECT_TRUE(
      Near(ops::conv2d(x, w, Tensor(), 1, 0), direct_conv2d(x, w, Tensor(), 1, 0).to_vector()));
}

TEST(Conv2dForward, MatchesPyTorchWithBiasStride1Padding1) {
  const Tensor got = conv2d(conv_x(), conv_w(), conv_b(), 1, 1);
  EXPECT_EQ(got.shape(), expected::kConvS1P1Shape);
  EXPECT_TRUE(Near(got, expected::kConvS1P1));
}

TEST(Conv2dForward, MatchesPyTorchWithoutBiasStride2) {
  const Tensor got = conv2d(conv_x(), conv_w(), Tensor(), 2, 0);
  EXPECT_EQ(got.shape(), expected::kConvS2P0NoBiasShape);
  EXPECT_TRUE(Near(got, expected::kConvS2P0NoBias));
}

TEST(Conv2dForward, MatchesPyTorchForANonSquareKernel) {
  const Tensor w = make(expected::kConvW23, expected::kConvW23Shape);
  const Tensor got = conv2d(conv_x(), w, Tensor(), 2, 1);
  EXPECT_EQ(got.shape(), expected::kConvW23S2P1Shape);
  EXPECT_TRUE(Near(got, expected::kConvW23S2P1));
}

// A permuted view holds the same numbers in another memory order: the result must not change.
TEST(Conv2dForward, AcceptsANonContiguousInput) {
  const Tensor x = conv_x();
  const Tensor strided = x.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
  ASSERT_FALSE(strided.is_contiguous());
  EXPECT_TRUE(Near(ops::conv2d(strided, conv_w(), conv_b(), 1, 1), expected::kConvS1P1));
}

// A batch too large for one im2col buffer is convolved in pieces; every image of it must equal
// the same image convolved alone (64 channels of 32x32 with a 3x3 kernel: 590k columns per image).
TEST(Conv2dForward, ALargeBatchEqualsItsImagesConvolvedOneByOne) {
  Generator gen(4);
  const Tensor x = randn({20, 64, 32, 32}, gen), w = randn({8, 64, 3, 3}, gen);
  const Tensor b = randn({8}, gen);
  const Tensor all = ops::conv2d(x, w, b, 1, 1);
  ASSERT_EQ(all.shape(), (Shape{20, 8, 32, 32}));
  for (const int64_t n : {0, 7, 13, 19}) {
    Tensor image = empty({1, 64, 32, 32});
    const Values xs = x.to_vector();
    std::copy(xs.begin() + n * 65536, xs.begin() + (n + 1) * 65536, image.data().begin());
    const Values alone = ops::conv2d(image, w, b, 1, 1).to_vector();
    const Values vs = all.to_vector();
    const Tensor slice =
        from_vector(Values(vs.begin() + n * 8192, vs.begin() + (n + 1) * 8192), {1, 8, 32, 32});
    EXPECT_TRUE(Near(slice, alone, 1e-5f, 1e-5f)) << "image " << n;
  }
}

TEST(Conv2dForward, RejectsAChannelMismatch) {
  EXPECT_THROW((void)ops::conv2d(zeros({1, 3, 5, 5}), zeros({2, 4, 3, 3}), Tensor(), 1, 0),
               std::invalid_argument);
}

TEST(Conv2dForward, RejectsAThreeDimensionalInput) {
  EXPECT_THROW((void)ops::conv2d(zeros({3, 5, 5}), zeros({2, 3, 3, 3}), Tensor(), 1, 0),
               std::invalid_argument);
}

TEST(Conv2dForward, RejectsABiasOfTheWrongShape) {
  EXPECT_THROW((void)ops::conv2d(zeros({1, 3, 5, 5}), zeros({2, 3, 3, 3}), zeros({3}), 1, 0),
               std::invalid_argument);
}

TEST(Conv2dForward, RejectsZeroStrideAndAKernelLargerThanTheInput) {
  EXPECT_THROW((void)ops::conv2d(zeros({1, 3, 5, 5}), zeros({2, 3, 3, 3}), Tensor(), 0, 0),
               std::invalid_argument);
  EXPECT_THROW((void)ops::conv2d(zeros({1, 3, 2, 2}), zeros({2, 3, 5, 5}), Tensor(), 1, 0),
               std::invalid_argument);
}

// ---- conv2d backward --------------------------------------------------------------------------

TEST(Conv2dBackward, MatchesPyTorchGradientsForInputWeightAndBias) {
  Tensor x = conv_x().requires_grad_(true), w = conv_w().requires_grad_(true);
  Tensor b = conv_b().requires_grad_(true);
  const Tensor up = make(expected::kConvGradUpstream, expected::kConvGradUpstreamShape);
  (conv2d(x, w, b, 2, 1) * up).sum().backward();
  EXPECT_TRUE(Near(x.grad(), expected::kConvGradX));
  EXPECT_TRUE(Near(w.grad(), expected::kConvGradW));
  EXPECT_TRUE(Near(b.grad(), expected::kConvGradB));
}

TEST(Conv2dBackward, PassesGradcheckStride1Padding1) {
  const Tensor x = leaf({2, 2, 4, 5}, 11), w = leaf({3, 2, 3, 3}, 12, 0.5f), b = leaf({3}, 13);
  auto f = weighted([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 1); },
                    {2, 3, 4, 5}, 14);
  const auto result = autograd::gradcheck(f, {x, w, b});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(Conv2dBackward, PassesGradcheckStride2Padding1NonSquareKernel) {
  const Tensor x = leaf({2, 3, 5, 6}, 21), w = leaf({2, 3, 2, 3}, 22, 0.5f), b = leaf({2}, 23);
  auto f = weighted([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 1); },
                    {2, 2, 3, 3}, 24);
  const auto result = autograd::gradcheck(f, {x, w, b});
  EXPECT_TRUE(result.ok) << result.message;
}

// The first layer of a net convolves data, which needs no gradient: only the weight gets one.
TEST(Conv2dBackward, GivesNoGradientToAnInputThatDoesNotRequireIt) {
  const Tensor x = conv_x();
  Tensor w = conv_w().requires_grad_(true);
  const Tensor up = make(expected::kConvGradUpstream, expected::kConvGradUpstreamShape);
  (conv2d(x, w, conv_b(), 2, 1) * up).sum().backward();
  EXPECT_FALSE(x.grad().defined());
  EXPECT_TRUE(Near(w.grad(), expected::kConvGradW));
}

// Called directly, the node returns one gradient per input; without a bias the third is undefined.
TEST(Conv2dBackward, ReturnsAnUndefinedBiasGradientWithoutABias) {
  autograd::Conv2dBackward node(conv_x(), conv_w(), /*bias=*/false, 2, 1);
  const auto grads =
      node.backward(make(expected::kConvGradUpstream, expected::kConvGradUpstreamShape));
  ASSERT_EQ(grads.size(), 3u);
  EXPECT_TRUE(Near(grads[0], expected::kConvGradX));
  EXPECT_TRUE(Near(grads[1], expected::kConvGradW));
  EXPECT_FALSE(grads[2].defined());
}

// One image's slice (1, C, H, W) of a batch, copied.
Tensor image(const Tensor& batch, int64_t n) {
  Shape shape = batch.shape();
  const int64_t size = batch.numel() / shape[0];
  shape[0] = 1;
  const Values all = batch.to_vector();
  return from_vector(Values(all.begin() + n * size, all.begin() + (n + 1) * size), shape);
}

// L = sum_n sum(conv(x_n) * r_n) is a sum over the images, so dL/dW and dL/db are the sums of each
// image's own gradients, and dL/dx_n is image n's alone. 40 images: more than twice 16 threads, so
// however the images are split over the threads, every thread's share holds two or more of them
// (a gradient overwritten per image instead of summed fails on every machine, not only on those
// with fewer cores than images). 3 input channels: the im2col path, as a first layer has.
TEST(Conv2dBackward, GradientsOfABatchLargerThanTheThreadsAreSumsOverItsImages) {
  const int64_t batch = 40;
  Generator gen(91);
  const Tensor x = randn({batch, 3, 6, 6}, gen), w = randn({4, 3, 3, 3}, gen);
  const Tensor up = randn({batch, 4, 6, 6}, gen);
  autograd::Conv2dBackward node(x, w, /*bias=*/true, 1, 1);
  const auto grads = node.backward(up);
  ASSERT_EQ(grads.size(), 3u);
  std::vector<double> dw(static_cast<std::size_t>(w.numel()), 0.0), db(4, 0.0);
  const Values dx_all = grads[0].to_vector();
  for (int64_t n = 0; n < batch; ++n) {
    autograd::Conv2dBackward alone(image(x, n), w, /*bias=*/true, 1, 1);
    const auto g = alone.backward(image(up, n));
    const Values gw = g[1].to_vector(), gb = g[2].to_vector();
    for (std::size_t i = 0; i < dw.size(); ++i) dw[i] += gw[i];
    for (std::size_t i = 0; i < db.size(); ++i) db[i] += gb[i];
    const int64_t size = x.numel() / batch;
    const Tensor dx_n = from_vector(
        Values(dx_all.begin() + n * size, dx_all.begin() + (n + 1) * size), {1, 3, 6, 6});
    ASSERT_TRUE(Near(dx_n, g[0].to_vector(), 1e-4f, 1e-5f)) << "dx of image " << n;
  }
  EXPECT_TRUE(Near(grads[1], Values(dw.begin(), dw.end()), 1e-4f, 1e-4f));
  EXPECT_TRUE(Near(grads[2], Values(db.begin(), db.end()), 1e-4f, 1e-4f));
}

// ---- max pooling ------------------------------------------------------------------------------

TEST(MaxPool2d, MatchesPyTorchForKernel2) {
  const auto [out, indices] = ops::max_pool2d(pool_x(), 2, 2, 0);
  EXPECT_EQ(out.shape(), expected::kMaxPoolK2Shape);
  EXPECT_TRUE(Near(out, expected::kMaxPoolK2, 0.0f, 0.0f));
}

TEST(MaxPool2d, IndicesAreFlatPositionsInTheInputPlaneAsInPyTorch) {
  const auto r2 = ops::max_pool2d(pool_x(), 2, 2, 0);
  EXPECT_TRUE(Near(r2.indices, expected::kMaxPoolK2Indices, 0.0f, 0.0f));
  const auto r3 = ops::max_pool2d(pool_x(), 3, 2, 1);
  EXPECT_TRUE(Near(r3.indices, expected::kMaxPoolK3S2P1Indices, 0.0f, 0.0f));
}

TEST(MaxPool2d, MatchesPyTorchWithOverlappingPaddedWindows) {
  const Tensor out = max_pool2d(pool_x(), 3, 2, 1);
  EXPECT_EQ(out.shape(), expected::kMaxPoolK3S2P1Shape);
  EXPECT_TRUE(Near(out, expected::kMaxPoolK3S2P1, 0.0f, 0.0f));
}

// Padding is -infinity, not 0: an all-negative input keeps its negative maxima. For a 2x2 plane
// with kernel 2, stride 1, padding 1, each corner window holds exactly one input value.
TEST(MaxPool2d, PaddingNeverWinsOverNegativeValues) {
  const Tensor x = tensor({{{{-4.0f, -3.0f}, {-2.0f, -1.0f}}}});
  const Tensor out = max_pool2d(x, 2, 1, 1);
  ASSERT_EQ(out.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(out.to_vector(), (Values{-4, -3, -3, -2, -1, -1, -2, -1, -1}));
}

// On ties the first maximum in row-major order wins, as PyTorch's "val > maxval" scan keeps it: a
// constant 4x4 plane pooled by 2x2 windows gives each window's top-left position, (2 oy) * 4 + 2
// ox, and the gradient goes there only.
TEST(MaxPool2d, TiesGoToTheFirstMaximumOfTheWindow) {
  Tensor x = full({1, 1, 4, 4}, 0.5f).requires_grad_(true);
  const auto r = ops::max_pool2d(x, 2, 2, 0);
  EXPECT_EQ(r.indices.to_vector(), (Values{0, 2, 8, 10}));
  max_pool2d(x, 2, 2, 0).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (Values{1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0}));
}

TEST(MaxPool2d, StrideZeroMeansStrideEqualsKernel) {
  const Tensor out = max_pool2d(pool_x(), 2);
  EXPECT_EQ(out.shape(), expected::kMaxPoolK2Shape);
  EXPECT_TRUE(Near(out, expected::kMaxPoolK2, 0.0f, 0.0f));
}

TEST(MaxPool2d, RejectsPaddingOverHalfTheKernel) {
  EXPECT_THROW((void)ops::max_pool2d(pool_x(), 2, 2, 2), std::invalid_argument);
}

TEST(MaxPool2dBackward, RoutesEachGradientToItsMaximumAsPyTorch) {
  Tensor x = pool_x().requires_grad_(true);
  const Tensor up = make(expected::kMaxPoolGradUpstream, expected::kMaxPoolGradUpstreamShape);
  (max_pool2d(x, 3, 2, 1) * up).sum().backward();
  EXPECT_TRUE(Near(x.grad(), expected::kMaxPoolGradX));
}

// Distinct values 0.05 apart, shuffled: no two within eps = 1e-3, so the max never switches under
// the finite difference and the numeric gradient is exact.
TEST(MaxPool2dBackward, PassesGradcheck) {
  Generator gen(31);
  Values v(2 * 2 * 5 * 5);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.05f * static_cast<float>(i);
  for (std::size_t i = v.size() - 1; i > 0; --i) std::swap(v[i], v[gen.below(i + 1)]);
  const Tensor x = from_vector(v, {2, 2, 5, 5}).requires_grad_(true);
  auto f = weighted([](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 2, 1); },
                    {2, 2, 3, 3}, 32);
  const auto result = autograd::gradcheck(f, {x});
  EXPECT_TRUE(result.ok) << result.message;
}

// ---- average pooling --------------------------------------------------------------------------

TEST(AvgPool2d, MatchesPyTorchForKernel2) {
  const Tensor out = avg_pool2d(pool_x(), 2);
  EXPECT_EQ(out.shape(), expected::kAvgPoolK2Shape);
  EXPECT_TRUE(Near(out, expected::kAvgPoolK2));
}

// count_include_pad: a corner window of kernel 3, padding 1 covers 4 inputs and is divided by 9.
TEST(AvgPool2d, CountsPaddingInTheMeanAsPyTorch) {
  const Tensor out = ops::avg_pool2d(pool_x(), 3, 2, 1);
  EXPECT_EQ(out.shape(), expected::kAvgPoolK3S2P1Shape);
  EXPECT_TRUE(Near(out, expected::kAvgPoolK3S2P1));
}

TEST(AvgPool2d, RejectsANonFourDimensionalInput) {
  EXPECT_THROW((void)ops::avg_pool2d(zeros({4, 4}), 2, 2, 0), std::invalid_argument);
}

TEST(AvgPool2dBackward, MatchesPyTorch) {
  Tensor x = pool_x().requires_grad_(true);
  const Tensor up = make(expected::kAvgPoolGradUpstream, expected::kAvgPoolGradUpstreamShape);
  (avg_pool2d(x, 3, 2, 1) * up).sum().backward();
  EXPECT_TRUE(Near(x.grad(), expected::kAvgPoolGradX));
}

TEST(AvgPool2dBackward, PassesGradcheck) {
  const Tensor x = leaf({2, 2, 5, 4}, 41);
  auto f = weighted([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], 2, 1, 1); },
                    {2, 2, 6, 5}, 42);
  const auto result = autograd::gradcheck(f, {x});
  EXPECT_TRUE(result.ok) << result.message;
}

// ---- batch normalisation ----------------------------------------------------------------------

TEST(BatchNorm2d, TrainingNormalisesWithBatchStatisticsAsPyTorch) {
  const Tensor rm = channel(expected::kBnRunningMean), rv = channel(expected::kBnRunningVar);
  const Tensor out = batch_norm2d(bn_x(), channel(expected::kBnWeight), channel(expected::kBnBias),
                                  rm, rv, /*training=*/true, 0.1f, 1e-5f);
  EXPECT_TRUE(Near(out, expected::kBnTrainOut));
}

// running = 0.9 running + 0.1 batch, with the unbiased variance sum((x - mean)^2) / (M - 1).
TEST(BatchNorm2d, TrainingUpdatesRunningStatisticsWithTheUnbiasedVariance) {
  const Tensor rm = channel(expected::kBnRunningMean), rv = channel(expected::kBnRunningVar);
  (void)ops::batch_norm2d(bn_x(), channel(expected::kBnWeight), channel(expected::kBnBias), rm, rv,
                          true, 0.1f, 1e-5f);
  EXPECT_TRUE(Near(rm, expected::kBnTrainRunningMean));
  EXPECT_TRUE(Near(rv, expected::kBnTrainRunningVar));
}

TEST(BatchNorm2d, MomentumWeighsTheBatchStatistics) {
  const Tensor rm = channel(expected::kBnRunningMean), rv = channel(expected::kBnRunningVar);
  (void)batch_norm2d(bn_x(), channel(expected::kBnWeight), channel(expected::kBnBias), rm, rv, true,
                     0.3f, 1e-5f);
  EXPECT_TRUE(Near(rm, expected::kBnTrainMomentum03RunningMean));
  EXPECT_TRUE(Near(rv, expected::kBnTrainMomentum03RunningVar));
}

// Training normalises by the biased variance: the (unweighted) output has mean 0 and
// mean((y)^2) = var / (var + eps) per channel, which is 1 to within eps / var.
TEST(BatchNorm2d, TrainingOutputsZeroMeanAndUnitBiasedVariancePerChannel) {
  const auto r =
      ops::batch_norm2d(bn_x(), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1f, 1e-5f);
  const Tensor y = r.output.permute({1, 0, 2, 3}).reshape({3, -1});
  const Tensor mean = y.mean(1), sq = (y * y).mean(1);
  EXPECT_TRUE(Near(mean, {0.0f, 0.0f, 0.0f}, 0.0f, 1e-5f));
  EXPECT_TRUE(Near(sq, {1.0f, 1.0f, 1.0f}, 0.0f, 1e-3f));
}

TEST(BatchNorm2d, ReturnsTheBatchMeanAndInverseStdForBackward) {
  const auto r =
      ops::batch_norm2d(bn_x(), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1f, 1e-5f);
  // mean and 1/sqrt(var_biased + eps) of each channel, from the input itself.
  const Tensor y = bn_x().permute({1, 0, 2, 3}).reshape({3, -1});
  const Tensor mean = y.mean(1);
  const Tensor centred = y - mean.unsqueeze(1);
  const Values var = (centred * centred).mean(1).to_vector();
  Values invstd;
  for (float v : var) invstd.push_back(1.0f / std::sqrt(v + 1e-5f));
  EXPECT_TRUE(Near(r.mean, mean.to_vector()));
  EXPECT_TRUE(Near(r.invstd, invstd));
}

// A channel whose variance is of the order of eps, where eps's place decides the result:
// channel 0 holds +a and -a alternately with a = 2^-8, so its mean is exactly 0 and its biased
// variance exactly a^2 = 2^-16 (1.5e-5, next to eps = 1e-5). Then
//     invstd = 1 / sqrt(a^2 + eps) = 198.97...   (1 / (sqrt(a^2) + eps) would be 255.3...)
//     y = x * invstd = +-a / sqrt(a^2 + eps) = +-0.7772...
// Channel 1 is ordinary data. 20 images: more than 16 threads' worth of planes.
TEST(BatchNorm2d, TrainingInverseStdIsOneOverSqrtOfVariancePlusEpsForAVarianceNearEps) {
  const float a = 1.0f / 256.0f, eps = 1e-5f;
  Generator gen(71);
  Tensor x = randn({20, 2, 2, 2}, gen);
  for (int64_t n = 0; n < 20; ++n)
    for (int64_t i = 0; i < 4; ++i) x.at({n, 0, i / 2, i % 2}) = (n + i) % 2 == 0 ? a : -a;
  const auto r = ops::batch_norm2d(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1f, eps);
  const double invstd = 1.0 / std::sqrt(static_cast<double>(a) * a + eps);
  EXPECT_NEAR(r.invstd.to_vector()[0], invstd, 1e-4 * invstd);
  for (int64_t n = 0; n < 20; ++n) {
    for (int64_t i = 0; i < 4; ++i) {
      const double expected = x.at({n, 0, i / 2, i % 2}) * invstd;
      EXPECT_NEAR(r.output.at({n, 0, i / 2, i % 2}), expected, 1e-4) << "image " << n;
    }
  }
}

// Eval mode reads running_var = eps for channel 0: invstd = 1 / sqrt(2 eps) = 223.6...
// (1 / (sqrt(eps) + eps) would be 315.2...), and y = (x - running_mean) * invstd * w + b.
TEST(BatchNorm2d, EvalInverseStdIsOneOverSqrtOfRunningVariancePlusEps) {
  const float eps = 1e-5f;
  Generator gen(72);
  const Tensor x = randn({20, 2, 2, 2}, gen);
  const Values mean{0.25f, -0.5f}, var{eps, 2.5f}, weight{1.5f, 0.5f}, bias{0.1f, -0.2f};
  const auto r = ops::batch_norm2d(x, channel(weight), channel(bias), channel(mean), channel(var),
                                   /*training=*/false, 0.1f, eps);
  for (int64_t c = 0; c < 2; ++c) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    EXPECT_NEAR(r.invstd.to_vector()[c], invstd, 1e-4 * invstd) << "channel " << c;
    for (int64_t n = 0; n < 20; ++n) {
      const double expected = (x.at({n, c, 1, 0}) - mean[c]) * invstd * weight[c] + bias[c];
      EXPECT_NEAR(r.output.at({n, c, 1, 0}), expected, 1e-4 * std::fabs(expected) + 1e-4)
          << "image " << n << ", channel " << c;
    }
  }
}

TEST(BatchNorm2d, WithoutWeightAndBiasMatchesPyTorch) {
  const Tensor out = batch_norm2d(bn_x(), Tensor(), Tensor(), Tensor(), Tensor(), true);
  EXPECT_TRUE(Near(out, expected::kBnTrainNoAffineOut));
}

TEST(BatchNorm2d, EvalUsesRunningStatisticsAndLeavesThemUnchanged) {
  const Tensor rm = channel(expected::kBnRunningMean), rv = channel(expected::kBnRunningVar);
  const Tensor out = batch_norm2d(bn_x(), channel(expected::kBnWeight), channel(expected::kBnBias),
                                  rm, rv, /*training=*/false, 0.1f, 1e-5f);
  EXPECT_TRUE(Near(out, expected::kBnEvalOut));
  EXPECT_EQ(rm.to_vector(), expected::kBnRunningMean);
  EXPECT_EQ(rv.to_vector(), expected::kBnRunningVar);
}

TEST(BatchNorm2d, TrainingRejectsOneValuePerChannel) {
  EXPECT_THROW((void)ops::batch_norm2d(ones({1, 3, 1, 1}), Tensor(), Tensor(), Tensor(), Tensor(),
                                       true, 0.1f, 1e-5f),
               std::invalid_argument);
}

TEST(BatchNorm2d, RejectsParametersOfTheWrongLength) {
  EXPECT_THROW(
      (void)ops::batch_norm2d(bn_x(), ones({4}), zeros({4}), Tensor(), Tensor(), true, 0.1f, 1e-5f),
      std::invalid_argument);
}

TEST(BatchNorm2dBackward, TrainingMatchesPyTorch) {
  Tensor x = bn_x().requires_grad_(true);
  Tensor w = channel(expected::kBnWeight).requires_grad_(true);
  Tensor b = channel(expected::kBnBias).requires_grad_(true);
  const Tensor up = make(expected::kBnGradUpstream, expected::kBnGradUpstreamShape);
  (batch_norm2d(x, w, b, channel(expected::kBnRunningMean), channel(expected::kBnRunningVar),
                true) *
   up)
      .sum()
      .backward();
  EXPECT_TRUE(Near(x.grad(), expected::kBnTrainGradX, 1e-3f, 1e-4f));
  EXPECT_TRUE(Near(w.grad(), expected::kBnTrainGradWeight, 1e-3f, 1e-4f));
  EXPECT_TRUE(Near(b.grad(), expected::kBnTrainGradBias, 1e-4f, 1e-4f));
}

TEST(BatchNorm2dBackward, EvalMatchesPyTorch) {
  Tensor x = bn_x().requires_grad_(true);
  Tensor w = channel(expected::kBnWeight).requires_grad_(true);
  Tensor b = channel(expected::kBnBias).requires_grad_(true);
  const Tensor up = make(expected::kBnGradUpstream, expected::kBnGradUpstreamShape);
  (batch_norm2d(x, w, b, channel(expected::kBnRunningMean), channel(expected::kBnRunningVar),
                false) *
   up)
      .sum()
      .backward();
  EXPECT_TRUE(Near(x.grad(), expected::kBnEvalGradX, 1e-4f, 1e-5f));
  EXPECT_TRUE(Near(w.grad(), expected::kBnEvalGradWeight, 1e-3f, 1e-4f));
  EXPECT_TRUE(Near(b.grad(), expected::kBnEvalGradBias, 1e-4f, 1e-4f));
}

TEST(BatchNorm2dBackward, TrainingPassesGradcheck) {
  const Tensor x = leaf({3, 2, 2, 3}, 51), w = leaf({2}, 52), b = leaf({2}, 53);
  auto f = weighted(
      [](const std::vector<Tensor>& in) {
        return batch_norm2d(in[0], in[1], in[2], Tensor(), Tensor(), true, 0.1f, 1e-5f);
      },
      {3, 2, 2, 3}, 54);
  const auto result = autograd::gradcheck(f, {x, w, b}, 1e-3, 2e-3, 2e-2);
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(BatchNorm2dBackward, EvalPassesGradcheck) {
  const Tensor x = leaf({2, 2, 3, 2}, 61), w = leaf({2}, 62), b = leaf({2}, 63);
  const Tensor rm = from_vector({0.3f, -0.2f}, {2}), rv = from_vector({0.8f, 1.7f}, {2});
  auto f = weighted(
      [rm, rv](const std::vector<Tensor>& in) {
        return batch_norm2d(in[0], in[1], in[2], rm, rv, false, 0.1f, 1e-5f);
      },
      {2, 2, 3, 2}, 64);
  const auto result = autograd::gradcheck(f, {x, w, b});
  EXPECT_TRUE(result.ok) << result.message;
}

// ---- modules ----------------------------------------------------------------------------------

TEST(Conv2dModule, RegistersWeightAndBiasWithPyTorchShapes) {
  nn::Conv2d conv(3, 8, 5, 1, 2);
  const auto params = conv.named_parameters();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_EQ(params[0].second.shape(), (Shape{8, 3, 5, 5}));
  EXPECT_EQ(params[1].first, "bias");
  EXPECT_EQ(params[1].second.shape(), (Shape{8}));
  EXPECT_TRUE(params[0].second.requires_grad());
}

TEST(Conv2dModule, WithoutBiasHasOnlyAWeight) {
  nn::Conv2d conv(3, 8, 3, 1, 1, /*bias=*/false);
  const auto params = conv.named_parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_FALSE(conv.bias.defined());
}

// kaiming_uniform(a = sqrt(5)): bound = 1/sqrt(fan_in) = 1/sqrt(4 * 3 * 3) = 1/6 for weight and
// bias alike. 1152 uniform draws reach within 2% of the bound on both sides.
TEST(Conv2dModule, InitialisesUniformlyWithinOneOverSqrtFanIn) {
  Generator gen(5);
  nn::Conv2d conv(4, 32, 3, 1, 1, true, gen);
  const float bound = 1.0f / 6.0f;
  float lo = 1.0f, hi = -1.0f;
  for (float v : conv.weight.to_vector()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_GE(lo, -bound);
  EXPECT_LE(hi, bound);
  EXPECT_LT(lo, -0.98f * bound);
  EXPECT_GT(hi, 0.98f * bound);
  for (float v : conv.bias.to_vector()) EXPECT_LE(std::fabs(v), bound);
}

// The same seed gives the same layer: weight first, then bias, from the one generator.
TEST(Conv2dModule, IsReproducibleFromTheGenerator) {
  Generator g1(7), g2(7);
  nn::Conv2d a(2, 3, 3, 1, 0, true, g1), b(2, 3, 3, 1, 0, true, g2);
  EXPECT_EQ(a.weight.to_vector(), b.weight.to_vector());
  EXPECT_EQ(a.bias.to_vector(), b.bias.to_vector());
  EXPECT_NE(a.weight.to_vector(), nn::Conv2d(2, 3, 3, 1, 0, true, g1).weight.to_vector());
}

TEST(Conv2dModule, ForwardUsesItsStrideAndPadding) {
  nn::Conv2d conv(3, 4, 3, 2, 1);
  const Tensor x = conv_x();
  const Tensor out = conv.forward(x);
  EXPECT_EQ(out.shape(), (Shape{2, 4, 3, 3}));
  EXPECT_TRUE(Near(out, direct_conv2d(x, conv.weight, conv.bias, 2, 1).to_vector()));
}

TEST(Conv2dModule, RejectsNonPositiveChannels) {
  EXPECT_THROW(nn::Conv2d(0, 4, 3), std::invalid_argument);
}

TEST(PoolingModules, HaveNoParametersAndDefaultTheStrideToTheKernel) {
  nn::MaxPool2d mp(2);
  nn::AvgPool2d ap(3);
  EXPECT_EQ(mp.stride, 2);
  EXPECT_EQ(ap.stride, 3);
  EXPECT_TRUE(mp.named_parameters().empty());
  EXPECT_TRUE(ap.named_parameters().empty());
  EXPECT_TRUE(Near(mp.forward(pool_x()), expected::kMaxPoolK2, 0.0f, 0.0f));
  EXPECT_TRUE(Near(nn::AvgPool2d(2).forward(pool_x()), expected::kAvgPoolK2));
}

TEST(BatchNorm2dModule, RegistersAffineParametersAndRunningBuffers) {
  nn::BatchNorm2d bn(5);
  const auto params = bn.named_parameters();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_EQ(params[1].first, "bias");
  EXPECT_EQ(params[0].second.to_vector(), Values(5, 1.0f));
  EXPECT_EQ(params[1].second.to_vector(), Values(5, 0.0f));
  const auto buffers = bn.named_buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].first, "running_mean");
  EXPECT_EQ(buffers[1].first, "running_var");
  EXPECT_EQ(buffers[0].second.to_vector(), Values(5, 0.0f));
  EXPECT_EQ(buffers[1].second.to_vector(), Values(5, 1.0f));
  EXPECT_FALSE(buffers[0].second.requires_grad());
}

// A Sequential's buffers are named like its parameters: "1.running_mean" is the checkpoint key.
TEST(BatchNorm2dModule, BuffersGetDottedNamesInsideASequential) {
  nn::Sequential net(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2));
  const auto buffers = net.named_buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].first, "1.running_mean");
  EXPECT_EQ(buffers[1].first, "1.running_var");
}

TEST(BatchNorm2dModule, TrainModeUpdatesTheBuffersAndEvalModeReadsThem) {
  nn::BatchNorm2d bn(3, 1e-5f, 0.1f);
  bn.running_mean.copy_(channel(expected::kBnRunningMean));
  bn.running_var.copy_(channel(expected::kBnRunningVar));
  bn.weight.detach().copy_(channel(expected::kBnWeight));
  bn.bias.detach().copy_(channel(expected::kBnBias));
  bn.eval();
  EXPECT_TRUE(Near(bn.forward(bn_x()), expected::kBnEvalOut));
  EXPECT_EQ(bn.running_mean.to_vector(), expected::kBnRunningMean);
  bn.train();
  EXPECT_TRUE(Near(bn.forward(bn_x()), expected::kBnTrainOut));
  EXPECT_TRUE(Near(bn.running_mean, expected::kBnTrainRunningMean));
  EXPECT_TRUE(Near(bn.running_var, expected::kBnTrainRunningVar));
}

// End to end: a small CNN's loss reaches every parameter, and one Adam-free SGD step on the
// gradient lowers the loss (the gradients point downhill).
TEST(SpatialNetwork, BackpropagatesThroughConvBatchNormPoolingIntoEveryParameter) {
  Generator gen(8);
  nn::Sequential net(nn::Conv2d(2, 4, 3, 1, 1, true, gen), nn::BatchNorm2d(4), nn::ReLU(),
                     nn::MaxPool2d(2), nn::Conv2d(4, 4, 3, 1, 1, true, gen), nn::AvgPool2d(2),
                     nn::Flatten(), nn::Linear(16, 3, true, nn::Init::kaiming_uniform, gen));
  const Tensor x = randn({6, 2, 8, 8}, gen);
  const Tensor y = from_vector({0, 1, 2, 0, 1, 2}, {6});
  Tensor loss = cross_entropy(net.forward(x), y);
  loss.backward();
  for (const auto& [name, p] : net.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    float norm = 0.0f;
    for (float g : p.grad().to_vector()) norm += g * g;
    EXPECT_GT(norm, 0.0f) << name;
  }
  {
    autograd::NoGradGuard no_grad;
    for (const Tensor& p : net.parameters()) p.detach().add_(p.grad(), -0.05f);
  }
  EXPECT_LT(cross_entropy(net.forward(x), y).item(), loss.item());
}

}  // namespace
}  // namespace tinytorch
