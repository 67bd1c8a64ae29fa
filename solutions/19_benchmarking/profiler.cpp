// Module 19 reference solution: a per-layer profiler on the framework's module hooks.
#include "tinytorch/profiler.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace tinytorch::bench {

Profiler::Profiler(const nn::Module& model, ProfilerOptions options)
    : options_(std::move(options)) {
  // Every module of the model, named by its dotted path (PyTorch's named_modules); a module
  // registered twice keeps its first name. An explicit stack: no recursion on a deep model.
  places_[&model] = {"", 0};
  std::vector<const nn::Module*> todo{&model};
  while (!todo.empty()) {
    const nn::Module* module = todo.back();
    todo.pop_back();
    const Place parent = places_.at(module);
    for (const auto& [name, child] : module->named_children()) {
      const std::string path = parent.name.empty() ? name : parent.name + "." + name;
      if (places_.try_emplace(child.get(), Place{path, parent.depth + 1}).second) {
        todo.push_back(child.get());
      }
    }
  }
}

double Profiler::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

LayerProfile& Profiler::profile_of(const nn::Module& module) {
  const auto [it, inserted] = index_.try_emplace(&module, profiles_.size());
  if (!inserted) return profiles_[it->second];
  LayerProfile p;
  p.type = nn::module_type_name(module);
  if (const auto place = places_.find(&module); place != places_.end()) {
    p.name = place->second.name;
    p.depth = place->second.depth;
  } else {
    p.name = "<" + p.type + ">";  // called, but not part of the profiled model
  }
  for (const Tensor& t : module.parameters(false)) p.parameter_bytes += 4 * t.numel();
  profiles_.push_back(std::move(p));
  return profiles_.back();
}

void Profiler::before_forward(const nn::Module& module, const Tensor& /*input*/) {
  (void)profile_of(module);  // listed in the order of first call, whether or not the call returns
  stack_.push_back({&module, now(), 0.0});
}

void Profiler::after_forward(const nn::Module& module, const Tensor& input, const Tensor& output) {
  // A call that began before this profiler existed has no frame: nothing to measure.
  if (stack_.empty() || stack_.back().module != &module) return;
  const Frame frame = stack_.back();
  stack_.pop_back();
  const double elapsed = now() - frame.start;
  if (!stack_.empty()) stack_.back().nested_seconds += elapsed;  // the caller's, not its own
  const LayerCost cost = layer_cost(module, input.shape(), output.shape());
  LayerProfile& p = profile_of(module);
  p.calls += 1;
  p.forward_seconds += elapsed - frame.nested_seconds;
  p.macs += cost.macs;
  p.activation_bytes += cost.activation_bytes;
}

void Profiler::forward_failed(const nn::Module& module) {
  // The exception unwinds this call: drop its frame, or every later call would nest inside it.
  if (!stack_.empty() && stack_.back().module == &module) stack_.pop_back();
}

void Profiler::before_backward(const nn::Module* /*module*/, const autograd::Node& /*node*/) {
  backward_start_ = now();
}

void Profiler::after_backward(const nn::Module* module, const autograd::Node& /*node*/) {
  const auto it = index_.find(module);
  if (it == index_.end()) return;  // recorded by a module this profiler never saw called
  LayerProfile& p = profiles_[it->second];
  p.backward_seconds += now() - backward_start_;
  p.backward_nodes += 1;
}

std::vector<LayerProfile> Profiler::layers() const {
  std::vector<LayerProfile> out = profiles_;
  std::stable_sort(out.begin(), out.end(), [](const LayerProfile& a, const LayerProfile& b) {
    return a.total_seconds() > b.total_seconds();
  });
  return out;
}

}  // namespace tinytorch::bench
