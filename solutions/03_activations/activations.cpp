// Module 03 reference solution: the activation functions' forward math.
//
// Every function reads x through contiguous() (a view is copied once, a contiguous tensor is read
// in place) and writes a fresh contiguous output of the same shape, one tight loop over the
// elements.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/activations.hpp"
#include "tinytorch/kernels/parallel.hpp"

namespace tinytorch::ops {
namespace {

// out[i] = f(x[i]) over every element of x (any layout), into a new contiguous tensor.
template <class F>
Tensor map(const Tensor& x, F f) {
  const Tensor in = x.contiguous();
  Tensor out = empty(x.shape());
  const std::span<const float> src = in.data();
  const std::span<float> dst = out.data();
  // Elementwise: split over the threads once a block is big enough to pay for the wake-up.
  kernels::parallel_for(0, static_cast<std::int64_t>(src.size()), std::int64_t{1} << 15,
                        [&](std::int64_t lo, std::int64_t hi) {
                          for (std::int64_t i = lo; i < hi; ++i) dst[i] = f(src[i]);
                        });
  return out;
}

// dim in [-rank, rank) -> [0, rank). A 0-d tensor accepts 0 and -1, as in PyTorch.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t rank, const char* op) {
  const std::int64_t n = std::max<std::int64_t>(rank, 1);
  if (dim < -n || dim >= n) {
    throw std::out_of_range(std::string(op) + ": dim " + std::to_string(dim) +
                            " is out of range for a tensor of " + std::to_string(rank) +
                            " dimensions (expected a value in [" + std::to_string(-n) + ", " +
                            std::to_string(n - 1) + "])");
  }
  return dim < 0 ? dim + n : dim;
}

// A contiguous tensor seen as (outer, n, inner) around dim: element (o, i, j) sits at
// (o * n + i) * inner + j, so one softmax "row" is the n elements o, *, j, inner apart.
struct Split {
  std::int64_t outer = 1, n = 1, inner = 1;
};
Split split_at(const Shape& shape, std::int64_t dim) {
  Split s;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
    if (d < dim) s.outer *= shape[d];
    if (d == dim) s.n = shape[d];
    if (d > dim) s.inner *= shape[d];
  }
  return s;
}

// Softmax and log-softmax share everything but the last step. For one row x_0..x_{n-1}:
//     m = max_j x_j,   s = sum_j e^(x_j - m)
//     softmax_i     = e^(x_i - m) / s           (every exponent <= 0: no overflow, and s >= 1)
//     log_softmax_i = (x_i - m) - log(s)        (never log(0), even where softmax_i underflows)
// The sum is accumulated in double: float loses digits over long rows (vocabularies, 10^5 classes).
template <bool kLog>
Tensor softmax_impl(const Tensor& x, std::int64_t dim, const char* op) {
  const std::int64_t d = wrap_dim(dim, x.dim(), op);
  const Tensor in = x.contiguous();
  Tensor out = empty(x.shape());
  if (out.numel() == 0) return out;
  const auto [outer, n, inner] = split_at(x.shape(), d);
  const float* src = in.data_ptr();
  float* dst = out.data_ptr();

  if (inner == 1) {  // the common case, the last dim of (N, C) logits: each row is contiguous
    for (std::int64_t o = 0; o < outer; ++o) {
      const float* row = src + o * n;
      float* y = dst + o * n;
      const float m = *std::max_element(row, row + n);
      double s = 0.0;
      for (std::int64_t i = 0; i < n; ++i) {
        const float e = std::exp(row[i] - m);
        if constexpr (!kLog) y[i] = e;
        s += e;
      }
      if constexpr (kLog) {
        const float log_s = static_cast<float>(std::log(s));
        for (std::int64_t i = 0; i < n; ++i) y[i] = (row[i] - m) - log_s;
      } else {
        const float inv = static_cast<float>(1.0 / s);
        for (std::int64_t i = 0; i < n; ++i) y[i] *= inv;
      }
    }
    return out;
  }

  // Another dim: walk the n slices of `inner` contiguous elements one after another, keeping one
  // running max and one running sum per column j (the same cache-friendly order as a reduction).
  std::vector<float> m(inner);
  std::vector<double> s(inner);
  for (std::int64_t o = 0; o < outer; ++o) {
    const float* block = src + o * n * inner;  // (n, inner)
    float* y = dst + o * n * inner;
    std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
    std::fill(s.begin(), s.end(), 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < inner; ++j) m[j] = std::max(m[j], block[i * inner + j]);
    }
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < inner; ++j) {
        const float e = std::exp(block[i * inner + j] - m[j]);
        if constexpr (!kLog) y[i * inner + j] = e;
        s[j] += e;
      }
    }
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < inner; ++j) {
        if constexpr (kLog) {
          y[i * inner + j] = (block[i * inner + j] - m[j]) - static_cast<float>(std::log(s[j]));
        } else {
          y[i * inner + j] = static_cast<float>(y[i * inner + j] / s[j]);
        }
      }
    }
  }
  return out;
}

}  // namespace

Tensor relu(const Tensor& x) {
  return map(x, [](float v) { return v > 0.0f ? v : 0.0f; });
}

// 1 / (1 + e^-x) overflows e^-x for x < -88 (float); for negative x the same value is
// e^x / (1 + e^x), whose exponent is then <= 0. Either branch only ever exponentiates -|x|.
Tensor sigmoid(const Tensor& x) {
  return map(x, [](float v) {
    if (v >= 0.0f) return 1.0f / (1.0f + std::exp(-v));
    const float e = std::exp(v);
    return e / (1.0f + e);
  });
}

// std::tanh is already stable (it saturates at +-1 instead of computing inf / inf).
Tensor tanh(const Tensor& x) {
  return map(x, [](float v) { return std::tanh(v); });
}

// GELU(x) = x * Phi(x), with Phi the standard normal CDF = 0.5 (1 + erf(x / sqrt(2))).
Tensor gelu(const Tensor& x) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  return map(x, [](float v) { return 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); });
}

Tensor softmax(const Tensor& x, std::int64_t dim) {
  return softmax_impl<false>(x, dim, "softmax");
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  return softmax_impl<true>(x, dim, "log_softmax");
}

}  // namespace tinytorch::ops
