// Module 03 — fill in each TODO. The contract is activations.hpp: read each function's comment
// there first, and the lesson in README.md for the formulas.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 03` after each
// function: the tests for the functions you have written turn green one by one.
//
// You write only the forward math, in namespace ops. The functions tinytorch::relu, ::softmax, ...
// that the rest of the course calls are framework code (activations_ops.cpp): they call yours.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/activations.hpp"
#include "tinytorch/errors.hpp"

namespace tinytorch::ops {

// A suggestion: the first four functions all apply one formula to every element. Write that loop
// once, as a helper, and pass it the formula as a lambda:
//   - x may be a view (a transpose, a slice): x.contiguous() gives a tensor whose data() you can
//     read in row-major order (it copies only when it must).
//   - empty(x.shape()) gives the output; write into its data().
//   - Loop over std::span elements, not over at({i, j}) calls: the milestones push millions of
//     numbers through these functions every epoch.

Tensor relu(const Tensor& x) {
  // TODO: max(0, x) for every element; a new contiguous tensor of x's shape.
  (void)x;
  throw NotImplemented("03_activations", "relu");
}

Tensor sigmoid(const Tensor& x) {
  // TODO: 1 / (1 + e^-x) for every element.
  //   - Try x = -100 on paper in float32: e^100 is about 2.7e43, beyond float's largest value
  //     (3.4e38), so e^-x is inf. 1 / (1 + inf) happens to be 0, but the gradient in module 07 and
  //     other formulas built on it turn such infs into NaNs.
  //   - Multiply the formula's numerator and denominator by e^x: for negative x the result is an
  //     expression that only ever exponentiates a number <= 0. Pick the form by the sign of x.
  (void)x;
  throw NotImplemented("03_activations", "sigmoid");
}

Tensor tanh(const Tensor& x) {
  // TODO: (e^x - e^-x) / (e^x + e^-x) for every element.
  //   - Written literally, x = 100 gives inf / inf = NaN. <cmath> has a function that computes
  //     exactly this and stays in [-1, 1] for every finite x.
  (void)x;
  throw NotImplemented("03_activations", "tanh");
}

Tensor gelu(const Tensor& x) {
  // TODO: The exact GELU, x * Phi(x), where Phi is the standard normal CDF:
  //     Phi(x) = 0.5 * (1 + erf(x / sqrt(2)))
  //   - <cmath> has std::erf. This is the form torch.nn.functional.gelu uses by default (not the
  //     tanh approximation), and the tests compare against it to float precision.
  (void)x;
  throw NotImplemented("03_activations", "gelu");
}

Tensor softmax(const Tensor& x, std::int64_t dim) {
  // TODO: e^(x_i - m) / sum_j e^(x_j - m) along dim, where m is the largest x_j along that dim.
  //   1. Check dim: negative values count from the end (-1 is the last dim). Anything outside
  //      [-rank, rank) throws std::out_of_range naming the dim and the number of dimensions.
  //      (A 0-d tensor behaves like a 1-element vector: dims 0 and -1 are valid.)
  //   2. Picture the contiguous input as (outer, n, inner): outer = product of the sizes before
  //      dim, n = the size of dim, inner = product of the sizes after it. Element (o, i, j) is at
  //      (o * n + i) * inner + j; one softmax runs over i for each fixed (o, j).
  //   3. For each (o, j): find m, sum the exponentials, divide. Why subtract m? e^1000 is inf in
  //      float, and inf / inf is NaN; after subtracting m every exponent is <= 0 and the sum >= 1.
  //   4. inner == 1 is the common case (class scores in the last dim of (N, C) logits): each row
  //      is then n contiguous floats. Make that path a tight loop; it is what training runs.
  //   - Accumulate the sum in double: a float sum over thousands of classes loses digits.
  (void)x;
  (void)dim;
  throw NotImplemented("03_activations", "softmax");
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  // TODO: log(softmax(x)) along dim, but not computed that way.
  //   - Why not? softmax({0, -200}) is {1, e^-200}, and e^-200 underflows to 0 in float: its log is
  //     -inf, while the true answer is simply -200.
  //   - Take the log of the formula by hand: log(e^(x_i - m) / s) = (x_i - m) - log(s), with
  //     s = sum_j e^(x_j - m) as in softmax. Nothing there can underflow to log(0).
  //   - Same dim rules and the same (outer, n, inner) walk as softmax: share the code with it.
  (void)x;
  (void)dim;
  throw NotImplemented("03_activations", "log_softmax");
}

}  // namespace tinytorch::ops
