// Module 14 reference solution: LayerNorm (forward and backward by hand, llm.c style), the MLP,
// the pre-norm transformer block, GPT and sampling.
//
// LayerNorm is a dedicated operation with its own node rather than a chain of recorded means and
// subtractions: composed, one LayerNorm would record about eight nodes and as many (..., D)
// temporaries; as one op it is two passes over x forward and two backward, and every block of a
// GPT runs two of them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/activations.hpp"
#include "tinytorch/transformers.hpp"

namespace tinytorch {
namespace {

using std::int64_t;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The module that owns a parameter: "blocks.0.ln1.weight" -> "ln1", "ln_f.bias" -> "ln_f".
std::string owner(const std::string& name) {
  const auto last = name.rfind('.');
  if (last == std::string::npos) return "";
  const auto before = name.rfind('.', last - 1);
  return name.substr(before == std::string::npos ? 0 : before + 1,
                     last - (before == std::string::npos ? 0 : before + 1));
}

}  // namespace

// ---- layer_norm ---------------------------------------------------------------------------------

namespace ops {

// Per row of D numbers (row-major, so a row is contiguous):
//     mean = sum x / D,  var = sum (x - mean)^2 / D   (biased, as PyTorch)
//     rstd = 1 / sqrt(var + eps),  y = (x - mean) * rstd * w + b
// Two passes (mean, then the centred variance) instead of E[x^2] - mean^2, which cancels badly
// when |mean| >> std. Sums in double: D can be thousands.
LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  if (x.dim() == 0) {
    throw std::invalid_argument("layer_norm: x must have at least 1 dimension, got a 0-d tensor");
  }
  const int64_t D = x.size(-1);
  if (weight.shape() != Shape{D} || bias.shape() != Shape{D}) {
    throw std::invalid_argument(
        "layer_norm: weight and bias must have shape [" + std::to_string(D) +
        "] (x's last dimension); got x " + shape_to_string(x.shape()) + ", weight " +
        shape_to_string(weight.shape()) + ", bias " + shape_to_string(bias.shape()));
  }
  const Tensor xc = x.contiguous(), wc = weight.contiguous(), bc = bias.contiguous();
  const Shape rows_shape(x.shape().begin(), x.shape().end() - 1);
  LayerNormResult r{empty(x.shape()), empty(rows_shape), empty(rows_shape)};
  const int64_t N = D == 0 ? 0 : x.numel() / D;
  const float *in = xc.data_ptr(), *w = wc.data_ptr(), *b = bc.data_ptr();
  float *out = r.output.data_ptr(), *mean = r.mean.data_ptr(), *rstd = r.rstd.data_ptr();
  for (int64_t n = 0; n < N; ++n) {
    const float* row = in + n * D;  // (D)
    double sum = 0.0;
    for (int64_t i = 0; i < D; ++i) sum += row[i];
    const double m = sum / static_cast<double>(D);
    double sq = 0.0;
    for (int64_t i = 0; i < D; ++i) sq += (row[i] - m) * (row[i] - m);
    const double s = 1.0 / std::sqrt(sq / static_cast<double>(D) + eps);
    float* y = out + n * D;
    for (int64_t i = 0; i < D; ++i) {
      y[i] = static_cast<float>((row[i] - m) * s) * w[i] + b[i];
    }
    mean[n] = static_cast<float>(m);
    rstd[n] = static_cast<float>(s);
  }
  return r;
}

}  // namespace ops

