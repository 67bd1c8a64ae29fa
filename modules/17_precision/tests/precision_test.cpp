// Visible tests for module 17 (precision): run them with `tito module test 17`.
// Each test names the behaviour it checks; the expected values are derived in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "tinytorch/quantization.hpp"

namespace tinytorch::quant {
namespace {

QParams per_tensor(float scale, std::int32_t zero, QDType dtype) {
  QParams p;
  p.scale = {scale};
  p.zero_point = {zero};
  p.dtype = dtype;
  return p;
}

// [-1, 3] onto [0, 255]: scale = 4 / 255; real -1 must land on 0, so zero point = -(-1 / scale)
// = 63.75, rounded to 64.
TEST(ChooseQParams, AsymmetricRangeGivesScaleAndZeroPoint) {
  const QParams p = choose_qparams(-1.0f, 3.0f, QDType::quint8, false);
  EXPECT_FLOAT_EQ(p.scale[0], 4.0f / 255.0f);
  EXPECT_EQ(p.zero_point[0], 64);
}

// Symmetric int8: max |x| = 2 maps to 127.5 steps, the zero point is 0.
TEST(ChooseQParams, SymmetricRangeHasZeroPointZero) {
  const QParams p = choose_qparams(-2.0f, 1.0f, QDType::qint8, true);
  EXPECT_FLOAT_EQ(p.scale[0], 2.0f / 127.5f);
  EXPECT_EQ(p.zero_point[0], 0);
}

// Scale 0.5, zero point 10: 0.75 / 0.5 = 1.5 rounds to 2 (ties to even), 1.25 / 0.5 = 2.5 also
// to 2; 200 / 0.5 + 10 = 410 saturates at 255, -20 / 0.5 + 10 = -30 at 0.
TEST(Quantize, RoundsHalfToEvenAndSaturates) {
  const QTensor q = quantize(from_vector({0.75f, 1.25f, 200.0f, -20.0f}, {4}),
                             per_tensor(0.5f, 10, QDType::quint8));
  EXPECT_EQ(q.int_at(0), 12);
  EXPECT_EQ(q.int_at(1), 12);
  EXPECT_EQ(q.int_at(2), 255);
  EXPECT_EQ(q.int_at(3), 0);
}

// (12 - 10) * 0.5 = 1: inside the range the round trip is off by at most half a scale.
TEST(Dequantize, InvertsQuantizeWithinHalfAScale) {
  const QParams p = per_tensor(0.5f, 10, QDType::quint8);
  const std::vector<float> back =
      dequantize(quantize(from_vector({0.8f, -1.1f}, {2}), p)).to_vector();
  EXPECT_FLOAT_EQ(back[0], 1.0f);
  EXPECT_FLOAT_EQ(back[1], -1.0f);
}

// Row 0 spans [-2, 1], row 1 [-0.1, 0.2]: each gets its own scale max|w| / 127.5.
TEST(ChooseQParamsPerChannel, GivesEachRowItsOwnScale) {
  const QParams p = choose_qparams_per_channel(
      from_vector({1.0f, -2.0f, 0.5f, 0.1f, 0.2f, -0.1f}, {2, 3}), 0, QDType::qint8, true);
  ASSERT_EQ(p.scale.size(), 2u);
  EXPECT_FLOAT_EQ(p.scale[0], 2.0f / 127.5f);
  EXPECT_FLOAT_EQ(p.scale[1], 0.2f / 127.5f);
}

TEST(Quantize, RejectsNonFiniteValues) {
  EXPECT_THROW(
      (void)quantize(from_vector({std::nanf("")}, {1}), per_tensor(1.0f, 0, QDType::qint8)),
      std::invalid_argument);
}

TEST(Quantize, RejectsAScaleOfZero) {
  EXPECT_THROW((void)quantize(ones({2}), per_tensor(0.0f, 0, QDType::qint8)),
               std::invalid_argument);
}

TEST(MinMaxObserver, CoversEveryBatch) {
  MinMaxObserver o;
  o.observe(from_vector({0.0f, 1.0f}, {2}));
  o.observe(from_vector({-3.0f, 0.5f}, {2}));
  EXPECT_EQ(o.min(), -3.0f);
  EXPECT_EQ(o.max(), 1.0f);
}

// 0, 1, ..., 99 and an outlier 10000: at the 99th percentile, rank 0.99 * 100 = 99 is the value 99.
TEST(PercentileObserver, IgnoresARareOutlier) {
  std::vector<float> v;
  for (int i = 0; i < 100; ++i) v.push_back(static_cast<float>(i));
  v.push_back(10000.0f);
  PercentileObserver o(99.0);
  o.observe(from_vector(v, {101}));
  EXPECT_FLOAT_EQ(o.range().second, 99.0f);
}

// 7 * 0.5 = 3.5 rounds to 4; with zero point 10 the integer is 14.
TEST(Requantize, RoundsAndAddsTheZeroPoint) {
  EXPECT_EQ(requantize(7, 0.5f, 10, 0), 14);
}

// A Linear(2, 1) with weight (1, -1), bias 0.5, on x = (1, 0.25): y = 1.25. Quantized, the
// result must be within a couple of output steps of the float result.
TEST(QuantizedLinear, ComputesTheFloatLayerInIntegers) {
  Generator g(0);
  nn::Linear layer(2, 1, true, nn::Init::kaiming_uniform, g);
  layer.weight.copy_(from_vector({1.0f, -1.0f}, {1, 2}));
  layer.bias.copy_(from_vector({0.5f}, {1}));
  const QParams in = choose_qparams(-1.0f, 1.0f, QDType::quint8, false);
  const QParams out = choose_qparams(-2.0f, 2.0f, QDType::quint8, false);
  const auto q = QuantizedLinear::from_float(layer, in, out);
  const Tensor y = dequantize(q.forward(quantize(from_vector({1.0f, 0.25f}, {1, 2}), in)));
  EXPECT_NEAR(y.to_vector()[0], 1.25f, 2 * out.scale[0]);
}

}  // namespace
}  // namespace tinytorch::quant
