// Module 02 reference solution: the Tensor. The contract is modules/02_tensor/tensor.hpp.
//
// Layout reminder: element (i0, ..., ik) lives at storage[offset + i0*strides[0] + ... +
// ik*strides[k]]. Views (view, transpose, permute, unsqueeze, squeeze) only make new (shape,
// strides, offset) over the same Storage; every op that reads a tensor follows its strides, so
// views work everywhere. Ops that make new data always return contiguous tensors.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch {
namespace {

using std::int64_t;

// ---- small helpers --------------------------------------------------------------------------

// A new handle over `storage` with the given layout (requires_grad false, no graph node).
Tensor make_tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  return Tensor(std::move(impl));
}

// A view: same storage as `base`, a new layout.
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  return make_tensor(base.storage(), std::move(shape), std::move(strides), offset);
}

// Negative dims count from the end. As in PyTorch, a 0-d tensor accepts dim 0 and -1 (it behaves
// like a one-element vector for the purpose of naming a dimension).
int64_t wrap_dim(int64_t dim, int64_t rank, const char* op) {
  const int64_t n = std::max<int64_t>(rank, 1);
  if (dim < -n || dim >= n) {
    throw std::out_of_range(std::string(op) + ": dimension " + std::to_string(dim) +
                            " is out of range for a tensor of " + std::to_string(rank) +
                            " dimensions (expected a value in [" + std::to_string(-n) + ", " +
                            std::to_string(n - 1) + "])");
  }
  return dim < 0 ? dim + n : dim;
}

// ---- the strided loop behind every elementwise op -------------------------------------------

// A pointer and the strides to walk it with (stride 0 repeats an element: that is broadcasting).
struct Strided {
  float* ptr;
  Shape strides;
};

// Strides that read t as if it had shape `out`: t's dims are aligned right, and a dim that t lacks
// or has with size 1 gets stride 0, so the same element is read along it.
Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& out) {
  Shape result(out.size(), 0);
  const auto lead = out.size() - shape.size();
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] != 1) result[lead + d] = strides[d];
  }
  return result;
}
Shape broadcast_strides(const Tensor& t, const Shape& out) {
  return broadcast_strides(t.shape(), t.strides(), out);
}

// Merges neighbouring dims that every operand walks as one (stride[d] == stride[d+1] * size[d+1])
// and drops dims of size 1, so a contiguous tensor of any rank becomes a single 1-d loop.
template <std::size_t N>
void coalesce(Shape& shape, std::array<Strided, N>& ops) {
  Shape new_shape;
  std::array<Shape, N> new_strides;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !new_shape.empty();
    for (std::size_t k = 0; k < N && merge; ++k) {
      merge = new_strides[k].back() == ops[k].strides[d] * shape[d];
    }
    if (merge) {
      new_shape.back() *= shape[d];
      for (std::size_t k = 0; k < N; ++k) new_strides[k].back() = ops[k].strides[d];
    } else {
      new_shape.push_back(shape[d]);
      for (std::size_t k = 0; k < N; ++k) new_strides[k].push_back(ops[k].strides[d]);
    }
  }
  shape = std::move(new_shape);
  for (std::size_t k = 0; k < N; ++k) ops[k].strides = std::move(new_strides[k]);
}

// Calls f(out_element, a_element, b_element) for every index of `shape`, in row-major order.
// The innermost dim is a tight loop; the outer dims advance like an odometer.
template <class F>
void for_each3(Shape shape, std::array<Strided, 3> ops, F f) {
  if (shape_numel(shape) == 0) return;
  coalesce(shape, ops);
  float* o = ops[0].ptr;
  float* a = ops[1].ptr;
  float* b = ops[2].ptr;
  if (shape.empty()) {  // a single element
    f(*o, *a, *b);
    return;
  }
  const auto rank = static_cast<int64_t>(shape.size());
  const int64_t n = shape.back();
  const int64_t so = ops[0].strides.back(), sa = ops[1].strides.back(), sb = ops[2].strides.back();
  Shape index(rank - 1, 0);
  while (true) {
    for (int64_t i = 0; i < n; ++i) f(o[i * so], a[i * sa], b[i * sb]);
    int64_t d = rank - 2;
    for (; d >= 0; --d) {  // odometer: bump dim d, or wind it back to 0 and carry
      if (++index[d] < shape[d]) {
        o += ops[0].strides[d], a += ops[1].strides[d], b += ops[2].strides[d];
        break;
      }
      index[d] = 0;
      o -= ops[0].strides[d] * (shape[d] - 1);
      a -= ops[1].strides[d] * (shape[d] - 1);
      b -= ops[2].strides[d] * (shape[d] - 1);
    }
    if (d < 0) return;
  }
}

