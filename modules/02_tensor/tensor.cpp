// Module 02 — the Tensor. Fill in each TODO; the contract (what each function must do) is
// tensor.hpp, and README.md walks through the ideas. Suggested order: shapes -> creation ->
// metadata/element access -> elementwise ops -> views -> reductions -> matmul -> printing.
//
// The one formula behind everything: element (i0, ..., ik) of t lives at
//     t.storage()->data[t.offset() + i0*t.strides()[0] + ... + ik*t.strides()[k]]
// and t.data_ptr() already points at element (0, ..., 0).
//
// Ground rules:
//  * A function that makes new numbers returns a *contiguous* tensor over fresh Storage.
//  * A view (view, transpose, permute, unsqueeze, squeeze, detach) makes a new TensorImpl with
//    its own shape/strides/offset but the *same* std::shared_ptr<Storage>. Never copy data in a
//    view.
//  * Inside this file call ops::contiguous / ops::reshape rather than the Tensor methods: the
//  methods
//    go through the autograd layer (tensor_ops.cpp), which your internal helpers don't need.
//  * Errors: std::invalid_argument for bad shapes/values, std::out_of_range for bad dims/indices,
//    with messages that name the shapes (use shape_to_string). The tests read your messages.
// Feel free to add helpers in an anonymous namespace (a make-a-view helper, a strided loop...).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>

#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch {

// ---- shapes -------------------------------------------------------------------------------------

// TODO: walk the dims from the last to the first. The last stride is 1; each earlier stride is the
// next stride times the next size: {2, 3, 4} -> {12, 4, 1}. Use max(size, 1) in the product so an
// empty dim does not zero every stride before it (PyTorch does the same).
Shape contiguous_strides(const Shape&) {
  throw NotImplemented("02_tensor", "contiguous_strides");
}

// TODO: multiply the dims (the empty product, for a 0-d shape {}, is 1). A negative dim is an
// error: throw std::invalid_argument naming the shape.
std::int64_t shape_numel(const Shape&) {
  throw NotImplemented("02_tensor", "shape_numel");
}

// TODO: "[2, 3]" for {2, 3}, "[]" for {}. Every error message that names a shape uses this.
std::string shape_to_string(const Shape&) {
  throw NotImplemented("02_tensor", "shape_to_string");
}

// TODO: NumPy broadcasting. Align the shapes on the right (pad the shorter one with 1s on the
// left); then, dim by dim, the sizes must be equal or one of them must be 1, and the result takes
// the other. [2, 3] with [3] -> [2, 3]; [4, 1] with [1, 5] -> [4, 5]; [2, 3] with [4] is an error:
// std::invalid_argument("cannot broadcast shapes [2, 3] and [4]").
Shape broadcast_shapes(const Shape&, const Shape&) {
  throw NotImplemented("02_tensor", "broadcast_shapes");
}

// ---- metadata and element access ----------------------------------------------------------------

// TODO: shape_numel of this tensor's shape.
std::int64_t Tensor::numel() const {
  throw NotImplemented("02_tensor", "Tensor::numel");
}

// TODO: shape()[d], where a negative d means d + dim(). Check the range first and throw
// std::out_of_range naming d and the shape.
std::int64_t Tensor::size(std::int64_t) const {
  throw NotImplemented("02_tensor", "Tensor::size");
}

// TODO: compare strides() with contiguous_strides(shape()), skipping dims of size 1 (any stride
// works there: you never step along them). A tensor with no elements can count as contiguous.
bool Tensor::is_contiguous() const {
  throw NotImplemented("02_tensor", "Tensor::is_contiguous");
}

// TODO: forward to the span overload: std::span<const std::int64_t>(index.begin(), index.size()).
float& Tensor::at(std::initializer_list<std::int64_t>) const {
  throw NotImplemented("02_tensor", "Tensor::at");
}

// TODO: the layout formula. Check that there is one index per dim and that each is in
// [-size, size) (negative ones count from the end: add the size), else throw std::out_of_range
// naming the index, the dim and the shape. Then return storage()->data[offset + sum(i_d *
// stride_d)].
float& Tensor::at(std::span<const std::int64_t>) const {
  throw NotImplemented("02_tensor", "Tensor::at");
}

