// Module 14 — fill in each TODO. The contract is transformers.hpp: read each function's comment
// there first, and the lesson in README.md for the formulas.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 14` after
// each function. Suggested order: ops::layer_norm, LayerNormBackward::backward, LayerNorm, MLP,
// TransformerBlock, GPT, generate.
//
// layer_norm is the one operation of this module with a backward of its own: the framework file
// transformers_ops.cpp calls your ops::layer_norm and records your LayerNormBackward node. The
// rest is built from recorded operations and modules you already have (Linear, gelu,
// MultiHeadAttention, Embedding, PositionalEmbedding, Dropout, Sequential).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/activations.hpp"
#include "tinytorch/errors.hpp"
#include "tinytorch/transformers.hpp"

namespace tinytorch {

namespace ops {

LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  // TODO: normalise each row of D = x.size(-1) numbers, then scale and shift.
  //   1. x must have at least one dimension; weight and bias shape (D). Otherwise
  //      std::invalid_argument naming the three shapes.
  //   2. Read x, weight, bias through contiguous(): x is then N = numel / D rows of D floats.
  //   3. Per row: mean = sum / D; var = sum (x - mean)^2 / D (divide by D, not D - 1, as
  //      PyTorch); rstd = 1 / sqrt(var + eps); y_i = (x_i - mean) * rstd * weight_i + bias_i.
  //      Compute the variance in a second pass over the row, around the mean: E[x^2] - mean^2
  //      loses every digit when the mean is large compared with the spread. Sum in double.
  //   4. Return {output (x's shape), mean, rstd}, mean and rstd of shape x.shape() without its
  //      last dimension: the backward needs them, and saving them is cheaper than recomputing.
  (void)x;
  (void)weight;
  (void)bias;
  (void)eps;
  throw NotImplemented("14_transformers", "ops::layer_norm");
}

}  // namespace ops

namespace autograd {

std::vector<Tensor> LayerNormBackward::backward(const Tensor& grad_output) {
  // TODO: return {dx, dweight, dbias} given g = dL/dy (x's shape).
  //   Per row, with xhat_i = (x_i - mean) * rstd (recompute it from the saved mean and rstd):
  //     dbias_i   += g_i                  (summed over all rows)
  //     dweight_i += g_i * xhat_i
  //     dxhat_i    = g_i * weight_i
  //   mean and rstd depend on every x_j of the row, so dx_i has three terms (derive them in the
  //   lesson, or read llm.c's layernorm_backward):
  //     dx_i = rstd * (dxhat_i - mean_j(dxhat_j) - xhat_i * mean_j(dxhat_j * xhat_j))
  //   Two passes per row: the two means first, then dx.
  //   - inputs[0..2] are x, weight, bias: return Tensor() for one whose requires_grad() is false.
  //   - Accumulate dweight and dbias in double over the rows; they sum N contributions.
  (void)grad_output;
  throw NotImplemented("14_transformers", "LayerNormBackward::backward");
}

}  // namespace autograd

