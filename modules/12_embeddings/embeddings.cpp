// Module 12 — fill in each TODO. The contract is embeddings.hpp: read each function's comment
// there first, and the lesson in README.md for the formulas.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 12` after each
// function: the tests for the functions you have written turn green one by one.
//
// You write the forward lookup (ops::embedding), its backward (EmbeddingBackward::backward), the
// sinusoidal table and the two modules. tinytorch::embedding, which records the graph around your
// ops::embedding, is framework code (embeddings_ops.cpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/embeddings.hpp"
#include "tinytorch/errors.hpp"

namespace tinytorch {

Tensor ops::embedding(const Tensor& weight, const Tensor& ids) {
  // TODO: out[s, :] = weight[ids[s], :] for every position s of ids; out has shape ids.shape()
  // followed by D.
  //   1. weight must be 2-d (V, D): otherwise std::invalid_argument naming its shape.
  //   2. Read both through contiguous(): ids may be a view (a transposed batch), and data() gives
  //      you the ids in row-major order, the order of the output's rows.
  //   3. Check each id before using it: a float that is negative, >= V, or not a whole number
  //      (2.5, NaN) throws std::out_of_range naming the id, its position in ids as an index such
  //      as [1, 0] (turn the flat position back into one index per dimension) and V.
  //   4. Copy the D contiguous floats of row id into row s of the output (std::copy_n): no
  //      per-element at() calls, and no one-hot matrix.
  (void)weight;
  (void)ids;
  throw NotImplemented("12_embeddings", "ops::embedding");
}

std::vector<Tensor> autograd::EmbeddingBackward::backward(const Tensor& grad_output) {
  // TODO: dL/dweight, of shape (num_embeddings, D) with D = grad_output.size(-1).
  //   - out[s, :] = weight[ids[s], :], so row s of grad_output flows back to row ids[s] of the
  //     weight. Start from zeros and ADD: an id that appears several times (the same token twice
  //     in a sentence) collects the sum of all its rows; rows never looked up stay 0.
  //   - Return a vector with that one tensor (the weight is the node's only input).
  (void)grad_output;
  throw NotImplemented("12_embeddings", "EmbeddingBackward::backward");
}

Tensor sinusoidal_encoding(std::int64_t max_len, std::int64_t dim) {
  // TODO: The (max_len, dim) table of the header's formula:
  //     PE[pos, 2i] = sin(pos / 10000^(2i / dim)),  PE[pos, 2i + 1] = cos(pos / 10000^(2i / dim))
  //   - Column c uses the exponent of its pair: 2i = c - c % 2. For an odd dim the last column is
  //     a sine with no cosine after it; the formula needs no special case if you loop over c.
  //   - Compute in double and store as float. max_len < 1 or dim < 1: std::invalid_argument.
  (void)max_len;
  (void)dim;
  throw NotImplemented("12_embeddings", "sinusoidal_encoding");
}

namespace nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, Generator& generator)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim) {
  // TODO: Check both sizes are at least 1 (std::invalid_argument otherwise), then register the
  // parameter "weight" = randn({num_embeddings, embedding_dim}, generator) (see Linear in module
  // 04 for register_parameter) and keep the handle in `weight`.
  (void)generator;
  throw NotImplemented("12_embeddings", "Embedding::Embedding");
}

Tensor Embedding::forward(const Tensor& ids) {
  // TODO: The recorded lookup tinytorch::embedding (not ops::embedding: the weight must get its
  // gradient).
  (void)ids;
  throw NotImplemented("12_embeddings", "Embedding::forward");
}

PositionalEmbedding::PositionalEmbedding(std::int64_t max_len, std::int64_t dim,
                                         Generator& generator)
    : max_len(max_len), dim(dim) {
  // TODO: As Embedding: check the sizes, register "weight" = randn({max_len, dim}, generator).
  (void)generator;
  throw NotImplemented("12_embeddings", "PositionalEmbedding::PositionalEmbedding");
}

Tensor PositionalEmbedding::forward(std::int64_t length) {
  // TODO: Rows 0..length-1 of the weight, (length, D), with a gradient for the weight.
  //   - There is no slicing op yet, but there is one that reads rows by index and records its
  //     backward: look up the ids 0, 1, ..., length-1 (arange makes them).
  //   - length < 1 or > max_len: std::out_of_range naming length and max_len.
  (void)length;
  throw NotImplemented("12_embeddings", "PositionalEmbedding::forward(length)");
}

Tensor PositionalEmbedding::forward(const Tensor& x) {
  // TODO: x (..., T, D) + forward(T): broadcasting adds position t's vector to every x[..., t, :].
  //   - x needs at least 2 dimensions and a last dimension equal to dim: std::invalid_argument
  //     naming x's shape otherwise.
  (void)x;
  throw NotImplemented("12_embeddings", "PositionalEmbedding::forward(x)");
}

}  // namespace nn
}  // namespace tinytorch
