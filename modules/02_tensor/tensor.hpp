#pragma once
// Module 02: the Tensor. This header is the contract: your tensor.cpp implements what it declares,
// and the tests, later modules and milestones rely on exactly these names. Do not edit it.
//
// A Tensor is a *handle* (like torch::Tensor): copying a Tensor copies the handle, not the numbers,
// and both handles see the same data, shape, gradient and graph node. A *view* (reshape of a
// contiguous tensor, transpose, permute, ...) is a new handle with its own shape/strides/offset
// over the *same* Storage, so writing through one is visible through the other.
//
// Element (i0, i1, ..., ik) of a tensor lives at
//     storage[offset + i0*strides[0] + i1*strides[1] + ... + ik*strides[k]]
// and a contiguous (row-major) tensor of shape (d0, ..., dk) has strides[j] = d(j+1) * ... * dk.
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/errors.hpp"
#include "tinytorch/random.hpp"

namespace tinytorch {

using Shape = std::vector<std::int64_t>;

namespace autograd {
struct Node;  // a recorded operation; defined in module 07 (autograd)
}

/// The flat float32 buffer that a tensor and all of its views share.
struct Storage {
  std::vector<float> data;
};

/// Nested numbers for tensor({{1, 2}, {3, 4}}): either one number or a list of NestedData.
class NestedData {
 public:
  NestedData(float value) : value_(value), is_scalar_(true) {}  // NOLINT: implicit on purpose
  NestedData(std::initializer_list<NestedData> items) : items_(items) {}

  [[nodiscard]] bool is_scalar() const { return is_scalar_; }
  [[nodiscard]] float value() const { return value_; }
  [[nodiscard]] const std::vector<NestedData>& items() const { return items_; }

 private:
  float value_ = 0.0f;
  std::vector<NestedData> items_;
  bool is_scalar_ = false;
};

class TensorImpl;

class Tensor {
 public:
  /// An undefined tensor (no storage); defined() is false. Used for "no gradient yet".
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata (framework-owned, inline below) ------------------------------------------------
  [[nodiscard]] bool defined() const { return impl_ != nullptr; }
  [[nodiscard]] const Shape& shape() const;
  [[nodiscard]] const Shape& strides() const;
  [[nodiscard]] std::int64_t offset() const;
  [[nodiscard]] std::int64_t dim() const { return static_cast<std::int64_t>(shape().size()); }
  [[nodiscard]] const std::shared_ptr<Storage>& storage() const;
  /// True when both handles read the same Storage (views of one another, or the same tensor).
  [[nodiscard]] bool shares_storage(const Tensor& other) const;
  /// Pointer to element (0, ..., 0). Walk it with strides(); for contiguous tensors, data() is
  /// easier.
  [[nodiscard]] float* data_ptr() const;
  /// The elements of a contiguous tensor in row-major order; throws std::logic_error otherwise.
  [[nodiscard]] std::span<float> data() const;
  [[nodiscard]] TensorImpl& impl() const;

  // ---- module 02: you write these in tensor.cpp ------------------------------------------------
  /// Number of elements: the product of the shape (1 for a 0-d tensor, 0 if any dimension is 0).
  [[nodiscard]] std::int64_t numel() const;
  /// Size of one dimension; negative d counts from the end (-1 is the last). Bad d:
  /// std::out_of_range.
  [[nodiscard]] std::int64_t size(std::int64_t d) const;
  /// True when strides() equal contiguous_strides(shape()) (dimensions of size 1 may have any
  /// stride).
  [[nodiscard]] bool is_contiguous() const;

  /// Element access by a full index, negative indices count from the end; a wrong number of indices
  /// or an index out of range throws std::out_of_range naming the index and the shape.
  [[nodiscard]] float& at(std::initializer_list<std::int64_t> index) const;
  [[nodiscard]] float& at(std::span<const std::int64_t> index) const;
  /// The value of a one-element tensor; otherwise std::invalid_argument.
  [[nodiscard]] float item() const;
  /// A row-major copy of the elements (follows strides, so it works for views).
  [[nodiscard]] std::vector<float> to_vector() const;

  /// New storage, same values, contiguous strides; never shares storage with *this.
  [[nodiscard]] Tensor clone() const;
  /// Shares storage, but is a leaf with requires_grad false and no graph node.
  [[nodiscard]] Tensor detach() const;

  // In place; never recorded by autograd (optimizers use these under NoGradGuard).
  Tensor& fill_(float value);
  Tensor& zero_();
  /// Copies src (broadcast to this shape) into this tensor's elements.
  Tensor& copy_(const Tensor& src);
  /// this += alpha * other (other broadcast to this shape).
  Tensor& add_(const Tensor& other, float alpha = 1.0f);
  Tensor& mul_(float factor);

  /// Indices of the largest element along dim (ties: the first), as float values.
  [[nodiscard]] Tensor argmax(std::int64_t dim, bool keepdim = false) const;