// In place: dst[i] = f(dst[i], src broadcast to dst's shape [i]); dst may be any view.
template <class F>
void update_with(const Tensor& dst, const Tensor& src, const char* op, F f) {
  if (broadcast_shapes(dst.shape(), src.shape()) != dst.shape()) {
    throw std::invalid_argument(std::string(op) + ": cannot broadcast a source of shape " +
                                shape_to_string(src.shape()) + " to the destination shape " +
                                shape_to_string(dst.shape()));
  }
  // Reading a view of dst while writing dst could read already-overwritten values: copy first.
  const Tensor s = src.shares_storage(dst) ? src.clone() : src;
  for_each3(dst.shape(),
            {Strided{dst.data_ptr(), dst.strides()}, Strided{dst.data_ptr(), dst.strides()},
             Strided{s.data_ptr(), broadcast_strides(s, dst.shape())}},
            [&](float& out, float old, float x) { out = f(old, x); });
}

// out = f(a, b) elementwise, broadcast. Contiguous operands of one shape (the common case) take
// a plain loop that the compiler vectorises; everything else takes the strided loop.
template <class F>
Tensor binary_op(const Tensor& a, const Tensor& b, F f) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor out = empty(shape);
  float* o = out.data_ptr();
  const int64_t n = out.numel();
  const bool a_full = a.shape() == shape && a.is_contiguous();
  const bool b_full = b.shape() == shape && b.is_contiguous();
  if (a_full && b_full) {
    const float* x = a.data_ptr();
    const float* y = b.data_ptr();
    for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
  } else if (a_full && b.numel() == 1) {  // tensor (op) scalar
    const float* x = a.data_ptr();
    const float y = *b.data_ptr();
    for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y);
  } else if (b_full && a.numel() == 1) {  // scalar (op) tensor
    const float x = *a.data_ptr();
    const float* y = b.data_ptr();
    for (int64_t i = 0; i < n; ++i) o[i] = f(x, y[i]);
  } else {
    for_each3(shape,
              {Strided{o, out.strides()}, Strided{a.data_ptr(), broadcast_strides(a, shape)},
               Strided{b.data_ptr(), broadcast_strides(b, shape)}},
              [&](float& r, float x, float y) { r = f(x, y); });
  }
  return out;
}

// ---- shapes for view / reshape and reductions ------------------------------------------------

// Resolves one -1 in `shape` so that it holds `numel` elements; anything else is an error.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1;
  std::optional<std::size_t> infer;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1 && !infer) {
      infer = d;
    } else if (shape[d] < 0) {
      throw std::invalid_argument(std::string(op) + ": shape " + shape_to_string(shape) +
                                  " is invalid (only one dimension may be -1, none below it)");
    } else {
      known *= shape[d];
    }
  }
  if (infer && known != 0 && numel % known == 0) out[*infer] = numel / known;
  if ((infer && (known == 0 || numel % known != 0)) || (!infer && known != numel)) {
    throw std::invalid_argument(std::string(op) + ": shape " + shape_to_string(shape) +
                                " is invalid for a tensor of " + std::to_string(numel) +
                                " elements");
  }
  return out;
}

// A contiguous tensor seen as (outer, n, inner) around `dim`: element (o, i, j) is at
// (o * n + i) * inner + j. Reductions along dim reduce the middle index.
struct Split {
  int64_t outer = 1, n = 1, inner = 1;
};
Split split_at(const Shape& shape, int64_t dim) {
  Split s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < dim) s.outer *= shape[d];
    if (d == dim) s.n = shape[d];
    if (d > dim) s.inner *= shape[d];
  }
  return s;
}

// The shape after reducing `dim`: removed, or kept with size 1.
Shape reduced_shape(const Shape& shape, int64_t dim, bool keepdim) {
  Shape out = shape;
  if (keepdim) {
    out[dim] = 1;
  } else {
    out.erase(out.begin() + dim);
  }
  return out;
}

// Sum along dim of a contiguous tensor, accumulated in double (a float running sum of a million
// numbers loses about 3 digits).
Tensor sum_along(const Tensor& t, int64_t dim, bool keepdim) {
  const auto [outer, n, inner] = split_at(t.shape(), dim);
  Tensor out = zeros(reduced_shape(t.shape(), dim, keepdim));
  const float* x = t.data_ptr();
  float* y = out.data_ptr();
  if (inner == 1) {  // fast path, the last dim: each output sums one contiguous run of n
    for (int64_t o = 0; o < outer; ++o) {
      double acc = 0.0;
      for (int64_t i = 0; i < n; ++i) acc += x[o * n + i];
      y[o] = static_cast<float>(acc);
    }
    return out;
  }
  std::vector<double> acc(inner);  // one running sum per output; add whole rows (cache friendly)
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const float* row = x + (o * n + i) * inner;
      for (int64_t j = 0; j < inner; ++j) acc[j] += row[j];
    }
    for (int64_t j = 0; j < inner; ++j) y[o * inner + j] = static_cast<float>(acc[j]);
  }
  return out;
}