// TODO: only a tensor with exactly one element has "the" value (std::invalid_argument otherwise).
// Where is that element? (Hint: all its indices are 0.)
float Tensor::item() const {
  throw NotImplemented("02_tensor", "Tensor::item");
}

// TODO: the elements in row-major order. Contiguous: copy numel() floats from data_ptr().
// A view: its elements are scattered, so walk the strides (or copy via ops::contiguous first).
std::vector<float> Tensor::to_vector() const {
  throw NotImplemented("02_tensor", "Tensor::to_vector");
}

// TODO: a new contiguous tensor of the same shape (empty(shape())) holding the same values.
// Fresh storage is the point: writing to the clone must not change the original.
Tensor Tensor::clone() const {
  throw NotImplemented("02_tensor", "Tensor::clone");
}

// TODO: a new TensorImpl with the same storage, shape, strides and offset, and nothing else
// (requires_grad false, no grad, no grad_fn).
Tensor Tensor::detach() const {
  throw NotImplemented("02_tensor", "Tensor::detach");
}

// ---- in place -----------------------------------------------------------------------------------
// These write into *this, which may be a view: follow its strides. One strided loop that visits
// every index of a shape, and reads a second tensor broadcast to it (stride 0 along the dims that
// are broadcast), serves all five, and the elementwise ops below too.

// TODO: set every element to value.
Tensor& Tensor::fill_(float) {
  throw NotImplemented("02_tensor", "Tensor::fill_");
}

// TODO: fill_(0).
Tensor& Tensor::zero_() {
  throw NotImplemented("02_tensor", "Tensor::zero_");
}

// TODO: this[i] = src[i] with src broadcast to this->shape() (src's broadcast with this shape
// must be this shape, else std::invalid_argument naming both shapes).
Tensor& Tensor::copy_(const Tensor&) {
  throw NotImplemented("02_tensor", "Tensor::copy_");
}

// TODO: this[i] += alpha * other[i], other broadcast to this shape (an optimizer's update step).
Tensor& Tensor::add_(const Tensor&, float) {
  throw NotImplemented("02_tensor", "Tensor::add_");
}

// TODO: this[i] *= factor.
Tensor& Tensor::mul_(float) {
  throw NotImplemented("02_tensor", "Tensor::mul_");
}

// TODO: like max(dim, keepdim), but the result holds the *position* of the largest element along
// dim, as a float. Ties go to the first position (compare with >, not >=). An empty dim has no
// argmax: std::invalid_argument. Reuse your max code: find value and index in one pass.
Tensor Tensor::argmax(std::int64_t, bool) const {
  throw NotImplemented("02_tensor", "Tensor::argmax");
}

// ---- creation -----------------------------------------------------------------------------------

// TODO: std::make_shared<Storage>() with data resized to shape_numel(shape), then a TensorImpl
// (std::make_shared<TensorImpl>()) with that storage, the shape, contiguous_strides(shape) and
// offset 0, wrapped in Tensor(impl). Every other creation function builds on this one.
Tensor empty(const Shape&) {
  throw NotImplemented("02_tensor", "empty");
}

// TODO: empty() then fill (std::vector::resize already zero-fills, but say what you mean).
Tensor zeros(const Shape&) {
  throw NotImplemented("02_tensor", "zeros");
}
Tensor ones(const Shape&) {
  throw NotImplemented("02_tensor", "ones");
}
Tensor full(const Shape&, float) {
  throw NotImplemented("02_tensor", "full");
}
Tensor zeros_like(const Tensor&) {
  throw NotImplemented("02_tensor", "zeros_like");
}
Tensor ones_like(const Tensor&) {
  throw NotImplemented("02_tensor", "ones_like");
}

// TODO: a 0-d tensor: shape {} has one element (the empty product is 1). `t * 2.0f` uses this.
Tensor scalar_tensor(float) {
  throw NotImplemented("02_tensor", "scalar_tensor");
}

