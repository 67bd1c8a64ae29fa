// im2row_u8 against its definition: every byte of every row, for the kernel sizes with their own
// code path (3, 5) and the general one, with and without padding and stride.
#include "tinytorch/kernels/im2row.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

TEST(Im2Row, MatchesTheDefinitionForEveryKernelSizePaddingAndStride) {
  const std::int64_t c = 3, h = 7, w = 6;
  std::vector<std::uint8_t> image(static_cast<std::size_t>(c * h * w));
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<std::uint8_t>(i * 7 + 1);
  const std::uint8_t pad = 200;
  for (std::int64_t k : {1, 2, 3, 5, 7}) {
    for (std::int64_t padding : {0, 1, 2}) {
      for (std::int64_t stride : {1, 2}) {
        const std::int64_t oh = (h + 2 * padding - k) / stride + 1;
        const std::int64_t ow = (w + 2 * padding - k) / stride + 1;
        if (oh < 1 || ow < 1) continue;
        const std::int64_t len = c * k * k;
        std::vector<std::uint8_t> rows(static_cast<std::size_t>(oh * ow * len), 0);
        tinytorch::kernels::im2row_u8(image.data(), c, h, w, k, stride, padding, pad, rows.data());
        for (std::int64_t oy = 0; oy < oh; ++oy) {
          for (std::int64_t ox = 0; ox < ow; ++ox) {
            for (std::int64_t ci = 0; ci < c; ++ci) {
              for (std::int64_t ky = 0; ky < k; ++ky) {
                for (std::int64_t kx = 0; kx < k; ++kx) {
                  const std::int64_t y = oy * stride - padding + ky, x = ox * stride - padding + kx;
                  const bool inside = y >= 0 && y < h && x >= 0 && x < w;
                  const std::uint8_t want = inside ? image[(ci * h + y) * w + x] : pad;
                  ASSERT_EQ(rows[(oy * ow + ox) * len + (ci * k + ky) * k + kx], want)
                      << "k " << k << ", padding " << padding << ", stride " << stride
                      << ", pixel (" << oy << ", " << ox << "), channel " << ci << ", tap (" << ky
                      << ", " << kx << ")";
                }
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace
