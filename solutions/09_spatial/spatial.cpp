// Module 09 reference solution: convolution, pooling and batch normalisation, forward and
// backward. The contract is modules/09_spatial/spatial.hpp.
//
// Convolution is im2col + one GEMM per image, the images spread over the threads
// (kernels/im2col.hpp explains the column layout): the seven nested loops of the definition
// become a matrix product that kernels::sgemm runs at tens of GFLOP/s. Pooling and batch
// normalisation are memory-bound loops over contiguous (H, W) planes, spread over the threads with
// kernels::parallel_for.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/kernels/im2col.hpp"
#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/kernels/threads.hpp"
#include "tinytorch/kernels/winograd.hpp"
#include "tinytorch/spatial.hpp"

namespace tinytorch {
namespace {

using std::int64_t;
using std::to_string;

// ---- argument checks ----------------------------------------------------------------------------

void check_image_batch(const char* op, const Tensor& input) {
  if (!input.defined()) throw std::invalid_argument(std::string(op) + ": input is undefined");
  if (input.dim() != 4) {
    throw std::invalid_argument(std::string(op) + ": input must be 4-d (N, C, H, W), got shape " +
                                shape_to_string(input.shape()) +
                                "; for a single image (C, H, W) use unsqueeze(0)");
  }
}

void check_window(const char* op, int64_t kernel_size, int64_t stride, int64_t padding) {
  if (kernel_size < 1 || stride < 0 || padding < 0) {
    throw std::invalid_argument(std::string(op) + ": kernel_size " + to_string(kernel_size) +
                                ", stride " + to_string(stride) + ", padding " +
                                to_string(padding) +
                                " are invalid: need kernel_size >= 1, stride >= 0 (0 means "
                                "kernel_size) and padding >= 0");
  }
  if (padding > kernel_size / 2) {
    throw std::invalid_argument(std::string(op) + ": padding " + to_string(padding) +
                                " is more than half of kernel_size " + to_string(kernel_size) +
                                " (a window could hold nothing but padding)");
  }
}

// One column matrix per thread, kept for the thread's life: each thread of the pool reuses its
// own, so a convolution allocates nothing after its first call.
float* column_buffer(std::size_t size) {
  thread_local std::unique_ptr<float[]> buffer;
  thread_local std::size_t capacity = 0;
  if (capacity < size) {
    buffer = std::make_unique_for_overwrite<float[]>(size);  // every use writes before it reads
    capacity = size;
  }
  // The analyzer loses track of a thread_local unique_ptr across the reassignment: a false alarm.
  // NOLINTNEXTLINE(clang-analyzer-cplusplus.NewDelete)
  return buffer.get();
}

// A 1x1 kernel with stride 1 and no padding reads every pixel once, in place: its column matrix
// (C, H*W) is the image itself, and im2col/col2im would only copy.
bool is_pointwise(const kernels::ConvGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride == 1 && g.padding == 0;
}

// A 3x3, stride-1 kernel over enough input channels goes to Winograd's F(2x2, 3x3)
// (kernels/winograd.hpp): 2.25x fewer multiplies than im2col + GEMM. With few input channels the
// per-position GEMMs are too thin to pay for the transforms, and im2col wins.
constexpr int64_t kWinogradMinChannels = 16;

bool use_winograd(const kernels::ConvGeometry& g) {
  return kernels::winograd_applies(g) && g.channels >= kWinogradMinChannels;
}

struct ConvShapes {
  int64_t n, o, k, l;  // batch, out channels, K = C*kh*kw, L = Ho*Wo
  kernels::ConvGeometry g;
};

ConvShapes conv_shapes(const Tensor& input, const Tensor& weight, int64_t stride, int64_t padding) {
  kernels::ConvGeometry g{input.size(1),  input.size(2), input.size(3), weight.size(2),
                          weight.size(3), stride,        padding};
  return {input.size(0), weight.size(0), g.col_rows(), g.out_pixels(), g};
}

// Whether input i of a node needs a gradient (a node built by hand, with no inputs, gets all).
bool wants(const autograd::Node& node, std::size_t i) {
  if (i >= node.inputs.size()) return true;
  return node.inputs[i].defined() && node.inputs[i].requires_grad();
}

// db[ch] = the sum of dY (N, O, L) over images and pixels, one output channel per task.
Tensor bias_gradient(const Tensor& dy, int64_t n, int64_t o, int64_t l) {
  Tensor db = empty({o});
  const float* p = dy.data_ptr();
  float* d = db.data_ptr();
  kernels::parallel_for(0, o, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t ch = lo; ch < hi; ++ch) {
      float sum = 0.0f;
      for (int64_t img = 0; img < n; ++img) {
        const float* row = p + (img * o + ch) * l;
        for (int64_t i = 0; i < l; ++i) sum += row[i];
      }
      d[ch] = sum;
    }
  });
  return db;
}

}  // namespace

int64_t conv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t padding) {
  if (kernel < 1 || stride < 1 || padding < 0) {
    throw std::invalid_argument("conv_output_size: kernel " + to_string(kernel) + ", stride " +
                                to_string(stride) + ", padding " + to_string(padding) +
                                " are invalid: need kernel >= 1, stride >= 1, padding >= 0");
  }
  if (size + 2 * padding < kernel) {
    throw std::invalid_argument("conv_output_size: a kernel of " + to_string(kernel) +
                                " does not fit in an input of " + to_string(size) + " padded by " +
                                to_string(padding) + " on each side");
  }
  return (size + 2 * padding - kernel) / stride + 1;
}

namespace ops {

// ---- convolution --------------------------------------------------------------------------------

// Image by image, the images split over the threads (each thread's GEMMs then run serially):
//   cols   = im2col(x[i])                  (K, L)       K = C*kh*kw taps, L = Ho*Wo pixels
//   out[i] = W (O, K) @ cols + bias        (O, L)       already NCHW: no copy back
// One image's columns (a few hundred KB) stay in cache between im2col and the GEMM; a whole
// batch's would be tens of MB that go out to memory and back.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding) {
  check_image_batch("conv2d", input);
  if (!weight.defined() || weight.dim() != 4 || weight.size(1) != input.size(1)) {
    throw std::invalid_argument(
        "conv2d: weight must be (O, C, kh, kw) with C = " + to_string(input.size(1)) +
        " input channels, got weight shape " +
        (weight.defined() ? shape_to_string(weight.shape()) : std::string("undefined")) +
        " for input shape " + shape_to_string(input.shape()));
  }
  if (bias.defined() && bias.shape() != Shape{weight.size(0)}) {
    throw std::invalid_argument("conv2d: bias must have shape [" + to_string(weight.size(0)) +
                                "] (one per output channel), got " + shape_to_string(bias.shape()));
  }
  if (stride < 1) {
    throw std::invalid_argument("conv2d: stride " + to_string(stride) + " must be >= 1");
  }
  const int64_t ho = conv_output_size(input.size(2), weight.size(2), stride, padding);
  const int64_t wo = conv_output_size(input.size(3), weight.size(3), stride, padding);

  const Tensor x = input.contiguous(), w = weight.contiguous();
  // Named copies, not a structured binding: the lambdas below capture them.
  const ConvShapes shapes = conv_shapes(x, w, stride, padding);
  const int64_t n = shapes.n, o = shapes.o, k = shapes.k, l = shapes.l;
  const kernels::ConvGeometry g = shapes.g;
  Tensor out = empty({n, o, ho, wo});
  const Tensor b_contig = bias.defined() ? bias.contiguous() : Tensor();
  const float* b = b_contig.defined() ? b_contig.data_ptr() : nullptr;
  const float* px = x.data_ptr();
  const float* pw = w.data_ptr();
  float* py = out.data_ptr();
  if (use_winograd(g)) {
    kernels::winograd_conv2d(px, n, g, pw, o, b, py);
    return out;
  }
  const bool pointwise = is_pointwise(g);
  kernels::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
    float* cols = pointwise ? nullptr : column_buffer(static_cast<std::size_t>(k * l));
    for (int64_t img = lo; img < hi; ++img) {
      const float* xi = px + img * g.image_size();
      if (cols != nullptr) kernels::im2col(xi, 1, g, cols);
      float* yi = py + img * o * l;
      kernels::sgemm(false, false, o, l, k, 1.0f, pw, k, cols ? cols : xi, l, 0.0f, yi, l);
      if (b == nullptr) continue;
      for (int64_t ch = 0; ch < o; ++ch) {
        float* row = yi + ch * l;
        for (int64_t p = 0; p < l; ++p) row[p] += b[ch];
      }
    }
  });
  return out;
}

// ---- max pooling --------------------------------------------------------------------------------

// One (H, W) plane at a time: each output is the max of its window clipped to the input (padding
// is -infinity, so it never wins), and the flat position h*W + w of that max is kept for backward.
MaxPool2dResult max_pool2d(const Tensor& input, int64_t kernel_size, int64_t stride,
                           int64_t padding) {
  check_image_batch("max_pool2d", input);
  check_window("max_pool2d", kernel_size, stride, padding);
  const int64_t s = stride == 0 ? kernel_size : stride;
  const int64_t h = input.size(2), w = input.size(3);
  const int64_t ho = conv_output_size(h, kernel_size, s, padding);
  const int64_t wo = conv_output_size(w, kernel_size, s, padding);
  const Tensor x = input.contiguous();
  const int64_t planes = input.size(0) * input.size(1);
  MaxPool2dResult r{empty({input.size(0), input.size(1), ho, wo}),
                    empty({input.size(0), input.size(1), ho, wo})};
  const float* px = x.data_ptr();
  float* py = r.output.data_ptr();
  float* pi = r.indices.data_ptr();
  kernels::parallel_for(0, planes, std::max<int64_t>(1, 16384 / (h * w + 1)),
                        [&](int64_t lo, int64_t hi) {
                          for (int64_t plane = lo; plane < hi; ++plane) {
                            const float* in = px + plane * h * w;
                            for (int64_t oy = 0; oy < ho; ++oy) {
                              const int64_t y0 = std::max<int64_t>(oy * s - padding, 0);
                              const int64_t y1 = std::min(oy * s - padding + kernel_size, h);
                              for (int64_t ox = 0; ox < wo; ++ox) {
                                const int64_t x0 = std::max<int64_t>(ox * s - padding, 0);
                                const int64_t x1 = std::min(ox * s - padding + kernel_size, w);
                                int64_t best = y0 * w + x0;
                                for (int64_t yy = y0; yy < y1; ++yy) {
                                  for (int64_t xx = x0; xx < x1; ++xx) {
                                    if (in[yy * w + xx] > in[best]) best = yy * w + xx;
                                  }
                                }
                                const int64_t out = (plane * ho + oy) * wo + ox;
                                py[out] = in[best];
                                pi[out] = static_cast<float>(best);
                              }
                            }
                          }
                        });
  return r;
}

// ---- average pooling ----------------------------------------------------------------------------

// The window sum over the clipped window divided by kernel_size^2: the padded zeros count.
Tensor avg_pool2d(const Tensor& input, int64_t kernel_size, int64_t stride, int64_t padding) {
  check_image_batch("avg_pool2d", input);
  check_window("avg_pool2d", kernel_size, stride, padding);
  const int64_t s = stride == 0 ? kernel_size : stride;
  const int64_t h = input.size(2), w = input.size(3);
  const int64_t ho = conv_output_size(h, kernel_size, s, padding);
  const int64_t wo = conv_output_size(w, kernel_size, s, padding);
  const Tensor x = input.contiguous();
  Tensor out = empty({input.size(0), input.size(1), ho, wo});
  const float scale = 1.0f / static_cast<float>(kernel_size * kernel_size);
  const float* px = x.data_ptr();
  float* py = out.data_ptr();
  const int64_t planes = input.size(0) * input.size(1);
  kernels::parallel_for(0, planes, std::max<int64_t>(1, 16384 / (h * w + 1)),
                        [&](int64_t lo, int64_t hi) {
                          for (int64_t plane = lo; plane < hi; ++plane) {
                            const float* in = px + plane * h * w;
                            for (int64_t oy = 0; oy < ho; ++oy) {
                              const int64_t y0 = std::max<int64_t>(oy * s - padding, 0);
                              const int64_t y1 = std::min(oy * s - padding + kernel_size, h);
                              for (int64_t ox = 0; ox < wo; ++ox) {
                                const int64_t x0 = std::max<int64_t>(ox * s - padding, 0);
                                const int64_t x1 = std::min(ox * s - padding + kernel_size, w);
                                float sum = 0.0f;
                                for (int64_t yy = y0; yy < y1; ++yy) {
                                  for (int64_t xx = x0; xx < x1; ++xx) sum += in[yy * w + xx];
                                }
                                py[(plane * ho + oy) * wo + ox] = sum * scale;
                              }
                            }
                          }
                        });
  return out;
}

// ---- batch normalisation ------------------------------------------------------------------------

// Training: per channel c over its M = N*H*W values,
//   mean = sum(x) / M,   var = sum((x - mean)^2) / M        (two passes: no cancellation)
//   running_mean = (1 - momentum) running_mean + momentum mean
//   running_var  = (1 - momentum) running_var  + momentum var * M / (M - 1)   (unbiased)
// Eval: mean and var are the running statistics. Either way
//   y = (x - mean) * invstd * weight + bias = x * scale + shift,
//   scale = weight * invstd,  shift = bias - mean * scale,  invstd = 1 / sqrt(var + eps).
BatchNorm2dResult batch_norm2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                               const Tensor& running_mean, const Tensor& running_var, bool training,
                               float momentum, float eps) {
  check_image_batch("batch_norm2d", input);
  const int64_t n = input.size(0), c = input.size(1), hw = input.size(2) * input.size(3);
  const Shape channels{c};
  auto check_channels = [&](const Tensor& t, const char* what) {
    if (t.defined() && t.shape() != channels) {
      throw std::invalid_argument(std::string("batch_norm2d: ") + what + " must have shape " +
                                  shape_to_string(channels) + " (one per channel of input " +
                                  shape_to_string(input.shape()) + "), got " +
                                  shape_to_string(t.shape()));
    }
  };
  check_channels(weight, "weight");
  check_channels(bias, "bias");
  check_channels(running_mean, "running_mean");
  check_channels(running_var, "running_var");
  if (weight.defined() != bias.defined()) {
    throw std::invalid_argument(
        "batch_norm2d: weight and bias must be both defined (affine) or both undefined");
  }
  if (running_mean.defined() != running_var.defined()) {
    throw std::invalid_argument(
        "batch_norm2d: running_mean and running_var must be both defined or both undefined");
  }
  const int64_t m = n * hw;
  if (training && m <= 1) {
    throw std::invalid_argument(
        "batch_norm2d: expected more than 1 value per channel when training, "
        "got input shape " +
        shape_to_string(input.shape()));
  }
  if (!training && !running_mean.defined()) {
    throw std::invalid_argument(
        "batch_norm2d: eval mode normalises with running_mean and running_var, which are "
        "undefined; pass them, or use training = true");
  }
  if (eps <= 0.0f) {
    throw std::invalid_argument("batch_norm2d: eps " + to_string(eps) + " must be positive");
  }

  const Tensor x = input.contiguous();
  const float* px = x.data_ptr();
  BatchNorm2dResult r{empty(input.shape()), empty(channels), empty(channels)};
  float* mean = r.mean.data_ptr();
  float* invstd = r.invstd.data_ptr();
  if (training) {
    std::vector<float> var(static_cast<std::size_t>(c));
    kernels::parallel_for(0, c, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t ch = lo; ch < hi; ++ch) {
        double sum = 0.0;  // M can be millions: accumulate in double
        for (int64_t img = 0; img < n; ++img) {
          const float* p = px + (img * c + ch) * hw;
          float partial = 0.0f;
          for (int64_t i = 0; i < hw; ++i) partial += p[i];
          sum += partial;
        }
        const auto mu = static_cast<float>(sum / static_cast<double>(m));
        double sq = 0.0;
        for (int64_t img = 0; img < n; ++img) {
          const float* p = px + (img * c + ch) * hw;
          float partial = 0.0f;
          for (int64_t i = 0; i < hw; ++i) partial += (p[i] - mu) * (p[i] - mu);
          sq += partial;
        }
        mean[ch] = mu;
        var[static_cast<std::size_t>(ch)] = static_cast<float>(sq / static_cast<double>(m));
      }
    });
    for (int64_t ch = 0; ch < c; ++ch) {
      const float v = var[static_cast<std::size_t>(ch)];
      invstd[ch] = 1.0f / std::sqrt(v + eps);
      if (running_mean.defined()) {
        float& rm = running_mean.data_ptr()[ch * running_mean.strides()[0]];
        float& rv = running_var.data_ptr()[ch * running_var.strides()[0]];
        rm = (1.0f - momentum) * rm + momentum * mean[ch];
        rv = (1.0f - momentum) * rv +
             momentum * v * static_cast<float>(m) / static_cast<float>(m - 1);
      }
    }
  } else {
    for (int64_t ch = 0; ch < c; ++ch) {
      mean[ch] = running_mean.data_ptr()[ch * running_mean.strides()[0]];
      invstd[ch] = 1.0f / std::sqrt(running_var.data_ptr()[ch * running_var.strides()[0]] + eps);
    }
  }

  float* py = r.output.data_ptr();
  kernels::parallel_for(
      0, n * c, std::max<int64_t>(1, 16384 / (hw + 1)), [&](int64_t lo, int64_t hi) {
        for (int64_t plane = lo; plane < hi; ++plane) {
          const int64_t ch = plane % c;
          const float w = weight.defined() ? weight.data_ptr()[ch * weight.strides()[0]] : 1.0f;
          const float b = bias.defined() ? bias.data_ptr()[ch * bias.strides()[0]] : 0.0f;
          const float scale = w * invstd[ch], shift = b - mean[ch] * scale;
          const float* p = px + plane * hw;
          float* q = py + plane * hw;
          for (int64_t i = 0; i < hw; ++i) q[i] = p[i] * scale + shift;
        }
      });
  return r;
}

}  // namespace ops

