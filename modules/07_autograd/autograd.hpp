#pragma once
// Module 07: automatic differentiation. The contract for functions.cpp (one backward per operation)
// and engine.cpp (the backward pass, NoGradGuard, gradcheck). Do not edit it.
//
// How the graph is recorded (framework-owned, see graph.cpp): every differentiable operation of
// modules 02-05 runs its forward math (your ops:: code), then, when grad mode is on and an operand
// requires grad, creates one Node below, stores what backward will need in the node's typed
// members, and attaches it to the result as grad_fn. Each node keeps its operands in `inputs`, so
// the graph is
//     loss.grad_fn -> node.inputs[i].grad_fn -> ... -> leaves (parameters, requires_grad = true)
// Your backward() receives dL/d(output) and returns dL/d(input i) for every input, same order.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tinytorch/tensor.hpp"

namespace tinytorch::autograd {

// ---- the graph (framework-owned) --------------------------------------------------------------

/// One recorded operation. Subclasses hold the tensors their backward needs as typed members.
/// A node never holds its own output with a grad_fn (that would be a reference cycle): saved
/// outputs are stored detached. A graph is freed without recursion however deep it is (see
/// attach in graph.cpp), whether or not backward ran on it.
struct Node {
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  virtual ~Node() = default;

  /// dL/d(inputs[i]) for each input, in order, given dL/d(output). Return an undefined Tensor for
  /// an input that gets no gradient (one whose requires_grad() is false, or a loss's targets).
  /// Each gradient has exactly the shape of its input.
  [[nodiscard]] virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  [[nodiscard]] virtual std::string name() const = 0;

  /// The operands, in order: the edges of the graph.
  std::vector<Tensor> inputs;
  /// Set by the engine when the graph is freed after a backward pass without retain_graph.
  bool released = false;
};

/// Grad mode: when off, operations record nothing (thread-local; on by default).
struct GradMode {
  [[nodiscard]] static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// True when grad mode is on and at least one operand requires grad.
[[nodiscard]] bool needs_grad(std::initializer_list<const Tensor*> operands);

/// Attaches node to output: node->inputs = operands, output.requires_grad = true,
/// output.grad_fn = node. Call only when needs_grad(...) is true.
void attach(const Tensor& output, std::shared_ptr<Node> node, std::vector<Tensor> operands);

// ---- module 07: you write these in engine.cpp ------------------------------------------------

/// RAII: disables grad mode for its lifetime and restores the previous mode afterwards.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// The broadcasting rule, written once: sum grad over the dimensions that broadcasting expanded,
/// so that the result has `shape`. (2, 3) summed to (3) sums dim 0; (2, 3) to (2, 1) keeps dim 1.
[[nodiscard]] Tensor sum_to_shape(const Tensor& grad, const Shape& shape);

/// The nodes reachable from root.grad_fn(), each after every node that consumes its output
/// (Kahn's algorithm on dependency counts; no recursion, so a 10,000-node chain works).
[[nodiscard]] std::vector<Node*> topological_order(const Tensor& root);

/// The backward pass: seeds dL/d(root) with grad_output (a ones tensor when undefined, which is
/// only allowed for a one-element root: otherwise std::invalid_argument), walks topological_order,
/// and accumulates (+=) each leaf's gradient into its grad (creating it when undefined, never as a
/// view of another tensor's storage). Leaves that do not require grad get nothing. A root that does
/// not require grad (no graph to walk) throws std::runtime_error. Unless retain_graph, marks every
/// visited node released and clears its inputs; a second backward through a released node throws
/// std::logic_error whose message says that retain_graph = true keeps the graph.
void backward(const Tensor& root, const Tensor& grad_output = Tensor(), bool retain_graph = false);

struct GradcheckResult {
  bool ok = false;
  double max_abs_error = 0.0;  // the worst |analytic - numeric| over every input element
  std::string message;  // the first failure: "input 1 element [0, 2]: analytic ..., numeric ..."
};

/// Compares the analytic gradient of sum(f(inputs)) (by backward) with central finite differences
/// (f(x + eps) - f(x - eps)) / (2 eps), element by element, for every input with requires_grad.
/// Passes when |analytic - numeric| <= atol + rtol * |numeric| everywhere. Inputs are restored,
/// and so are their grads: the caller's accumulated gradients are not changed.
[[nodiscard]] GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                        const std::vector<Tensor>& inputs, double eps = 1e-3,
                                        double atol = 1e-3, double rtol = 1e-2);

// ---- module 07: one node per operation; you write each backward in functions.cpp --------------
// (The constructor arguments are what the operation layer saves for you at forward time.)

struct AddBackward : Node {  // out = a + b (broadcast)
  Shape a_shape, b_shape;
  AddBackward(Shape a, Shape b) : a_shape(std::move(a)), b_shape(std::move(b)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "AddBackward"; }
};

struct SubBackward : Node {  // out = a - b (broadcast)
  Shape a_shape, b_shape;
  SubBackward(Shape a, Shape b) : a_shape(std::move(a)), b_shape(std::move(b)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "SubBackward"; }
};

struct MulBackward : Node {  // out = a * b (broadcast)
  Tensor a, b;
  MulBackward(Tensor a_, Tensor b_) : a(std::move(a_)), b(std::move(b_)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "MulBackward"; }
};

struct DivBackward : Node {  // out = a / b (broadcast)
  Tensor a, b;
  DivBackward(Tensor a_, Tensor b_) : a(std::move(a_)), b(std::move(b_)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "DivBackward"; }
};

struct MatmulBackward : Node {  // out = a @ b (batch dimensions broadcast)
  Tensor a, b;
  MatmulBackward(Tensor a_, Tensor b_) : a(std::move(a_)), b(std::move(b_)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "MatmulBackward"; }
};

/// reshape, view, flatten, squeeze, unsqueeze, contiguous: same elements, another shape.
struct ReshapeBackward : Node {
  Shape input_shape;
  explicit ReshapeBackward(Shape shape) : input_shape(std::move(shape)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "ReshapeBackward"; }
};

struct TransposeBackward : Node {
  std::int64_t dim0, dim1;
  TransposeBackward(std::int64_t d0, std::int64_t d1) : dim0(d0), dim1(d1) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "TransposeBackward"; }
};

