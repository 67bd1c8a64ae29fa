// Hidden grading suite for module 17 (precision). Never shipped to students.
//
// Oracles:
//  * quantize / dequantize / choose_qparams against PyTorch (expected.hpp, generate_expected.py;
//    hand-derived in its comments): torch.quantize_per_tensor, quantize_per_channel and
//    MinMaxObserver.calculate_qparams, including ties (half to even) and saturation.
//  * The integer layers against their definition written here, one integer at a time in int64:
//    sum_k (x_k - z_x) w_jk + bias_q_j, requantized by the header's formula; and against the float
//    layer within the quantization error.
//  * The whole-model conversion and its file: outputs identical after save and load; a file with
//    the wrong dtype or shape, truncated or missing, is an error naming it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "expected.hpp"
#include "tinytorch/quantization.hpp"
#include "tinytorch/quantized_model.hpp"

namespace tinytorch::quant {
namespace {

namespace fs = std::filesystem;

QParams per_tensor(float scale, std::int32_t zero, QDType dtype) {
  QParams p;
  p.scale = {scale};
  p.zero_point = {zero};
  p.dtype = dtype;
  return p;
}

std::vector<std::int32_t> ints_of(const QTensor& q) {
  std::vector<std::int32_t> v;
  for (std::int64_t i = 0; i < q.numel(); ++i) v.push_back(q.int_at(i));
  return v;
}

void expect_qparams(const QParams& p, float scale, std::int32_t zero) {
  ASSERT_EQ(p.scale.size(), 1u);
  ASSERT_EQ(p.zero_point.size(), 1u);
  EXPECT_FLOAT_EQ(p.scale[0], scale);
  EXPECT_EQ(p.zero_point[0], zero);
  EXPECT_FALSE(p.per_channel());
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- choose_qparams
// ------------------------------------------------------------------------------

TEST(ChooseQParams, AsymmetricQuint8MatchesTorch) {
  const QParams p = choose_qparams(-1.0f, 3.0f, QDType::quint8, false);
  expect_qparams(p, expected::kAsymQuint8Scale[0], expected::kAsymQuint8Zero[0]);
  EXPECT_EQ(p.dtype, QDType::quint8);
}

TEST(ChooseQParams, AsymmetricQint8ShiftsTheZeroPointByQmin) {
  expect_qparams(choose_qparams(-1.0f, 3.0f, QDType::qint8, false), expected::kAsymQint8Scale[0],
                 expected::kAsymQint8Zero[0]);
}

TEST(ChooseQParams, PositiveRangeIsWidenedToContainZero) {
  expect_qparams(choose_qparams(0.5f, 2.0f, QDType::quint8, false), expected::kPositiveOnlyScale[0],
                 expected::kPositiveOnlyZero[0]);
}

TEST(ChooseQParams, NegativeRangeIsWidenedToContainZero) {
  expect_qparams(choose_qparams(-3.0f, -1.0f, QDType::quint8, false),
                 expected::kNegativeOnlyScale[0], expected::kNegativeOnlyZero[0]);
}

TEST(ChooseQParams, SymmetricQint8UsesHalfTheRangeAndZeroPointZero) {
  expect_qparams(choose_qparams(-2.0f, 1.0f, QDType::qint8, true), expected::kSymQint8Scale[0],
                 expected::kSymQint8Zero[0]);
}

TEST(ChooseQParams, SymmetricQuint8CentresTheZeroPointAt128) {
  expect_qparams(choose_qparams(-2.0f, 1.0f, QDType::quint8, true), expected::kSymQuint8Scale[0],
                 expected::kSymQuint8Zero[0]);
}

TEST(ChooseQParams, AllZeroRangeGetsEpsilonScale) {
  expect_qparams(choose_qparams(0.0f, 0.0f, QDType::quint8, false), expected::kAllZeroScale[0],
                 expected::kAllZeroZero[0]);
}

TEST(ChooseQParams, RejectsMinAboveMaxAndNonFiniteBounds) {
  EXPECT_THROW((void)choose_qparams(2.0f, 1.0f, QDType::quint8, false), std::invalid_argument);
  EXPECT_THROW((void)choose_qparams(std::nanf(""), 1.0f, QDType::quint8, false),
               std::invalid_argument);
  EXPECT_THROW(
      (void)choose_qparams(0.0f, std::numeric_limits<float>::infinity(), QDType::qint8, true),
      std::invalid_argument);
}

TEST(ChooseQParamsPerChannel, EachRowGetsItsOwnSymmetricScale) {
  const Tensor w = from_vector({1.0f, -2.0f, 0.5f, 0.1f, 0.2f, -0.05f}, {2, 3});
  const QParams p = choose_qparams_per_channel(w, 0, QDType::qint8, true);
  EXPECT_TRUE(p.per_channel());
  EXPECT_EQ(p.axis, 0);
  ASSERT_EQ(p.scale.size(), 2u);
  EXPECT_FLOAT_EQ(p.scale[0], 2.0f / 127.5f);
  EXPECT_FLOAT_EQ(p.scale[1], 0.2f / 127.5f);
  EXPECT_EQ(p.zero_point, (std::vector<std::int32_t>{0, 0}));
}

TEST(ChooseQParamsPerChannel, AlongAxisOneTakesColumns) {
  const Tensor w = from_vector({1.0f, -4.0f, -3.0f, 0.5f}, {2, 2});
  const QParams p = choose_qparams_per_channel(w, 1, QDType::quint8, false);
  ASSERT_EQ(p.scale.size(), 2u);
  EXPECT_FLOAT_EQ(p.scale[0], 4.0f / 255.0f);  // column 0: [-3, 1]
  EXPECT_FLOAT_EQ(p.scale[1], 4.5f / 255.0f);  // column 1: [-4, 0.5]
  EXPECT_EQ(p.axis, 1);
}

TEST(ChooseQParamsPerChannel, RejectsBadAxisEmptyAndNonFinite) {
  EXPECT_THROW((void)choose_qparams_per_channel(ones({2, 3}), 2, QDType::qint8, true),
               std::invalid_argument);
  EXPECT_THROW((void)choose_qparams_per_channel(empty({0, 3}), 0, QDType::qint8, true),
               std::invalid_argument);
  EXPECT_THROW((void)choose_qparams_per_channel(from_vector({1.0f, std::nanf("")}, {2}), 0,
                                                QDType::qint8, true),
               std::invalid_argument);
}

// ---- quantize / dequantize
// -----------------------------------------------------------------------

TEST(Quantize, PerTensorRoundsHalfToEvenAndSaturatesLikeTorch) {
  const QTensor q =
      quantize(from_vector(expected::kPerTensorX, {9}), per_tensor(0.5f, 10, QDType::quint8));
  EXPECT_EQ(ints_of(q), expected::kPerTensorQ);
  EXPECT_EQ(q.shape(), (Shape{9}));
}

TEST(Quantize, SymmetricQint8SaturatesAtMinus128And127) {
  const QTensor q =
      quantize(from_vector(expected::kSymmetricX, {6}), per_tensor(0.25f, 0, QDType::qint8));
  EXPECT_EQ(ints_of(q), expected::kSymmetricQ);
}

TEST(Quantize, PerChannelUsesEachRowsScaleAndZeroPoint) {
  QParams p{{0.5f, 0.125f}, {0, -3}, 0, QDType::qint8};
  const QTensor q = quantize(from_vector(expected::kPerChannelX, {2, 3}), p);
  EXPECT_EQ(ints_of(q), expected::kPerChannelQ);
}

TEST(Quantize, PerChannelAlongAxisOneUsesEachColumnsScale) {
  QParams p{{1.0f, 0.5f}, {0, 0}, 1, QDType::qint8};
  EXPECT_EQ(ints_of(quantize(from_vector(expected::kAxis1X, {2, 2}), p)), expected::kAxis1Q);
}

TEST(Quantize, ReadsNonContiguousInput) {
  const Tensor x =
      from_vector({1.5f, 2.5f, 1.5f, 2.5f}, {2, 2}).transpose(0, 1);  // [[1.5,1.5],[2.5,2.5]]
  QParams p{{1.0f, 0.5f}, {0, 0}, 1, QDType::qint8};
  EXPECT_EQ(ints_of(quantize(x, p)), expected::kAxis1Q);
}

TEST(Quantize, LeavesTheFloatTensorUnchanged) {
  const Tensor x = from_vector(expected::kPerTensorX, {9});
  (void)quantize(x, per_tensor(0.5f, 10, QDType::quint8));
  EXPECT_EQ(x.to_vector(), expected::kPerTensorX);
}

TEST(Quantize, RejectsAnEmptyTensor) {
  EXPECT_THROW((void)quantize(empty({0}), per_tensor(1.0f, 0, QDType::qint8)),
               std::invalid_argument);
}

TEST(Quantize, RejectsNaNNamingItsIndex) {
  const std::string message = message_of([] {
    (void)quantize(from_vector({1.0f, 2.0f, std::nanf("")}, {3}),
                   per_tensor(1.0f, 0, QDType::qint8));
  });
  EXPECT_NE(message.find("2"), std::string::npos) << message;
  EXPECT_NE(message.find("finite"), std::string::npos) << message;
}

TEST(Quantize, RejectsInfinity) {
  EXPECT_THROW((void)quantize(from_vector({-std::numeric_limits<float>::infinity()}, {1}),
                              per_tensor(1.0f, 0, QDType::qint8)),
               std::invalid_argument);
}

TEST(Quantize, RejectsAScaleOfZero) {
  const std::string message =
      message_of([] { (void)quantize(ones({3}), per_tensor(0.0f, 0, QDType::quint8)); });
  EXPECT_NE(message.find("scale"), std::string::npos) << message;
}

TEST(Quantize, RejectsAScaleCountThatDoesNotMatchTheChannels) {
  QParams p{{1.0f, 1.0f}, {0, 0}, 0, QDType::qint8};
  EXPECT_THROW((void)quantize(ones({3, 2}), p), std::invalid_argument);
}

TEST(Dequantize, PerTensorIsScaleTimesQMinusZeroPoint) {
  const QTensor q =
      quantize(from_vector(expected::kPerTensorX, {9}), per_tensor(0.5f, 10, QDType::quint8));
  EXPECT_EQ(dequantize(q).to_vector(), expected::kPerTensorDequantized);
}

TEST(Dequantize, PerChannelUsesEachRowsParams) {
  QParams p{{0.5f, 0.125f}, {0, -3}, 0, QDType::qint8};
  const Tensor back = dequantize(quantize(from_vector(expected::kPerChannelX, {2, 3}), p));
  EXPECT_EQ(back.to_vector(), expected::kPerChannelDequantized);
  EXPECT_EQ(back.shape(), (Shape{2, 3}));
}

TEST(Dequantize, RoundTripErrorIsAtMostHalfAScaleInsideTheRange) {
  Generator g(5);
  const Tensor x = rand({1000}, g) * 6.0f - 2.0f;  // [-2, 4)
  const QParams p = choose_qparams(-2.0f, 4.0f, QDType::quint8, false);
  const std::vector<float> back = dequantize(quantize(x, p)).to_vector();
  const std::vector<float> orig = x.to_vector();
  for (std::size_t i = 0; i < orig.size(); ++i) {
    ASSERT_LE(std::abs(back[i] - orig[i]), p.scale[0] * 0.5001f) << "element " << i;
  }
}

// ---- observers
// -----------------------------------------------------------------------------------

TEST(MinMaxObserver, TracksTheRangeAcrossBatches) {
  MinMaxObserver o(QDType::quint8, false);
  o.observe(from_vector({0.5f, 2.0f}, {2}));
  o.observe(from_vector({-1.0f, 3.0f, 1.0f}, {3}));
  EXPECT_EQ(o.min(), -1.0f);
  EXPECT_EQ(o.max(), 3.0f);
  expect_qparams(o.qparams(), expected::kAsymQuint8Scale[0], expected::kAsymQuint8Zero[0]);
}

TEST(MinMaxObserver, QParamsBeforeAnyBatchIsALogicError) {
  MinMaxObserver o;
  EXPECT_THROW((void)o.qparams(), std::logic_error);
}

TEST(MinMaxObserver, RejectsEmptyAndNonFiniteBatches) {
  MinMaxObserver o;
  EXPECT_THROW(o.observe(empty({0})), std::invalid_argument);
  EXPECT_THROW(o.observe(from_vector({std::nanf("")}, {1})), std::invalid_argument);
}

// 1..100 and one outlier, 1000: the 99th percentile at rank 0.99 * 100 = 99 is 100 (sorted index
// 99), the 1st at rank 1 is 2. Min/max would stretch the scale to 1000 / 255.
TEST(PercentileObserver, ClipsAnOutlierThatMinMaxKeeps) {
  std::vector<float> values;
  for (int i = 1; i <= 100; ++i) values.push_back(static_cast<float>(i));
  values.push_back(1000.0f);
  PercentileObserver o(99.0, QDType::quint8, false);
  o.observe(from_vector(values, {101}));
  const auto [lo, hi] = o.range();
  EXPECT_FLOAT_EQ(lo, 2.0f);
  EXPECT_FLOAT_EQ(hi, 100.0f);
  expect_qparams(o.qparams(), 100.0f / 255.0f, 0);
}

// Two values 0 and 10: rank 0.75 * 1 = 0.75 -> 7.5, rank 0.25 -> 2.5 (numpy.percentile).
TEST(PercentileObserver, InterpolatesLinearlyBetweenRanks) {
  PercentileObserver o(75.0);
  o.observe(from_vector({10.0f}, {1}));
  o.observe(from_vector({0.0f}, {1}));
  const auto [lo, hi] = o.range();
  EXPECT_FLOAT_EQ(lo, 2.5f);
  EXPECT_FLOAT_EQ(hi, 7.5f);
}

TEST(PercentileObserver, HundredIsTheMinMaxRange) {
  PercentileObserver o(100.0);
  o.observe(from_vector({-1.0f, 0.0f, 3.0f}, {3}));
  expect_qparams(o.qparams(), expected::kAsymQuint8Scale[0], expected::kAsymQuint8Zero[0]);
}

TEST(PercentileObserver, RejectsAPercentileOutsideFiftyToHundred) {
  EXPECT_THROW(PercentileObserver(50.0), std::invalid_argument);
  EXPECT_THROW(PercentileObserver(100.5), std::invalid_argument);
}

TEST(PercentileObserver, RejectsNonFiniteValuesAndEmptyQueries) {
  PercentileObserver o(99.0);
  EXPECT_THROW(o.observe(from_vector({std::numeric_limits<float>::infinity()}, {1})),
               std::invalid_argument);
  EXPECT_THROW((void)o.range(), std::logic_error);
}

// ---- requantize
// ----------------------------------------------------------------------------------

TEST(Requantize, RoundsHalfToEven) {
  EXPECT_EQ(requantize(5, 0.5f, 10, 0), 12);   // 2.5 -> 2
  EXPECT_EQ(requantize(7, 0.5f, 10, 0), 14);   // 3.5 -> 4
  EXPECT_EQ(requantize(-5, 0.5f, 10, 0), 8);   // -2.5 -> -2
  EXPECT_EQ(requantize(3, 0.25f, 10, 0), 11);  // 0.75 -> 1
}

TEST(Requantize, SaturatesAtZeroAnd255) {
  EXPECT_EQ(requantize(100000, 1.0f, 5, 0), 255);
  EXPECT_EQ(requantize(-100000, 1.0f, 5, 0), 0);
}

TEST(Requantize, FusedReluClampsAtTheZeroPoint) {
  EXPECT_EQ(requantize(-3, 1.0f, 10, 10), 10);
  EXPECT_EQ(requantize(3, 1.0f, 10, 10), 13);
}

// ---- QuantizedLinear
// -----------------------------------------------------------------------------

nn::Linear make_linear(std::int64_t in, std::int64_t out, bool bias, std::uint64_t seed) {
  Generator g(seed);
  nn::Linear layer(in, out, bias, nn::Init::kaiming_uniform, g);
  if (bias) layer.bias.copy_(rand({out}, g) - 0.5f);
  // Row 1 (when there is one) ten times larger: per-channel scales must keep row 0 fine-grained.
  if (out > 1) {
    Tensor row = layer.weight.contiguous();
    for (std::int64_t k = 0; k < in; ++k) row.data_ptr()[in + k] *= 10.0f;
    layer.weight.copy_(row);
  }
  return layer;
}

// The definition, one integer at a time: the contract's formulas with int64 sums.
std::vector<std::int32_t> linear_definition(const QuantizedLinear& q, const QTensor& x,
                                            const std::vector<float>& bias) {
  const std::int64_t n = x.shape()[0];
  std::vector<std::int32_t> out;
  const float sx = q.input_params.scale[0];
  const std::int32_t zx = q.input_params.zero_point[0];
  const std::int32_t zo = q.output_params.zero_point[0];
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < q.out_features; ++j) {
      const float sj = q.weight.qparams().scale[j];
      std::int64_t acc = 0;
      for (std::int64_t k = 0; k < q.in_features; ++k) {
        acc += std::int64_t{x.int_at(i * q.in_features + k) - zx} *
               q.weight.int_at(j * q.in_features + k);
      }
      acc +=
          bias.empty()
              ? 0
              : static_cast<std::int64_t>(std::nearbyint(bias[j] / (static_cast<double>(sx) * sj)));
      const float m = sx * sj / q.output_params.scale[0];
      const float r = std::nearbyint(static_cast<float>(acc) * m) + static_cast<float>(zo);
      out.push_back(
          static_cast<std::int32_t>(std::clamp(r, static_cast<float>(q.relu ? zo : 0), 255.0f)));
    }
  }
  return out;
}

TEST(QuantizedLinear, WeightsArePerChannelSymmetricQint8) {
  const nn::Linear layer = make_linear(6, 3, true, 1);
  const auto q = QuantizedLinear::from_float(layer, per_tensor(0.05f, 100, QDType::quint8),
                                             per_tensor(0.1f, 20, QDType::quint8));
  const QParams& p = q.weight.qparams();
  EXPECT_EQ(p.dtype, QDType::qint8);
  EXPECT_EQ(p.axis, 0);
  const Tensor w = layer.weight.contiguous();
  for (std::int64_t j = 0; j < 3; ++j) {
    float max_abs = 0.0f;
    for (std::int64_t k = 0; k < 6; ++k)
      max_abs = std::max(max_abs, std::abs(w.data_ptr()[j * 6 + k]));
    EXPECT_FLOAT_EQ(p.scale[j], max_abs / 127.5f) << "row " << j;
    EXPECT_EQ(p.zero_point[j], 0);
  }
}

TEST(QuantizedLinear, BiasIsInt32AtTheAccumulatorScale) {
  const nn::Linear layer = make_linear(5, 2, true, 2);
  const auto q = QuantizedLinear::from_float(layer, per_tensor(0.05f, 100, QDType::quint8),
                                             per_tensor(0.1f, 20, QDType::quint8));
  for (std::int64_t j = 0; j < 2; ++j) {
    const double acc_scale = 0.05 * q.weight.qparams().scale[j];
    EXPECT_EQ(q.bias[j], static_cast<std::int32_t>(
                             std::nearbyint(layer.bias.contiguous().data_ptr()[j] / acc_scale)));
  }
}

TEST(QuantizedLinear, ForwardMatchesTheIntegerDefinitionExactly) {
  const nn::Linear layer = make_linear(37, 19, true, 3);
  const QParams in = per_tensor(0.02f, 117, QDType::quint8);
  const auto q = QuantizedLinear::from_float(layer, in, per_tensor(0.07f, 31, QDType::quint8));
  Generator g(4);
  const QTensor x = quantize(rand({5, 37}, g) * 5.0f - 2.3f, in);
  const QTensor y = q.forward(x);
  EXPECT_EQ(y.shape(), (Shape{5, 19}));
  EXPECT_EQ(y.qparams().scale, q.output_params.scale);
  EXPECT_EQ(ints_of(y), linear_definition(q, x, layer.bias.to_vector()));
}

TEST(QuantizedLinear, FusedReluMatchesTheDefinitionAndNeverGoesBelowTheZeroPoint) {
  const nn::Linear layer = make_linear(16, 8, true, 5);
  const QParams in = per_tensor(0.03f, 50, QDType::quint8);
  const auto q = QuantizedLinear::from_float(layer, in, per_tensor(0.05f, 40, QDType::quint8),
                                             /*relu=*/true);
  Generator g(6);
  const QTensor x = quantize(rand({4, 16}, g) * 3.0f - 1.5f, in);
  const std::vector<std::int32_t> got = ints_of(q.forward(x));
  EXPECT_EQ(got, linear_definition(q, x, layer.bias.to_vector()));
  EXPECT_EQ(*std::min_element(got.begin(), got.end()), 40);  // some outputs were negative
}

TEST(QuantizedLinear, WithoutBiasAddsNothing) {
  const nn::Linear layer = make_linear(8, 3, false, 7);
  const QParams in = per_tensor(0.02f, 128, QDType::quint8);
  const auto q = QuantizedLinear::from_float(layer, in, per_tensor(0.05f, 128, QDType::quint8));
  EXPECT_EQ(q.bias, (std::vector<std::int32_t>{0, 0, 0}));
  Generator g(8);
  const QTensor x = quantize(rand({3, 8}, g) - 0.5f, in);
  EXPECT_EQ(ints_of(q.forward(x)), linear_definition(q, x, {}));
}

TEST(QuantizedLinear, ApproximatesTheFloatLayer) {
  const nn::Linear layer = make_linear(64, 10, true, 9);
  Generator g(10);
  const Tensor x = rand({8, 64}, g) * 2.0f;
  nn::Linear copy = layer;
  const Tensor want = copy(x);
  MinMaxObserver in, out;
  in.observe(x);
  out.observe(want);
  const auto q = QuantizedLinear::from_float(layer, in.qparams(), out.qparams());
  const std::vector<float> got = dequantize(q.forward(quantize(x, in.qparams()))).to_vector();
  const std::vector<float> ref = want.to_vector();
  float worst = 0.0f;
  for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(got[i] - ref[i]));
  EXPECT_LT(worst, 4.0f * out.qparams().scale[0]) << "largest error " << worst;
}