// ---- backward nodes -----------------------------------------------------------------------------
namespace autograd {

// Image by image again, the images split into one block per thread, dY[i] being (O, L):
//   dW      += dY[i] (O, L) @ cols^T (L, K)        cols = im2col(x[i]), recomputed
//   dX[i]    = col2im(W^T (K, O) @ dY[i] (O, L))   col2im adds each column back where im2col read
//                                                  it: the adjoint of the gather
// Each block sums its own dW; the blocks' sums are added at the end, so no two threads ever write
// the same float. db is dY summed per channel (bias_gradient), on either path.
std::vector<Tensor> Conv2dBackward::backward(const Tensor& grad_output) {
  const ConvShapes shapes = conv_shapes(input, weight, stride, padding);  // captured below
  const int64_t n = shapes.n, o = shapes.o, k = shapes.k, l = shapes.l;
  const kernels::ConvGeometry g = shapes.g;
  if (grad_output.shape() != Shape{n, o, g.out_h(), g.out_w()}) {
    throw std::invalid_argument("Conv2dBackward: grad_output has shape " +
                                shape_to_string(grad_output.shape()) + ", expected " +
                                shape_to_string({n, o, g.out_h(), g.out_w()}));
  }
  const bool want_x = wants(*this, 0), want_w = wants(*this, 1);
  const bool want_b = has_bias && wants(*this, 2);
  const Tensor x = input.contiguous(), w = weight.contiguous(), dy = grad_output.contiguous();
  if (use_winograd(g)) {  // the kernel overwrites dX and dW
    Tensor dx = want_x ? empty(input.shape()) : Tensor();
    Tensor dw = want_w ? empty(weight.shape()) : Tensor();
    kernels::winograd_conv2d_backward(x.data_ptr(), w.data_ptr(), dy.data_ptr(), n, g, o,
                                      want_x ? dx.data_ptr() : nullptr,
                                      want_w ? dw.data_ptr() : nullptr);
    return {dx, dw, want_b ? bias_gradient(dy, n, o, l) : Tensor()};
  }
  Tensor dx = want_x ? zeros(input.shape()) : Tensor();
  const bool pointwise = is_pointwise(g);

  const int64_t blocks = std::clamp<int64_t>(kernels::num_threads(), 1, std::max<int64_t>(n, 1));
  // Per block: its partial dW (O*K floats).
  std::vector<float> partial(want_w ? static_cast<std::size_t>(blocks * o * k) : 0, 0.0f);
  const float* px = x.data_ptr();
  const float* pw = w.data_ptr();
  const float* pdy = dy.data_ptr();
  float* pdx = want_x ? dx.data_ptr() : nullptr;
  kernels::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
    float* cols = pointwise ? nullptr : column_buffer(static_cast<std::size_t>(k * l));
    for (int64_t block = first; block < last; ++block) {
      float* dw_part = want_w ? partial.data() + block * o * k : nullptr;
      for (int64_t img = block * n / blocks; img < (block + 1) * n / blocks; ++img) {
        const float* xi = px + img * g.image_size();
        const float* dyi = pdy + img * o * l;
        if (want_w) {
          if (cols != nullptr) kernels::im2col(xi, 1, g, cols);
          kernels::sgemm(false, true, o, k, l, 1.0f, dyi, l, cols ? cols : xi, l, 1.0f, dw_part, k);
        }
        if (want_x) {
          float* dxi = pdx + img * g.image_size();
          if (cols == nullptr) {  // pointwise: dX[i] is W^T @ dY[i] itself
            kernels::sgemm(true, false, k, l, o, 1.0f, pw, k, dyi, l, 0.0f, dxi, l);
          } else {
            kernels::sgemm(true, false, k, l, o, 1.0f, pw, k, dyi, l, 0.0f, cols, l);
            kernels::col2im(cols, 1, g, dxi);
          }
        }
      }
    }
  });

  Tensor dw = want_w ? zeros(weight.shape()) : Tensor();
  for (int64_t block = 0; want_w && block < blocks; ++block) {
    const float* dw_part = partial.data() + block * o * k;
    float* d = dw.data_ptr();
    for (int64_t i = 0; i < o * k; ++i) d[i] += dw_part[i];
  }
  return {dx, dw, want_b ? bias_gradient(dy, n, o, l) : Tensor()};
}

