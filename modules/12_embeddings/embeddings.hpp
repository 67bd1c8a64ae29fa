#pragma once
// Module 12: embeddings, a learned vector for every token id and for every position. The contract
// for embeddings.cpp. Do not edit it.
//
//     nn::Embedding tok(vocab_size, 64, gen);        // weight (V, 64), N(0, 1)
//     nn::PositionalEmbedding pos(block_size, 64, gen);
//     Tensor x = pos(tok(ids));                      // ids (B, T) -> (B, T, 64): token + position
//
// Token ids travel as a float tensor (the course's only dtype) holding whole numbers; float32
// represents every integer up to 2^24 = 16,777,216 exactly, far beyond any vocabulary here.
#include <cstdint>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/random.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch {

/// Differentiable lookup (framework-owned layer in embeddings_ops.cpp: runs ops::embedding and,
/// when weight requires grad, records EmbeddingBackward). ids never get a gradient.
[[nodiscard]] Tensor embedding(const Tensor& weight, const Tensor& ids);

/// The fixed positional encoding of Vaswani et al. (2017), a (max_len, dim) constant tensor
/// (requires_grad false):
///     PE[pos, 2i]     = sin(pos / 10000^(2i / dim))
///     PE[pos, 2i + 1] = cos(pos / 10000^(2i / dim))
/// For an odd dim the last column, 2i = dim - 1, is a sine without a cosine partner. max_len < 1
/// or dim < 1 throws std::invalid_argument.
[[nodiscard]] Tensor sinusoidal_encoding(std::int64_t max_len, std::int64_t dim);

namespace ops {
/// Row lookup, as torch.nn.functional.embedding: weight (V, D), ids of any shape S holding integer
/// ids as floats -> (S..., D) with out[s, :] = weight[ids[s], :]. A new contiguous tensor.
/// weight that is not 2-d throws std::invalid_argument naming its shape; an id that is negative,
/// >= V or not a whole number throws std::out_of_range naming the id, its position in ids (as an
/// index like [1, 3]) and V.
[[nodiscard]] Tensor embedding(const Tensor& weight, const Tensor& ids);
}  // namespace ops

namespace autograd {
/// out = weight[ids]: each row of grad_output goes back to the weight row it was read from, and an
/// id that appears k times collects the sum of its k rows (an index-add); rows never read get 0.
struct EmbeddingBackward : Node {
  Tensor ids;                   // the forward's ids, detached (any shape S)
  std::int64_t num_embeddings;  // V: the gradient has weight's shape (V, D)
  EmbeddingBackward(Tensor ids_, std::int64_t v) : ids(std::move(ids_)), num_embeddings(v) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;  // (S..., D) -> {(V, D)}
  std::string name() const override { return "EmbeddingBackward"; }
};
}  // namespace autograd

namespace nn {

/// A table of num_embeddings learned vectors of size embedding_dim, as torch.nn.Embedding:
/// weight (V, D) initialised N(0, 1), drawn as randn({V, D}, generator). forward(ids (S...)) ->
/// (S..., D). Parameter: "weight".
/// num_embeddings < 1 or embedding_dim < 1 throws std::invalid_argument.
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim,
            Generator& generator = default_generator());
  [[nodiscard]] Tensor forward(const Tensor& ids) override;

  std::int64_t num_embeddings;
  std::int64_t embedding_dim;
  Tensor weight;  // (V, D)
};

/// Learned absolute positions (GPT-2's wpe): one vector per position 0..max_len-1, weight
/// (max_len, D) initialised N(0, 1) like Embedding (randn({max_len, D}, generator)). Parameter:
/// "weight".
/// max_len < 1 or dim < 1 throws std::invalid_argument.
class PositionalEmbedding : public Module {
 public:
  PositionalEmbedding(std::int64_t max_len, std::int64_t dim,
                      Generator& generator = default_generator());
  /// The vectors of positions 0..T-1: (T, D). T > max_len (or T < 1) throws std::out_of_range
  /// naming T and max_len.
  [[nodiscard]] Tensor forward(std::int64_t length);
  /// x (..., T, D) + the vectors of positions 0..T-1, broadcast over the leading dimensions:
  /// position t's vector is added to x[..., t, :]. x with fewer than 2 dimensions or a last
  /// dimension other than D throws std::invalid_argument; T > max_len throws std::out_of_range.
  [[nodiscard]] Tensor forward(const Tensor& x) override;

  std::int64_t max_len;
  std::int64_t dim;
  Tensor weight;  // (max_len, D)
};

}  // namespace nn
}  // namespace tinytorch
