// Module 07 reference solution: one backward per operation. The contract is
// modules/07_autograd/autograd.hpp.
//
// Each backward is the chain rule for one operation: given g = dL/d(out), return dL/d(input i)
// = g * d(out)/d(input i), in the shape of input i. The engine calls these under NoGradGuard, so
// the Tensor arithmetic below records nothing. Elementwise rules with several factors are one
// loop over contiguous spans (no temporary per factor); everything else is Tensor operations
// (matmul through BLAS, reductions, broadcasting), the same code paths the forward uses.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/losses.hpp"

namespace tinytorch::autograd {
namespace {

using std::int64_t;

// Whether input i of `node` needs a gradient. A node built by hand (no inputs attached) gets all.
bool wants(const Node& node, std::size_t i) {
  return i >= node.inputs.size() || node.inputs[i].requires_grad();
}

int64_t wrap(int64_t dim, int64_t rank) {
  const int64_t n = std::max<int64_t>(rank, 1);
  return dim < 0 ? dim + n : dim;
}

// out[i] = f(a[i], b[i]) over two tensors of one shape, as one loop over contiguous spans.
template <class F>
Tensor zip_map(const Tensor& a, const Tensor& b, F f) {
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  Tensor out = empty(a.shape());
  const std::span<const float> x = ac.data(), y = bc.data();
  const std::span<float> o = out.data();
  // Elementwise: split over the threads once a block is big enough to pay for the wake-up.
  kernels::parallel_for(0, static_cast<int64_t>(o.size()), int64_t{1} << 15,
                        [&](int64_t lo, int64_t hi) {
                          for (int64_t i = lo; i < hi; ++i) o[i] = f(x[i], y[i]);
                        });
  return out;
}

// A tensor of `shape` dims viewed as (outer, n, inner) around dim: element (o, i, j) is at
// (o * n + i) * inner + j. Softmax-like rules loop over the n entries of each (o, j) line.
struct Lines {
  int64_t outer = 1, n = 1, inner = 1;
};
Lines lines(const Shape& shape, int64_t dim) {
  Lines l;
  if (shape.empty()) return l;  // a 0-d tensor is one line of one element
  const auto d = static_cast<std::size_t>(dim);
  for (std::size_t k = 0; k < d; ++k) l.outer *= shape[k];
  l.n = shape[d];
  for (std::size_t k = d + 1; k < shape.size(); ++k) l.inner *= shape[k];
  return l;
}

// The gradient of a reduction along dim (or over everything): g has the reduced shape; every
// input element that went into an output receives that output's gradient. Put the reduced dim
// back (size 1) and broadcast to the input's shape.
Tensor expand_reduced(const Tensor& g, const Shape& input_shape, std::optional<int64_t> dim,
                      bool keepdim) {
  const auto rank = static_cast<int64_t>(input_shape.size());
  Tensor g_keep = g;
  if (!dim || rank == 0) {
    g_keep = g.reshape(Shape(input_shape.size(), 1));  // (1, ..., 1)
  } else if (!keepdim) {
    g_keep = g.unsqueeze(wrap(*dim, rank));
  }
  Tensor out = empty(input_shape);
  out.copy_(g_keep);  // broadcasts
  return out;
}

}  // namespace

// ---- arithmetic (module 02) -------------------------------------------------------------------
// With broadcasting, an operand was copied to the output's shape, so its gradient is summed back
// to its own shape: the one rule, sum_to_shape, written once in engine.cpp.

// out = a + b: d/da = d/db = 1.
std::vector<Tensor> AddBackward::backward(const Tensor& grad_output) {
  return {wants(*this, 0) ? sum_to_shape(grad_output, a_shape) : Tensor(),
          wants(*this, 1) ? sum_to_shape(grad_output, b_shape) : Tensor()};
}

// out = a - b: d/da = 1, d/db = -1.
std::vector<Tensor> SubBackward::backward(const Tensor& grad_output) {
  return {wants(*this, 0) ? sum_to_shape(grad_output, a_shape) : Tensor(),
          wants(*this, 1) ? -sum_to_shape(grad_output, b_shape) : Tensor()};
}

// out = a * b: d/da = b, d/db = a.
std::vector<Tensor> MulBackward::backward(const Tensor& grad_output) {
  return {wants(*this, 0) ? sum_to_shape(grad_output * b, a.shape()) : Tensor(),
          wants(*this, 1) ? sum_to_shape(grad_output * a, b.shape()) : Tensor()};
}

// out = a / b: d/da = 1 / b, d/db = -a / b^2 = -(g / b) * (a / b).
std::vector<Tensor> DivBackward::backward(const Tensor& grad_output) {
  const Tensor g_over_b = grad_output / b;
  return {wants(*this, 0) ? sum_to_shape(g_over_b, a.shape()) : Tensor(),
          wants(*this, 1) ? -sum_to_shape(g_over_b * a / b, b.shape()) : Tensor()};
}

// out = a @ b, (..., n, k) @ (..., k, m) -> (..., n, m):
//     dA = g @ b^T  (..., n, k)        dB = a^T @ g  (..., k, m)
// Batch dimensions broadcast like elementwise ones, so each is summed back to its operand's shape.
std::vector<Tensor> MatmulBackward::backward(const Tensor& grad_output) {
  Tensor ga, gb;
  if (wants(*this, 0)) ga = sum_to_shape(grad_output.matmul(b.transpose(-2, -1)), a.shape());
  if (wants(*this, 1)) {
    if (b.dim() == 2 && a.dim() > 2) {
      // A Linear layer on (B, T, k) inputs: fold the batch into rows, one GEMM
      // (k, B*T) @ (B*T, m) instead of B GEMMs and a sum.
      const int64_t k = a.size(-1), m = b.size(-1);
      gb = a.reshape({-1, k}).transpose(0, 1).matmul(grad_output.reshape({-1, m}));
    } else {
      gb = sum_to_shape(a.transpose(-2, -1).matmul(grad_output), b.shape());
    }
  }
  return {ga, gb};
}

// ---- views (module 02) ------------------------------------------------------------------------

// Same elements in another shape: the gradient goes back to the input's shape.
std::vector<Tensor> ReshapeBackward::backward(const Tensor& grad_output) {
  return {grad_output.reshape(input_shape)};
}

// A transpose is its own inverse.
std::vector<Tensor> TransposeBackward::backward(const Tensor& grad_output) {
  return {grad_output.transpose(dim0, dim1)};
}

// out dim i is input dim dims[i], so input dim dims[i] is out dim i: permute by the inverse.
std::vector<Tensor> PermuteBackward::backward(const Tensor& grad_output) {
  const auto rank = static_cast<int64_t>(dims.size());
  Shape inverse(dims.size());
  for (int64_t i = 0; i < rank; ++i) inverse[wrap(dims[i], rank)] = i;
  return {grad_output.permute(inverse)};
}

// ---- reductions (module 02) -------------------------------------------------------------------

// out = sum x: every summed element has d(out)/dx = 1, so it receives its output's gradient.
std::vector<Tensor> SumBackward::backward(const Tensor& grad_output) {
  return {expand_reduced(grad_output, input_shape, dim, keepdim)};
}

// out = sum x / count: as sum, scaled by 1 / count (scaled before expanding: fewer elements).
std::vector<Tensor> MeanBackward::backward(const Tensor& grad_output) {
  const int64_t count = dim && !input_shape.empty()
                            ? input_shape[wrap(*dim, static_cast<int64_t>(input_shape.size()))]
                            : shape_numel(input_shape);
  return {
      expand_reduced(grad_output * (1.0f / static_cast<float>(count)), input_shape, dim, keepdim)};
}

// out = max x: d(out)/dx is 1 at the (first) position of the maximum, 0 elsewhere.
std::vector<Tensor> MaxBackward::backward(const Tensor& grad_output) {
  const Shape& shape = input.shape();
  const auto rank = static_cast<int64_t>(shape.size());
  Tensor out = zeros(shape);  // contiguous
  if (!dim || rank == 0) {
    const Tensor flat_index = input.reshape({-1}).argmax(0);  // first maximum in row-major order
    out.data()[static_cast<std::size_t>(flat_index.item())] = grad_output.item();
    return {out};
  }
  const int64_t d = wrap(*dim, rank);
  const Lines l = lines(shape, d);
  const Tensor index = input.argmax(d, /*keepdim=*/true).contiguous();  // (outer, 1, inner)
  const Tensor g = (keepdim ? grad_output : grad_output.unsqueeze(d)).contiguous();
  const std::span<const float> idx = index.data(), gv = g.data();
  const std::span<float> o = out.data();
  for (int64_t outer = 0; outer < l.outer; ++outer) {
    for (int64_t j = 0; j < l.inner; ++j) {
      const int64_t line = outer * l.inner + j;
      const auto i = static_cast<int64_t>(idx[line]);
      o[(outer * l.n + i) * l.inner + j] = gv[line];
    }
  }
  return {out};
}

// ---- activations (module 03) ------------------------------------------------------------------

// relu(x) = max(0, x): slope 1 where x > 0, else 0 (PyTorch's choice at x = 0).
std::vector<Tensor> ReluBackward::backward(const Tensor& grad_output) {
  return {zip_map(grad_output, input, [](float g, float x) { return x > 0.0f ? g : 0.0f; })};
}

// y = sigmoid(x): dy/dx = y (1 - y).
std::vector<Tensor> SigmoidBackward::backward(const Tensor& grad_output) {
  return {zip_map(grad_output, output, [](float g, float y) { return g * y * (1.0f - y); })};
}

// y = tanh(x): dy/dx = 1 - y^2.
std::vector<Tensor> TanhBackward::backward(const Tensor& grad_output) {
  return {zip_map(grad_output, output, [](float g, float y) { return g * (1.0f - y * y); })};
}

// gelu(x) = x Phi(x): d/dx = Phi(x) + x phi(x), with Phi the standard normal CDF
// 0.5 (1 + erf(x / sqrt 2)) and phi its density e^(-x^2 / 2) / sqrt(2 pi).
std::vector<Tensor> GeluBackward::backward(const Tensor& grad_output) {
  constexpr float kInvSqrt2 = static_cast<float>(1.0 / std::numbers::sqrt2);
  constexpr float kInvSqrt2Pi = static_cast<float>(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
  return {zip_map(grad_output, input, [=](float g, float x) {
    const float cdf = 0.5f * (1.0f + std::erf(x * kInvSqrt2));
    const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x * x);
    return g * (cdf + x * pdf);
  })};
}

// y = softmax(x) along dim: dy_i/dx_j = y_i (delta_ij - y_j), so along each line
//     dx_j = sum_i g_i y_i (delta_ij - y_j) = y_j (g_j - sum_i g_i y_i).
std::vector<Tensor> SoftmaxBackward::backward(const Tensor& grad_output) {
  const Tensor y = output.contiguous(), g = grad_output.contiguous();
  const Lines l = lines(y.shape(), wrap(dim, y.dim()));
  Tensor out = empty(y.shape());
  const float *yv = y.data_ptr(), *gv = g.data_ptr();
  float* o = out.data_ptr();
  for (int64_t outer = 0; outer < l.outer; ++outer) {
    for (int64_t j = 0; j < l.inner; ++j) {
      const int64_t base = outer * l.n * l.inner + j;  // element (outer, 0, j); step l.inner
      double dot = 0.0;                                // sum_i g_i y_i
      for (int64_t i = 0; i < l.n; ++i) dot += gv[base + i * l.inner] * yv[base + i * l.inner];
      for (int64_t i = 0; i < l.n; ++i) {
        const int64_t e = base + i * l.inner;
        o[e] = yv[e] * (gv[e] - static_cast<float>(dot));
      }
    }
  }
  return {out};
}

// y = log_softmax(x) = x - logsumexp(x) along dim: dy_i/dx_j = delta_ij - softmax_j, so
//     dx_j = g_j - softmax_j * sum_i g_i,   with softmax_j = e^(y_j).
std::vector<Tensor> LogSoftmaxBackward::backward(const Tensor& grad_output) {
  const Tensor y = output.contiguous(), g = grad_output.contiguous();
  const Lines l = lines(y.shape(), wrap(dim, y.dim()));
  Tensor out = empty(y.shape());
  const float *yv = y.data_ptr(), *gv = g.data_ptr();
  float* o = out.data_ptr();
  for (int64_t outer = 0; outer < l.outer; ++outer) {
    for (int64_t j = 0; j < l.inner; ++j) {
      const int64_t base = outer * l.n * l.inner + j;
      double total = 0.0;  // sum_i g_i
      for (int64_t i = 0; i < l.n; ++i) total += gv[base + i * l.inner];
      for (int64_t i = 0; i < l.n; ++i) {
        const int64_t e = base + i * l.inner;
        o[e] = gv[e] - std::exp(yv[e]) * static_cast<float>(total);
      }
    }
  }
  return {out};
}

// ---- losses (module 05) -----------------------------------------------------------------------
// A loss is the last node: grad_output is the 0-d dL/d(loss) (1 when the loss is the root). The
// gradient with respect to the first input is the one derived by hand in module 05, scaled by it.
// Targets are data: they get no gradient.

std::vector<Tensor> MseLossBackward::backward(const Tensor& grad_output) {
  return {grad::mse_loss(prediction, target) * grad_output};
}

std::vector<Tensor> CrossEntropyBackward::backward(const Tensor& grad_output) {
  return {grad::cross_entropy(logits, targets) * grad_output};
}

std::vector<Tensor> BceWithLogitsBackward::backward(const Tensor& grad_output) {
  return {grad::binary_cross_entropy_with_logits(logits, targets) * grad_output};
}

}  // namespace tinytorch::autograd
