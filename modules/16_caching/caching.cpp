// Module 16 — fill in each TODO. The contract is caching.hpp: read each function's comment there
// first, and the lesson in README.md for the shapes, the memory formula and the window policy.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 16` after
// each function. Suggested order: ops::narrow, ops::cat, KVCache (constructor, append, the
// accessors, reset, bytes), GPTCache, attention_with_cache, block_with_cache, forward_with_cache,
// sample_next_token, generate_with_cache.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/caching.hpp"
#include "tinytorch/errors.hpp"

namespace tinytorch {

namespace ops {

Tensor narrow(const Tensor& t, std::int64_t dim, std::int64_t start, std::int64_t length) {
  // TODO: a view, no copy.
  //   1. Wrap a negative dim (d = dim + t.dim()); check 0 <= d < t.dim(), start >= 0, length >= 0
  //      and start + length <= t.size(d), else std::out_of_range naming dim, start, length and
  //      shape_to_string(t.shape()).
  //   2. A new TensorImpl (std::make_shared<TensorImpl>()) over t.storage(): t's shape with
  //      shape[d] = length, t's strides, and offset = t.offset() + start * strides[d]. Element i
  //      along d of the view is element start + i of t. Return Tensor(impl).
  (void)t;
  (void)dim;
  (void)start;
  (void)length;
  throw NotImplemented("16_caching", "ops::narrow");
}

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  // TODO: torch.cat.
  //   1. No tensors, a dim out of range, ranks that differ or sizes that differ outside dim:
  //      std::invalid_argument naming every shape.
  //   2. out = empty(shape) with shape[dim] = the sum of the sizes along dim.
  //   3. Copy each tensor into its slice: narrow(out, dim, at, t.size(dim)).copy_(t); at += ...
  (void)tensors;
  (void)dim;
  throw NotImplemented("16_caching", "ops::cat");
}

}  // namespace ops

KVCache::KVCache(std::int64_t batch, std::int64_t heads, std::int64_t max_len,
                 std::int64_t head_dim) {
  // TODO: every size must be >= 1 (else std::invalid_argument naming the four); keys_ and
  //   values_ = zeros({batch, heads, max_len, head_dim}). This is the only allocation the cache
  //   ever makes.
  (void)batch;
  (void)heads;
  (void)max_len;
  (void)head_dim;
  throw NotImplemented("16_caching", "KVCache::KVCache");
}

CachedKV KVCache::append(const Tensor& k, const Tensor& v) {
  // TODO:
  //   1. k and v must both be 4-d (B, H, T, D) with B, H, D the buffers' sizes, T >= 1 and the
  //      same T: else std::invalid_argument naming k's, v's and the buffers' shapes.
  //   2. autograd::GradMode::is_enabled() and k or v requires_grad(): std::logic_error (copy_
  //      is not recorded, so the graph would silently end here; say "use NoGradGuard").
  //      length_ + T > capacity(): std::length_error naming T, length_ and the capacity. Check
  //      everything BEFORE writing: a refused append must leave the cache as it was.
  //   3. Copy into the next free positions: ops::narrow(keys_, 2, length_, T).copy_(k), the same
  //      for v. Then length_ += T.
  //   4. Return {keys(), values()}.
  (void)k;
  (void)v;
  throw NotImplemented("16_caching", "KVCache::append");
}

Tensor KVCache::keys() const {
  // TODO: the filled positions, a view: ops::narrow(keys_, 2, 0, length_).
  throw NotImplemented("16_caching", "KVCache::keys");
}

Tensor KVCache::values() const {
  // TODO: as keys(), over values_.
  throw NotImplemented("16_caching", "KVCache::values");
}

std::int64_t KVCache::length() const {
  // TODO: how many positions are cached.
  throw NotImplemented("16_caching", "KVCache::length");
}

std::int64_t KVCache::capacity() const {
  // TODO: max_len, the buffers' size along dimension 2.
  throw NotImplemented("16_caching", "KVCache::capacity");
}

Shape KVCache::shape() const {
  // TODO: the buffers' shape (B, H, max_len, D).
  throw NotImplemented("16_caching", "KVCache::shape");
}

void KVCache::reset() {
  // TODO: forget every position. Do you need to zero the buffers? (What does length_ guarantee
  //   about the positions past it?)
  throw NotImplemented("16_caching", "KVCache::reset");
}

std::int64_t KVCache::bytes() const {
  // TODO: what both buffers hold, full or not: 2 * numel * sizeof(float).
  throw NotImplemented("16_caching", "KVCache::bytes");
}

GPTCache::GPTCache(const nn::GPTConfig& config, std::int64_t batch)
    : config_(config), batch_(batch) {
  // TODO: batch >= 1 and a config GPT would accept (positive num_layers, num_heads, context,
  //   embed_dim; embed_dim % num_heads == 0), else std::invalid_argument. Then one KVCache(batch,
  //   num_heads, context, embed_dim / num_heads) per layer in layers_ (emplace_back).
  throw NotImplemented("16_caching", "GPTCache::GPTCache");
}

std::int64_t GPTCache::length() const {
  // TODO: the first layer's length (all layers hold the same number of positions).
  throw NotImplemented("16_caching", "GPTCache::length");
}

std::int64_t GPTCache::capacity() const {
  // TODO: the context the cache was built for.
  throw NotImplemented("16_caching", "GPTCache::capacity");
}

std::int64_t GPTCache::batch() const {
  // TODO
  throw NotImplemented("16_caching", "GPTCache::batch");
}

std::int64_t GPTCache::num_layers() const {
  // TODO
  throw NotImplemented("16_caching", "GPTCache::num_layers");
}

