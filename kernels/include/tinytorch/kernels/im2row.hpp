#pragma once
// Framework-owned: the patch matrix of an int8 convolution, one row per output pixel.
//
// The float path (im2col.hpp) lays patches out as columns for sgemm; the int8 GEMM multiplies rows
// of A by rows of B, so here each output pixel's receptive field is one contiguous row: the GEMM
// then reads 4 consecutive bytes of it per vpdpbusd.
#include <cstdint>

namespace tinytorch::kernels {

/// image (C, H, W) uint8 -> rows (Ho * Wo, C * k * k): row oy * Wo + ox holds, for c, ky, kx in
/// that order, image[c][oy * stride - padding + ky][ox * stride - padding + kx], or pad_value
/// where that falls outside the image (a quantized zero is the zero point, not 0).
/// Ho = (H + 2 * padding - k) / stride + 1, and Wo alike.
void im2row_u8(const std::uint8_t* image, std::int64_t channels, std::int64_t height,
               std::int64_t width, std::int64_t kernel_size, std::int64_t stride,
               std::int64_t padding, std::uint8_t pad_value, std::uint8_t* rows);

}  // namespace tinytorch::kernels
