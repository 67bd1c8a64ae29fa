// Module 12 reference solution: embedding lookup and its index-add backward, learned positions and
// the sinusoidal encoding.
//
// A lookup is a gather of rows and its gradient a scatter-add of rows: both are one loop over the
// ids copying or adding D contiguous floats, the same work as the matmul of a one-hot matrix with
// the weight but without the V-times-larger one-hot matrix.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/embeddings.hpp"

namespace tinytorch {
namespace {

// Flat row-major index -> "[i0, i1, ...]" in shape, for error messages that point at one id.
std::string index_string(std::int64_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_to_string(index);
}

// The id stored as value, checked: a whole number in [0, vocab).
std::int64_t checked_id(float value, std::int64_t flat, const Shape& shape, std::int64_t vocab) {
  if (value >= 0.0f && value < static_cast<float>(vocab) && value == std::floor(value)) {
    return static_cast<std::int64_t>(value);
  }
  std::ostringstream id;
  id << value;
  throw std::out_of_range("embedding: id " + id.str() + " at position " +
                          index_string(flat, shape) + " is not a whole number in [0, " +
                          std::to_string(vocab) + "); ids must index the " + std::to_string(vocab) +
                          " rows of the weight (the vocabulary size)");
}

// N(0, 1) values, as torch.nn.Embedding initialises its weight.
Tensor normal_table(std::int64_t rows, std::int64_t cols, const char* who, Generator& generator) {
  if (rows < 1 || cols < 1) {
    throw std::invalid_argument(std::string(who) + ": sizes must be at least 1, got (" +
                                std::to_string(rows) + ", " + std::to_string(cols) + ")");
  }
  return randn({rows, cols}, generator);
}

}  // namespace

// ---- ops::embedding -----------------------------------------------------------------------------

Tensor ops::embedding(const Tensor& weight, const Tensor& ids) {
  if (weight.dim() != 2) {
    throw std::invalid_argument(
        "embedding: weight must be 2-d (num_embeddings, embedding_dim), got " +
        shape_to_string(weight.shape()));
  }
  const std::int64_t vocab = weight.size(0), dim = weight.size(1);
  const Tensor w = weight.contiguous();  // (V, D)
  const Tensor idx = ids.contiguous();   // (S...)
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  Tensor out = empty(out_shape);  // (S..., D)

  // out[s, :] = weight[ids[s], :]: one contiguous row copy per id.
  const std::span<const float> flat = idx.data();
  const float* src = w.data_ptr();
  float* dst = out.data_ptr();
  for (std::size_t s = 0; s < flat.size(); ++s) {
    const std::int64_t id = checked_id(flat[s], static_cast<std::int64_t>(s), ids.shape(), vocab);
    std::copy_n(src + id * dim, dim, dst + static_cast<std::int64_t>(s) * dim);
  }
  return out;
}

// ---- EmbeddingBackward
// ----------------------------------------------------------------------------

std::vector<Tensor> autograd::EmbeddingBackward::backward(const Tensor& grad_output) {
  // dL/dW[v, :] = sum over the positions s with ids[s] = v of dL/dout[s, :]: an index-add, so a
  // repeated id collects every row it was read into, and rows never read stay 0.
  const std::int64_t dim = grad_output.size(-1);
  const Tensor g = grad_output.contiguous();   // (S..., D)
  const Tensor idx = ids.contiguous();         // (S...)
  Tensor grad = zeros({num_embeddings, dim});  // (V, D)
  const std::span<const float> flat = idx.data();
  const float* src = g.data_ptr();
  float* dst = grad.data_ptr();
  for (std::size_t s = 0; s < flat.size(); ++s) {
    float* row = dst + static_cast<std::int64_t>(flat[s]) * dim;
    const float* from = src + static_cast<std::int64_t>(s) * dim;
    for (std::int64_t d = 0; d < dim; ++d) row[d] += from[d];
  }
  return {grad};
}

// ---- sinusoidal_encoding ------------------------------------------------------------------------

Tensor sinusoidal_encoding(std::int64_t max_len, std::int64_t dim) {
  if (max_len < 1 || dim < 1) {
    throw std::invalid_argument("sinusoidal_encoding: max_len and dim must be at least 1, got (" +
                                std::to_string(max_len) + ", " + std::to_string(dim) + ")");
  }
  // Column pair (2i, 2i+1) is a sine and a cosine of frequency w_i = 10000^(-2i/dim): wavelengths
  // from 2*pi (i = 0) up to 10000 * 2*pi, so nearby positions differ in the fast columns and far
  // ones in the slow columns. Computed in double: pos * w_i reaches max_len radians.
  Tensor pe = empty({max_len, dim});  // (max_len, dim)
  float* out = pe.data_ptr();
  for (std::int64_t c = 0; c < dim; ++c) {
    const std::int64_t two_i = c - c % 2;
    const double freq = std::pow(10000.0, -static_cast<double>(two_i) / static_cast<double>(dim));
    for (std::int64_t pos = 0; pos < max_len; ++pos) {
      const double angle = static_cast<double>(pos) * freq;
      out[pos * dim + c] = static_cast<float>(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  }
  return pe;
}

// ---- modules ------------------------------------------------------------------------------------

namespace nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Generator& generator)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim) {
  weight = register_parameter("weight",
                              normal_table(num_embeddings, embedding_dim, "Embedding", generator));
}

Tensor Embedding::forward(const Tensor& ids) {
  return embedding(weight, ids);
}

PositionalEmbedding::PositionalEmbedding(std::int64_t max_len, std::int64_t dim,
                                         Generator& generator)
    : max_len(max_len), dim(dim) {
  weight =
      register_parameter("weight", normal_table(max_len, dim, "PositionalEmbedding", generator));
}

Tensor PositionalEmbedding::forward(std::int64_t length) {
  if (length < 1 || length > max_len) {
    throw std::out_of_range("PositionalEmbedding: sequence length " + std::to_string(length) +
                            " is outside [1, max_len = " + std::to_string(max_len) +
                            "]; build it with a larger max_len or feed shorter sequences");
  }
  // Rows 0..T-1 are a lookup of the ids 0, 1, ..., T-1, so the backward is EmbeddingBackward's.
  return embedding(weight, arange(static_cast<float>(length)));  // (T, D)
}

Tensor PositionalEmbedding::forward(const Tensor& x) {
  if (x.dim() < 2 || x.size(-1) != dim) {
    throw std::invalid_argument("PositionalEmbedding: expected input (..., T, " +
                                std::to_string(dim) + "), got " + shape_to_string(x.shape()));
  }
  return x + forward(x.size(-2));  // (..., T, D) + (T, D) broadcasts over the leading dims
}

}  // namespace nn
}  // namespace tinytorch
