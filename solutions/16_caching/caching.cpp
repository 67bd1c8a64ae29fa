// Module 16 reference solution: narrow and cat, the KV cache, attention and a GPT forward over
// cached positions, and generation with a window policy past the context.
//
// The cache is two preallocated (B, H, max_len, D) buffers per layer. A step writes its new keys
// and values into the next free positions through a narrow() view and attends over a narrow() view
// of the filled ones: no reallocation and no concatenation, so a step's cost depends on how many
// positions are cached only through the one q k^T and weights v it must do anyway.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/caching.hpp"

namespace tinytorch {
namespace {

using std::int64_t;

std::string str(int64_t v) {
  return std::to_string(v);
}

}  // namespace

// ---- narrow and cat -----------------------------------------------------------------------------

namespace ops {

// Element (.., i, ..) of the view is element (.., start + i, ..) of t: the same strides, the offset
// moved by start steps along dim.
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  const int64_t d = dim < 0 ? dim + t.dim() : dim;
  if (d < 0 || d >= t.dim() || start < 0 || length < 0 || start + length > t.size(d)) {
    throw std::out_of_range("narrow(dim " + str(dim) + ", start " + str(start) + ", length " +
                            str(length) + "): out of range for a tensor of shape " +
                            shape_to_string(t.shape()) +
                            " (need 0 <= start and start + length <= size(dim))");
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage();
  impl->shape = t.shape();
  impl->shape[d] = length;
  impl->strides = t.strides();
  impl->offset = t.offset() + start * t.strides()[d];
  return Tensor(impl);
}

// Allocates the result once and copies each input into its slice along dim.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  std::string shapes;
  for (const Tensor& t : tensors)
    shapes += (shapes.empty() ? "" : ", ") + shape_to_string(t.shape());
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("cat(dim " + str(dim) + "): " + why + " (got " +
                                (shapes.empty() ? "no tensors" : shapes) + ")");
  };
  if (tensors.empty()) fail("needs at least one tensor");
  const Tensor& first = tensors.front();
  const int64_t d = dim < 0 ? dim + first.dim() : dim;
  if (d < 0 || d >= first.dim()) fail("dim is out of range");
  Shape shape = first.shape();
  shape[d] = 0;
  for (const Tensor& t : tensors) {
    if (t.dim() != first.dim()) fail("every tensor needs the same rank");
    for (int64_t i = 0; i < t.dim(); ++i) {
      if (i != d && t.size(i) != first.size(i)) fail("sizes differ outside dim");
    }
    shape[d] += t.size(d);
  }
  Tensor out = empty(shape);
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    narrow(out, d, at, t.size(d)).copy_(t);
    at += t.size(d);
  }
  return out;
}

}  // namespace ops

// ---- KVCache ------------------------------------------------------------------------------------

KVCache::KVCache(int64_t batch, int64_t heads, int64_t max_len, int64_t head_dim) {
  if (batch < 1 || heads < 1 || max_len < 1 || head_dim < 1) {
    throw std::invalid_argument("KVCache(batch " + str(batch) + ", heads " + str(heads) +
                                ", max_len " + str(max_len) + ", head_dim " + str(head_dim) +
                                "): every size must be positive");
  }
  keys_ = zeros({batch, heads, max_len, head_dim});
  values_ = zeros({batch, heads, max_len, head_dim});
}

CachedKV KVCache::append(const Tensor& k, const Tensor& v) {
  const Shape& s = keys_.shape();  // (B, H, max_len, D)
  const auto fits = [&](const Tensor& t) {
    return t.dim() == 4 && t.size(0) == s[0] && t.size(1) == s[1] && t.size(3) == s[3] &&
           t.size(2) >= 1;
  };
  if (!fits(k) || !fits(v) || k.size(2) != v.size(2)) {
    throw std::invalid_argument("KVCache::append: k " + shape_to_string(k.shape()) + " and v " +
                                shape_to_string(v.shape()) + " must both be (batch " + str(s[0]) +
                                ", heads " + str(s[1]) + ", T >= 1, head_dim " + str(s[3]) +
                                ") with the same T, for a cache of shape " + shape_to_string(s));
  }
  if (autograd::GradMode::is_enabled() && (k.requires_grad() || v.requires_grad())) {
    throw std::logic_error(
        "KVCache::append: k or v requires grad, and copying it into the cache would cut the "
        "graph; a cache is for inference: run it under autograd::NoGradGuard");
  }
  const int64_t T = k.size(2);
  if (length_ + T > s[2]) {
    throw std::length_error("KVCache::append: " + str(T) +
                            " new positions do not fit: " + str(length_) + " of " + str(s[2]) +
                            " are cached; reset() the cache or keep a shorter window");
  }
  ops::narrow(keys_, 2, length_, T).copy_(k);
  ops::narrow(values_, 2, length_, T).copy_(v);
  length_ += T;
  return {keys(), values()};
}