  /// PyTorch's layout: "tensor([[1., 2.],\n        [3., 4.]])". See tensor.cpp for the rules.
  [[nodiscard]] std::string to_string() const;

  // ---- operations that autograd records (framework-owned layer over your ops:: functions) ------
  [[nodiscard]] Tensor matmul(const Tensor& other) const;
  [[nodiscard]] Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
  [[nodiscard]] Tensor view(const Shape& shape) const;     // always a view; needs contiguity
  [[nodiscard]] Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  [[nodiscard]] Tensor permute(const Shape& dims) const;
  [[nodiscard]] Tensor unsqueeze(std::int64_t dim) const;
  [[nodiscard]] Tensor squeeze(std::int64_t dim) const;
  [[nodiscard]] Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  [[nodiscard]] Tensor contiguous() const;
  [[nodiscard]] Tensor sum() const;
  [[nodiscard]] Tensor sum(std::int64_t dim, bool keepdim = false) const;
  [[nodiscard]] Tensor mean() const;
  [[nodiscard]] Tensor mean(std::int64_t dim, bool keepdim = false) const;
  [[nodiscard]] Tensor max() const;
  [[nodiscard]] Tensor max(std::int64_t dim, bool keepdim = false) const;

  // ---- autograd state: carried from module 02 on, used from module 07 on -----------------------
  [[nodiscard]] bool requires_grad() const;
  Tensor& requires_grad_(bool requires_grad = true);
  /// The accumulated gradient; undefined until a backward pass reaches this tensor.
  [[nodiscard]] Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  [[nodiscard]] const std::shared_ptr<autograd::Node>& grad_fn() const;
  void set_grad_fn(std::shared_ptr<autograd::Node> node) const;
  /// A leaf was made by the user (no grad_fn); gradients accumulate only into leaves.
  [[nodiscard]] bool is_leaf() const { return grad_fn() == nullptr; }
  /// Backpropagates from this tensor (module 07): see autograd::backward in
  /// <tinytorch/autograd.hpp>.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

/// What a handle points to. Views have their own TensorImpl over a shared Storage.
class TensorImpl {
 public:
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  std::int64_t offset = 0;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;
};

// ---- module 02: free functions you write in tensor.cpp -----------------------------------------

/// Row-major strides for a shape: contiguous_strides({2, 3, 4}) == {12, 4, 1}.
[[nodiscard]] Shape contiguous_strides(const Shape& shape);
/// Product of the dimensions (1 for {}); a negative dimension throws std::invalid_argument.
[[nodiscard]] std::int64_t shape_numel(const Shape& shape);
/// "[2, 3]" — used in every error message that names a shape.
[[nodiscard]] std::string shape_to_string(const Shape& shape);
/// The broadcast shape of a and b (NumPy rules: align right, sizes equal or 1);
/// std::invalid_argument naming both shapes when they cannot be broadcast.
[[nodiscard]] Shape broadcast_shapes(const Shape& a, const Shape& b);

/// A contiguous tensor over fresh storage (values unspecified: fill it before reading).
[[nodiscard]] Tensor empty(const Shape& shape);
[[nodiscard]] Tensor zeros(const Shape& shape);
[[nodiscard]] Tensor ones(const Shape& shape);
[[nodiscard]] Tensor full(const Shape& shape, float value);
[[nodiscard]] Tensor zeros_like(const Tensor& t);
[[nodiscard]] Tensor ones_like(const Tensor& t);
/// 0-d tensor holding one number.
[[nodiscard]] Tensor scalar_tensor(float value);
/// start, start+step, ... while < end (> end for a negative step); step 0 throws
/// std::invalid_argument.
[[nodiscard]] Tensor arange(float start, float end, float step = 1.0f);
[[nodiscard]] Tensor arange(float end);
/// From nested lists: tensor({{1, 2}, {3, 4}}) has shape (2, 2); ragged lists throw
/// std::invalid_argument. tensor(5.0f) is 0-d.
[[nodiscard]] Tensor tensor(const NestedData& data);
/// From flat row-major values and a shape; values.size() must equal shape_numel(shape).
[[nodiscard]] Tensor from_vector(std::vector<float> values, const Shape& shape);
/// Uniform on [0, 1) and standard normal, drawn in row-major order from the generator.
[[nodiscard]] Tensor rand(const Shape& shape, Generator& generator = default_generator());
[[nodiscard]] Tensor randn(const Shape& shape, Generator& generator = default_generator());

/// True when shapes are equal and |a - b| <= atol + rtol * |b| everywhere (NaN never equals).
[[nodiscard]] bool allclose(const Tensor& a, const Tensor& b, float rtol = 1e-5f,
                            float atol = 1e-8f);

std::ostream& operator<<(std::ostream& out, const Tensor& t);

// Arithmetic with broadcasting; a float operand acts as a 0-d tensor. Recorded by autograd.
[[nodiscard]] Tensor operator+(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor operator-(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor operator*(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor operator/(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor operator+(const Tensor& a, float b);
[[nodiscard]] Tensor operator-(const Tensor& a, float b);
[[nodiscard]] Tensor operator*(const Tensor& a, float b);
[[nodiscard]] Tensor operator/(const Tensor& a, float b);
[[nodiscard]] Tensor operator+(float a, const Tensor& b);
[[nodiscard]] Tensor operator-(float a, const Tensor& b);
[[nodiscard]] Tensor operator*(float a, const Tensor& b);
[[nodiscard]] Tensor operator/(float a, const Tensor& b);
[[nodiscard]] Tensor operator-(const Tensor& a);
[[nodiscard]] Tensor matmul(const Tensor& a, const Tensor& b);

/// The forward math, without autograd. You write every one of these in tensor.cpp; the Tensor
/// methods and operators above call them (and, from module 07 on, record the graph around them).
namespace ops {
/// Elementwise with broadcasting: out shape is broadcast_shapes(a.shape(), b.shape()).
[[nodiscard]] Tensor add(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor sub(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor mul(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor div(const Tensor& a, const Tensor& b);
/// (n, k) @ (k, m) -> (n, m); for more dimensions the leading (batch) dimensions broadcast:
/// (B, n, k) @ (k, m) -> (B, n, m). Both operands need at least 2 dimensions; a mismatch of k
/// throws std::invalid_argument naming both shapes.
[[nodiscard]] Tensor matmul(const Tensor& a, const Tensor& b);
/// A view with a new shape (one dimension may be -1, inferred); needs a contiguous tensor.
[[nodiscard]] Tensor view(const Tensor& t, const Shape& shape);
/// view() when t is contiguous, else a contiguous copy with the new shape.
[[nodiscard]] Tensor reshape(const Tensor& t, const Shape& shape);
/// Views that swap / reorder dimensions (negative dims count from the end).
[[nodiscard]] Tensor transpose(const Tensor& t, std::int64_t dim0, std::int64_t dim1);
[[nodiscard]] Tensor permute(const Tensor& t, const Shape& dims);
/// Views that insert / remove a dimension of size 1 (squeeze of a dim whose size is not 1 is a
/// no-op).
[[nodiscard]] Tensor unsqueeze(const Tensor& t, std::int64_t dim);
[[nodiscard]] Tensor squeeze(const Tensor& t, std::int64_t dim);
/// t itself when contiguous, else a contiguous copy.
[[nodiscard]] Tensor contiguous(const Tensor& t);
/// Reductions over every element (0-d result) or along one dimension (that dimension removed,
/// or kept with size 1 when keepdim). max over an empty tensor throws std::invalid_argument.
[[nodiscard]] Tensor sum(const Tensor& t, std::optional<std::int64_t> dim, bool keepdim);
[[nodiscard]] Tensor mean(const Tensor& t, std::optional<std::int64_t> dim, bool keepdim);
[[nodiscard]] Tensor max(const Tensor& t, std::optional<std::int64_t> dim, bool keepdim);
}  // namespace ops

// ---- inline metadata -------------------------------------------------------------------------

inline TensorImpl& Tensor::impl() const {
  if (!impl_)
    throw std::logic_error("use of an undefined Tensor (default-constructed, no storage)");
  return *impl_;
}
inline const Shape& Tensor::shape() const {
  return impl().shape;
}
inline const Shape& Tensor::strides() const {
  return impl().strides;
}
inline std::int64_t Tensor::offset() const {
  return impl().offset;
}
inline const std::shared_ptr<Storage>& Tensor::storage() const {
  return impl().storage;
}
inline bool Tensor::shares_storage(const Tensor& other) const {
  return defined() && other.defined() && storage() == other.storage();
}
inline float* Tensor::data_ptr() const {
  return impl().storage->data.data() + impl().offset;
}
inline std::span<float> Tensor::data() const {
  if (!is_contiguous()) {
    throw std::logic_error("Tensor::data() needs a contiguous tensor; shape " +
                           shape_to_string(shape()) +
                           " is a strided view: call contiguous() first");
  }
  return {data_ptr(), static_cast<std::size_t>(numel())};
}
inline bool Tensor::requires_grad() const {
  return impl().requires_grad;
}
inline Tensor& Tensor::requires_grad_(bool requires_grad) {
  impl().requires_grad = requires_grad;
  return *this;
}
inline Tensor Tensor::grad() const {
  return impl().grad;
}
inline void Tensor::set_grad(const Tensor& grad) const {
  impl().grad = grad;
}
inline const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const {
  return impl().grad_fn;
}
inline void Tensor::set_grad_fn(std::shared_ptr<autograd::Node> node) const {
  impl().grad_fn = std::move(node);
}

}  // namespace tinytorch
