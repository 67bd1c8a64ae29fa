#include "tinytorch/kernels/im2row.hpp"

#include <algorithm>

namespace tinytorch::kernels {

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
      const std::int64_t x0 = ox * stride - padding;
      // The kx range that lands inside the image; the rest of each kernel row is padding.
      const std::int64_t kx_begin = std::clamp<std::int64_t>(-x0, 0, k);
      const std::int64_t kx_end = std::clamp<std::int64_t>(width - x0, kx_begin, k);
      for (std::int64_t c = 0; c < channels; ++c) {
        for (std::int64_t ky = 0; ky < k; ++ky) {
          std::uint8_t* out = row + (c * k + ky) * k;
          const std::int64_t y = oy * stride - padding + ky;
          if (y < 0 || y >= height) {
            for (std::int64_t kx = 0; kx < k; ++kx) out[kx] = pad_value;
            continue;
          }
          // Plain loops, not memcpy: a kernel row is a few bytes, shorter than a call.
          const std::uint8_t* src = image + (c * height + y) * width + x0;
          for (std::int64_t kx = 0; kx < kx_begin; ++kx) out[kx] = pad_value;
          for (std::int64_t kx = kx_begin; kx < kx_end; ++kx) out[kx] = src[kx];
          for (std::int64_t kx = kx_end; kx < k; ++kx) out[kx] = pad_value;
        }
      }
    }
  }
}

}  // namespace tinytorch::kernels