// dX[plane][indices[out]] += dY[out]: the max alone decided the output.
std::vector<Tensor> MaxPool2dBackward::backward(const Tensor& grad_output) {
  if (grad_output.shape() != indices.shape()) {
    throw std::invalid_argument("MaxPool2dBackward: grad_output has shape " +
                                shape_to_string(grad_output.shape()) + ", expected " +
                                shape_to_string(indices.shape()));
  }
  Tensor dx = empty(input_shape);  // zeroed plane by plane below, while the plane is in cache
  const Tensor dy = grad_output.contiguous(), idx = indices.contiguous();
  const int64_t planes = input_shape[0] * input_shape[1];
  const int64_t in_plane = input_shape[2] * input_shape[3];
  const int64_t out_plane = dy.size(2) * dy.size(3);
  const float* pdy = dy.data_ptr();
  const float* pidx = idx.data_ptr();
  float* pdx = dx.data_ptr();
  kernels::parallel_for(0, planes, std::max<int64_t>(1, 16384 / (in_plane + 1)),
                        [&](int64_t lo, int64_t hi) {
                          for (int64_t plane = lo; plane < hi; ++plane) {
                            float* d = pdx + plane * in_plane;
                            std::fill(d, d + in_plane, 0.0f);
                            for (int64_t i = plane * out_plane; i < (plane + 1) * out_plane; ++i) {
                              d[static_cast<int64_t>(pidx[i])] += pdy[i];
                            }
                          }
                        });
  return {dx};
}

// Every input of a window receives dY / kernel_size^2 (windows may overlap: accumulate).
std::vector<Tensor> AvgPool2dBackward::backward(const Tensor& grad_output) {
  const int64_t h = input_shape[2], w = input_shape[3];
  const int64_t ho = conv_output_size(h, kernel_size, stride, padding);
  const int64_t wo = conv_output_size(w, kernel_size, stride, padding);
  if (grad_output.shape() != Shape{input_shape[0], input_shape[1], ho, wo}) {
    throw std::invalid_argument("AvgPool2dBackward: grad_output has shape " +
                                shape_to_string(grad_output.shape()) + ", expected " +
                                shape_to_string({input_shape[0], input_shape[1], ho, wo}));
  }
  Tensor dx = zeros(input_shape);
  const Tensor dy = grad_output.contiguous();
  const float scale = 1.0f / static_cast<float>(kernel_size * kernel_size);
  const float* pdy = dy.data_ptr();
  float* pdx = dx.data_ptr();
  const int64_t planes = input_shape[0] * input_shape[1];
  kernels::parallel_for(0, planes, std::max<int64_t>(1, 16384 / (h * w + 1)),
                        [&](int64_t lo, int64_t hi) {
                          for (int64_t plane = lo; plane < hi; ++plane) {
                            float* d = pdx + plane * h * w;
                            for (int64_t oy = 0; oy < ho; ++oy) {
                              const int64_t y0 = std::max<int64_t>(oy * stride - padding, 0);
                              const int64_t y1 = std::min(oy * stride - padding + kernel_size, h);
                              for (int64_t ox = 0; ox < wo; ++ox) {
                                const int64_t x0 = std::max<int64_t>(ox * stride - padding, 0);
                                const int64_t x1 = std::min(ox * stride - padding + kernel_size, w);
                                const float g = pdy[(plane * ho + oy) * wo + ox] * scale;
                                for (int64_t yy = y0; yy < y1; ++yy) {
                                  for (int64_t xx = x0; xx < x1; ++xx) d[yy * w + xx] += g;
                                }
                              }
                            }
                          }
                        });
  return {dx};
}