TEST(QuantizedLinear, RejectsAnInputOfAnotherShapeOrScale) {
  const auto q =
      QuantizedLinear::from_float(make_linear(4, 2, true, 11), per_tensor(0.1f, 10, QDType::quint8),
                                  per_tensor(0.1f, 10, QDType::quint8));
  EXPECT_THROW((void)q.forward(QTensor({2, 5}, per_tensor(0.1f, 10, QDType::quint8))),
               std::invalid_argument);
  EXPECT_THROW((void)q.forward(QTensor({2, 4}, per_tensor(0.2f, 10, QDType::quint8))),
               std::invalid_argument);
}

TEST(QuantizedLinear, RejectsPerChannelOrSignedActivationParams) {
  const nn::Linear layer = make_linear(4, 2, true, 12);
  EXPECT_THROW((void)QuantizedLinear::from_float(layer, per_tensor(0.1f, 0, QDType::qint8),
                                                 per_tensor(0.1f, 0, QDType::quint8)),
               std::invalid_argument);
}

// ---- fold_batchnorm and QuantizedConv2d
// ----------------------------------------------------------

TEST(FoldBatchnorm, FoldedConvolutionEqualsConvolutionThenBatchNorm) {
  Generator g(13);
  nn::Conv2d conv(3, 4, 3, 1, 1, true, g);
  nn::BatchNorm2d bn(4);
  bn.weight.copy_(from_vector({1.5f, -0.5f, 0.8f, 2.0f}, {4}));
  bn.bias.copy_(from_vector({0.1f, 0.2f, -0.3f, 0.0f}, {4}));
  bn.running_mean.copy_(from_vector({0.5f, -0.2f, 0.0f, 1.0f}, {4}));
  bn.running_var.copy_(from_vector({2.0f, 0.5f, 1.0f, 0.1f}, {4}));
  bn.eval();
  const Tensor x = randn({2, 3, 5, 5}, g);
  const Tensor want = bn(conv(x));
  const ConvWeights folded = fold_batchnorm(conv, bn);
  nn::Conv2d check(3, 4, 3, 1, 1, true, g);
  check.weight.copy_(folded.weight);
  check.bias.copy_(folded.bias);
  const std::vector<float> got = check(x).to_vector(), ref = want.to_vector();
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(got[i], ref[i], 1e-4f) << i;
}

