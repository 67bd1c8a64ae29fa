#pragma once
// Framework-owned fast layer: the im2col / col2im rearrangements that turn a convolution into one
// matrix multiply (module 09 builds Conv2d on them; in module 15 the student writes their own,
// checked against these).
//
// For a batch of `count` images (count, C, H, W), contiguous, and a kernel (kh, kw) moved with
// `stride` over the image padded by `padding` zeros on every side, the output has
//     Ho = (H + 2 padding - kh) / stride + 1,   Wo = (W + 2 padding - kw) / stride + 1
// pixels per image, L = Ho * Wo. The column matrix holds one row per kernel tap and one column per
// output pixel of every image of the batch:
//     cols (C*kh*kw, count*L):  cols[(c*kh + i)*kw + j][n*L + ho*Wo + wo]
//                                 = x[n][c][ho*stride - padding + i][wo*stride - padding + j]
// (zero where that position falls in the padding). Then the convolution of the whole batch is ONE
// matrix product  W (O, C*kh*kw) @ cols (C*kh*kw, count*L) -> (O, count*L).
#include <cstdint>

namespace tinytorch::kernels {

struct ConvGeometry {
  std::int64_t channels = 0, height = 0, width = 0;  // one input image (C, H, W)
  std::int64_t kernel_h = 0, kernel_w = 0;
  std::int64_t stride = 1, padding = 0;

  [[nodiscard]] std::int64_t out_h() const {
    return (height + 2 * padding - kernel_h) / stride + 1;
  }
  [[nodiscard]] std::int64_t out_w() const { return (width + 2 * padding - kernel_w) / stride + 1; }
  [[nodiscard]] std::int64_t out_pixels() const { return out_h() * out_w(); }             // L
  [[nodiscard]] std::int64_t col_rows() const { return channels * kernel_h * kernel_w; }  // K
  [[nodiscard]] std::int64_t image_size() const { return channels * height * width; }
};

/// images (count, C, H, W) -> cols (C*kh*kw, count*L), every element written (padding as 0).
/// Parallel over the (image, channel) planes with kernels::num_threads() threads.
void im2col(const float* images, std::int64_t count, const ConvGeometry& g, float* cols);

/// The adjoint of im2col: images (count, C, H, W) += the sum, over every column entry, of the value
/// at the position im2col read it from (padding entries are dropped). `images` is accumulated into,
/// not overwritten: zero it first for a plain gradient.
void col2im(const float* cols, std::int64_t count, const ConvGeometry& g, float* images);

}  // namespace tinytorch::kernels
