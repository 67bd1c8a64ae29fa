#pragma once
// Module 16: caching. Generating text one token at a time re-reads the whole window at every step;
// a KV cache keeps each layer's keys and values so that a step computes only the new position.
// The contract for caching.cpp:
//     GPTCache cache(model.config);                        // one KVCache per block, preallocated
//     Tensor logits = forward_with_cache(model, prompt_ids, cache);   // prefill: (1, T) -> (1, T,
//     V) Tensor next = forward_with_cache(model, one_id, cache);         // decode:  (1, 1) -> (1,
//     1, V) Generation g = generate_with_cache(model, prompt, 256, {.sampling = {.temperature =
//     0}});
//
// Caching is for inference: everything here runs under autograd::NoGradGuard, records no graph and
// computes no gradient.
#include <cstdint>
#include <span>
#include <vector>

#include "tinytorch/attention.hpp"
#include "tinytorch/random.hpp"
#include "tinytorch/tensor.hpp"
#include "tinytorch/transformers.hpp"

namespace tinytorch {

namespace ops {
/// The view of elements start .. start + length - 1 of t along dim (torch.narrow): the same
/// storage, size(dim) = length, offset moved by start * stride(dim); writing through it writes t.
/// Negative dim counts from the end. A bad dim, start < 0, length < 0 or start + length >
/// size(dim): std::out_of_range naming dim, start, length and t's shape. Not recorded by autograd.
[[nodiscard]] Tensor narrow(const Tensor& t, std::int64_t dim, std::int64_t start,
                            std::int64_t length);
/// Concatenation along dim (torch.cat), into new contiguous storage: every tensor must have the
/// same rank and the same sizes except along dim. No tensors, or shapes that disagree:
/// std::invalid_argument naming every shape. Not recorded by autograd.
[[nodiscard]] Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim);
}  // namespace ops

/// What KVCache::append returns: views of every cached position, (B, H, length(), D) each.
struct CachedKV {
  Tensor keys;
  Tensor values;
};

/// One attention layer's keys and values, preallocated to (batch, heads, max_len, head_dim) each,
/// of which the first length() positions are filled. Appending writes into the buffers (no
/// reallocation, no concatenation): a step's cost does not grow with what is already cached.
class KVCache {
 public:
  /// Two zero-filled buffers of shape (batch, heads, max_len, head_dim). Any size < 1:
  /// std::invalid_argument naming the four sizes.
  KVCache(std::int64_t batch, std::int64_t heads, std::int64_t max_len, std::int64_t head_dim);

  /// Copies k and v, each (batch, heads, T, head_dim) with T >= 1, into positions length() ..
  /// length() + T - 1, advances length() by T and returns views of positions 0 .. length() - 1.
  /// k or v of another shape: std::invalid_argument naming both shapes and the expected one;
  /// length() + T > capacity(): std::length_error naming T, length() and capacity(); k or v that
  /// requires grad while grad mode is on: std::logic_error (the copy would cut the graph: run
  /// inference under autograd::NoGradGuard). A refused append leaves the cache unchanged.
  CachedKV append(const Tensor& k, const Tensor& v);
  /// Views (batch, heads, length(), head_dim) of the filled positions (a 0-length view when empty).
  [[nodiscard]] Tensor keys() const;
  [[nodiscard]] Tensor values() const;

  /// How many positions are cached.
  [[nodiscard]] std::int64_t length() const;
  /// max_len: how many positions fit.
  [[nodiscard]] std::int64_t capacity() const;
  /// (batch, heads, max_len, head_dim): the shape of each buffer.
  [[nodiscard]] Shape shape() const;
  /// Forgets every position (length() = 0); the buffers stay allocated for the next sequence.
  void reset();
  /// The bytes both buffers hold, full or not: 2 * batch * heads * max_len * head_dim * 4.
  [[nodiscard]] std::int64_t bytes() const;

 private:
  Tensor keys_;    // (B, H, max_len, D)
  Tensor values_;  // (B, H, max_len, D)
  std::int64_t length_ = 0;
};

/// A GPT's cache: one KVCache per transformer block, each (batch, num_heads, context,
/// embed_dim / num_heads), so it holds up to `context` positions, the most the model can read.
class GPTCache {
 public:
  /// num_layers, num_heads, context or embed_dim < 1, embed_dim not divisible by num_heads, or
  /// batch < 1: std::invalid_argument.
  explicit GPTCache(const nn::GPTConfig& config, std::int64_t batch = 1);