TEST(FoldBatchnorm, LeavesTheLayersUnchanged) {
  Generator g(14);
  nn::Conv2d conv(2, 3, 3, 1, 0, false, g);
  nn::BatchNorm2d bn(3);
  bn.running_var.copy_(full({3}, 4.0f));
  const std::vector<float> before = conv.weight.to_vector();
  (void)fold_batchnorm(conv, bn);
  EXPECT_EQ(conv.weight.to_vector(), before);
  EXPECT_FALSE(conv.bias.defined());
}

TEST(FoldBatchnorm, RejectsAChannelMismatch) {
  Generator g(15);
  nn::Conv2d conv(2, 3, 3, 1, 0, true, g);
  nn::BatchNorm2d bn(4);
  EXPECT_THROW((void)fold_batchnorm(conv, bn), std::invalid_argument);
}

// The definition of the integer convolution, padding with the input's zero point.
std::vector<std::int32_t> conv_definition(const QuantizedConv2d& q, const QTensor& x,
                                          const std::vector<float>& bias) {
  const std::int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  const std::int64_t k = q.kernel_size, s = q.stride, pad = q.padding;
  const std::int64_t oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
  const float sx = q.input_params.scale[0];
  const std::int32_t zx = q.input_params.zero_point[0], zo = q.output_params.zero_point[0];
  std::vector<std::int32_t> out;
  for (std::int64_t b = 0; b < n; ++b) {
    for (std::int64_t o = 0; o < q.out_channels; ++o) {
      const float so = q.weight.qparams().scale[o];
      for (std::int64_t y = 0; y < oh; ++y) {
        for (std::int64_t xx = 0; xx < ow; ++xx) {
          std::int64_t acc = 0;
          for (std::int64_t ci = 0; ci < c; ++ci) {
            for (std::int64_t ky = 0; ky < k; ++ky) {
              for (std::int64_t kx = 0; kx < k; ++kx) {
                const std::int64_t iy = y * s - pad + ky, ix = xx * s - pad + kx;
                const bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                const std::int32_t v = inside ? x.int_at(((b * c + ci) * h + iy) * w + ix) : zx;
                acc += std::int64_t{v - zx} * q.weight.int_at(((o * c + ci) * k + ky) * k + kx);
              }
            }
          }
          acc +=
              static_cast<std::int64_t>(std::nearbyint(bias[o] / (static_cast<double>(sx) * so)));
          const float m = sx * so / q.output_params.scale[0];
          const float r = std::nearbyint(static_cast<float>(acc) * m) + static_cast<float>(zo);
          out.push_back(static_cast<std::int32_t>(
              std::clamp(r, static_cast<float>(q.relu ? zo : 0), 255.0f)));
        }
      }
    }
  }
  return out;
}