// max along dim of a contiguous tensor: values and (first) indices. NaN wins, as in PyTorch.
std::pair<Tensor, Tensor> max_along(const Tensor& t, int64_t dim, bool keepdim, const char* op) {
  const auto [outer, n, inner] = split_at(t.shape(), dim);
  if (n == 0) {
    throw std::invalid_argument(std::string(op) + ": cannot reduce dimension " +
                                std::to_string(dim) + " of size 0 (shape " +
                                shape_to_string(t.shape()) + "): an empty set has no maximum");
  }
  const Shape shape = reduced_shape(t.shape(), dim, keepdim);
  Tensor values = empty(shape);
  Tensor indices = zeros(shape);
  const float* x = t.data_ptr();
  float* v = values.data_ptr();
  float* idx = indices.data_ptr();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      const float* col = x + o * n * inner + j;  // the n candidates, `inner` apart
      float best = col[0];
      int64_t best_i = 0;
      for (int64_t i = 1; i < n && !std::isnan(best); ++i) {
        const float c = col[i * inner];
        if (c > best || std::isnan(c)) best = c, best_i = i;  // strict >: ties keep the first
      }
      v[o * inner + j] = best;
      idx[o * inner + j] = static_cast<float>(best_i);
    }
  }
  return {values, indices};
}

// ---- matmul -----------------------------------------------------------------------------------

// How BLAS can read the last two dims of t as a (rows, cols) matrix without copying:
// row-major (unit column stride, ld = row stride), or the transpose of a row-major matrix (unit
// row stride, ld = column stride: what x.transpose(-2, -1) of a contiguous x looks like).
struct BlasMatrix {
  bool usable = false;
  bool trans = false;
  int64_t ld = 1;
};
BlasMatrix blas_matrix(const Tensor& t) {
  const auto r = t.dim() - 2;
  const int64_t rows = t.shape()[r], cols = t.shape()[r + 1];
  const int64_t rs = t.strides()[r], cs = t.strides()[r + 1];
  if (cs == 1 || cols == 1) {
    const int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    if (ld >= std::max<int64_t>(cols, 1)) return {true, false, ld};
  }
  if (rs == 1 || rows == 1) {
    const int64_t ld = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    if (ld >= std::max<int64_t>(rows, 1)) return {true, true, ld};
  }
  return {};
}

// ---- printing ---------------------------------------------------------------------------------
//
// The rules, which are PyTorch's (torch/_tensor_str.py, default print options):
//  * One format for the whole tensor, chosen from its nonzero finite values (zeros, inf and nan do
//    not vote):
//      - every such value is an integer: "integer mode", printed "%.0f" plus a dot ("3.", "-2."),
//        unless max/min > 1000 or max > 1e8, which switches to scientific "%.4e" ("1.0000e+10");
//      - otherwise "%.4f" ("1.5000"), unless max/min > 1000, max > 1e8 or min < 1e-4, which
//        switches to scientific "%.4e".
//    (max and min are of absolute values.) nan, inf and -inf print as such, without a dot.
//  * Every element is right-aligned to the widest formatted nonzero finite value.
//  * "tensor(" opens; rows are indented to line up under the first "[", dims are separated by ","
//    plus one newline per remaining dim (a blank line between matrices of a 3-d tensor).
//  * A row is wrapped so that a line holds floor((80 - indent) / (width + 2)) elements.
//  * Above 1000 elements the tensor is summarised: every dim longer than 6 shows its first 3 and
//    last 3 entries around "..." (the format is chosen from the shown values only).
//  * 0-d: "tensor(3.)". Empty: "tensor([])", plus ", size=(0, 3)" when the shape is not (0,).
//  * ", requires_grad=True" is appended when the flag is set (moved to a new line, indented, when
//    the last line would pass 80 characters). PyTorch would print grad_fn=<...> for a non-leaf;
//    module 02 has no names for graph nodes, so the flag is what we show.
constexpr int kLineWidth = 80;
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;

std::string printf_string(const char* format, double value) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), format, value);
  return buffer.data();
}