  /// Positions cached (every layer holds the same number).
  [[nodiscard]] std::int64_t length() const;
  /// The model's context: positions that fit.
  [[nodiscard]] std::int64_t capacity() const;
  [[nodiscard]] std::int64_t batch() const;
  [[nodiscard]] std::int64_t num_layers() const;
  /// Block l's cache; l outside [0, num_layers()): std::out_of_range.
  [[nodiscard]] KVCache& layer(std::int64_t l);
  /// Resets every layer.
  void reset();
  /// The sum of the layers' bytes: 2 * layers * batch * heads * context * head_dim * 4.
  [[nodiscard]] std::int64_t bytes() const;
  /// Throws std::invalid_argument when model's layers, heads, head size or context differ from
  /// the ones this cache was built for, naming both shapes.
  void check_model(const nn::GPT& model) const;

 private:
  nn::GPTConfig config_;
  std::int64_t batch_;
  std::vector<KVCache> layers_;
};

/// Multi-head self-attention of T new positions, x (B, T, E) -> (B, T, E), reading the cache:
/// q, k, v = the projections of x split into heads (B, H, T, D) as in MultiHeadAttention::forward;
/// k and v are appended to the cache; the T queries attend to every cached key (S = length after
/// the append), under causal_mask(T, S) when attn.causal. With an empty cache this is exactly
/// attn.forward(x). Shapes as MultiHeadAttention::forward requires; a cache whose (B, H, D) is not
/// x's batch and attn's heads: std::invalid_argument naming both.
[[nodiscard]] Tensor attention_with_cache(nn::MultiHeadAttention& attn, const Tensor& x,
                                          KVCache& cache);

/// TransformerBlock::forward for T new positions, with attention_with_cache in place of attn.
[[nodiscard]] Tensor block_with_cache(nn::TransformerBlock& block, const Tensor& x, KVCache& cache);

/// GPT::forward for ids (B, T) that sit at positions cache.length() .. cache.length() + T - 1:
/// token embeddings plus the position vectors of THOSE positions, every block through
/// block_with_cache with its layer's cache, ln_f and the head. Returns logits (B, T, V); the cache
/// then holds T more positions. Prefilling a prompt and then feeding one id at a time gives the
/// logits GPT::forward gives for the whole sequence. ids not 2-d or B != cache.batch():
/// std::invalid_argument; cache.length() + T > context: std::length_error naming T, the length
/// and the context (nothing is appended); a cache built for another model: as check_model.
[[nodiscard]] Tensor forward_with_cache(nn::GPT& model, const Tensor& ids, GPTCache& cache);

/// The next id from one position's logits z (V), by module 14's rule (SamplingOptions): greedy at
/// temperature 0 (the first argmax on ties); else keep the top_k largest logits (0 or more than V
/// keeps all; ties with the k-th stay), p_i = e^((z_i - max z) / temperature) over the kept ids,
/// and with one draw u = generator.uniform() * sum p, the first id (in increasing order) whose
/// running sum of p exceeds u. Empty logits: std::invalid_argument.
[[nodiscard]] std::int64_t sample_next_token(std::span<const float> logits,
                                             const SamplingOptions& options, Generator& generator);

/// How generate_with_cache runs.
struct GenerationOptions {
  SamplingOptions sampling;  // as module 14's generate
  /// false: the same windows, each step recomputed from scratch with GPT::forward (the baseline
  /// that shows what the cache saves, and the oracle the cache must agree with).
  bool use_cache = true;
  /// Record every step's logits in Generation::logits.
  bool keep_logits = false;
};

/// What generate_with_cache returns.
struct Generation {
  std::vector<std::int64_t> ids;           // the prompt followed by the new ids
  std::vector<std::vector<float>> logits;  // one row of V logits per new id, when keep_logits
  std::int64_t prefills = 0;  // forward passes over a whole window (with the cache: 1 + refills)
};

/// Autoregressive generation with (or, for comparison, without) a GPTCache.
///
/// The window policy past the context (learned absolute positions have no vector for position
/// `context`, and shifting the window by one would change every cached key: each key was computed
/// from its position's vector). The model reads the window ids[s ..]; it starts at the last
/// min(prompt length, context) ids. When the window would exceed `context` ids, it restarts at
/// the last keep = max(1, context / 2) ids: the cache is reset and refilled with those ids in one
/// forward pass (a "prefill"), then decoding goes on one id at a time. Without the cache every step
/// runs GPT::forward on the same window, so both modes give the same logits and the same ids.
///
/// Each step's id comes from sample_next_token with one Generator(options.sampling.seed). Runs in
/// eval mode under NoGradGuard and restores the model's training mode. Validation as module 14's
/// generate: an empty prompt, a negative max_new_tokens, temperature or top_k:
/// std::invalid_argument; a prompt id outside [0, V): std::out_of_range.
[[nodiscard]] Generation generate_with_cache(nn::GPT& model,
                                             const std::vector<std::int64_t>& prompt,
                                             std::int64_t max_new_tokens,
                                             const GenerationOptions& options = {});

}  // namespace tinytorch