TEST(QuantizedConv2d, ForwardMatchesTheIntegerDefinitionWithZeroPointPadding) {
  Generator g(16);
  nn::Conv2d conv(3, 5, 3, 2, 1, true, g);
  const QParams in = per_tensor(0.02f, 90, QDType::quint8);
  const auto q = QuantizedConv2d::from_float(conv, in, per_tensor(0.03f, 70, QDType::quint8));
  const QTensor x = quantize(rand({2, 3, 7, 6}, g) * 4.0f - 1.8f, in);
  const QTensor y = q.forward(x);
  EXPECT_EQ(y.shape(), (Shape{2, 5, 4, 3}));
  EXPECT_EQ(ints_of(y), conv_definition(q, x, conv.bias.to_vector()));
}

TEST(QuantizedConv2d, FromWeightsTakesFoldedWeightsAndFusedRelu) {
  Generator g(17);
  const Tensor w = randn({4, 2, 5, 5}, g) * 0.2f;
  const Tensor b = randn({4}, g);
  const QParams in = per_tensor(0.05f, 30, QDType::quint8);
  const auto q =
      QuantizedConv2d::from_weights(w, b, 1, 2, in, per_tensor(0.04f, 60, QDType::quint8), true);
  EXPECT_EQ(q.kernel_size, 5);
  EXPECT_EQ(q.in_channels, 2);
  const QTensor x = quantize(rand({1, 2, 6, 6}, g) * 3.0f - 1.0f, in);
  EXPECT_EQ(ints_of(q.forward(x)), conv_definition(q, x, b.to_vector()));
}

