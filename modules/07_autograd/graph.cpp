// Framework-owned: grad mode and the recording of graph nodes. Your work is in engine.cpp and
// functions.cpp.
#include "tinytorch/autograd.hpp"

#include <utility>

#include "tinytorch/hooks.hpp"

namespace tinytorch::autograd {
namespace {
thread_local bool grad_mode_enabled = true;
}  // namespace

bool GradMode::is_enabled() {
  return grad_mode_enabled;
}
void GradMode::set_enabled(bool enabled) {
  grad_mode_enabled = enabled;
}

bool needs_grad(std::initializer_list<const Tensor*> operands) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : operands) {
    if (t->defined() && t->requires_grad()) return true;
  }
  return false;
}

// Freeing a graph without recursion. A graph is a chain of owners: a tensor owns its grad_fn, the
// node owns its inputs (and saved tensors), each input owns its own grad_fn, and so on down to the
// leaves. Left to shared_ptr, dropping the last handle of `x = x * 1.0001` repeated 100,000 times
// destroys node n inside node n+1's destructor inside node n+2's ...: one stack frame group per
// node, and the stack overflows. So the grad_fn handed to the output is an owner-carrying handle
// whose deleter does not destroy the node on the spot: it moves the node onto a per-thread list,
// and only the outermost release drains that list, one node at a time. A node destroyed there
// may drop further nodes; they join the list instead of recursing. Every graph is freed this way,
// whether or not backward ran on it.
namespace {
thread_local std::vector<std::shared_ptr<Node>>* nodes_to_free = nullptr;

void free_node(std::shared_ptr<Node> node) noexcept {
  if (nodes_to_free != nullptr) {  // a release is already draining further up the stack
    nodes_to_free->push_back(std::move(node));
    return;
  }
  std::vector<std::shared_ptr<Node>> pending;
  nodes_to_free = &pending;
  pending.push_back(std::move(node));
  while (!pending.empty()) {
    std::shared_ptr<Node> next = std::move(pending.back());
    pending.pop_back();
    next.reset();  // runs ~Node; the nodes it was the last owner of are appended to `pending`
  }
  nodes_to_free = nullptr;
}
}  // namespace

// When installed module hooks watch backward (module 19's profiler), a node recorded during a
// module call is wrapped in one that tells the hooks, around the real node's backward, which module
// recorded it. The engine sees an ordinary node (same name, same inputs), so any engine works.
namespace {
class WatchedNode final : public Node {
 public:
  WatchedNode(std::shared_ptr<Node> inner, const nn::Module* module)
      : inner_(std::move(inner)), module_(module) {}

  std::vector<Tensor> backward(const Tensor& grad_output) override {
    // The real node reads its inputs (which of them need a gradient): lend them for the call.
    struct Lend {
      Node& from;
      Node& to;
      Lend(Node& f, Node& t) : from(f), to(t) { to.inputs = std::move(from.inputs); }
      ~Lend() { from.inputs = std::move(to.inputs); }
      Lend(const Lend&) = delete;
      Lend& operator=(const Lend&) = delete;
    } lend(*this, *inner_);
    nn::hooks::before_backward(module_, *inner_);
    std::vector<Tensor> grads;
    try {
      grads = inner_->backward(grad_output);
    } catch (...) {
      nn::hooks::after_backward(module_, *inner_);  // every before gets its after
      throw;
    }
    nn::hooks::after_backward(module_, *inner_);
    return grads;
  }
  std::string name() const override { return inner_->name(); }

 private:
  std::shared_ptr<Node> inner_;
  const nn::Module* module_;
};
}  // namespace

void attach(const Tensor& output, std::shared_ptr<Node> node, std::vector<Tensor> operands) {
  if (nn::hooks::backward_watched()) {
    if (const nn::Module* module = nn::hooks::current_module()) {
      node = std::make_shared<WatchedNode>(std::move(node), module);
    }
  }
  node->inputs = std::move(operands);
  output.impl().requires_grad = true;
  Node* raw = node.get();
  output.set_grad_fn(std::shared_ptr<Node>(
      raw, [owner = std::move(node)](Node*) mutable { free_node(std::move(owner)); }));
}

}  // namespace tinytorch::autograd

namespace tinytorch {

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::backward(*this, gradient, retain_graph);
}

}  // namespace tinytorch