namespace autograd {

// As llm.c's layernorm_backward. With xhat = (x - mean) * rstd, y = xhat * w + b, g = dL/dy:
//     dbias_i   += g_i                       (summed over rows)
//     dweight_i += g_i * xhat_i
// and through xhat, whose mean and rstd depend on every x_j of the row, with dxhat_i = g_i w_i:
//     dx_i = rstd * (dxhat_i - mean_j(dxhat_j) - xhat_i * mean_j(dxhat_j xhat_j))
//            term 1   term 2 (via the mean)     term 3 (via the variance)
std::vector<Tensor> LayerNormBackward::backward(const Tensor& grad_output) {
  const Tensor xc = input.contiguous(), gc = grad_output.contiguous(), wc = weight.contiguous();
  const Tensor mc = mean.contiguous(), rc = rstd.contiguous();
  const int64_t D = xc.size(-1);
  const int64_t N = D == 0 ? 0 : xc.numel() / D;
  Tensor dx = empty(xc.shape());
  std::vector<double> dweight(D, 0.0), dbias(D, 0.0);
  const float *x = xc.data_ptr(), *g = gc.data_ptr(), *w = wc.data_ptr();
  const float *mean_v = mc.data_ptr(), *rstd_v = rc.data_ptr();
  float* dxv = dx.data_ptr();
  for (int64_t n = 0; n < N; ++n) {
    const float *xr = x + n * D, *gr = g + n * D;
    const float m = mean_v[n], s = rstd_v[n];
    double dxhat_mean = 0.0, dxhat_xhat_mean = 0.0;  // the two row means above
    for (int64_t i = 0; i < D; ++i) {
      const float xhat = (xr[i] - m) * s;
      const float dxhat = gr[i] * w[i];
      dxhat_mean += dxhat;
      dxhat_xhat_mean += dxhat * xhat;
      dbias[i] += gr[i];
      dweight[i] += gr[i] * xhat;
    }
    dxhat_mean /= static_cast<double>(D);
    dxhat_xhat_mean /= static_cast<double>(D);
    float* dxr = dxv + n * D;
    for (int64_t i = 0; i < D; ++i) {
      const float xhat = (xr[i] - m) * s;
      const float dxhat = gr[i] * w[i];
      dxr[i] =
          s * (dxhat - static_cast<float>(dxhat_mean) - xhat * static_cast<float>(dxhat_xhat_mean));
    }
  }
  const auto to_tensor = [D](const std::vector<double>& v) {
    Tensor t = empty({D});
    std::transform(v.begin(), v.end(), t.data().begin(),
                   [](double e) { return static_cast<float>(e); });
    return t;
  };
  const bool want_x = inputs.empty() || inputs[0].requires_grad();
  const bool want_w = inputs.size() < 2 || inputs[1].requires_grad();
  const bool want_b = inputs.size() < 3 || inputs[2].requires_grad();
  return {want_x ? dx : Tensor(), want_w ? to_tensor(dweight) : Tensor(),
          want_b ? to_tensor(dbias) : Tensor()};
}

}  // namespace autograd