TEST(QuantizedConv2d, ApproximatesTheFloatConvolution) {
  Generator g(18);
  nn::Conv2d conv(2, 6, 3, 1, 1, true, g);
  const Tensor x = rand({2, 2, 8, 8}, g) * 2.0f - 1.0f;
  const Tensor want = conv(x);
  MinMaxObserver in, out;
  in.observe(x);
  out.observe(want);
  const auto q = QuantizedConv2d::from_float(conv, in.qparams(), out.qparams());
  const std::vector<float> got = dequantize(q.forward(quantize(x, in.qparams()))).to_vector();
  const std::vector<float> ref = want.to_vector();
  float worst = 0.0f;
  for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(got[i] - ref[i]));
  EXPECT_LT(worst, 4.0f * out.qparams().scale[0]) << "largest error " << worst;
}

TEST(QuantizedConv2d, RejectsAnInputWithAnotherChannelCount) {
  Generator g(19);
  nn::Conv2d conv(3, 2, 3, 1, 0, true, g);
  const QParams p = per_tensor(0.1f, 10, QDType::quint8);
  const auto q = QuantizedConv2d::from_float(conv, p, p);
  EXPECT_THROW((void)q.forward(QTensor({1, 4, 5, 5}, p)), std::invalid_argument);
}

// ---- the whole model and its file
// ----------------------------------------------------------------

class QuantizedModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tt_precision_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    Generator g(20);
    model_.push_back(std::make_shared<nn::Linear>(4, 3, true, nn::Init::kaiming_uniform, g));
    model_.push_back(std::make_shared<nn::ReLU>());
    model_.push_back(std::make_shared<nn::Linear>(3, 2, true, nn::Init::kaiming_uniform, g));
    batches_ = {randn({16, 4}, g), randn({16, 4}, g)};
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The file with its first occurrence of `from` replaced by `to` (same length).
  fs::path edited(const fs::path& file, const std::string& from, const std::string& to) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = bytes.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    bytes.replace(at, from.size(), to);
    const fs::path out = dir_ / "edited.safetensors";
    std::ofstream(out, std::ios::binary) << bytes;
    return out;
  }

  fs::path dir_;
  nn::Sequential model_;
  std::vector<Tensor> batches_;
};

TEST_F(QuantizedModelFile, SaveAndLoadGiveIdenticalOutputs) {
  const auto q = QuantizedModel::from_float(model_, batches_);
  q.save(dir_ / "m.safetensors");
  const auto back = QuantizedModel::load(dir_ / "m.safetensors");
  EXPECT_EQ(back.forward(batches_[0]).to_vector(), q.forward(batches_[0]).to_vector());
  EXPECT_EQ(back.describe(), "QuantizedLinear(4, 3, relu) QuantizedLinear(3, 2)");
}