Tensor KVCache::keys() const {
  return ops::narrow(keys_, 2, 0, length_);
}

Tensor KVCache::values() const {
  return ops::narrow(values_, 2, 0, length_);
}

int64_t KVCache::length() const {
  return length_;
}

int64_t KVCache::capacity() const {
  return keys_.size(2);
}

Shape KVCache::shape() const {
  return keys_.shape();
}

// The stale numbers stay in the buffers: length_ alone says what is valid, and the next append
// overwrites them.
void KVCache::reset() {
  length_ = 0;
}

int64_t KVCache::bytes() const {
  return 2 * keys_.numel() * static_cast<int64_t>(sizeof(float));
}

// ---- GPTCache -----------------------------------------------------------------------------------

namespace {

std::string describe(const nn::GPTConfig& c) {
  return "(layers " + str(c.num_layers) + ", heads " + str(c.num_heads) + ", head_dim " +
         str(c.num_heads > 0 ? c.embed_dim / c.num_heads : 0) + ", context " + str(c.context) + ")";
}

}  // namespace

GPTCache::GPTCache(const nn::GPTConfig& config, int64_t batch) : config_(config), batch_(batch) {
  if (batch < 1 || config.num_layers < 1 || config.num_heads < 1 || config.context < 1 ||
      config.embed_dim < 1 || config.embed_dim % config.num_heads != 0) {
    throw std::invalid_argument("GPTCache: batch " + str(batch) + " and config " +
                                describe(config) + ", embed_dim " + str(config.embed_dim) +
                                ": every size must be positive and embed_dim divisible by "
                                "num_heads");
  }
  const int64_t head_dim = config.embed_dim / config.num_heads;
  layers_.reserve(static_cast<std::size_t>(config.num_layers));
  for (int64_t l = 0; l < config.num_layers; ++l) {
    layers_.emplace_back(batch, config.num_heads, config.context, head_dim);
  }
}

int64_t GPTCache::length() const {
  return layers_.front().length();
}

int64_t GPTCache::capacity() const {
  return config_.context;
}

int64_t GPTCache::batch() const {
  return batch_;
}

int64_t GPTCache::num_layers() const {
  return static_cast<int64_t>(layers_.size());
}

KVCache& GPTCache::layer(int64_t l) {
  if (l < 0 || l >= num_layers()) {
    throw std::out_of_range("GPTCache::layer(" + str(l) + "): the cache has " + str(num_layers()) +
                            " layers");
  }
  return layers_[static_cast<std::size_t>(l)];
}

void GPTCache::reset() {
  for (KVCache& layer : layers_) layer.reset();
}

int64_t GPTCache::bytes() const {
  int64_t total = 0;
  for (const KVCache& layer : layers_) total += layer.bytes();
  return total;
}

void GPTCache::check_model(const nn::GPT& model) const {
  const nn::GPTConfig& m = model.config;
  if (m.num_layers != config_.num_layers || m.num_heads != config_.num_heads ||
      m.embed_dim != config_.embed_dim || m.context != config_.context) {
    throw std::invalid_argument("GPTCache: built for a model of shape " + describe(config_) +
                                ", used with a model of shape " + describe(m) +
                                ": build a GPTCache from this model's config");
  }
}

// ---- attention, block and GPT over cached positions --------------------------------------------