class Formatter {
 public:
  explicit Formatter(const std::vector<float>& values) {
    double max = 0.0, min = std::numeric_limits<double>::infinity();
    bool any = false;
    for (float v : values) {
      if (!std::isfinite(v) || v == 0.0f) continue;
      any = true;
      max = std::max(max, std::fabs(static_cast<double>(v)));
      min = std::min(min, std::fabs(static_cast<double>(v)));
      if (v != std::ceil(v)) int_mode_ = false;
    }
    if (!any) return;  // zeros, inf and nan only: integer mode, width 1
    sci_mode_ = max / min > 1000.0 || max > 1.0e8 || (!int_mode_ && min < 1.0e-4);
    for (float v : values) {
      if (!std::isfinite(v) || v == 0.0f) continue;
      // In integer mode the width counts the dot that format() appends.
      const auto len = raw(v).size() + (int_mode_ && !sci_mode_ ? 1 : 0);
      width_ = std::max(width_, len);
    }
  }

  [[nodiscard]] std::size_t width() const { return width_; }

  [[nodiscard]] std::string format(float v) const {
    std::string s = raw(v);
    if (int_mode_ && !sci_mode_ && std::isfinite(v)) s += '.';
    return std::string(width_ > s.size() ? width_ - s.size() : 0, ' ') + s;
  }

 private:
  [[nodiscard]] std::string raw(float v) const {
    if (std::isnan(v)) return "nan";  // printf would say "-nan" for a negative NaN
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (sci_mode_) return printf_string("%.4e", v);
    return printf_string(int_mode_ ? "%.0f" : "%.4f", v);
  }

  bool int_mode_ = true;
  bool sci_mode_ = false;
  std::size_t width_ = 1;
};

// Walks the elements that get printed (all of them, or the edges when summarising).
class Printer {
 public:
  Printer(const Tensor& t, bool summarize) : t_(t), summarize_(summarize) {}

  // The indices along dim `d` that are shown; -1 marks the "..." between the edges.
  [[nodiscard]] std::vector<int64_t> shown(int64_t d) const {
    const int64_t n = t_.shape()[d];
    std::vector<int64_t> idx;
    if (summarize_ && n > 2 * kEdgeItems) {
      for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
      idx.push_back(-1);
      for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
    } else {
      for (int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  void collect(int64_t d, const float* p, std::vector<float>& out) const {
    if (d == t_.dim()) {
      out.push_back(*p);
      return;
    }
    for (int64_t i : shown(d)) {
      if (i >= 0) collect(d + 1, p + i * t_.strides()[d], out);
    }
  }

  [[nodiscard]] std::string render(int64_t d, const float* p, const Formatter& f,
                                   std::size_t indent) const {
    std::vector<std::string> parts;
    for (int64_t i : shown(d)) {
      if (d + 1 == t_.dim()) {
        parts.push_back(i < 0 ? " ..." : f.format(p[i * t_.strides()[d]]));
      } else {
        parts.push_back(i < 0 ? "..." : render(d + 1, p + i * t_.strides()[d], f, indent + 1));
      }
    }
    std::string out = "[";
    if (d + 1 == t_.dim()) {  // a row: wrap at the line width
      const auto per_line = std::max<std::size_t>(1, (kLineWidth - indent) / (f.width() + 2));
      for (std::size_t k = 0; k < parts.size(); ++k) {
        if (k > 0) out += k % per_line == 0 ? ",\n" + std::string(indent + 1, ' ') : ", ";
        out += parts[k];
      }
    } else {
      const std::string sep =
          "," + std::string(t_.dim() - d - 1, '\n') + std::string(indent + 1, ' ');
      for (std::size_t k = 0; k < parts.size(); ++k) out += (k > 0 ? sep : "") + parts[k];
    }
    return out + "]";
  }

 private:
  const Tensor& t_;
  bool summarize_;
};

}  // namespace

// ---- shapes ---------------------------------------------------------------------------------

// strides[d] = size[d+1] * ... * size[k]. A size-0 dim counts as 1 (as in PyTorch), so an empty
// tensor still gets nonzero strides.
Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (auto d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= std::max<int64_t>(shape[d], 1);
  }
  return strides;
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    if (s < 0) {
      throw std::invalid_argument("shape " + shape_to_string(shape) + " has a negative dimension");
    }
    if (__builtin_mul_overflow(n, s, &n)) {  // signed overflow would be undefined behaviour
      throw std::invalid_argument("shape " + shape_to_string(shape) +
                                  " has more elements than an int64 counts");
    }
  }
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t d = 0; d < shape.size(); ++d) {
    s += (d > 0 ? ", " : "") + std::to_string(shape[d]);
  }
  return s + "]";
}

