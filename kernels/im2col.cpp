#include "tinytorch/kernels/im2col.hpp"

#include <algorithm>
#include <cstring>

#include "tinytorch/kernels/dispatch.hpp"
#include "tinytorch/kernels/parallel.hpp"

namespace tinytorch::kernels {
namespace {

using std::int64_t;

// The output columns wo whose input column w = wo*stride - padding + j lies inside [0, W):
// [lo, hi). Outside it im2col writes zeros and col2im drops the value, so the inner loops
// below run branch-free.
struct ValidRange {
  int64_t lo, hi;
};
ValidRange valid_range(int64_t offset, int64_t size, int64_t stride, int64_t out) {
  // w = wo*stride + offset >= 0      <=> wo >= ceil(-offset / stride)
  // w = wo*stride + offset <  size   <=> wo <  ceil((size - offset) / stride)
  auto ceil_div = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  const int64_t lo = std::clamp<int64_t>(ceil_div(-offset, stride), 0, out);
  const int64_t hi = std::clamp<int64_t>(ceil_div(size - offset, stride), lo, out);
  return {lo, hi};
}

// One (image, channel) plane x (H, W) -> its kh*kw rows of cols, each row `ld` floats apart,
// starting at this image's first column.
void plane_to_cols(const float* x, const ConvGeometry& g, float* cols, int64_t ld) {
  const int64_t ho_n = g.out_h(), wo_n = g.out_w(), s = g.stride, p = g.padding;
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    const ValidRange rows = valid_range(i - p, g.height, s, ho_n);
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      float* row = cols + (i * g.kernel_w + j) * ld;
      const ValidRange c = valid_range(j - p, g.width, s, wo_n);
      std::fill(row, row + rows.lo * wo_n, 0.0f);
      for (int64_t ho = rows.lo; ho < rows.hi; ++ho) {
        const float* src = x + (ho * s - p + i) * g.width;  // input row h; w = wo*s + off
        const int64_t off = j - p;
        float* dst = row + ho * wo_n;
        std::fill(dst, dst + c.lo, 0.0f);
        if (s == 1) {  // the fast path: a contiguous run of the input row
          std::memcpy(dst + c.lo, src + c.lo + off,
                      static_cast<std::size_t>(c.hi - c.lo) * sizeof(float));
        } else {
          for (int64_t wo = c.lo; wo < c.hi; ++wo) dst[wo] = src[wo * s + off];
        }
        std::fill(dst + c.hi, dst + wo_n, 0.0f);
      }
      std::fill(row + rows.hi * wo_n, row + ho_n * wo_n, 0.0f);
    }
  }
}

// The adjoint of plane_to_cols: every column entry is added back where it was read from.
void cols_to_plane(const float* cols, const ConvGeometry& g, float* x, int64_t ld) {
  const int64_t wo_n = g.out_w(), s = g.stride, p = g.padding;
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    const ValidRange rows = valid_range(i - p, g.height, s, g.out_h());
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      const float* row = cols + (i * g.kernel_w + j) * ld;
      const ValidRange c = valid_range(j - p, g.width, s, wo_n);
      for (int64_t ho = rows.lo; ho < rows.hi; ++ho) {
        float* dst = x + (ho * s - p + i) * g.width;  // input row h; w = wo*s + off
        const int64_t off = j - p;
        const float* src = row + ho * wo_n;
        if (s == 1) {
          for (int64_t wo = c.lo; wo < c.hi; ++wo) dst[wo + off] += src[wo];
        } else {
          for (int64_t wo = c.lo; wo < c.hi; ++wo) dst[wo * s + off] += src[wo];
        }
      }
    }
  }
}

// Each (image n, channel c) plane owns rows c*kh*kw.. of cols in the columns n*L.., and the input
// plane x[n][c]: planes never share an output, so they run in parallel without locks.
int64_t plane_grain(const ConvGeometry& g) {
  const int64_t work = std::max<int64_t>(g.kernel_h * g.kernel_w * g.out_pixels(), 1);
  return std::max<int64_t>(1, 16384 / work);  // ~16k floats per block before a thread pays
}

}  // namespace

void im2col(const float* images, int64_t count, const ConvGeometry& g, float* cols) {
  if (const KernelSet* student = detail::selected_student_kernels()) {
    student->im2col(images, count, g, cols);
    return;
  }
  const int64_t L = g.out_pixels(), ld = count * L, taps = g.kernel_h * g.kernel_w;
  const int64_t plane = g.height * g.width;
  parallel_for(0, count * g.channels, plane_grain(g), [&](int64_t begin, int64_t end) {
    for (int64_t nc = begin; nc < end; ++nc) {
      const int64_t n = nc / g.channels, c = nc % g.channels;
      plane_to_cols(images + nc * plane, g, cols + c * taps * ld + n * L, ld);
    }
  });
}

void col2im(const float* cols, int64_t count, const ConvGeometry& g, float* images) {
  if (const KernelSet* student = detail::selected_student_kernels()) {
    student->col2im(cols, count, g, images);
    return;
  }
  const int64_t L = g.out_pixels(), ld = count * L, taps = g.kernel_h * g.kernel_w;
  const int64_t plane = g.height * g.width;
  parallel_for(0, count * g.channels, plane_grain(g), [&](int64_t begin, int64_t end) {
    for (int64_t nc = begin; nc < end; ++nc) {
      const int64_t n = nc / g.channels, c = nc % g.channels;
      cols_to_plane(cols + c * taps * ld + n * L, g, images + nc * plane, ld);
    }
  });
}

}  // namespace tinytorch::kernels
