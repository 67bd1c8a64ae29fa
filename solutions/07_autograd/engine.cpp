// Module 07 reference solution: the backward engine, NoGradGuard, sum_to_shape and gradcheck.
// The contract is modules/07_autograd/autograd.hpp.
//
// backward() is micrograd's `backward` in C++:
//     topo = build_topo(root); grad[root] = 1
//     for node in topo: grads = node.backward(grad[node]); pass each to its input
// with Kahn's algorithm (dependency counts, two loops, no recursion) instead of a recursive DFS, so
// a graph as deep as memory allows never overflows the stack.
#include <cmath>
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tinytorch/autograd.hpp"

namespace tinytorch::autograd {

// ---- no_grad ----------------------------------------------------------------------------------

NoGradGuard::NoGradGuard() : previous_(GradMode::is_enabled()) {
  GradMode::set_enabled(false);
}
NoGradGuard::~NoGradGuard() {
  GradMode::set_enabled(previous_);
}

// ---- the broadcasting rule --------------------------------------------------------------------

// Broadcasting copies an operand along (a) new leading dimensions and (b) dimensions of size 1.
// Every copy received a share of the gradient, so the operand's gradient is the SUM over the
// copies: sum away the leading dimensions, then sum (keepdim) each dimension that was 1.
//     grad (4, 2, 3) -> shape (2, 1): sum dim 0 -> (2, 3), sum dim 1 keepdim -> (2, 1)
Tensor sum_to_shape(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const auto rank = static_cast<std::int64_t>(shape.size());
  const auto fail = [&] {
    throw std::invalid_argument("sum_to_shape: a gradient of shape " +
                                shape_to_string(grad.shape()) + " cannot be reduced to shape " +
                                shape_to_string(shape) +
                                ": the shape must be one that broadcasts to the gradient's shape");
  };
  if (grad.dim() < rank) fail();
  const std::int64_t lead = grad.dim() - rank;
  for (std::int64_t i = 0; i < rank; ++i) {
    const std::int64_t want = shape[i], have = grad.shape()[lead + i];
    if (want != have && want != 1) fail();
  }
  Tensor g = grad;
  if (lead > 0) {  // all leading dims in one reduction: (d0, ..., d_lead-1, rest...) -> (-1, rest)
    Shape merged{-1};
    merged.insert(merged.end(), g.shape().begin() + lead, g.shape().end());
    if (g.numel() == 0) return zeros(shape);  // -1 cannot be inferred for an empty tensor
    g = g.reshape(merged).sum(0);
  }
  for (std::int64_t i = 0; i < rank; ++i) {
    if (shape[i] == 1 && g.shape()[i] != 1) g = g.sum(i, /*keepdim=*/true);
  }
  return g;
}

// ---- topological order ------------------------------------------------------------------------

// Kahn's algorithm. Pass 1 (iterative DFS) counts, for every reachable node, how many edges come
// into it from nodes that consume its output. Pass 2 emits a node once all its consumers have
// been emitted: the root first, then layer by layer down to the leaves.
std::vector<Node*> topological_order(const Tensor& root) {
  std::vector<Node*> order;
  if (!root.defined() || root.grad_fn() == nullptr) return order;
  Node* const start = root.grad_fn().get();

  std::unordered_map<Node*, std::int64_t> consumers{{start, 0}};
  std::vector<Node*> stack{start};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Tensor& input : node->inputs) {
      if (!input.defined() || input.grad_fn() == nullptr) continue;
      auto [it, first_visit] = consumers.try_emplace(input.grad_fn().get(), 0);
      ++it->second;
      if (first_visit) stack.push_back(it->first);
    }
  }

  order.reserve(consumers.size());
  std::deque<Node*> ready{start};
  while (!ready.empty()) {
    Node* node = ready.front();
    ready.pop_front();
    order.push_back(node);
    for (const Tensor& input : node->inputs) {
      if (!input.defined() || input.grad_fn() == nullptr) continue;
      Node* producer = input.grad_fn().get();
      if (--consumers[producer] == 0) ready.push_back(producer);
    }
  }
  return order;
}

// ---- the backward pass ------------------------------------------------------------------------

