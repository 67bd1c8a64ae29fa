#pragma once
// Module 14: transformers. LayerNorm, the MLP, the pre-norm transformer block and a GPT that turns
// token ids into next-token logits, plus sampling. The contract for transformers.cpp:
//     nn::GPT model(nn::GPTConfig{.vocab_size = 65, .context = 64, .embed_dim = 128,
//                                 .num_heads = 4, .num_layers = 4});
//     Tensor logits = model(ids);                                  // (B, T) -> (B, T, 65)
//     Tensor loss = cross_entropy(logits.reshape({B * T, 65}), targets.reshape({B * T}));
//     std::vector<std::int64_t> text = generate(model, prompt, 200, {.temperature = 0.8f});
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tinytorch/attention.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/embeddings.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/random.hpp"
#include "tinytorch/tensor.hpp"

namespace tinytorch {

/// Differentiable layer normalisation over the LAST dimension (framework-owned layer in
/// transformers_ops.cpp: runs ops::layer_norm and records autograd::LayerNormBackward when x,
/// weight or bias requires grad). x (..., D), weight (D), bias (D) -> (..., D).
[[nodiscard]] Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                float eps = 1e-5f);

namespace ops {
/// What the forward computes, and saves for the backward.
struct LayerNormResult {
  Tensor output;  // (..., D)
  Tensor mean;    // (...): the mean of each row of D numbers
  Tensor rstd;    // (...): 1 / sqrt(variance + eps), the biased (divide by D) variance
};
/// Each row x of D numbers: y = (x - mean) * rstd * weight + bias, as torch.nn.functional.
/// layer_norm(x, (D,), weight, bias, eps). x with 0 dimensions, or weight/bias not of shape (D):
/// std::invalid_argument naming the shapes.
[[nodiscard]] LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                         float eps);
}  // namespace ops

namespace autograd {
/// y = xhat * weight + bias with xhat = (x - mean) * rstd, per row of D numbers.
/// Returns {dx (..., D), dweight (D), dbias (D)}; an undefined tensor for an input whose
/// requires_grad() is false.
struct LayerNormBackward : Node {
  Tensor input;   // x (..., D), as the forward saw it
  Tensor weight;  // (D)
  Tensor mean;    // (...)
  Tensor rstd;    // (...)
  LayerNormBackward(Tensor x, Tensor w, Tensor m, Tensor r)
      : input(std::move(x)), weight(std::move(w)), mean(std::move(m)), rstd(std::move(r)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "LayerNormBackward"; }
};
}  // namespace autograd

namespace nn {

/// torch.nn.LayerNorm(dim, eps): parameters "weight" (dim, ones) and "bias" (dim, zeros).
/// dim < 1 or eps <= 0: std::invalid_argument.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::int64_t dim, float eps = 1e-5f);
  /// x (..., dim) -> (..., dim), by layer_norm().
  [[nodiscard]] Tensor forward(const Tensor& x) override;

  std::int64_t dim;
  float eps;
  Tensor weight;  // (dim)
  Tensor bias;    // (dim)
};

/// The position-wise feed-forward network: y = proj(gelu(fc(x))), (..., dim) -> (..., dim).
/// Children "fc" = Linear(dim, hidden) and "proj" = Linear(hidden, dim), drawn in that order.
/// hidden = 0 means 4 * dim (GPT-2's choice). dim < 1 or hidden < 0: std::invalid_argument.
class MLP : public Module {
 public:
  explicit MLP(std::int64_t dim, std::int64_t hidden = 0,
               Generator& generator = default_generator());
  [[nodiscard]] Tensor forward(const Tensor& x) override;

  std::shared_ptr<Linear> fc;
  std::shared_ptr<Linear> proj;
};

/// The pre-norm residual block of GPT-2:
///     x = x + drop(attn(ln1(x)))        (causal multi-head self-attention)
///     x = x + drop(mlp(ln2(x)))
/// (B, T, E) -> (B, T, E). Children, in order: "ln1", "attn", "ln2", "mlp" (and a parameterless
/// "drop", Dropout(dropout)). attn and mlp draw from `generator` in that order.
class TransformerBlock : public Module {
 public:
  TransformerBlock(std::int64_t embed_dim, std::int64_t num_heads, float dropout = 0.0f,
                   Generator& generator = default_generator());
  [[nodiscard]] Tensor forward(const Tensor& x) override;