KVCache& GPTCache::layer(std::int64_t l) {
  // TODO: layers_[l]; l outside [0, num_layers()): std::out_of_range.
  (void)l;
  throw NotImplemented("16_caching", "GPTCache::layer");
}

void GPTCache::reset() {
  // TODO: reset every layer.
  throw NotImplemented("16_caching", "GPTCache::reset");
}

std::int64_t GPTCache::bytes() const {
  // TODO: the sum over the layers.
  throw NotImplemented("16_caching", "GPTCache::bytes");
}

void GPTCache::check_model(const nn::GPT& model) const {
  // TODO: model.config's num_layers, num_heads, embed_dim and context must equal config_'s, else
  //   std::invalid_argument naming both shapes (layers, heads, head_dim, context).
  (void)model;
  throw NotImplemented("16_caching", "GPTCache::check_model");
}

Tensor attention_with_cache(nn::MultiHeadAttention& attn, const Tensor& x, KVCache& cache) {
  // TODO: MultiHeadAttention::forward (module 13) for the T new positions of x (B, T, E).
  //   1. Check x is (B, T, attn.embed_dim) and cache.shape() is (B, attn.num_heads, _,
  //      attn.head_dim), else std::invalid_argument naming the shapes.
  //   2. q, k, v = the three projections of x, each split into heads: view (B, T, H, D), then
  //      permute (B, H, T, D).
  //   3. auto kv = cache.append(k, v): now kv.keys and kv.values are (B, H, S, D), S = every
  //      position cached so far, the T new ones last.
  //   4. scaled_dot_product_attention(q, kv.keys, kv.values, attn.causal): with T < S it builds
  //      causal_mask(T, S), whose queries are the LAST T positions (module 13). Store the weights
  //      (detached) in attn.last_weights, as forward does.
  //   5. Merge the heads back to (B, T, E) (permute, reshape) and apply attn.out_proj.
  (void)attn;
  (void)x;
  (void)cache;
  throw NotImplemented("16_caching", "attention_with_cache");
}

Tensor block_with_cache(nn::TransformerBlock& block, const Tensor& x, KVCache& cache) {
  // TODO: TransformerBlock::forward (module 14) with attention_with_cache(*block.attn, ..., cache)
  //   in place of (*block.attn)(...): h = x + drop(attn(ln1(x))); return h + drop(mlp(ln2(h))).
  (void)block;
  (void)x;
  (void)cache;
  throw NotImplemented("16_caching", "block_with_cache");
}

Tensor forward_with_cache(nn::GPT& model, const Tensor& ids, GPTCache& cache) {
  // TODO: GPT::forward (module 14) for ids (B, T) at positions cache.length() ...
  //   1. cache.check_model(model); ids must be (B, T) with B = cache.batch(); cache.length() + T
  //      > context: std::length_error naming T, the length and the context.
  //   2. x = drop(wte(ids) + the position vectors of positions cache.length() ..
  //      cache.length() + T - 1): ops::narrow(model.wpe->weight, 0, cache.length(), T) is (T, E)
  //      and broadcasts over B. (wpe->forward(...) would add positions 0 .. T - 1: wrong for every
  //      step after the first.) Read cache.length() BEFORE the blocks append to the cache.
  //   3. Each block l: dynamic_cast<nn::TransformerBlock&>(*(*model.blocks)[l]), then
  //      x = block_with_cache(block, x, cache.layer(l)).
  //   4. ln_f, then the head as GPT::forward does (tied: x @ wte.weight^T).
  (void)model;
  (void)ids;
  (void)cache;
  throw NotImplemented("16_caching", "forward_with_cache");
}

std::int64_t sample_next_token(std::span<const float> logits, const SamplingOptions& options,
                               Generator& generator) {
  // TODO: the rule of module 14's generate, step 4, for one row of logits (your module 14 code
  //   is the place to start). Empty logits: std::invalid_argument.
  //   - temperature == 0: the index of the largest logit, the first one on ties.
  //   - else: if 0 < top_k < V, drop every logit below the top_k-th largest (std::nth_element on
  //     a copy finds it); p_i = e^((z_i - max z) / temperature) over the kept ids (in double);
  //     u = generator.uniform() * sum p; return the first id whose running sum of p exceeds u
  //     (and the last kept id if rounding leaves u just above the sum).
  (void)logits;
  (void)options;
  (void)generator;
  throw NotImplemented("16_caching", "sample_next_token");
}

Generation generate_with_cache(nn::GPT& model, const std::vector<std::int64_t>& prompt,
                               std::int64_t max_new_tokens, const GenerationOptions& options) {
  // TODO: module 14's generate, with a cache and the window policy of the header.
  //   1. Validate as module 14's generate. Eval mode restored at the end (a small RAII guard),
  //      autograd::NoGradGuard, one Generator(options.sampling.seed), one GPTCache(model.config).
  //   2. The window starts at s = max(0, prompt length - context). Each step, with n ids so far:
  //      - if n - s > context: s = n - keep, keep = max(1, context / 2);
  //      - without the cache: logits = model.forward(ids[s .. n - 1] as (1, n - s));
  //      - with the cache, on the first step or when s just moved: cache.reset(), then
  //        forward_with_cache(ids[s .. n - 1]) (a prefill; count it in Generation::prefills);
  //      - otherwise feed only the last id, (1, 1), to forward_with_cache (a decode step).
  //      Count every forward of a whole window (without the cache: every step) in prefills.
  //   3. z = the V logits of the last position; keep a copy in logits when options.keep_logits;
  //      append sample_next_token(z, options.sampling, generator).
  (void)model;
  (void)prompt;
  (void)max_new_tokens;
  (void)options;
  throw NotImplemented("16_caching", "generate_with_cache");
}

}  // namespace tinytorch
