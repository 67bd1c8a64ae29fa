// Module 13 — fill in each TODO. The contract is attention.hpp: read each function's comment there
// first, and the lesson in README.md for the formulas and the shapes.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 13` after
// each function: the tests for the functions you have written turn green one by one.
//
// There is no backward to write in this module. Build everything from operations autograd already
// records (Tensor::matmul, transpose, view, permute, reshape, +, *, softmax from module 03) and
// module 07 differentiates attention for you. Suggested order: causal_mask,
// scaled_dot_product_attention, then MultiHeadAttention's constructor and forward.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "tinytorch/activations.hpp"
#include "tinytorch/attention.hpp"
#include "tinytorch/errors.hpp"

namespace tinytorch {

Tensor causal_mask(std::int64_t query_len, std::int64_t key_len) {
  // TODO: the additive mask (query_len, key_len): 0 where a query may look, -infinity where not.
  //   1. Validate: 1 <= query_len <= key_len, else std::invalid_argument naming both numbers.
  //   2. Query i is the token at position p = key_len - query_len + i (for the usual square case,
  //      p = i). It may read keys j <= p; keys j > p are its future.
  //   3. Start from zeros({query_len, key_len}) and write -infinity
  //      (std::numeric_limits<float>::infinity(), negated) into the future entries of each row,
  //      through data(). Why -inf and not a large negative number? e^-inf is exactly 0, so a
  //      masked weight is exactly 0 and a future token cannot move the output at all.
  (void)query_len;
  (void)key_len;
  throw NotImplemented("13_attention", "causal_mask");
}

AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             bool causal) {
  // TODO: softmax(q k^T / sqrt(d) + mask) v, returning {output, weights}.
  //   1. Check the shapes (see the header): q (..., T, d), k (..., S, d), v (..., S, dv), same
  //      rank >= 2, equal leading dimensions. Throw std::invalid_argument naming all three shapes.
  //   2. scores = q @ k^T: k.transpose(-2, -1) is a view of shape (..., d, S); Tensor::matmul
  //      multiplies every leading (batch, head) pair at once -> (..., T, S).
  //   3. Multiply by 1 / sqrt(d). Why: a dot of d unit-variance terms has variance d; without the
  //      scale, large d pushes softmax into a one-hot whose gradient vanishes.
  //   4. If causal, add causal_mask(T, S): it broadcasts over the leading dimensions.
  //   5. weights = softmax(scores, -1) (module 03's recorded softmax); output = weights @ v.
  (void)q;
  (void)k;
  (void)v;
  (void)causal;
  throw NotImplemented("13_attention", "scaled_dot_product_attention");
}

namespace nn {

MultiHeadAttention::MultiHeadAttention(std::int64_t embed_dim, std::int64_t num_heads, bool bias,
                                       Generator& generator)
    : embed_dim(embed_dim), num_heads(num_heads), head_dim(0) {
  // TODO:
  //   1. embed_dim and num_heads positive and embed_dim % num_heads == 0, else
  //      std::invalid_argument naming both (each head gets embed_dim / num_heads features).
  //   2. head_dim = embed_dim / num_heads.
  //   3. Four Linear(embed_dim, embed_dim, bias, Init::kaiming_uniform, generator), registered in
  //      this order with register_module: "q_proj", "k_proj", "v_proj", "out_proj". The order
  //      fixes both the parameter names and which random numbers each layer draws.
  (void)bias;
  (void)generator;
  throw NotImplemented("13_attention", "MultiHeadAttention::MultiHeadAttention");
}

Tensor MultiHeadAttention::forward(const Tensor& x) {
  // TODO: x (B, T, E) -> (B, T, E).
  //   1. x must be 3-d with last dimension embed_dim, else std::invalid_argument with its shape.
  //   2. Project: q = (*q_proj)(x), likewise k and v, each (B, T, E).
  //   3. Split heads without copying: view as (B, T, H, D), then permute({0, 2, 1, 3}) to
  //      (B, H, T, D). Each head now sees its own D features of every position.
  //   4. scaled_dot_product_attention(q, k, v, causal) -> output (B, H, T, D) and weights
  //      (B, H, T, T). Keep weights.detach() in last_weights.
  //   5. Merge heads: permute back to (B, T, H, D), then reshape to (B, T, E) (this reshape must
  //      copy: the permuted tensor is not contiguous, and reshape does that for you).
  //   6. Return (*out_proj)(merged): it mixes what the heads found.
  (void)x;
  throw NotImplemented("13_attention", "MultiHeadAttention::forward");
}

}  // namespace nn
}  // namespace tinytorch
