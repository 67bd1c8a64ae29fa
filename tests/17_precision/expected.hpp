#pragma once
// The PyTorch oracle for the hidden module 17 suite; generate_expected.py regenerates this file
// from torch (quantize_per_tensor, quantize_per_channel, MinMaxObserver.calculate_qparams).
//
// torch is not installed on the machine where the suite was written, so these numbers were derived
// by hand, each below its case, and must be what generate_expected.py prints. The scales are powers
// of two, so x * (1 / scale) is exact and a .5 is a true tie: torch rounds ties to even.
#include <cstdint>
#include <vector>
namespace expected {

// Per tensor, quint8, scale 0.5, zero point 10. x / 0.5 = -12, -10.5, -0.5, 0.5, 1.5, 2.5, 200, 6,
// 260 -> round half even -12, -10, -0, 0, 2, 2, 200, 6, 260 -> + 10 = -2, 0, 10, 10, 12, 12, 210,
// 16, 270 -> clamp to [0, 255].
inline const std::vector<float> kPerTensorX = {-6.0f, -5.25f, -0.25f, 0.25f, 0.75f,
                                               1.25f, 100.0f, 3.0f,   130.0f};
inline const std::vector<std::int32_t> kPerTensorQ = {0, 0, 10, 10, 12, 12, 210, 16, 255};
// (q - 10) * 0.5
inline const std::vector<float> kPerTensorDequantized = {-5.0f, -5.0f,  0.0f, 0.0f,  1.0f,
                                                         1.0f,  100.0f, 3.0f, 122.5f};

// Per tensor, qint8, scale 0.25, zero point 0. x / 0.25 = -160, -1.5, 0.5, 2.5, 127, 160 ->
// -160, -2, 0, 2, 127, 160 -> clamp to [-128, 127].
inline const std::vector<float> kSymmetricX = {-40.0f, -0.375f, 0.125f, 0.625f, 31.75f, 40.0f};
inline const std::vector<std::int32_t> kSymmetricQ = {-128, -2, 0, 2, 127, 127};

// Per channel along axis 0 of (2, 3), qint8, scales (0.5, 0.125), zero points (0, -3).
// Row 0: 2.5, -1.5, 140 -> 2, -2, 140 -> clamp: 2, -2, 127.
// Row 1: 0.5, -1.5, -160 -> 0, -2, -160 -> - 3: -3, -5, -163 -> clamp: -3, -5, -128.
inline const std::vector<float> kPerChannelX = {1.25f, -0.75f, 70.0f, 0.0625f, -0.1875f, -20.0f};
inline const std::vector<std::int32_t> kPerChannelQ = {2, -2, 127, -3, -5, -128};
// Row 0: q * 0.5; row 1: (q + 3) * 0.125.
inline const std::vector<float> kPerChannelDequantized = {1.0f, -1.0f,  63.5f,
                                                          0.0f, -0.25f, -15.625f};

// Per channel along axis 1 of (2, 2), qint8, scales (1, 0.5), zero points 0.
// Column 0: 1.5, 2.5 -> 2, 2 (ties to even); column 1: 3, 5.
inline const std::vector<float> kAxis1X = {1.5f, 1.5f, 2.5f, 2.5f};
inline const std::vector<std::int32_t> kAxis1Q = {2, 3, 2, 5};

// MinMaxObserver, per_tensor_affine, quint8, range [-1, 3]: scale = 4 / 255 (float),
// zero point = 0 - round(-1 / scale) = round(63.75) = 64.
inline const std::vector<float> kAsymQuint8Scale = {4.0f / 255.0f};
inline const std::vector<std::int32_t> kAsymQuint8Zero = {64};
// qint8: the same scale, zero point = -128 - round(-63.75) = -64.
inline const std::vector<float> kAsymQint8Scale = {4.0f / 255.0f};
inline const std::vector<std::int32_t> kAsymQint8Zero = {-64};
// [0.5, 2] widened to [0, 2]: scale 2 / 255, zero point 0 - round(0) = 0.
inline const std::vector<float> kPositiveOnlyScale = {2.0f / 255.0f};
inline const std::vector<std::int32_t> kPositiveOnlyZero = {0};
// [-3, -1] widened to [-3, 0]: scale 3 / 255, zero point 0 - round(-255) = 255.
inline const std::vector<float> kNegativeOnlyScale = {3.0f / 255.0f};
inline const std::vector<std::int32_t> kNegativeOnlyZero = {255};
// per_tensor_symmetric, qint8, [-2, 1]: scale = max(2, 1) / (255 / 2) = 2 / 127.5, zero point 0.
inline const std::vector<float> kSymQint8Scale = {2.0f / 127.5f};
inline const std::vector<std::int32_t> kSymQint8Zero = {0};
// The same for quint8: zero point 128.
inline const std::vector<float> kSymQuint8Scale = {2.0f / 127.5f};
inline const std::vector<std::int32_t> kSymQuint8Zero = {128};
// [0, 0]: scale 0 raised to float epsilon 2^-23 = 1.1920929e-07, zero point 0.
inline const std::vector<float> kAllZeroScale = {1.1920929e-07f};
inline const std::vector<std::int32_t> kAllZeroZero = {0};

}  // namespace expected
