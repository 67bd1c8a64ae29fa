// Module 19 — the profiler. Fill in each TODO. The contract is profiler.hpp (read each comment
// there first), built on the framework's module hooks (modules/04_layers/hooks.hpp); the lesson
// is README.md, section 7.
//
// Every body below throws NotImplemented until you replace it. Suggested order: the constructor,
// now, profile_of, before_forward, after_forward, layers (run the tests), then forward_failed,
// before_backward, after_backward.
//
// profile_table() and profile_to_json() are framework-owned (report.cpp): you use them.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/errors.hpp"
#include "tinytorch/profiler.hpp"

namespace tinytorch::bench {

Profiler::Profiler(const nn::Module& model, ProfilerOptions options)
    : options_(std::move(options)) {
  // TODO: name every module of the model in places_: the model itself {"", 0}, each of its
  //   named_children() {"<name>", 1}, their children {"<name>.<child name>", 2}, and so on (the
  //   dotted paths of named_parameters, without the parameter). A module registered twice keeps
  //   the first name it gets. (The guard_ member has already installed this profiler.)
  (void)model;
  throw NotImplemented("19_benchmarking", "Profiler::Profiler");
}

double Profiler::now() const {
  // TODO: options_.clock() when one was given; otherwise the seconds of
  //   std::chrono::steady_clock::now().time_since_epoch() as a double.
  throw NotImplemented("19_benchmarking", "Profiler::now");
}

LayerProfile& Profiler::profile_of(const nn::Module& module) {
  // TODO: the entry of `module` in profiles_, found through index_. The first time, append one:
  //   type = nn::module_type_name(module); name and depth from places_, or name "<Type>" (depth
  //   0) for a module that is not part of the model; parameter_bytes = 4 * the elements of
  //   module.parameters(false) (its own, not its children's).
  (void)module;
  throw NotImplemented("19_benchmarking", "Profiler::profile_of");
}

void Profiler::before_forward(const nn::Module& module, const Tensor& input) {
  // TODO: a call begins: make sure the module has its profile (profile_of: modules are listed in
  //   the order of their first call), then push a Frame {module, now(), 0} on stack_.
  (void)module;
  (void)input;
  throw NotImplemented("19_benchmarking", "Profiler::before_forward");
}

void Profiler::after_forward(const nn::Module& module, const Tensor& input, const Tensor& output) {
  // TODO: the call on top of stack_ ends.
  //   - If stack_ is empty or its top is not this module's call, return (the call began before
  //     this profiler was installed).
  //   - Pop the frame; elapsed = now() - start. Add elapsed to the nested_seconds of the caller's
  //     frame (the new top, if any): that caller must not count this time as its own.
  //   - In profile_of(module): one more call, forward_seconds += elapsed - nested_seconds (self
  //     time), macs and activation_bytes += those of layer_cost(module, input's shape, output's).
  (void)module;
  (void)input;
  (void)output;
  throw NotImplemented("19_benchmarking", "Profiler::after_forward");
}

void Profiler::forward_failed(const nn::Module& module) {
  // TODO: the call threw: pop its frame (when it is on top) and count nothing. Forget this and
  //   every later call nests inside a call that is long over.
  (void)module;
  throw NotImplemented("19_benchmarking", "Profiler::forward_failed");
}

void Profiler::before_backward(const nn::Module* module, const autograd::Node& node) {
  // TODO: remember now() in backward_start_ (node backwards never nest).
  (void)module;
  (void)node;
  throw NotImplemented("19_benchmarking", "Profiler::before_backward");
}

void Profiler::after_backward(const nn::Module* module, const autograd::Node& node) {
  // TODO: a module this profiler has a profile for (look it up in index_; do NOT call
  //   profile_of: the module may have been destroyed since) gets now() - backward_start_ more
  //   backward_seconds and one more backward_node. Others: nothing.
  (void)module;
  (void)node;
  throw NotImplemented("19_benchmarking", "Profiler::after_backward");
}

std::vector<LayerProfile> Profiler::layers() const {
  // TODO: a copy of profiles_ sorted by total_seconds(), largest first. Ties must keep the order
  //   of first call: std::stable_sort, not std::sort.
  throw NotImplemented("19_benchmarking", "Profiler::layers");
}

}  // namespace tinytorch::bench