struct PermuteBackward : Node {
  Shape dims;
  explicit PermuteBackward(Shape d) : dims(std::move(d)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "PermuteBackward"; }
};

struct SumBackward : Node {  // dim empty: sum over all elements
  Shape input_shape;
  std::optional<std::int64_t> dim;
  bool keepdim;
  SumBackward(Shape s, std::optional<std::int64_t> d, bool k)
      : input_shape(std::move(s)), dim(d), keepdim(k) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "SumBackward"; }
};

struct MeanBackward : Node {
  Shape input_shape;
  std::optional<std::int64_t> dim;
  bool keepdim;
  MeanBackward(Shape s, std::optional<std::int64_t> d, bool k)
      : input_shape(std::move(s)), dim(d), keepdim(k) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "MeanBackward"; }
};

/// The gradient flows to the (first) position of the maximum only.
struct MaxBackward : Node {
  Tensor input;
  std::optional<std::int64_t> dim;
  bool keepdim;
  MaxBackward(Tensor x, std::optional<std::int64_t> d, bool k)
      : input(std::move(x)), dim(d), keepdim(k) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "MaxBackward"; }
};

}  // namespace tinytorch::autograd

namespace tinytorch::autograd {

// Activations (module 03). Saved outputs are detached copies of the handle (no cycle).
struct ReluBackward : Node {
  Tensor input;
  explicit ReluBackward(Tensor x) : input(std::move(x)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "ReluBackward"; }
};

struct SigmoidBackward : Node {  // uses the output y: dy/dx = y (1 - y)
  Tensor output;
  explicit SigmoidBackward(Tensor y) : output(std::move(y)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "SigmoidBackward"; }
};

struct TanhBackward : Node {  // uses the output y: dy/dx = 1 - y^2
  Tensor output;
  explicit TanhBackward(Tensor y) : output(std::move(y)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "TanhBackward"; }
};

struct GeluBackward : Node {
  Tensor input;
  explicit GeluBackward(Tensor x) : input(std::move(x)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "GeluBackward"; }
};

struct SoftmaxBackward : Node {  // uses the output y along dim
  Tensor output;
  std::int64_t dim;
  SoftmaxBackward(Tensor y, std::int64_t d) : output(std::move(y)), dim(d) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "SoftmaxBackward"; }
};

struct LogSoftmaxBackward : Node {  // uses the output y = log_softmax(x) along dim
  Tensor output;
  std::int64_t dim;
  LogSoftmaxBackward(Tensor y, std::int64_t d) : output(std::move(y)), dim(d) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "LogSoftmaxBackward"; }
};

// Losses (module 05): gradient only with respect to the first input (predictions / logits).
struct MseLossBackward : Node {
  Tensor prediction, target;
  MseLossBackward(Tensor p, Tensor t) : prediction(std::move(p)), target(std::move(t)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "MseLossBackward"; }
};

struct CrossEntropyBackward : Node {
  Tensor logits, targets;
  CrossEntropyBackward(Tensor l, Tensor t) : logits(std::move(l)), targets(std::move(t)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "CrossEntropyBackward"; }
};

struct BceWithLogitsBackward : Node {
  Tensor logits, targets;
  BceWithLogitsBackward(Tensor l, Tensor t) : logits(std::move(l)), targets(std::move(t)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override;
  std::string name() const override { return "BceWithLogitsBackward"; }
};

}  // namespace tinytorch::autograd