namespace nn {

// ---- LayerNorm, MLP, TransformerBlock -----------------------------------------------------------

LayerNorm::LayerNorm(int64_t dim, float eps) : dim(dim), eps(eps) {
  if (dim < 1 || !(eps > 0.0f)) {
    throw std::invalid_argument("LayerNorm(" + std::to_string(dim) + ", eps = " +
                                std::to_string(eps) + "): dim must be positive and eps > 0");
  }
  // Starts as the identity on normalised rows: scale 1, shift 0.
  weight = register_parameter("weight", ones({dim}));
  bias = register_parameter("bias", zeros({dim}));
}

Tensor LayerNorm::forward(const Tensor& x) {
  return layer_norm(x, weight, bias, eps);
}

MLP::MLP(int64_t dim, int64_t hidden, Generator& generator) {
  if (dim < 1 || hidden < 0) {
    throw std::invalid_argument("MLP(" + std::to_string(dim) + ", " + std::to_string(hidden) +
                                "): dim must be positive and hidden >= 0 (0 means 4 * dim)");
  }
  if (hidden == 0) hidden = 4 * dim;
  fc = register_module(
      "fc", std::make_shared<Linear>(dim, hidden, true, Init::kaiming_uniform, generator));
  proj = register_module(
      "proj", std::make_shared<Linear>(hidden, dim, true, Init::kaiming_uniform, generator));
}

// (..., dim) -> (..., hidden) -> (..., dim): each position on its own, no mixing across T.
Tensor MLP::forward(const Tensor& x) {
  return (*proj)(gelu((*fc)(x)));
}

TransformerBlock::TransformerBlock(int64_t embed_dim, int64_t num_heads, float dropout,
                                   Generator& generator) {
  ln1 = register_module("ln1", std::make_shared<LayerNorm>(embed_dim));
  attn = register_module(
      "attn", std::make_shared<MultiHeadAttention>(embed_dim, num_heads, true, generator));
  ln2 = register_module("ln2", std::make_shared<LayerNorm>(embed_dim));
  mlp = register_module("mlp", std::make_shared<MLP>(embed_dim, 0, generator));
  drop = register_module("drop", std::make_shared<Dropout>(dropout, generator));
}

// Pre-norm: each branch reads a normalised copy, and the residual stream x itself is only ever
// added to, so the gradient reaches the embeddings through L identity paths, however deep.
Tensor TransformerBlock::forward(const Tensor& x) {
  const Tensor h = x + (*drop)((*attn)((*ln1)(x)));
  return h + (*drop)((*mlp)((*ln2)(h)));
}

// ---- GPT ----------------------------------------------------------------------------------------

namespace {

void check_config(const GPTConfig& c) {
  const auto positive = [](int64_t v, const char* field) {
    if (v < 1) {
      throw std::invalid_argument(std::string("GPTConfig: ") + field + " = " + std::to_string(v) +
                                  " must be positive");
    }
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.context, "context");
  positive(c.embed_dim, "embed_dim");
  positive(c.num_heads, "num_heads");
  positive(c.num_layers, "num_layers");
  if (c.embed_dim % c.num_heads != 0) {
    throw std::invalid_argument("GPTConfig: embed_dim = " + std::to_string(c.embed_dim) +
                                " is not divisible by num_heads = " + std::to_string(c.num_heads));
  }
  if (!(c.dropout >= 0.0f && c.dropout < 1.0f)) {
    throw std::invalid_argument("GPTConfig: dropout = " + std::to_string(c.dropout) +
                                " must be in [0, 1)");
  }
}

}  // namespace

GPT::GPT(const GPTConfig& cfg, Generator& generator) : config(cfg) {
  check_config(config);
  const int64_t E = config.embed_dim;
  wte = register_module("wte", std::make_shared<Embedding>(config.vocab_size, E, generator));
  wpe = register_module("wpe", std::make_shared<PositionalEmbedding>(config.context, E, generator));
  drop = register_module("drop", std::make_shared<Dropout>(config.dropout, generator));
  blocks = register_module("blocks", std::make_shared<Sequential>());
  for (int64_t l = 0; l < config.num_layers; ++l) {
    blocks->push_back(
        std::make_shared<TransformerBlock>(E, config.num_heads, config.dropout, generator));
  }
  ln_f = register_module("ln_f", std::make_shared<LayerNorm>(E));
  if (!config.tied_head) {
    head = register_module("head", std::make_shared<Linear>(E, config.vocab_size, false,
                                                            Init::kaiming_uniform, generator));
  }

  // GPT-2's initialisation. N(0, 0.02^2) keeps the initial logits small (N(0, 1) embeddings,
  // tied to the head, would make them ~sqrt(E) and the first loss far above log V). The two
  // projections that write into the residual stream are scaled by 1/sqrt(2L): the stream is a sum
  // of 2L such branches, so its variance stays put as the model gets deeper.
  const float residual_std = 0.02f / std::sqrt(2.0f * static_cast<float>(config.num_layers));
  for (auto& [name, p] : named_parameters()) {
    const bool layer_norm = owner(name).rfind("ln", 0) == 0;  // ln1, ln2, ln_f
    if (ends_with(name, ".bias")) {
      p.zero_();
    } else if (layer_norm) {
      p.fill_(1.0f);
    } else {
      const bool residual =
          ends_with(name, "attn.out_proj.weight") || ends_with(name, "mlp.proj.weight");
      p.copy_(randn(p.shape(), generator) * (residual ? residual_std : 0.02f));
    }
  }
}

Tensor GPT::forward(const Tensor& ids) {
  if (ids.dim() != 2) {
    throw std::invalid_argument("GPT: ids must be (B, T), got shape " +
                                shape_to_string(ids.shape()));
  }
  const int64_t T = ids.size(1);
  if (T > config.context) {
    throw std::out_of_range("GPT: sequence length T = " + std::to_string(T) +
                            " exceeds the context of " + std::to_string(config.context) +
                            " positions; crop the input to its last " +
                            std::to_string(config.context) + " ids");
  }
  Tensor x = (*drop)(wpe->forward((*wte)(ids)));  // (B, T, E): token + position
  x = (*blocks)(x);
  x = (*ln_f)(x);
  // (B, T, E) @ (E, V): the tied head reads the token table backwards, scoring x against every
  // token's embedding; transpose is a view, so BLAS reads wte.weight in place.
  if (head) return (*head)(x);
  return x.matmul(wte->weight.transpose(0, 1));  // (B, T, V)
}

}  // namespace nn

