// Module 07 — the backward engine, NoGradGuard, sum_to_shape and gradcheck.
// The contract is autograd.hpp; the lesson is README.md. Suggested order: NoGradGuard,
// sum_to_shape, topological_order, backward, gradcheck (then the nodes in functions.cpp).
#include "tinytorch/autograd.hpp"

namespace tinytorch::autograd {

// TODO: remember GradMode::is_enabled() in previous_, then switch grad mode off. Remembering the
// mode you found (instead of assuming it was on) is what makes nested guards work.
NoGradGuard::NoGradGuard() : previous_(true) {
  throw NotImplemented("07_autograd", "NoGradGuard::NoGradGuard");
}
// TODO: restore the mode the constructor saved in previous_. Without this line the guard switches
// gradients off for the rest of the program: every later backward() finds no graph. (A destructor
// must not throw, so this stub does nothing instead of throwing NotImplemented; the tests of the
// guard fail until you write it.)
NoGradGuard::~NoGradGuard() {
  // your line: switch grad mode back to previous_
}

// TODO: undo broadcasting. Broadcasting copied an operand (a) along new leading dimensions and
// (b) along its dimensions of size 1; each copy received its own share of the gradient, so the
// operand's gradient is the SUM over the copies.
//  - if grad already has `shape`, return it as it is;
//  - check that `shape` broadcasts to grad.shape() (align right; each size equal or 1); if not,
//    throw std::invalid_argument naming both shapes;
//  - sum away the extra leading dimensions (grad.sum(0) once per extra dim works; reshaping them
//    into one dimension first needs only one reduction);
//  - then, for each dimension where shape has 1 but grad does not, sum it with keepdim = true.
// Examples: (2, 3) -> (3) sums dim 0; (2, 3) -> (2, 1) sums dim 1 keeping it; (2, 3) -> () sums
// all.
Tensor sum_to_shape(const Tensor& /*grad*/, const Shape& /*shape*/) {
  throw NotImplemented("07_autograd", "sum_to_shape");
}

// TODO: Kahn's algorithm, with NO recursion (a 10,000-node chain must work; a recursive DFS would
// overflow the stack).
//  1. If root has no grad_fn, return an empty vector.
//  2. Walk the graph with an explicit stack (std::vector<Node*>), starting at root.grad_fn().get().
//     The edges of a node are node->inputs[i].grad_fn() (skip inputs without one: leaves). For each
//     edge, count one more consumer of that producer node in a std::unordered_map<Node*, int64_t>;
//     push the producer the first time you see it.
//  3. Start a queue with the root's node. Pop a node, append it to the result, and for each of its
//     producers decrement the count; when it reaches 0 (every consumer is already in the result),
//     push it.
// The result lists each reachable node once, every node before the nodes that produced its inputs.
std::vector<Node*> topological_order(const Tensor& /*root*/) {
  throw NotImplemented("07_autograd", "topological_order");
}

// TODO: the backward pass.
//  1. Errors first: a root that does not require grad -> std::runtime_error. grad_output undefined:
//     allowed only when root.numel() == 1 (then the seed is ones(root.shape())), else
//     std::invalid_argument saying to pass a gradient. A grad_output whose shape differs from the
//     root's -> std::invalid_argument.
//  2. Open a NoGradGuard: computing gradients must not record a graph.
//  3. A leaf root (no grad_fn) just accumulates the seed into its own grad.
//  4. order = topological_order(root). If any node is released, throw std::logic_error: say the
//     graph was freed by an earlier backward and that retain_graph = true keeps it.
//  5. Keep the gradient waiting for each node in a std::unordered_map<Node*, Tensor>; the root's
//     node starts with the seed. For each node in order (skip one that received nothing):
//     input_grads = node->backward(its gradient); then for each input i with a defined gradient
//     whose input requires grad:
//       - a leaf (no grad_fn): accumulate into input.grad(): add_ when defined, otherwise
//         set_grad(a clone), because the gradient may be a view of another tensor's storage;
//       - otherwise add it to the map entry of input.grad_fn().get() (out of place: a + b, since
//         one gradient tensor may be handed to several inputs).
//  6. Unless retain_graph: for every node in order, set released = true and clear its inputs.
//     Careful: clearing a node's inputs can free the nodes behind it, so never touch a node again
//     after clearing the node that keeps it alive (walking the order backwards is safe).
void backward(const Tensor& /*root*/, const Tensor& /*grad_output*/, bool /*retain_graph*/) {
  throw NotImplemented("07_autograd", "backward");
}

// TODO: compare backward with finite differences.
//  1. Remember each input's grad (to put it back at the end) and make it undefined.
//  2. Analytic: out = f(inputs); backward(out.sum()) (when out.requires_grad()). The gradient of
//     input i is then inputs[i].grad() (zeros if undefined).
//  3. Numeric, under a NoGradGuard, for every input with requires_grad and every element of it:
//     walk the elements with data_ptr() and strides() (an input may be a view), and for the
//     element p: save v = *p; set *p = v + eps and compute S+ = sum of f(inputs) in double; set
//     *p = v - eps for S-; restore *p = v; numeric = (S+ - S-) / (2 eps). (Tip: float32 cannot
//     store v + eps exactly; dividing by the difference of the two floats actually stored is
//     more accurate.)
//  4. err = |analytic - numeric|; track the largest in max_abs_error; the check fails where
//     err > atol + rtol * |numeric|. Report the first failure in message: the input's index and
//     the element, with both values ("input 1 element [0, 2]: analytic ..., numeric ...").
//  5. Put every input's grad back as it was.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& /*f*/,
                          const std::vector<Tensor>& /*inputs*/, double /*eps*/, double /*atol*/,
                          double /*rtol*/) {
  throw NotImplemented("07_autograd", "gradcheck");
}

}  // namespace tinytorch::autograd