// NumPy rules: align the shapes right; each pair of sizes must be equal or contain a 1, and the
// result takes the larger. [2, 3] and [3] -> [2, 3]; [4, 1] and [1, 5] -> [4, 5].
Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const auto rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {  // i counts from the right
    const int64_t x = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t y = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (x != y && x != 1 && y != 1) {
      throw std::invalid_argument("cannot broadcast shapes " + shape_to_string(a) + " and " +
                                  shape_to_string(b));
    }
    out[rank - 1 - i] = x == 1 ? y : x;
  }
  return out;
}

// ---- metadata and element access --------------------------------------------------------------

int64_t Tensor::numel() const {
  return shape_numel(shape());
}

int64_t Tensor::size(int64_t d) const {
  const int64_t rank = dim();
  if (d < -rank || d >= rank) {
    throw std::out_of_range("size: dimension " + std::to_string(d) + " is out of range for shape " +
                            shape_to_string(shape()));
  }
  return shape()[d < 0 ? d + rank : d];
}

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;  // nothing to lay out (PyTorch agrees)
  const Shape expected = contiguous_strides(shape());
  for (std::size_t d = 0; d < expected.size(); ++d) {
    if (shape()[d] != 1 && strides()[d] != expected[d]) return false;
  }
  return true;
}

float& Tensor::at(std::initializer_list<int64_t> index) const {
  return at(std::span<const int64_t>(index.begin(), index.size()));
}

float& Tensor::at(std::span<const int64_t> index) const {
  if (static_cast<int64_t>(index.size()) != dim()) {
    throw std::out_of_range("at: expected " + std::to_string(dim()) + " indices for shape " +
                            shape_to_string(shape()) + ", got " + std::to_string(index.size()));
  }
  int64_t pos = offset();
  for (int64_t d = 0; d < dim(); ++d) {
    int64_t i = index[d];
    const int64_t n = shape()[d];
    if (i < -n || i >= n) {
      throw std::out_of_range("at: index " + std::to_string(i) + " is out of range for dimension " +
                              std::to_string(d) + " of size " + std::to_string(n) + " (shape " +
                              shape_to_string(shape()) + ")");
    }
    if (i < 0) i += n;
    pos += i * strides()[d];
  }
  return storage()->data[pos];
}

float Tensor::item() const {
  if (numel() != 1) {
    throw std::invalid_argument("item: only a one-element tensor has a single value; shape " +
                                shape_to_string(shape()) + " has " + std::to_string(numel()) +
                                " elements");
  }
  return *data_ptr();  // with one element, every index is 0: the element sits at offset
}

std::vector<float> Tensor::to_vector() const {
  if (is_contiguous()) return std::vector<float>(data_ptr(), data_ptr() + numel());
  return ops::contiguous(*this).to_vector();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape());
  out.copy_(*this);
  return out;
}

Tensor Tensor::detach() const {
  return make_view(*this, shape(), strides(), offset());
}

// ---- in place ---------------------------------------------------------------------------------

Tensor& Tensor::fill_(float value) {
  update_with(*this, scalar_tensor(value), "fill_", [](float, float x) { return x; });
  return *this;
}

Tensor& Tensor::zero_() {
  return fill_(0.0f);
}

Tensor& Tensor::copy_(const Tensor& src) {
  update_with(*this, src, "copy_", [](float, float x) { return x; });
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, float alpha) {
  update_with(*this, other, "add_", [alpha](float old, float x) { return old + alpha * x; });
  return *this;
}

Tensor& Tensor::mul_(float factor) {
  update_with(*this, scalar_tensor(factor), "mul_", [](float old, float x) { return old * x; });
  return *this;
}

Tensor Tensor::argmax(int64_t dim, bool keepdim) const {
  const int64_t d = wrap_dim(dim, this->dim(), "argmax");
  if (this->dim() == 0) return zeros({});  // the only element is at index 0
  return max_along(ops::contiguous(*this), d, keepdim, "argmax").second;
}

// ---- creation -----------------------------------------------------------------------------------

Tensor empty(const Shape& shape) {
  auto storage = std::make_shared<Storage>();
  storage->data.resize(static_cast<std::size_t>(shape_numel(shape)));
  return make_tensor(std::move(storage), shape, contiguous_strides(shape), 0);
}

Tensor zeros(const Shape& shape) {
  return empty(shape);
}  // std::vector zero-initialises

Tensor full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  std::fill(t.data().begin(), t.data().end(), value);
  return t;
}

