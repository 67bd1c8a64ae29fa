// Module 07 — one backward per operation. The contract is autograd.hpp; the lesson is README.md.
//
// Each backward receives g = dL/d(out) and returns dL/d(input i) = g * d(out)/d(input i) for every
// input, in order, each with exactly the shape of its input. The engine calls these under
// NoGradGuard, so you may use Tensor arithmetic freely: nothing is recorded.
//  - `inputs[i].requires_grad()` tells you whether input i wants a gradient; return Tensor() (an
//    undefined tensor) for one that does not, and skip the work.
//  - Never modify grad_output in place: the engine may hand the same tensor to several nodes.
//  - For rules with several factors per element (sigmoid, gelu, softmax, ...) one loop over
//    contiguous spans (t.contiguous().data()) writing a fresh tensor beats a chain of temporaries.
#include "tinytorch/autograd.hpp"
#include "tinytorch/losses.hpp"

namespace tinytorch::autograd {

// ---- arithmetic: broadcasting's gradient is sum_to_shape (engine.cpp), for every operand ------

// TODO: out = a + b. d(out)/da = d(out)/db = 1, so both get g, summed back to a_shape / b_shape.
std::vector<Tensor> AddBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "AddBackward::backward");
}

// TODO: out = a - b. As Add, but b's gradient is negated.
std::vector<Tensor> SubBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "SubBackward::backward");
}

// TODO: out = a * b. d/da = b, d/db = a: multiply g by the OTHER operand, then sum_to_shape to
// the operand's own shape (a.shape(), b.shape()).
std::vector<Tensor> MulBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MulBackward::backward");
}

// TODO: out = a / b. d/da = 1 / b and d/db = -a / b^2 (= -(g / b) * (a / b) if you reuse g / b).
std::vector<Tensor> DivBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "DivBackward::backward");
}

// TODO: out = a @ b with a (..., n, k), b (..., k, m), g (..., n, m).
// dA = g @ b^T and dB = a^T @ g (transpose(-2, -1) swaps the last two dims; check the shapes on
// paper: (n, m) @ (m, k) = (n, k)). The batch dims broadcast like elementwise ones, so sum each
// result back to its operand's shape with sum_to_shape: (2, 3, 4) @ (4, 5) gives dB (2, 4, 5),
// which sums to (4, 5).
std::vector<Tensor> MatmulBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MatmulBackward::backward");
}

// ---- views ------------------------------------------------------------------------------------

// TODO: same elements, another shape: give g the input's shape back.
std::vector<Tensor> ReshapeBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "ReshapeBackward::backward");
}

// TODO: what undoes transpose(dim0, dim1)?
std::vector<Tensor> TransposeBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "TransposeBackward::backward");
}

// TODO: out dim i is input dim dims[i]; permute g by the INVERSE permutation (inverse[dims[i]] =
// i; dims may be negative: add the rank).
std::vector<Tensor> PermuteBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "PermuteBackward::backward");
}

// ---- reductions -------------------------------------------------------------------------------

// TODO: every element that was summed gets its output's gradient. Give g its reduced dim back
// (unsqueeze(dim) unless keepdim; for a full sum reshape to all-ones dims) and broadcast it to
// input_shape, e.g. copy it into empty(input_shape) with copy_, which broadcasts.
std::vector<Tensor> SumBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "SumBackward::backward");
}

// TODO: as Sum, scaled by 1 / (number of elements averaged). Scale g before broadcasting it.
std::vector<Tensor> MeanBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MeanBackward::backward");
}

// TODO: only the maximum moved the output, so its position gets g and every other element 0.
// Ties: the FIRST maximum only, as argmax reports it. Along a dim: input.argmax(dim, true) gives
// the position in each line; write each line's g there in a zeros tensor of the input's shape.
std::vector<Tensor> MaxBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MaxBackward::backward");
}

// ---- activations ------------------------------------------------------------------------------

// TODO: relu' = 1 where input > 0, else 0 (0 at exactly 0, as PyTorch).
std::vector<Tensor> ReluBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "ReluBackward::backward");
}

// TODO: from the saved output y: dy/dx = y (1 - y).
std::vector<Tensor> SigmoidBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "SigmoidBackward::backward");
}

// TODO: from the saved output y: dy/dx = 1 - y^2.
std::vector<Tensor> TanhBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "TanhBackward::backward");
}

// TODO: gelu(x) = x Phi(x), so by the product rule gelu'(x) = Phi(x) + x phi(x), where
// Phi(x) = 0.5 (1 + erf(x / sqrt 2)) and phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
std::vector<Tensor> GeluBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "GeluBackward::backward");
}

// TODO: from the saved output y, along dim: dx = y * (g - sum(g * y, dim, keepdim)). Derive it
// from dy_i/dx_j = y_i (delta_ij - y_j) (README). A loop over the lines along dim, as in your
// module 03 softmax, avoids four temporaries.
std::vector<Tensor> SoftmaxBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "SoftmaxBackward::backward");
}

// TODO: from the saved output y = log_softmax(x), along dim: dx = g - exp(y) * sum(g, dim).
std::vector<Tensor> LogSoftmaxBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "LogSoftmaxBackward::backward");
}

// ---- losses: you derived these gradients in module 05 (the grad:: functions) -------------------

// TODO: g is the 0-d dL/d(loss); the prediction's gradient is grad::mse_loss(...) scaled by it.
std::vector<Tensor> MseLossBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MseLossBackward::backward");
}

// TODO: as MseLoss, with grad::cross_entropy.
std::vector<Tensor> CrossEntropyBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "CrossEntropyBackward::backward");
}

// TODO: as MseLoss, with grad::binary_cross_entropy_with_logits.
std::vector<Tensor> BceWithLogitsBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "BceWithLogitsBackward::backward");
}

}  // namespace tinytorch::autograd