Tensor attention_with_cache(nn::MultiHeadAttention& attn, const Tensor& x, KVCache& cache) {
  if (x.dim() != 3 || x.size(-1) != attn.embed_dim) {
    throw std::invalid_argument("attention_with_cache: expected x of shape (B, T, " +
                                str(attn.embed_dim) + "), got " + shape_to_string(x.shape()));
  }
  const int64_t B = x.size(0), T = x.size(1), H = attn.num_heads, D = attn.head_dim;
  const Shape s = cache.shape();
  if (s[0] != B || s[1] != H || s[3] != D) {
    throw std::invalid_argument("attention_with_cache: a cache of shape " + shape_to_string(s) +
                                " cannot hold (B " + str(B) + ", heads " + str(H) + ", head_dim " +
                                str(D) + ") for x " + shape_to_string(x.shape()));
  }
  const auto split_heads = [&](const Tensor& t) {  // (B, T, E) -> (B, H, T, D), a view
    return t.view({B, T, H, D}).permute({0, 2, 1, 3});
  };
  const Tensor q = split_heads((*attn.q_proj)(x));
  const CachedKV kv = cache.append(split_heads((*attn.k_proj)(x)), split_heads((*attn.v_proj)(x)));
  // The T queries are the last T of the S = length() cached positions: causal_mask(T, S) lets
  // query i (position S - T + i) read keys 0 .. S - T + i.
  auto [heads, weights] = scaled_dot_product_attention(q, kv.keys, kv.values, attn.causal);
  attn.last_weights = weights.detach();
  return (*attn.out_proj)(heads.permute({0, 2, 1, 3}).reshape({B, T, attn.embed_dim}));
}

Tensor block_with_cache(nn::TransformerBlock& block, const Tensor& x, KVCache& cache) {
  const Tensor h = x + (*block.drop)(attention_with_cache(*block.attn, (*block.ln1)(x), cache));
  return h + (*block.drop)((*block.mlp)((*block.ln2)(h)));
}

Tensor forward_with_cache(nn::GPT& model, const Tensor& ids, GPTCache& cache) {
  cache.check_model(model);
  if (ids.dim() != 2 || ids.size(0) != cache.batch()) {
    throw std::invalid_argument(
        "forward_with_cache: ids must be (B, T) with B = " + str(cache.batch()) +
        " (the cache's batch), got shape " + shape_to_string(ids.shape()));
  }
  const int64_t T = ids.size(1), start = cache.length();
  if (start + T > model.config.context) {
    throw std::length_error("forward_with_cache: " + str(T) + " new positions after the " +
                            str(start) + " cached ones exceed the context of " +
                            str(model.config.context) + "; reset the cache and refill a window");
  }
  // Positions start .. start + T - 1: their rows of the learned table, broadcast over the batch.
  const Tensor positions = ops::narrow(model.wpe->weight, 0, start, T);  // (T, E)
  Tensor x = (*model.drop)((*model.wte)(ids) + positions);               // (B, T, E)
  for (std::size_t l = 0; l < model.blocks->size(); ++l) {
    auto& block = dynamic_cast<nn::TransformerBlock&>(*(*model.blocks)[l]);
    x = block_with_cache(block, x, cache.layer(static_cast<int64_t>(l)));
  }
  x = (*model.ln_f)(x);
  if (model.head) return (*model.head)(x);
  return x.matmul(model.wte->weight.transpose(0, 1));  // (B, T, V)
}

// ---- sampling -----------------------------------------------------------------------------------

int64_t sample_next_token(std::span<const float> logits, const SamplingOptions& options,
                          Generator& generator) {
  const auto V = static_cast<int64_t>(logits.size());
  if (V == 0) throw std::invalid_argument("sample_next_token: no logits (V = 0)");
  const float* z = logits.data();
  if (options.temperature == 0.0f) return std::max_element(z, z + V) - z;  // first on ties
  // top-k: every logit below the k-th largest drops out (ties with it stay).
  float cutoff = -std::numeric_limits<float>::infinity();
  if (options.top_k > 0 && options.top_k < V) {
    std::vector<float> sorted(z, z + V);
    std::nth_element(sorted.begin(), sorted.begin() + (options.top_k - 1), sorted.end(),
                     std::greater<>());
    cutoff = sorted[static_cast<std::size_t>(options.top_k - 1)];
  }
  // softmax(z / temperature) over the kept ids; subtracting the max keeps exp from overflowing.
  const float top = *std::max_element(z, z + V);
  std::vector<double> p(static_cast<std::size_t>(V), 0.0);
  double sum = 0.0;
  for (int64_t i = 0; i < V; ++i) {
    if (z[i] >= cutoff) p[i] = std::exp(static_cast<double>(z[i] - top) / options.temperature);
    sum += p[i];
  }
  // Inverse CDF: the first id whose running sum passes u.
  const double u = generator.uniform() * sum;
  double running = 0.0;
  int64_t last = 0;
  for (int64_t i = 0; i < V; ++i) {
    if (p[i] == 0.0) continue;
    running += p[i];
    last = i;
    if (running > u) return i;
  }
  return last;  // rounding left u just above the sum
}