  std::shared_ptr<LayerNorm> ln1;
  std::shared_ptr<MultiHeadAttention> attn;
  std::shared_ptr<LayerNorm> ln2;
  std::shared_ptr<MLP> mlp;
  std::shared_ptr<Dropout> drop;
};

/// The hyper-parameters of a GPT. Every size must be positive and embed_dim divisible by
/// num_heads; dropout in [0, 1).
struct GPTConfig {
  std::int64_t vocab_size = 0;  // V: ids are 0..V-1
  std::int64_t context = 0;     // the longest sequence the model reads (GPT-2's block_size)
  std::int64_t embed_dim = 0;   // E
  std::int64_t num_heads = 0;   // H, with E % H == 0
  std::int64_t num_layers = 0;  // L transformer blocks
  bool tied_head = true;        // the output head reuses wte.weight (V, E) instead of its own
  float dropout = 0.0f;         // after the embeddings and each residual branch, in training
};

/// A decoder-only transformer (GPT-2's architecture), ids (B, T) -> logits (B, T, V):
///     x = drop(wte(ids) + wpe(positions 0..T-1))    (B, T, E)
///     x = blocks(x)                                 L TransformerBlocks
///     logits = ln_f(x) @ W^T                        W = wte.weight when tied, else head.weight
/// Children, in order: "wte" Embedding(V, E), "wpe" PositionalEmbedding(context, E), "drop",
/// "blocks" (a Sequential: "blocks.0", "blocks.1", ...), "ln_f" LayerNorm(E), and, untied only,
/// "head" Linear(E, V, bias = false). So the parameter names are "wte.weight", "wpe.weight",
/// "blocks.0.ln1.weight", ..., "ln_f.bias", ["head.weight"]: the keys of a saved checkpoint.
///
/// Initialisation (GPT-2's): after construction, every parameter in named_parameters() order is
/// redrawn from `generator`: LayerNorm weights 1 and every bias 0 (no draws); the weights of
/// "attn.out_proj" and "mlp.proj", which feed the residual stream, N(0, (0.02 / sqrt(2 L))^2);
/// every other weight (embeddings, head, q/k/v, mlp.fc) N(0, 0.02^2). The same seed always builds
/// the same model.
/// A config that breaks the rules above: std::invalid_argument naming the field.
class GPT : public Module {
 public:
  explicit GPT(const GPTConfig& config, Generator& generator = default_generator());
  /// ids (B, T) of whole numbers in [0, V) -> logits (B, T, V). ids that are not 2-d:
  /// std::invalid_argument; T > context: std::out_of_range naming T and context; an id outside
  /// [0, V): std::out_of_range (from the embedding).
  [[nodiscard]] Tensor forward(const Tensor& ids) override;

  GPTConfig config;
  std::shared_ptr<Embedding> wte;            // (V, E)
  std::shared_ptr<PositionalEmbedding> wpe;  // (context, E)
  std::shared_ptr<Dropout> drop;
  std::shared_ptr<Sequential> blocks;  // L TransformerBlocks
  std::shared_ptr<LayerNorm> ln_f;
  std::shared_ptr<Linear> head;  // nullptr when config.tied_head
};

}  // namespace nn

/// How generate() picks each next token from the last position's logits z (V).
struct SamplingOptions {
  /// Sample from softmax(z / temperature); 0 means greedy (the argmax, the first on ties).
  /// Negative: std::invalid_argument.
  float temperature = 1.0f;
  /// Keep only the top_k largest logits (0 keeps all; more than V keeps all). Negative:
  /// std::invalid_argument.
  std::int64_t top_k = 0;
  /// Seeds the Generator that draws the samples: the same seed, the same text.
  std::uint64_t seed = 0;
};

/// Autoregressive generation: appends max_new_tokens ids to prompt, one at a time. Each step feeds
/// the last (at most context) ids as a (1, T) batch, takes the logits of the last position, and
/// picks the next id: greedy at temperature 0, else with one draw u = generator.uniform() the
/// first id whose cumulative probability (ids in increasing order) exceeds u. Runs in eval mode
/// under NoGradGuard and restores the model's training mode afterwards. Returns prompt followed
/// by the new ids. An empty prompt or max_new_tokens < 0: std::invalid_argument; a prompt id
/// outside [0, V): std::out_of_range.
[[nodiscard]] std::vector<std::int64_t> generate(nn::GPT& model,
                                                 const std::vector<std::int64_t>& prompt,
                                                 std::int64_t max_new_tokens,
                                                 const SamplingOptions& options = {});

}  // namespace tinytorch
