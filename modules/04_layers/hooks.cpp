// Framework-owned: the registry of module hooks (hooks.hpp). Your work is in layers.cpp.
#include "tinytorch/hooks.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "tinytorch/layers.hpp"

namespace tinytorch::nn {

void ModuleHooks::before_forward(const Module& /*module*/, const Tensor& /*input*/) {}
void ModuleHooks::after_forward(const Module& /*module*/, const Tensor& /*input*/,
                                const Tensor& /*output*/) {}
void ModuleHooks::forward_failed(const Module& /*module*/) {}
void ModuleHooks::before_backward(const Module* /*module*/, const autograd::Node& /*node*/) {}
void ModuleHooks::after_backward(const Module* /*module*/, const autograd::Node& /*node*/) {}

namespace {

struct Registry {
  std::vector<ModuleHooks*> hooks;  // installation order
  int backward_watchers = 0;
  const Module* current = nullptr;  // innermost module being called
};

thread_local Registry registry;

// A copy of the list: a hook may install or remove hooks while it is being called.
std::vector<ModuleHooks*> snapshot() {
  return registry.hooks;
}

// Makes `module` the current module for the duration of its call, nesting.
class CurrentModule {
 public:
  explicit CurrentModule(const Module* module) : previous_(registry.current) {
    registry.current = module;
  }
  ~CurrentModule() { registry.current = previous_; }
  CurrentModule(const CurrentModule&) = delete;
  CurrentModule& operator=(const CurrentModule&) = delete;

 private:
  const Module* previous_;
};

}  // namespace

HooksGuard::HooksGuard(ModuleHooks& hooks)
    : hooks_(&hooks), watches_backward_(hooks.watches_backward()) {
  registry.hooks.push_back(hooks_);
  if (watches_backward_) ++registry.backward_watchers;
}

HooksGuard::~HooksGuard() {
  auto& list = registry.hooks;
  // Guards normally go in reverse order, but any order works: remove this one, wherever it is.
  const auto it = std::find(list.rbegin(), list.rend(), hooks_);
  if (it != list.rend()) list.erase(std::next(it).base());
  if (watches_backward_) --registry.backward_watchers;
}

std::string module_type_name(const Module& module) {
  const char* mangled = typeid(module).name();
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  std::string name = status == 0 && demangled ? demangled.get() : mangled;
  // "tinytorch::nn::Linear" -> "Linear"; a template's arguments may hold "::" too, so cut only
  // before the first '<'.
  const auto end = name.find('<');
  const auto colon = name.rfind("::", end);
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

namespace hooks {

bool installed() noexcept {
  return !registry.hooks.empty();
}

Tensor call(Module& module, const Tensor& input) {
  for (ModuleHooks* h : snapshot()) h->before_forward(module, input);
  Tensor output;
  try {
    const CurrentModule current(&module);
    output = module.forward(input);
  } catch (...) {
    const auto list = snapshot();
    for (auto it = list.rbegin(); it != list.rend(); ++it) (*it)->forward_failed(module);
    throw;
  }
  const auto list = snapshot();
  for (auto it = list.rbegin(); it != list.rend(); ++it)
    (*it)->after_forward(module, input, output);
  return output;
}

const Module* current_module() noexcept {
  return registry.current;
}

bool backward_watched() noexcept {
  return registry.backward_watchers > 0;
}

void before_backward(const Module* module, const autograd::Node& node) {
  for (ModuleHooks* h : snapshot()) {
    if (h->watches_backward()) h->before_backward(module, node);
  }
}

void after_backward(const Module* module, const autograd::Node& node) {
  const auto list = snapshot();
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    if ((*it)->watches_backward()) (*it)->after_backward(module, node);
  }
}

}  // namespace hooks
}  // namespace tinytorch::nn