namespace {

// g joins what a leaf already holds: += into its grad, or a fresh copy for the first gradient
// (a copy, because g may be a view of another node's gradient or of the caller's grad_output).
void accumulate_into_leaf(const Tensor& leaf, const Tensor& g) {
  if (leaf.grad().defined()) {
    leaf.grad().add_(g);
  } else {
    leaf.set_grad(g.clone());
  }
}

void check_gradient_shape(const Node& node, std::size_t i, const Tensor& g, const Tensor& input) {
  if (g.shape() != input.shape()) {
    throw std::logic_error(node.name() + " returned a gradient of shape " +
                           shape_to_string(g.shape()) + " for input " + std::to_string(i) +
                           " of shape " + shape_to_string(input.shape()) +
                           ": a gradient must have exactly its input's shape");
  }
}

}  // namespace

void backward(const Tensor& root, const Tensor& grad_output, bool retain_graph) {
  if (!root.defined()) throw std::invalid_argument("backward: the root tensor is undefined");
  if (!root.requires_grad()) {
    throw std::runtime_error(
        "backward: the tensor of shape " + shape_to_string(root.shape()) +
        " does not require grad and has no grad_fn; call requires_grad_() on a leaf it depends "
        "on before computing it (and not under NoGradGuard)");
  }

  // dL/d(root): ones for a one-element root (the loss), otherwise given by the caller.
  Tensor seed = grad_output;
  if (!seed.defined()) {
    if (root.numel() != 1) {
      throw std::invalid_argument(
          "backward: grad can be implicitly created only for one-element outputs, but the root "
          "has shape " +
          shape_to_string(root.shape()) +
          "; reduce it to a loss (e.g. .sum()) or pass grad_output of that shape");
    }
    seed = ones(root.shape());
  } else if (seed.shape() != root.shape()) {
    throw std::invalid_argument("backward: grad_output has shape " + shape_to_string(seed.shape()) +
                                " but the root has shape " + shape_to_string(root.shape()) +
                                "; they must be equal");
  }

  NoGradGuard no_grad;  // gradients are data: computing them records no graph
  if (root.is_leaf()) {
    accumulate_into_leaf(root, seed);
    return;
  }

  const std::vector<Node*> order = topological_order(root);
  for (const Node* node : order) {
    if (node->released) {
      throw std::logic_error(
          "backward: trying to backward through the graph a second time (or directly access "
          "saved tensors after they have already been freed). " +
          node->name() +
          " was released by an earlier backward(); pass retain_graph = true to the first "
          "backward() if you need to backward through the graph a second time");
    }
  }

  // dL/d(output) of every node still waiting for its turn.
  std::unordered_map<Node*, Tensor> grads{{order.front(), seed}};
  for (Node* node : order) {
    auto it = grads.find(node);
    if (it == grads.end()) continue;  // no gradient reached this node
    const Tensor g = std::move(it->second);
    grads.erase(it);

    std::vector<Tensor> input_grads = node->backward(g);
    if (input_grads.size() != node->inputs.size()) {
      throw std::logic_error(node->name() + " returned " + std::to_string(input_grads.size()) +
                             " gradients for " + std::to_string(node->inputs.size()) + " inputs");
    }
    for (std::size_t i = 0; i < input_grads.size(); ++i) {
      const Tensor& input = node->inputs[i];
      Tensor& gi = input_grads[i];
      if (!gi.defined() || !input.defined() || !input.requires_grad()) continue;
      check_gradient_shape(*node, i, gi, input);
      if (input.is_leaf()) {
        accumulate_into_leaf(input, gi);
      } else {  // out of place: gi or the stored gradient may be a view shared with another input
        auto [slot, inserted] = grads.try_emplace(input.grad_fn().get(), gi);
        if (!inserted) slot->second = slot->second + gi;
      }
    }
  }

  // Free the graph: from the leaves' end towards the root, so that clearing a node's inputs can
  // only free nodes already visited (a producer comes after its consumers in `order`).
  if (!retain_graph) {
    for (auto node = order.rbegin(); node != order.rend(); ++node) {
      (*node)->released = true;
      (*node)->inputs.clear();
    }
  }
}

// ---- gradcheck --------------------------------------------------------------------------------

