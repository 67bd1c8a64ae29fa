// Module 05 — fill in each TODO. The contract is losses.hpp: read each function's comment there
// first, then the lesson (README.md) for the derivations.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 05` after each
// function: the tests for the functions you have written turn green one by one.
//
// Three habits make every loss here fast and correct:
//   - Read inputs through contiguous copies: `const Tensor x = ops::contiguous(input);` then
//     `x.data()` is a std::span<float> in row-major order (a transposed view works too).
//   - Accumulate sums in double, then divide by the count: a loss is a *mean*, and a float sum of
//     60,000 terms loses digits.
//   - Return a loss as scalar_tensor(value) (a 0-d tensor); return a gradient as a new tensor of
//     the first argument's shape (empty(shape), then write its data()).
// Small helpers of your own (shape checks, a stable softmax of one row) belong in an anonymous
// namespace at the top of this file: three functions need the same checks.
#include "tinytorch/losses.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "tinytorch/errors.hpp"

namespace tinytorch {

namespace ops {

Tensor mse_loss(const Tensor& prediction, const Tensor& target) {
  // TODO: mean((prediction - target)^2) as a 0-d tensor.
  //   - First check that the shapes are equal; otherwise throw std::invalid_argument whose message
  //     names both shapes (shape_to_string gives "[2, 3]"). Broadcasting a (N) target against an
  //     (N, 1) prediction silently builds an (N, N) matrix: a classic bug, so refuse it.
  //   - One loop over both data spans, summing the squared differences in a double.
  (void)prediction;
  (void)target;
  throw NotImplemented("05_losses", "ops::mse_loss");
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  // TODO: mean over the N rows of -log(softmax(row)[target]).
  //   - Check the shapes: logits must be 2-d (N, C) and targets 1-d with N entries; otherwise
  //     std::invalid_argument naming both shapes.
  //   - Check every target: a whole number in [0, C). Anything else (3 when C = 3, -1, 1.5, NaN)
  //     throws std::out_of_range naming the bad value. Write the test so that NaN fails it too
  //     (every comparison with NaN is false).
  //   - Never compute softmax and then log it: e^1000 is inf in float. Instead, per row, with
  //     m = the row's max:  -log softmax(z)_k = (m - z_k) + log(sum_j e^(z_j - m)).
  //     Every exponent is <= 0, so nothing overflows, and the sum is >= 1, so the log is finite.
  //   - Walk row i of a contiguous (N, C) tensor at data_ptr() + i * C.
  (void)logits;
  (void)targets;
  throw NotImplemented("05_losses", "ops::cross_entropy");
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  // TODO: mean of max(z, 0) - z t + log(1 + e^-|z|) over every element (z = logit, t = target).
  //   - Same shapes required (std::invalid_argument naming both otherwise).
  //   - The README derives this form from -[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))]:
  //     it never takes the log of 0 and never computes e^(large).
  //   - When e^-|z| is tiny (z = -20 gives 2e-9), 1 + e^-|z| rounds to exactly 1 in float and the
  //     log returns 0. <cmath> has a function for log(1 + x) that keeps those digits: find it.
  (void)logits;
  (void)targets;
  throw NotImplemented("05_losses", "ops::binary_cross_entropy_with_logits");
}

}  // namespace ops

namespace grad {

Tensor mse_loss(const Tensor& prediction, const Tensor& target) {
  // TODO: dL/dprediction for L = mean((p - t)^2): differentiate one term, then remember the mean.
  //   The result has prediction's shape. Same shape check as the forward.
  (void)prediction;
  (void)target;
  throw NotImplemented("05_losses", "grad::mse_loss");
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  // TODO: dL/dlogits, shape (N, C): row i is (softmax(z_i) - one_hot(target_i)) / N.
  //   - Same checks as the forward (reuse your helper).
  //   - Compute softmax stably from the same two numbers as the forward (the row max m and
  //     sum_j e^(z_j - m)): softmax_j = e^(z_j - m) / sum.
  //   - Subtract 1 at the target's column only; no one-hot tensor needs to exist.
  //   - Check yourself: every row of the result sums to 0. Why?
  (void)logits;
  (void)targets;
  throw NotImplemented("05_losses", "grad::cross_entropy");
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  // TODO: dL/dlogits = (sigmoid(z) - t) / numel, shape of logits.
  //   - sigmoid has two forms, 1 / (1 + e^-z) and e^z / (1 + e^z). The second gives inf / inf = NaN
  //     at z = 1000. Choose per element the form whose exponent is never positive (module 03).
  (void)logits;
  (void)targets;
  throw NotImplemented("05_losses", "grad::binary_cross_entropy_with_logits");
}

}  // namespace grad

}  // namespace tinytorch