// With xhat = (x - mean) * invstd and y = weight * xhat + bias, per channel over its M values:
//   dbias   = sum(dy)
//   dweight = sum(dy * xhat)
//   training: mean and invstd depend on every x of the channel, so dx has three terms:
//     dx = weight * invstd / M * (M * dy  -  sum(dy)  -  xhat * sum(dy * xhat))
//              term 1: the direct path through xhat
//              term 2: through the mean (every x shifts the mean by 1/M)
//              term 3: through the variance (every x changes invstd)
//   eval: mean and invstd are constants: dx = dy * weight * invstd.
std::vector<Tensor> BatchNorm2dBackward::backward(const Tensor& grad_output) {
  if (grad_output.shape() != input.shape()) {
    throw std::invalid_argument("BatchNorm2dBackward: grad_output has shape " +
                                shape_to_string(grad_output.shape()) + ", expected " +
                                shape_to_string(input.shape()));
  }
  const int64_t n = input.size(0), c = input.size(1), hw = input.size(2) * input.size(3);
  const auto m = static_cast<float>(n * hw);
  const Tensor x = input.contiguous(), dy = grad_output.contiguous();
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  const float* px = x.data_ptr();
  const float* pdy = dy.data_ptr();
  const float* pmean = mean.data_ptr();
  const float* pinvstd = invstd.data_ptr();

  // Per channel: sum(dy) and sum(dy * xhat).
  std::vector<float> sum_dy(static_cast<std::size_t>(c)), sum_dy_xhat(static_cast<std::size_t>(c));
  kernels::parallel_for(0, c, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t ch = lo; ch < hi; ++ch) {
      double s1 = 0.0, s2 = 0.0;
      for (int64_t img = 0; img < n; ++img) {
        const float* p = px + (img * c + ch) * hw;
        const float* g = pdy + (img * c + ch) * hw;
        float a = 0.0f, b = 0.0f;
        for (int64_t i = 0; i < hw; ++i) {
          a += g[i];
          b += g[i] * (p[i] - pmean[ch]);
        }
        s1 += a;
        s2 += b;
      }
      sum_dy[static_cast<std::size_t>(ch)] = static_cast<float>(s1);
      sum_dy_xhat[static_cast<std::size_t>(ch)] = static_cast<float>(s2) * pinvstd[ch];
    }
  });

  Tensor dx, dw, db;
  if (wants(*this, 0)) {
    dx = empty(input.shape());
    float* pdx = dx.data_ptr();
    kernels::parallel_for(
        0, n * c, std::max<int64_t>(1, 16384 / (hw + 1)), [&](int64_t lo, int64_t hi) {
          for (int64_t plane = lo; plane < hi; ++plane) {
            const int64_t ch = plane % c;
            const auto cc = static_cast<std::size_t>(ch);
            const float gain = (w.defined() ? w.data_ptr()[ch] : 1.0f) * pinvstd[ch];
            const float* p = px + plane * hw;
            const float* g = pdy + plane * hw;
            float* d = pdx + plane * hw;
            if (training) {
              // dx = gain / M * (M dy - sum(dy) - xhat sum(dy xhat))
              const float mean_dy = sum_dy[cc] / m, mean_dy_xhat = sum_dy_xhat[cc] / m;
              for (int64_t i = 0; i < hw; ++i) {
                const float xhat = (p[i] - pmean[ch]) * pinvstd[ch];
                d[i] = gain * (g[i] - mean_dy - xhat * mean_dy_xhat);
              }
            } else {
              for (int64_t i = 0; i < hw; ++i) d[i] = gain * g[i];
            }
          }
        });
  }
  if (weight.defined() && wants(*this, 1)) dw = from_vector(sum_dy_xhat, {c});
  if (weight.defined() && wants(*this, 2)) db = from_vector(sum_dy, {c});
  return {dx, dw, db};
}

}  // namespace autograd