// ---- generate_with_cache ------------------------------------------------------------------------

namespace {

// Eval mode for the guard's lifetime; the previous mode comes back even on a throw.
class EvalGuard {
 public:
  explicit EvalGuard(nn::Module& m) : module_(m), was_training_(m.is_training()) { m.eval(); }
  ~EvalGuard() { module_.train(was_training_); }
  EvalGuard(const EvalGuard&) = delete;
  EvalGuard& operator=(const EvalGuard&) = delete;

 private:
  nn::Module& module_;
  bool was_training_;
};

void check_request(const nn::GPT& model, const std::vector<int64_t>& prompt, int64_t max_new_tokens,
                   const SamplingOptions& o) {
  if (prompt.empty()) {
    throw std::invalid_argument(
        "generate_with_cache: the prompt is empty; give at least one id to start from");
  }
  if (max_new_tokens < 0 || o.temperature < 0.0f || o.top_k < 0) {
    throw std::invalid_argument("generate_with_cache: max_new_tokens = " + str(max_new_tokens) +
                                ", temperature = " + std::to_string(o.temperature) +
                                ", top_k = " + str(o.top_k) + ": none may be negative");
  }
  for (const int64_t id : prompt) {
    if (id < 0 || id >= model.config.vocab_size) {
      throw std::out_of_range("generate_with_cache: prompt id " + str(id) +
                              " is outside the vocabulary [0, " + str(model.config.vocab_size) +
                              ")");
    }
  }
}

// ids[from ..] as a (1, T) batch.
Tensor window_of(const std::vector<int64_t>& ids, std::size_t from) {
  std::vector<float> w(ids.begin() + static_cast<std::ptrdiff_t>(from), ids.end());
  const auto T = static_cast<int64_t>(w.size());
  return from_vector(std::move(w), {1, T});
}

}  // namespace

Generation generate_with_cache(nn::GPT& model, const std::vector<int64_t>& prompt,
                               int64_t max_new_tokens, const GenerationOptions& options) {
  check_request(model, prompt, max_new_tokens, options.sampling);
  EvalGuard eval(model);
  autograd::NoGradGuard no_grad;
  Generator generator(options.sampling.seed);
  const auto context = static_cast<std::size_t>(model.config.context);
  const std::size_t keep = std::max<std::size_t>(1, context / 2);
  GPTCache cache(model.config);

  Generation g;
  g.ids = prompt;
  std::size_t start = prompt.size() > context ? prompt.size() - context : 0;  // the window
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    // The window would need a position the model has no vector for: keep its last `keep` ids.
    const std::size_t before = start;
    if (g.ids.size() - start > context) start = g.ids.size() - keep;
    const bool new_window = step == 0 || start != before;
    Tensor logits;
    if (!options.use_cache) {
      logits = model.forward(window_of(g.ids, start));  // the whole window, every step
      ++g.prefills;
    } else if (new_window) {
      cache.reset();  // prefill: the window's ids in one pass, at positions 0 ..
      logits = forward_with_cache(model, window_of(g.ids, start), cache);
      ++g.prefills;
    } else {
      // decode: the cache holds ids[start .. n - 2]; only the last id, at position n - 1 - start
      logits = forward_with_cache(model, window_of(g.ids, g.ids.size() - 1), cache);
    }
    const Tensor last = logits.contiguous();  // (1, T, V): the row of position T - 1
    const int64_t V = model.config.vocab_size;
    const std::span<const float> z(last.data_ptr() + (last.size(1) - 1) * V,
                                   static_cast<std::size_t>(V));
    if (options.keep_logits) g.logits.emplace_back(z.begin(), z.end());
    g.ids.push_back(sample_next_token(z, options.sampling, generator));
  }
  return g;
}

}  // namespace tinytorch
