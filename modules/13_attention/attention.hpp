#pragma once
// Module 13: attention, the operation that lets every position of a sequence read every other.
// The contract for attention.cpp:
//     nn::MultiHeadAttention attn(64, 4);          // embed_dim 64, 4 heads of 16
//     Tensor y = attn(x);                          // x (B, T, 64) -> y (B, T, 64), causal
//     auto [out, weights] = scaled_dot_product_attention(q, k, v, /*causal=*/true);
//
// Everything here is composed from operations autograd already records (matmul, transpose,
// reshape, permute, +, *, softmax), so there is no backward to write: the gradient of attention
// is the chain rule through those, which module 07 computes for you.
#include <cstdint>

#include "tinytorch/activations.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/random.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch {

/// The additive causal mask (query_len, key_len): 0 where query i may look at key j, -infinity
/// where it may not. Queries are the LAST query_len positions of the key sequence (the alignment a
/// KV cache needs in module 16), so query i sits at position p = key_len - query_len + i and sees
/// keys j <= p. For query_len == key_len this is 0 on and below the diagonal, -inf above it.
/// query_len < 1, key_len < 1 or query_len > key_len: std::invalid_argument.
[[nodiscard]] Tensor causal_mask(std::int64_t query_len, std::int64_t key_len);

/// What scaled_dot_product_attention returns.
struct AttentionOutput {
  Tensor output;   // (..., T, dv): each query's weighted average of the values
  Tensor weights;  // (..., T, S): the attention probabilities; every row sums to 1
};

/// softmax(q k^T / sqrt(d) + mask) v, as torch.nn.functional.scaled_dot_product_attention:
///     q (..., T, d), k (..., S, d), v (..., S, dv) -> output (..., T, dv), weights (..., T, S)
/// The leading dimensions (usually (B, H): batch and heads) must be equal for the three. With
/// causal, mask = causal_mask(T, S) (a masked weight is exactly 0), else no mask. Differentiable
/// in q, k and v through recorded operations. Fewer than 2 dimensions, different ranks or leading
/// dimensions, q and k with different d, or k and v with different S: std::invalid_argument
/// naming the three shapes.
[[nodiscard]] AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k,
                                                           const Tensor& v, bool causal = false);

namespace nn {

/// Multi-head self-attention, (B, T, E) -> (B, T, E), with H heads of D = E / H features:
///     q, k, v = q_proj(x), k_proj(x), v_proj(x)          each (B, T, E)
///     split:  (B, T, E) -> (B, T, H, D) -> (B, H, T, D)   (view + permute, no copy)
///     attend: scaled_dot_product_attention(q, k, v, causal) per head -> (B, H, T, D)
///     merge:  (B, H, T, D) -> (B, T, H, D) -> (B, T, E)   (permute + reshape)
///     y = out_proj(merged)
/// Parameters, in order: q_proj.{weight,bias}, k_proj.*, v_proj.*, out_proj.* (biases only when
/// bias = true), the four Linear(E, E) drawn from `generator` in that order.
/// embed_dim < 1, num_heads < 1 or embed_dim % num_heads != 0: std::invalid_argument.
class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(std::int64_t embed_dim, std::int64_t num_heads, bool bias = true,
                     Generator& generator = default_generator());
  /// x (B, T, E) -> (B, T, E). Anything but 3 dimensions ending in E: std::invalid_argument.
  [[nodiscard]] Tensor forward(const Tensor& x) override;

  std::int64_t embed_dim;
  std::int64_t num_heads;
  std::int64_t head_dim;  // embed_dim / num_heads
  /// A decoder (GPT) masks the future; set false for an encoder that sees the whole sequence.
  bool causal = true;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;
  /// The attention weights (B, H, T, T) of the last forward, detached (for inspection and plots);
  /// undefined before the first forward.
  Tensor last_weights;
};

}  // namespace nn
}  // namespace tinytorch