Tensor ones(const Shape& shape) {
  return full(shape, 1.0f);
}
Tensor zeros_like(const Tensor& t) {
  return zeros(t.shape());
}
Tensor ones_like(const Tensor& t) {
  return ones(t.shape());
}
Tensor scalar_tensor(float value) {
  return full({}, value);
}

// n = ceil((end - start) / step) values start + i*step, computed in double so that a long range
// does not drift.
Tensor arange(float start, float end, float step) {
  if (step == 0.0f || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step)) {
    throw std::invalid_argument("arange: need finite start, end and a nonzero step, got start " +
                                std::to_string(start) + ", end " + std::to_string(end) + ", step " +
                                std::to_string(step));
  }
  const double count = std::ceil((static_cast<double>(end) - start) / step);
  Tensor t = empty({std::max<int64_t>(0, static_cast<int64_t>(count))});
  auto values = t.data();
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(start + static_cast<double>(i) * step);
  }
  return t;
}

Tensor arange(float end) {
  return arange(0.0f, end, 1.0f);
}

namespace {
// The shape of nested data is read down its first items; fill() then checks every list against it.
void fill_nested(const NestedData& node, const Shape& shape, std::size_t depth,
                 std::vector<float>& out) {
  if (depth == shape.size()) {
    if (!node.is_scalar()) {
      throw std::invalid_argument("tensor: ragged nested list: found a list at depth " +
                                  std::to_string(depth) + " where shape " + shape_to_string(shape) +
                                  " expects a number");
    }
    out.push_back(node.value());
    return;
  }
  if (node.is_scalar() || static_cast<int64_t>(node.items().size()) != shape[depth]) {
    throw std::invalid_argument(
        "tensor: ragged nested list: expected " + std::to_string(shape[depth]) +
        " items at depth " + std::to_string(depth) + " (shape " + shape_to_string(shape) +
        "), found " + (node.is_scalar() ? "a number" : std::to_string(node.items().size())));
  }
  for (const auto& item : node.items()) fill_nested(item, shape, depth + 1, out);
}
}  // namespace

Tensor tensor(const NestedData& data) {
  Shape shape;
  for (const NestedData* node = &data; !node->is_scalar();) {
    shape.push_back(static_cast<int64_t>(node->items().size()));
    if (node->items().empty()) break;
    node = &node->items().front();
  }
  std::vector<float> values;
  values.reserve(static_cast<std::size_t>(shape_numel(shape)));
  fill_nested(data, shape, 0, values);
  return from_vector(std::move(values), shape);
}

Tensor from_vector(std::vector<float> values, const Shape& shape) {
  const int64_t n = shape_numel(shape);
  if (static_cast<int64_t>(values.size()) != n) {
    throw std::invalid_argument("from_vector: " + std::to_string(values.size()) +
                                " values cannot fill shape " + shape_to_string(shape) + " (" +
                                std::to_string(n) + " elements)");
  }
  auto storage = std::make_shared<Storage>();
  storage->data = std::move(values);
  return make_tensor(std::move(storage), shape, contiguous_strides(shape), 0);
}

Tensor rand(const Shape& shape, Generator& generator) {
  Tensor t = empty(shape);
  for (float& v : t.data()) v = generator.uniform();
  return t;
}

Tensor randn(const Shape& shape, Generator& generator) {
  Tensor t = empty(shape);
  for (float& v : t.data()) v = generator.normal();
  return t;
}

// ---- comparison and printing ------------------------------------------------------------------

bool allclose(const Tensor& a, const Tensor& b, float rtol, float atol) {
  if (a.shape() != b.shape()) return false;
  const auto x = a.to_vector();
  const auto y = b.to_vector();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i]) continue;  // also equal infinities, where |a - b| would be nan
    if (!(std::fabs(x[i] - y[i]) <= atol + rtol * std::fabs(y[i]))) return false;  // nan fails
  }
  return true;
}

