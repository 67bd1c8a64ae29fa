#pragma once
// Framework-owned: hooks that watch every module call on a thread without touching a single
// layer, like PyTorch's global module hooks (register_module_forward_pre_hook and
// register_module_forward_hook). Module 19's profiler is built on them:
//     struct Counter : nn::ModuleHooks {
//       int calls = 0;
//       void before_forward(const nn::Module&, const Tensor&) override { ++calls; }
//     } counter;
//     nn::HooksGuard watch(counter);   // installed on this thread until `watch` goes away
//     (void)(*model)(x);               // counter.calls: the model and each module it called
// A module is seen when it is *called*, module(x) or (*ptr)(x): that is Module::operator(), which
// Sequential uses for its children. A direct call of forward() runs unseen, and what it computes
// counts as the work of the module that called it.
//
// Nothing is paid when no hooks are installed: Module::operator() tests one thread-local flag.
#include <string>

namespace tinytorch {
class Tensor;
}  // namespace tinytorch
namespace tinytorch::autograd {
struct Node;
}  // namespace tinytorch::autograd

namespace tinytorch::nn {

class Module;

/// Observer of module calls. Override what you need; every default does nothing.
class ModuleHooks {
 public:
  ModuleHooks() = default;
  virtual ~ModuleHooks() = default;
  ModuleHooks(const ModuleHooks&) = delete;
  ModuleHooks& operator=(const ModuleHooks&) = delete;

  /// Before module.forward(input) runs. Calls nest: a Sequential's children are called between
  /// its own before_forward and after_forward.
  virtual void before_forward(const Module& module, const Tensor& input);
  /// After forward returned output.
  virtual void after_forward(const Module& module, const Tensor& input, const Tensor& output);
  /// Instead of after_forward when forward threw (the exception then goes on to the caller).
  virtual void forward_failed(const Module& module);

  /// Whether the backward of what modules record is watched (before_backward, after_backward).
  /// Asked once, when the hooks are installed.
  [[nodiscard]] virtual bool watches_backward() const { return false; }
  /// Around the backward of one autograd node that was recorded while `module` was the innermost
  /// module being called on this thread (its own forward code, not its children's). `module`
  /// identifies the module only: it may have been destroyed since it recorded the node.
  virtual void before_backward(const Module* module, const autograd::Node& node);
  virtual void after_backward(const Module* module, const autograd::Node& node);
};

/// RAII: installs hooks on this thread for its lifetime. Several may be installed at once; before_*
/// are called in installation order, after_* and forward_failed in reverse. Hooks installed while
/// a module call is running see its after_forward without its before_forward.
class HooksGuard {
 public:
  explicit HooksGuard(ModuleHooks& hooks);
  ~HooksGuard();
  HooksGuard(const HooksGuard&) = delete;
  HooksGuard& operator=(const HooksGuard&) = delete;

 private:
  ModuleHooks* hooks_;
  bool watches_backward_;
};

/// "Linear", "Conv2d", "Sequential": the class name of a module, without its namespace.
[[nodiscard]] std::string module_type_name(const Module& module);

// ---- used by Module::operator() and by autograd's graph recording (framework plumbing) ----------
namespace hooks {
/// True when any hooks are installed on this thread: the one test Module::operator() pays.
[[nodiscard]] bool installed() noexcept;
/// module.forward(input) surrounded by the installed hooks, with module as the current module.
[[nodiscard]] Tensor call(Module& module, const Tensor& input);
/// The innermost module being called on this thread while hooks are installed, else nullptr.
[[nodiscard]] const Module* current_module() noexcept;
/// True when installed hooks watch backward: autograd then records which module made each node.
[[nodiscard]] bool backward_watched() noexcept;
void before_backward(const Module* module, const autograd::Node& node);
void after_backward(const Module* module, const autograd::Node& node);
}  // namespace hooks

}  // namespace tinytorch::nn