// TODO: the count is ceil((end - start) / step), or 0 if that is negative; element i is
// start + i * step (compute it in double: adding step repeatedly accumulates rounding error).
// step == 0 would never end: std::invalid_argument.
Tensor arange(float, float, float) {
  throw NotImplemented("02_tensor", "arange");
}
Tensor arange(float) {
  throw NotImplemented("02_tensor", "arange");
}

// TODO: two steps. (1) The shape: follow the first item down (data.items().size() at each level)
// until you reach a number. (2) A recursive walk that checks every list has the size the shape
// says at its depth (and numbers appear only at the bottom), appending numbers in order;
// anything else is ragged: std::invalid_argument. Then from_vector(values, shape).
Tensor tensor(const NestedData&) {
  throw NotImplemented("02_tensor", "tensor");
}

// TODO: check values.size() == shape_numel(shape) (std::invalid_argument naming both), then move
// the values into a new Storage: no copy needed.
Tensor from_vector(std::vector<float>, const Shape&) {
  throw NotImplemented("02_tensor", "from_vector");
}

// TODO: empty(shape), then element i (row-major) = generator.uniform() / generator.normal(),
// drawn in order, so that the same seed gives the same tensor everywhere.
Tensor rand(const Shape&, Generator&) {
  throw NotImplemented("02_tensor", "rand");
}
Tensor randn(const Shape&, Generator&) {
  throw NotImplemented("02_tensor", "randn");
}

// ---- comparison and printing --------------------------------------------------------------------

// TODO: false when the shapes differ; else compare to_vector()s: |a - b| <= atol + rtol * |b|.
// Write the test so that NaN fails it (a comparison with NaN is always false), and treat exactly
// equal values (inf == inf) as close.
bool allclose(const Tensor&, const Tensor&, float, float) {
  throw NotImplemented("02_tensor", "allclose");
}

// TODO: PyTorch's format (the tests compare exact strings):
//  * pick ONE format from the nonzero finite values: all integers -> "%.0f" plus "." ("3."),
//    otherwise "%.4f" ("1.5000"); scientific "%.4e" when max|x| > 1e8 or max/min > 1000, or (not
//    all integers) min|x| < 1e-4. Right-align every element to the widest one.
//  * "tensor(" + nested "[...]" + ")"; elements joined by ", "; rows of a matrix by ",\n" plus
//    spaces so they line up under the first "[" (3-d: a blank line between matrices).
//  * a row wraps after floor((80 - indent) / (width + 2)) elements;
//  * above 1000 elements, each dim longer than 6 shows 3 entries, "...", 3 entries;
//  * 0-d "tensor(3.)", empty "tensor([])" (plus ", size=(0, 3)" when not 1-d);
//  * ", requires_grad=True" before the ")" when the flag is set.
// Print a few tensors in Python (torch.tensor([...])) to see the rules at work.
std::string Tensor::to_string() const {
  throw NotImplemented("02_tensor", "Tensor::to_string");
}

// TODO: write t.to_string() to out, return out.
std::ostream& operator<<(std::ostream&, const Tensor&) {
  throw NotImplemented("02_tensor", "operator<<");
}

// ---- ops: the forward math ----------------------------------------------------------------------