TEST_F(QuantizedModelFile, OutputsStayCloseToTheFloatModel) {
  const auto q = QuantizedModel::from_float(model_, batches_);
  const std::vector<float> got = q.forward(batches_[1]).to_vector();
  const std::vector<float> want = model_(batches_[1]).to_vector();
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 0.05f) << i;
}

TEST_F(QuantizedModelFile, ATensorOfAnotherDtypeIsRefusedByName) {
  QuantizedModel::from_float(model_, batches_).save(dir_ / "m.safetensors");
  const fs::path bad = edited(dir_ / "m.safetensors", "\"dtype\":\"I8\"", "\"dtype\":\"U8\"");
  const std::string message = message_of([&] { (void)QuantizedModel::load(bad); });
  EXPECT_NE(message.find(bad.string()), std::string::npos) << message;
  EXPECT_NE(message.find("layers.0.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("I8"), std::string::npos) << message;
}

TEST_F(QuantizedModelFile, ATensorOfAnotherShapeIsRefusedByName) {
  QuantizedModel::from_float(model_, batches_).save(dir_ / "m.safetensors");
  const fs::path bad = edited(dir_ / "m.safetensors", "\"shape\":[3,4]", "\"shape\":[4,3]");
  const std::string message = message_of([&] { (void)QuantizedModel::load(bad); });
  EXPECT_NE(message.find("layers.0.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("[3, 4]"), std::string::npos) << message;
}

TEST_F(QuantizedModelFile, ATruncatedFileIsRefusedByName) {
  const auto q = QuantizedModel::from_float(model_, batches_);
  q.save(dir_ / "m.safetensors");
  fs::resize_file(dir_ / "m.safetensors", fs::file_size(dir_ / "m.safetensors") - 5);
  const std::string message =
      message_of([&] { (void)QuantizedModel::load(dir_ / "m.safetensors"); });
  EXPECT_NE(message.find((dir_ / "m.safetensors").string()), std::string::npos) << message;
}

}  // namespace
}  // namespace tinytorch::quant
