// Module 13 reference solution: scaled dot-product attention and multi-head self-attention.
//
// Everything is composed from recorded operations (matmul, transpose, view, permute, +, *,
// softmax), so autograd differentiates attention with no new backward. The head split and the k^T
// are views that BLAS reads in place: the only copies are the score matrices themselves and the
// head merge.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "tinytorch/activations.hpp"
#include "tinytorch/attention.hpp"

namespace tinytorch {
namespace {

using std::int64_t;

std::string shapes_of(const Tensor& q, const Tensor& k, const Tensor& v) {
  return "q " + shape_to_string(q.shape()) + ", k " + shape_to_string(k.shape()) + ", v " +
         shape_to_string(v.shape());
}

// q (..., T, d), k (..., S, d), v (..., S, dv) with equal leading dimensions.
void check_attention_shapes(const Tensor& q, const Tensor& k, const Tensor& v) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("scaled_dot_product_attention: " + why + " (got " +
                                shapes_of(q, k, v) + ")");
  };
  if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2) {
    fail("q, k and v need at least 2 dimensions, (..., T, d)");
  }
  if (q.dim() != k.dim() || q.dim() != v.dim()) fail("q, k and v must have the same rank");
  for (int64_t i = 0; i + 2 < q.dim(); ++i) {
    if (q.size(i) != k.size(i) || q.size(i) != v.size(i)) {
      fail("the leading (batch, head) dimensions must be equal");
    }
  }
  if (q.size(-1) != k.size(-1)) fail("q and k must have the same feature size d");
  if (k.size(-2) != v.size(-2)) fail("k and v must have the same sequence length S");
}

}  // namespace

// Query i sits at position p = S - T + i of the key sequence and may read keys 0..p.
Tensor causal_mask(int64_t query_len, int64_t key_len) {
  if (query_len < 1 || key_len < 1 || query_len > key_len) {
    throw std::invalid_argument("causal_mask(" + std::to_string(query_len) + ", " +
                                std::to_string(key_len) +
                                "): need 1 <= query_len <= key_len (queries are the last "
                                "query_len positions of the keys)");
  }
  Tensor mask = zeros({query_len, key_len});  // (T, S)
  const std::span<float> m = mask.data();
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const int64_t shift = key_len - query_len;
  for (int64_t i = 0; i < query_len; ++i) {
    for (int64_t j = i + shift + 1; j < key_len; ++j) m[i * key_len + j] = neg_inf;
  }
  return mask;
}

// scores = q k^T / sqrt(d): (..., T, d) @ (..., d, S) -> (..., T, S). Dividing by sqrt(d) keeps
// the scores' variance near 1 whatever d is (a dot of d unit-variance terms has variance d), so
// softmax does not saturate into a one-hot with vanishing gradients.
// The mask is a constant added to the scores: e^-inf = 0, so a masked weight is exactly 0 and the
// add's gradient passes straight through to the unmasked scores.
AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             bool causal) {
  check_attention_shapes(q, k, v);
  const float scale = 1.0f / std::sqrt(static_cast<float>(q.size(-1)));
  Tensor scores = q.matmul(k.transpose(-2, -1)) * scale;  // (..., T, S)
  if (causal) scores = scores + causal_mask(q.size(-2), k.size(-2));
  Tensor weights = softmax(scores, -1);  // each row sums to 1
  return {weights.matmul(v), weights};   // (..., T, dv)
}

namespace nn {

MultiHeadAttention::MultiHeadAttention(int64_t embed_dim, int64_t num_heads, bool bias,
                                       Generator& generator)
    : embed_dim(embed_dim), num_heads(num_heads), head_dim(0) {
  if (embed_dim < 1 || num_heads < 1 || embed_dim % num_heads != 0) {
    throw std::invalid_argument("MultiHeadAttention(" + std::to_string(embed_dim) + ", " +
                                std::to_string(num_heads) +
                                "): embed_dim and num_heads must be positive and embed_dim "
                                "divisible by num_heads (each head gets embed_dim / num_heads)");
  }
  head_dim = embed_dim / num_heads;
  const auto linear = [&] {
    return std::make_shared<Linear>(embed_dim, embed_dim, bias, Init::kaiming_uniform, generator);
  };
  q_proj = register_module("q_proj", linear());
  k_proj = register_module("k_proj", linear());
  v_proj = register_module("v_proj", linear());
  out_proj = register_module("out_proj", linear());
}

Tensor MultiHeadAttention::forward(const Tensor& x) {
  if (x.dim() != 3 || x.size(-1) != embed_dim) {
    throw std::invalid_argument("MultiHeadAttention: expected x of shape (B, T, " +
                                std::to_string(embed_dim) + "), got " + shape_to_string(x.shape()));
  }
  const int64_t B = x.size(0), T = x.size(1);
  // (B, T, E) -> (B, T, H, D) -> (B, H, T, D): a view, then a permute; each head's (T, D) matrix
  // has unit column stride and row stride E, which BLAS reads without a copy.
  const auto split_heads = [&](const Tensor& t) {
    return t.view({B, T, num_heads, head_dim}).permute({0, 2, 1, 3});
  };
  const Tensor q = split_heads((*q_proj)(x));
  const Tensor k = split_heads((*k_proj)(x));
  const Tensor v = split_heads((*v_proj)(x));
  auto [heads, weights] = scaled_dot_product_attention(q, k, v, causal);  // (B, H, T, D)
  last_weights = weights.detach();
  // (B, H, T, D) -> (B, T, H, D) -> (B, T, E): the permute is a view, reshape copies it into
  // row-major order, putting each position's H heads side by side.
  const Tensor merged = heads.permute({0, 2, 1, 3}).reshape({B, T, embed_dim});
  return (*out_proj)(merged);
}

}  // namespace nn
}  // namespace tinytorch