namespace nn {

LayerNorm::LayerNorm(std::int64_t dim, float eps) : dim(dim), eps(eps) {
  // TODO: dim >= 1 and eps > 0, else std::invalid_argument. Register "weight" = ones({dim}) and
  //   "bias" = zeros({dim}): at the start the layer only normalises.
  throw NotImplemented("14_transformers", "LayerNorm::LayerNorm");
}

Tensor LayerNorm::forward(const Tensor& x) {
  // TODO: the recorded layer_norm(x, weight, bias, eps) (not ops::layer_norm, which records
  //   nothing: the parameters would never get a gradient).
  (void)x;
  throw NotImplemented("14_transformers", "LayerNorm::forward");
}

MLP::MLP(std::int64_t dim, std::int64_t hidden, Generator& generator) {
  // TODO: dim >= 1 and hidden >= 0, else std::invalid_argument; hidden == 0 means 4 * dim.
  //   Register "fc" = Linear(dim, hidden) and then "proj" = Linear(hidden, dim), both with bias,
  //   Init::kaiming_uniform and `generator`.
  (void)dim;
  (void)hidden;
  (void)generator;
  throw NotImplemented("14_transformers", "MLP::MLP");
}

Tensor MLP::forward(const Tensor& x) {
  // TODO: proj(gelu(fc(x))). Each position is transformed on its own: attention mixes positions,
  //   the MLP thinks about what it gathered.
  (void)x;
  throw NotImplemented("14_transformers", "MLP::forward");
}

TransformerBlock::TransformerBlock(std::int64_t embed_dim, std::int64_t num_heads, float dropout,
                                   Generator& generator) {
  // TODO: register, in this order, "ln1" LayerNorm(embed_dim), "attn" MultiHeadAttention(
  //   embed_dim, num_heads, true, generator) (causal by default), "ln2" LayerNorm(embed_dim),
  //   "mlp" MLP(embed_dim, 0, generator) and "drop" Dropout(dropout, generator).
  (void)embed_dim;
  (void)num_heads;
  (void)dropout;
  (void)generator;
  throw NotImplemented("14_transformers", "TransformerBlock::TransformerBlock");
}

Tensor TransformerBlock::forward(const Tensor& x) {
  // TODO: pre-norm residual: h = x + drop(attn(ln1(x))); return h + drop(mlp(ln2(h))).
  //   The residual stream x is only ever added to: the gradient has an identity path from the
  //   loss to the embeddings through every block.
  (void)x;
  throw NotImplemented("14_transformers", "TransformerBlock::forward");
}

GPT::GPT(const GPTConfig& cfg, Generator& generator) : config(cfg) {
  // TODO:
  //   1. Validate the config (see GPTConfig in the header): std::invalid_argument naming the field.
  //   2. Register, in this order: "wte" Embedding(V, E, generator), "wpe"
  //      PositionalEmbedding(context, E, generator), "drop" Dropout(dropout, generator),
  //      "blocks" an empty Sequential to which you push_back L TransformerBlocks, "ln_f"
  //      LayerNorm(E), and only when !tied_head, "head" Linear(E, V, false, ..., generator).
  //   3. GPT-2's initialisation: walk named_parameters() in order; biases -> 0; LayerNorm weights
  //      (the module's name, the part before ".weight", starts with "ln") -> 1; weights ending in
  //      "attn.out_proj.weight" or "mlp.proj.weight" -> randn * 0.02 / sqrt(2 L); every other
  //      weight -> randn * 0.02 (randn(shape, generator), then copy_ into the parameter).
  (void)generator;
  throw NotImplemented("14_transformers", "GPT::GPT");
}

Tensor GPT::forward(const Tensor& ids) {
  // TODO: ids (B, T) -> logits (B, T, V).
  //   1. ids not 2-d: std::invalid_argument; T > config.context: std::out_of_range naming both.
  //   2. x = drop(wpe->forward(wte(ids))): the token vectors plus the vectors of positions 0..T-1.
  //   3. x = blocks(x), then ln_f(x).
  //   4. Tied head: x.matmul(wte->weight.transpose(0, 1)) (the transpose is a view: no copy, and
  //      the embedding table gets gradient from both ends). Untied: (*head)(x).
  (void)ids;
  throw NotImplemented("14_transformers", "GPT::forward");
}

}  // namespace nn

std::vector<std::int64_t> generate(nn::GPT& model, const std::vector<std::int64_t>& prompt,
                                   std::int64_t max_new_tokens, const SamplingOptions& options) {
  // TODO: append max_new_tokens ids to the prompt, one per step.
  //   1. Validate (see the header): empty prompt, negative max_new_tokens, temperature or top_k
  //      -> std::invalid_argument; a prompt id outside [0, V) -> std::out_of_range.
  //   2. Switch the model to eval() (no dropout) and restore its mode at the end, even if
  //      something throws (a small RAII guard); create an autograd::NoGradGuard (no graph); make
  //      one Generator(options.seed).
  //   3. Each step: the last min(len, context) ids as a (1, T) float tensor -> model.forward ->
  //      the V logits z of position T - 1 (contiguous(), then data_ptr() + (T - 1) * V).
  //   4. Pick the next id:
  //      - temperature == 0: the argmax (the first one on ties).
  //      - else: if 0 < top_k < V, drop every logit below the top_k-th largest (std::nth_element
  //        on a copy finds it); p_i = e^((z_i - max z) / temperature) over the kept ids
  //        (subtract the max: no overflow); u = generator.uniform() * sum p; the answer is the
  //        first id (in increasing order) whose running sum of p exceeds u.
  (void)model;
  (void)prompt;
  (void)max_new_tokens;
  (void)options;
  throw NotImplemented("14_transformers", "generate");
}

}  // namespace tinytorch