namespace {

// sum(f(inputs)) in double, so the finite difference is not drowned by float rounding of the sum.
double sum_in_double(const Tensor& t) {
  double total = 0.0;
  for (float v : t.to_vector()) total += v;
  return total;
}

// Storage offsets (relative to data_ptr()) of every element of t, in row-major order.
std::vector<std::int64_t> element_offsets(const Tensor& t) {
  std::vector<std::int64_t> offsets;
  offsets.reserve(static_cast<std::size_t>(t.numel()));
  if (t.numel() == 0) return offsets;
  Shape index(t.shape().size(), 0);
  for (std::int64_t n = 0; n < t.numel(); ++n) {
    std::int64_t offset = 0;
    for (std::size_t d = 0; d < index.size(); ++d) offset += index[d] * t.strides()[d];
    offsets.push_back(offset);
    for (auto d = static_cast<std::int64_t>(index.size()) - 1; d >= 0; --d) {  // odometer step
      if (++index[d] < t.shape()[d]) break;
      index[d] = 0;
    }
  }
  return offsets;
}

std::string index_string(const Tensor& t, std::int64_t flat) {
  Shape index(t.shape().size(), 0);
  for (auto d = static_cast<std::int64_t>(index.size()) - 1; d >= 0; --d) {
    index[d] = flat % t.shape()[d];
    flat /= t.shape()[d];
  }
  return shape_to_string(index);
}

// Puts the caller's gradients back however gradcheck ends (a throwing f included).
struct GradRestorer {
  const std::vector<Tensor>& inputs;
  std::vector<Tensor> saved;
  explicit GradRestorer(const std::vector<Tensor>& in) : inputs(in) {
    for (const Tensor& t : inputs) {
      saved.push_back(t.defined() ? t.grad() : Tensor());
      if (t.defined()) t.set_grad(Tensor());
    }
  }
  ~GradRestorer() {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].defined()) inputs[i].set_grad(saved[i]);
    }
  }
  GradRestorer(const GradRestorer&) = delete;
  GradRestorer& operator=(const GradRestorer&) = delete;
};

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, double eps, double atol, double rtol) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].defined() && inputs[i].requires_grad() && !inputs[i].is_leaf()) {
      throw std::invalid_argument("gradcheck: input " + std::to_string(i) +
                                  " requires grad but is not a leaf; pass leaf tensors "
                                  "(e.g. x.detach().requires_grad_())");
    }
  }
  if (!(eps > 0.0)) throw std::invalid_argument("gradcheck: eps must be > 0");
  GradRestorer restore_grads(inputs);

  // Analytic: d sum(f(x)) / dx by one backward pass.
  {
    const Tensor out = f(inputs);
    if (out.requires_grad()) backward(out.sum());
  }

  GradcheckResult result;
  result.ok = true;
  NoGradGuard no_grad;  // the finite differences need values only
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    const Tensor analytic = x.grad().defined() ? x.grad().contiguous() : zeros(x.shape());
    const std::span<const float> a = analytic.data();
    const std::vector<std::int64_t> offsets = element_offsets(x);

    for (std::size_t n = 0; n < offsets.size(); ++n) {
      float* p = x.data_ptr() + offsets[n];
      const float original = *p;
      // Central difference over the perturbation float32 actually stored: (f(x+h) - f(x-h)) / 2h.
      const auto plus = static_cast<float>(original + eps);
      const auto minus = static_cast<float>(original - eps);
      double f_plus = 0.0, f_minus = 0.0;
      try {
        *p = plus;
        f_plus = sum_in_double(f(inputs));
        *p = minus;
        f_minus = sum_in_double(f(inputs));
      } catch (...) {
        *p = original;
        throw;
      }
      *p = original;
      const double numeric =
          (f_plus - f_minus) / (static_cast<double>(plus) - static_cast<double>(minus));
      const double analytic_n = a[n];
      const double error = std::abs(analytic_n - numeric);
      if (!(error <= result.max_abs_error)) result.max_abs_error = error;  // NaN propagates
      if (!(error <= atol + rtol * std::abs(numeric)) && result.ok) {
        result.ok = false;
        result.message = "input " + std::to_string(i) + " element " +
                         index_string(x, static_cast<std::int64_t>(n)) + ": analytic " +
                         std::to_string(analytic_n) + ", numeric " + std::to_string(numeric) +
                         " (|difference| " + std::to_string(error) + " > atol + rtol * |numeric|)";
      }
    }
  }
  if (result.ok) result.message = "ok";
  return result;
}

}  // namespace tinytorch::autograd