// ---- modules ------------------------------------------------------------------------------------
namespace nn {
namespace {

Tensor uniform(const Shape& shape, float bound, Generator& generator) {
  Tensor t = empty(shape);
  for (float& v : t.data()) v = (2.0f * generator.uniform() - 1.0f) * bound;
  return t;
}

}  // namespace

// PyTorch's default (kaiming_uniform with a = sqrt(5)) gives bound = gain * sqrt(3 / fan_in) with
// gain = sqrt(2 / (1 + 5)), i.e. 1 / sqrt(fan_in); the bias uses the same bound.
Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
               int64_t padding, bool bias, Generator& generator)
    : in_channels(in_channels),
      out_channels(out_channels),
      kernel_size(kernel_size),
      stride(stride),
      padding(padding) {
  if (in_channels < 1 || out_channels < 1 || kernel_size < 1 || stride < 1 || padding < 0) {
    throw std::invalid_argument(
        "Conv2d(" + to_string(in_channels) + ", " + to_string(out_channels) + ", " +
        to_string(kernel_size) + ", stride " + to_string(stride) + ", padding " +
        to_string(padding) +
        "): channels, kernel_size and stride must be positive and padding non-negative");
  }
  const float bound = 1.0f / std::sqrt(static_cast<float>(in_channels * kernel_size * kernel_size));
  weight = register_parameter(
      "weight", uniform({out_channels, in_channels, kernel_size, kernel_size}, bound, generator));
  if (bias) this->bias = register_parameter("bias", uniform({out_channels}, bound, generator));
}

Tensor Conv2d::forward(const Tensor& input) {
  return conv2d(input, weight, bias, stride, padding);
}

MaxPool2d::MaxPool2d(int64_t kernel_size, int64_t stride, int64_t padding)
    : kernel_size(kernel_size), stride(stride == 0 ? kernel_size : stride), padding(padding) {
  check_window("MaxPool2d", kernel_size, stride, padding);
}

Tensor MaxPool2d::forward(const Tensor& input) {
  return max_pool2d(input, kernel_size, stride, padding);
}

AvgPool2d::AvgPool2d(int64_t kernel_size, int64_t stride, int64_t padding)
    : kernel_size(kernel_size), stride(stride == 0 ? kernel_size : stride), padding(padding) {
  check_window("AvgPool2d", kernel_size, stride, padding);
}

Tensor AvgPool2d::forward(const Tensor& input) {
  return avg_pool2d(input, kernel_size, stride, padding);
}

BatchNorm2d::BatchNorm2d(int64_t num_features, float eps, float momentum)
    : num_features(num_features), eps(eps), momentum(momentum) {
  if (num_features < 1) {
    throw std::invalid_argument("BatchNorm2d(" + to_string(num_features) +
                                "): num_features must be positive");
  }
  weight = register_parameter("weight", ones({num_features}));
  bias = register_parameter("bias", zeros({num_features}));
  running_mean = register_buffer("running_mean", zeros({num_features}));
  running_var = register_buffer("running_var", ones({num_features}));
}

Tensor BatchNorm2d::forward(const Tensor& input) {
  if (input.dim() == 4 && input.size(1) != num_features) {
    throw std::invalid_argument("BatchNorm2d(" + to_string(num_features) + "): input of shape " +
                                shape_to_string(input.shape()) + " has " +
                                to_string(input.size(1)) + " channels");
  }
  return batch_norm2d(input, weight, bias, running_mean, running_var, is_training(), momentum, eps);
}

}  // namespace nn
}  // namespace tinytorch
