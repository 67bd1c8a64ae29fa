#include "tinytorch/kernels/im2row.hpp"

#include <algorithm>
#include <cstring>

namespace tinytorch::kernels {

namespace {

// One output pixel's row. K > 0 fixes the kernel size at compile time, so that the copy of a
// kernel row (K bytes) is a couple of moves rather than a loop; K = 0 reads it from k.
template <std::int64_t K>
void pixel_row(const std::uint8_t* image, std::int64_t channels, std::int64_t height,
               std::int64_t width, std::int64_t k, std::int64_t y0, std::int64_t x0,
               std::uint8_t pad_value, std::uint8_t* row) {
  if constexpr (K > 0) k = K;
  // The kx range that lands inside the image; the rest of each kernel row is padding.
  const std::int64_t kx_begin = std::clamp<std::int64_t>(-x0, 0, k);
  const std::int64_t kx_end = std::clamp<std::int64_t>(width - x0, kx_begin, k);
  const bool whole = kx_begin == 0 && kx_end == k;
  for (std::int64_t c = 0; c < channels; ++c) {
    for (std::int64_t ky = 0; ky < k; ++ky) {
      std::uint8_t* out = row + (c * k + ky) * k;
      const std::int64_t y = y0 + ky;
      if (y < 0 || y >= height) {
        for (std::int64_t kx = 0; kx < k; ++kx) out[kx] = pad_value;
        continue;
      }
      const std::uint8_t* src = image + (c * height + y) * width + x0;
      if constexpr (K > 0) {
        if (whole) {
          std::memcpy(out, src, K);  // a constant size: inlined
          continue;
        }
      }
      for (std::int64_t kx = 0; kx < kx_begin; ++kx) out[kx] = pad_value;
      for (std::int64_t kx = kx_begin; kx < kx_end; ++kx) out[kx] = src[kx];
      for (std::int64_t kx = kx_end; kx < k; ++kx) out[kx] = pad_value;
    }
  }
}

}  // namespace

void im2row_u8(const std::uint8_t* image, std::int64_t channels, std::int64_t height,
               std::int64_t width, std::int64_t kernel_size, std::int64_t stride,
               std::int64_t padding, std::uint8_t pad_value, std::uint8_t* rows) {
  const std::int64_t k = kernel_size;
  const std::int64_t out_h = (height + 2 * padding - k) / stride + 1;
  const std::int64_t out_w = (width + 2 * padding - k) / stride + 1;
  const std::int64_t row_len = channels * k * k;
  for (std::int64_t oy = 0; oy < out_h; ++oy) {
    for (std::int64_t ox = 0; ox < out_w; ++ox) {
      std::uint8_t* row = rows + (oy * out_w + ox) * row_len;
      const std::int64_t y0 = oy * stride - padding, x0 = ox * stride - padding;
      switch (k) {
        case 3:
          pixel_row<3>(image, channels, height, width, k, y0, x0, pad_value, row);
          break;
        case 5:
          pixel_row<5>(image, channels, height, width, k, y0, x0, pad_value, row);
          break;
        default:
          pixel_row<0>(image, channels, height, width, k, y0, x0, pad_value, row);
      }
    }
  }
}

}  // namespace tinytorch::kernels