namespace ops {

// TODO (add, sub, mul, div): out = empty(broadcast_shapes(a.shape(), b.shape())). Read each
// operand with "broadcast strides": its dims aligned right, stride 0 where it has size 1 or lacks
// the dim, so the same element is reused. Walk out's indices in row-major order (an odometer over
// the dims) and advance three offsets. Write the loop once as a template taking the operation
// (a lambda), and add a fast path: both operands contiguous with out's shape -> one flat loop.
Tensor add(const Tensor&, const Tensor&) {
  throw NotImplemented("02_tensor", "ops::add");
}
Tensor sub(const Tensor&, const Tensor&) {
  throw NotImplemented("02_tensor", "ops::sub");
}
Tensor mul(const Tensor&, const Tensor&) {
  throw NotImplemented("02_tensor", "ops::mul");
}
Tensor div(const Tensor&, const Tensor&) {
  throw NotImplemented("02_tensor", "ops::div");
}

// TODO: (..., n, k) @ (..., k, m) -> (batch..., n, m), batch = broadcast of the leading dims.
// Errors (std::invalid_argument): fewer than 2 dims; a.size(-1) != b.size(-2), e.g.
// "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)".
// Start with three loops, out[i][j] = sum_p a[i][p] * b[p][j], then switch to
// kernels::sgemm (tinytorch/kernels/gemm.hpp), which is far faster (blocked, SIMD, threads): pass a
// contiguous (n, k) matrix with lda = k (or a transposed view, whose last two dims have strides (1,
// ld), with trans = true). Loop over the batch entries, offsetting each operand by its batch
// strides.
Tensor matmul(const Tensor&, const Tensor&) {
  throw NotImplemented("02_tensor", "ops::matmul");
}

// TODO: resolve a -1 (numel / product of the others), check the element count matches
// ("view: shape [2, 3] is invalid for a tensor of 5 elements"), require t.is_contiguous()
// (std::invalid_argument suggesting reshape otherwise), and return a new TensorImpl over the SAME
// storage with the new shape, contiguous_strides(new shape) and t's offset.
Tensor view(const Tensor&, const Shape&) {
  throw NotImplemented("02_tensor", "ops::view");
}

// TODO: a view when t is contiguous; otherwise view a contiguous copy.
Tensor reshape(const Tensor&, const Shape&) {
  throw NotImplemented("02_tensor", "ops::reshape");
}

// TODO: a view with shape[d0] <-> shape[d1] and strides[d0] <-> strides[d1]. No data moves: that
// is why a transposed tensor is not contiguous.
Tensor transpose(const Tensor&, std::int64_t, std::int64_t) {
  throw NotImplemented("02_tensor", "ops::transpose");
}

// TODO: out dim i is t's dim dims[i] (shape and stride). dims must name every dim exactly once
// (std::invalid_argument otherwise; a dim out of range is std::out_of_range).
Tensor permute(const Tensor&, const Shape&) {
  throw NotImplemented("02_tensor", "ops::permute");
}

// TODO: insert a dim of size 1 at position dim (valid range [-(rank+1), rank]). Its stride never
// matters for indexing; size*stride of the dim after it keeps contiguous tensors contiguous.
Tensor unsqueeze(const Tensor&, std::int64_t) {
  throw NotImplemented("02_tensor", "ops::unsqueeze");
}

// TODO: remove dim if its size is 1; otherwise return a view with the same layout.
Tensor squeeze(const Tensor&, std::int64_t) {
  throw NotImplemented("02_tensor", "ops::squeeze");
}

// TODO: t when contiguous, else t.clone() (clone always makes a contiguous copy).
Tensor contiguous(const Tensor&) {
  throw NotImplemented("02_tensor", "ops::contiguous");
}

// TODO (sum, mean, max): no dim -> reduce everything to a 0-d tensor. With a dim: picture the
// contiguous tensor as (outer, n, inner) around dim (outer = product of the sizes before it,
// inner = product after it); element (o, i, j) is at (o*n + i)*inner + j, and out[o][j] reduces
// over i. The last dim (inner == 1) is the common case: each output reads one contiguous row.
// keepdim keeps the reduced dim with size 1 (so the result broadcasts against the input).
// Accumulate sums in double. mean = sum / n. max of nothing is an error (std::invalid_argument);
// the sum of nothing is 0.
Tensor sum(const Tensor&, std::optional<std::int64_t>, bool) {
  throw NotImplemented("02_tensor", "ops::sum");
}
Tensor mean(const Tensor&, std::optional<std::int64_t>, bool) {
  throw NotImplemented("02_tensor", "ops::mean");
}
Tensor max(const Tensor&, std::optional<std::int64_t>, bool) {
  throw NotImplemented("02_tensor", "ops::max");
}

}  // namespace ops
}  // namespace tinytorch