// ---- generate -----------------------------------------------------------------------------------

namespace {

// Puts the model in eval mode for its lifetime and restores the previous mode, even on a throw.
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

// The next id from one position's logits z (V).
int64_t pick_next(const float* z, int64_t V, const SamplingOptions& o, Generator& g) {
  if (o.temperature == 0.0f) return std::max_element(z, z + V) - z;  // greedy, first on ties
  // top-k: everything below the k-th largest logit drops out (ties with it stay).
  float cutoff = -std::numeric_limits<float>::infinity();
  if (o.top_k > 0 && o.top_k < V) {
    std::vector<float> sorted(z, z + V);
    std::nth_element(sorted.begin(), sorted.begin() + (o.top_k - 1), sorted.end(),
                     std::greater<>());
    cutoff = sorted[o.top_k - 1];
  }
  // softmax(z / temperature) over the kept ids, max subtracted for stability.
  const float m = *std::max_element(z, z + V);
  std::vector<double> p(V, 0.0);
  double total = 0.0;
  for (int64_t i = 0; i < V; ++i) {
    if (z[i] >= cutoff) p[i] = std::exp(static_cast<double>(z[i] - m) / o.temperature);
    total += p[i];
  }
  // Inverse CDF: the first id whose cumulative probability exceeds u.
  const double u = g.uniform() * total;
  double cumulative = 0.0;
  int64_t last_kept = 0;
  for (int64_t i = 0; i < V; ++i) {
    if (p[i] == 0.0) continue;
    cumulative += p[i];
    last_kept = i;
    if (cumulative > u) return i;
  }
  return last_kept;  // rounding left u just above the total
}

}  // namespace

std::vector<int64_t> generate(nn::GPT& model, const std::vector<int64_t>& prompt,
                              int64_t max_new_tokens, const SamplingOptions& options) {
  const int64_t V = model.config.vocab_size, context = model.config.context;
  if (prompt.empty()) {
    throw std::invalid_argument(
        "generate: the prompt is empty; give at least one id to start from");
  }
  if (max_new_tokens < 0 || options.temperature < 0.0f || options.top_k < 0) {
    throw std::invalid_argument("generate: max_new_tokens = " + std::to_string(max_new_tokens) +
                                ", temperature = " + std::to_string(options.temperature) +
                                ", top_k = " + std::to_string(options.top_k) +
                                ": none may be negative");
  }
  for (const int64_t id : prompt) {
    if (id < 0 || id >= V) {
      throw std::out_of_range("generate: prompt id " + std::to_string(id) +
                              " is outside the vocabulary [0, " + std::to_string(V) + ")");
    }
  }
  EvalGuard eval(model);
  autograd::NoGradGuard no_grad;
  Generator generator(options.seed);
  std::vector<int64_t> ids = prompt;
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    // The model reads at most `context` ids: crop to the most recent ones.
    const auto start = ids.size() > static_cast<std::size_t>(context) ? ids.size() - context : 0;
    const auto T = static_cast<int64_t>(ids.size() - start);
    std::vector<float> window(ids.begin() + static_cast<std::ptrdiff_t>(start), ids.end());
    const Tensor logits = model.forward(from_vector(std::move(window), {1, T})).contiguous();
    ids.push_back(pick_next(logits.data_ptr() + (T - 1) * V, V, options, generator));
  }
  return ids;
}

}  // namespace tinytorch