std::string Tensor::to_string() const {
  const std::string prefix = "tensor(";
  const std::size_t indent = prefix.size();
  std::string body;
  std::vector<std::string> suffixes;
  if (numel() == 0) {
    body = "[]";
    if (dim() != 1) {  // Python prints the shape as a tuple: (0, 3)
      std::string size = "size=(";
      for (int64_t d = 0; d < dim(); ++d) size += (d > 0 ? ", " : "") + std::to_string(shape()[d]);
      suffixes.push_back(size + ")");
    }
  } else {
    const Printer printer(*this, numel() > kThreshold);
    std::vector<float> shown;
    printer.collect(0, data_ptr(), shown);
    const Formatter formatter(shown);
    body = dim() == 0 ? formatter.format(*data_ptr())
                      : printer.render(0, data_ptr(), formatter, indent);
  }
  if (requires_grad()) suffixes.emplace_back("requires_grad=True");

  // PyTorch's _add_suffixes, quirks included (its "last line length" counts 2 more than it should
  // when there is no newline).
  std::string out = prefix + body;
  const auto newline = out.rfind('\n');
  std::size_t last_line = newline == std::string::npos ? out.size() + 2 : out.size() - newline + 1;
  for (const auto& suffix : suffixes) {
    if (last_line + suffix.size() + 2 > kLineWidth) {
      out += ",\n" + std::string(indent, ' ') + suffix;
      last_line = indent + suffix.size();
    } else {
      out += ", " + suffix;
      last_line += suffix.size() + 2;
    }
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  return out << t.to_string();
}

// ---- ops: the forward math ----------------------------------------------------------------------

namespace ops {

Tensor add(const Tensor& a, const Tensor& b) {
  return binary_op(a, b, [](float x, float y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary_op(a, b, [](float x, float y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary_op(a, b, [](float x, float y) { return x * y; });
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary_op(a, b, [](float x, float y) { return x / y; });
}

// (..., n, k) @ (..., k, m) -> (broadcast batch..., n, m): one GEMM per batch entry (a batched
// GEMM spreads small ones over the threads), reading each operand in place when BLAS can
// (row-major or transposed layout), else from a contiguous copy.
Tensor matmul(const Tensor& a, const Tensor& b) {
  const auto shapes = shape_to_string(a.shape()) + " and " + shape_to_string(b.shape());
  if (a.dim() < 2 || b.dim() < 2) {
    throw std::invalid_argument("matmul: both operands need at least 2 dimensions, got shapes " +
                                shapes);
  }
  const int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
  if (b.size(-2) != k) {
    throw std::invalid_argument("matmul: shapes " + shapes + " cannot be multiplied (" +
                                std::to_string(k) + " != " + std::to_string(b.size(-2)) + ")");
  }
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(a_batch, b_batch);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("matmul: the batch dimensions of shapes " + shapes +
                                " cannot be broadcast");
  }
  Shape out_shape = batch;
  out_shape.push_back(n);
  out_shape.push_back(m);
  if (shape_numel(out_shape) == 0 || k == 0) return zeros(out_shape);  // an empty sum is 0
  Tensor out = empty(out_shape);  // (B..., n, m), every entry written by the GEMMs (beta = 0)

  // Fast path, a Linear layer's case: (B..., n, k) contiguous @ (k, m) is one (B*n, k) @ (k, m).
  const BlasMatrix bm0 = blas_matrix(b);
  if (b.dim() == 2 && a.is_contiguous() && bm0.usable) {
    kernels::sgemm(false, bm0.trans, a.numel() / k, m, k, 1.0f, a.data_ptr(), k, b.data_ptr(),
                   bm0.ld, 0.0f, out.data_ptr(), m);
    return out;
  }

  const Tensor A = blas_matrix(a).usable ? a : contiguous(a);
  const Tensor B = blas_matrix(b).usable ? b : contiguous(b);
  const BlasMatrix am = blas_matrix(A), bm = blas_matrix(B);
  // Where batch entry (i0, i1, ...) of each operand starts; stride 0 along broadcast batch dims.
  const Shape a_strides =
      broadcast_strides(a_batch, Shape(A.strides().begin(), A.strides().end() - 2), batch);
  const Shape b_strides =
      broadcast_strides(b_batch, Shape(B.strides().begin(), B.strides().end() - 2), batch);
  const auto batches = static_cast<std::size_t>(shape_numel(batch));
  std::vector<int64_t> a_offsets(batches, 0), b_offsets(batches, 0);
  for (std::size_t i = 0; i < batches; ++i) {
    auto rest = static_cast<int64_t>(i);  // unravel i over the batch shape
    for (auto d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
      const int64_t idx = rest % batch[d];
      rest /= batch[d];
      a_offsets[i] += idx * a_strides[d];
      b_offsets[i] += idx * b_strides[d];
    }
  }
  kernels::sgemm_batched(am.trans, bm.trans, n, m, k, 1.0f, A.data_ptr(), am.ld, a_offsets,
                         B.data_ptr(), bm.ld, b_offsets, 0.0f, out.data_ptr(), m, n * m);
  return out;
}

Tensor view(const Tensor& t, const Shape& shape) {
  const Shape s = infer_shape(shape, t.numel(), "view");
  if (!t.is_contiguous()) {
    throw std::invalid_argument("view: a tensor of shape " + shape_to_string(t.shape()) +
                                " with strides " + shape_to_string(t.strides()) +
                                " is not contiguous; use reshape() or contiguous().view()");
  }
  return make_view(t, s, contiguous_strides(s), t.offset());
}

Tensor reshape(const Tensor& t, const Shape& shape) {
  const Shape s = infer_shape(shape, t.numel(), "reshape");
  const Tensor src = t.is_contiguous() ? t : contiguous(t);
  return make_view(src, s, contiguous_strides(s), src.offset());
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  const int64_t d0 = wrap_dim(dim0, t.dim(), "transpose");
  const int64_t d1 = wrap_dim(dim1, t.dim(), "transpose");
  Shape shape = t.shape(), strides = t.strides();
  if (t.dim() > 0) {
    std::swap(shape[d0], shape[d1]);
    std::swap(strides[d0], strides[d1]);
  }
  return make_view(t, shape, strides, t.offset());
}

// out dim i is t's dim dims[i]: out.shape[i] = t.shape[dims[i]], same for strides.
Tensor permute(const Tensor& t, const Shape& dims) {
  if (static_cast<int64_t>(dims.size()) != t.dim()) {
    throw std::invalid_argument("permute: " + shape_to_string(dims) + " names " +
                                std::to_string(dims.size()) + " dims, but shape " +
                                shape_to_string(t.shape()) + " has " + std::to_string(t.dim()));
  }
  Shape shape, strides;
  std::vector<bool> seen(dims.size(), false);
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, t.dim(), "permute");
    if (seen[w]) {
      throw std::invalid_argument("permute: dims " + shape_to_string(dims) + " repeat dimension " +
                                  std::to_string(w));
    }
    seen[w] = true;
    shape.push_back(t.shape()[w]);
    strides.push_back(t.strides()[w]);
  }
  return make_view(t, shape, strides, t.offset());
}

// The new size-1 dim may take any stride; size * stride of the dim after it keeps a contiguous
// tensor's strides contiguous.
Tensor unsqueeze(const Tensor& t, int64_t dim) {
  const int64_t d = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Shape shape = t.shape(), strides = t.strides();
  const int64_t stride = d < t.dim() ? shape[d] * strides[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return make_view(t, shape, strides, t.offset());
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  const int64_t d = wrap_dim(dim, t.dim(), "squeeze");
  Shape shape = t.shape(), strides = t.strides();
  if (t.dim() > 0 && shape[d] == 1) {
    shape.erase(shape.begin() + d);
    strides.erase(strides.begin() + d);
  }
  return make_view(t, shape, strides, t.offset());
}

Tensor contiguous(const Tensor& t) {
  return t.is_contiguous() ? t : t.clone();
}

// dim == nullopt reduces everything to a 0-d tensor (keepdim keeps every dim with size 1).
Tensor sum(const Tensor& t, std::optional<int64_t> dim, bool keepdim) {
  const Tensor c = contiguous(t);
  if (dim && t.dim() > 0) return sum_along(c, wrap_dim(*dim, t.dim(), "sum"), keepdim);
  if (dim) (void)wrap_dim(*dim, 0, "sum");
  double acc = 0.0;
  for (float v : c.data()) acc += v;
  Tensor out = scalar_tensor(static_cast<float>(acc));
  return keepdim && !dim ? reshape(out, Shape(t.dim(), 1)) : out;
}

// mean = sum / count; the mean of nothing is 0/0 = nan, as in PyTorch.
Tensor mean(const Tensor& t, std::optional<int64_t> dim, bool keepdim) {
  Tensor s = sum(t, dim, keepdim);  // validates dim
  const int64_t count = dim && t.dim() > 0 ? t.size(*dim) : t.numel();
  s.mul_(1.0f / static_cast<float>(count));
  if (count == 0) s.fill_(std::numeric_limits<float>::quiet_NaN());
  return s;
}

Tensor max(const Tensor& t, std::optional<int64_t> dim, bool keepdim) {
  if (dim && t.dim() > 0) {
    return max_along(contiguous(t), wrap_dim(*dim, t.dim(), "max"), keepdim, "max").first;
  }
  if (dim) (void)wrap_dim(*dim, 0, "max");
  if (t.numel() == 0) {
    throw std::invalid_argument("max: the tensor of shape " + shape_to_string(t.shape()) +
                                " is empty, and an empty set has no maximum");
  }
  // Everything as one row: (1, numel) reduced along its last dim.
  const Tensor flat = reshape(t, {1, t.numel()});
  const Tensor out = reshape(max_along(flat, 1, false, "max").first, {});
  return keepdim && !dim ? reshape(out, Shape(t.dim(), 1)) : out;
}

}  // namespace ops
}  // namespace tinytorch
