#pragma once
// Module 19: the profiler. Where does a model's time go? The contract for profiler.cpp:
//     bench::Profiler profiler(*model);     // watches every module call on this thread
//     Tensor loss = cross_entropy((*model)(x), y);
//     loss.backward();                      // the backward of each layer is timed too
//     std::cout << bench::profile_table(profiler.layers());
// It is built on the framework's module hooks (hooks.hpp): no layer is edited to be profiled. A
// module is seen when it is called, module(x); Sequential calls its children that way.
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tinytorch/benchmarking.hpp"
#include "tinytorch/hooks.hpp"
#include "tinytorch/layers.hpp"

namespace tinytorch::bench {

/// One module's totals over every call the profiler saw. A call that throws is not counted: its
/// time counts as its caller's.
struct LayerProfile {
  std::string name;  // dotted path in the profiled model ("0", "features.3"); "" for the model
                     // itself; "<Type>" for a module called that is not part of the model
  std::string type;  // nn::module_type_name: "Linear", "Conv2d", "Sequential"
  int depth = 0;     // 0 for the model (and modules outside it), 1 for its children, ...
  std::int64_t calls = 0;  // calls that returned
  /// Self time: the wall time of its calls minus the time of the module calls made inside them
  /// (a Sequential's own time is the little it spends between its children).
  double forward_seconds = 0.0;
  /// The backward of the autograd nodes recorded by its own forward code (its children's nodes
  /// are theirs), and how many such node backwards ran.
  double backward_seconds = 0.0;
  std::int64_t backward_nodes = 0;
  std::int64_t macs = 0;              // layer_cost(...).macs, summed over calls
  std::int64_t parameter_bytes = 0;   // 4 per element of its OWN parameters (parameters(false)),
                                      // so that the column adds up to the model's size
  std::int64_t activation_bytes = 0;  // layer_cost(...).activation_bytes, summed over calls
  [[nodiscard]] double total_seconds() const { return forward_seconds + backward_seconds; }
};

struct ProfilerOptions {
  /// Seconds since any fixed origin. Empty: std::chrono::steady_clock. Tests pass a clock they
  /// move themselves, so that every duration has an exact answer.
  std::function<double()> clock;
};

/// Installs itself as module hooks on this thread when constructed, removes itself when destroyed
/// (RAII, like NoGradGuard). Single-threaded: calls made on other threads are not seen.
class Profiler final : public nn::ModuleHooks {
 public:
  /// Names the modules of `model` (its named children, depth first, dotted) and starts watching.
  explicit Profiler(const nn::Module& model, ProfilerOptions options = {});

  /// Every module seen called, sorted by total_seconds(), largest first; ties keep the order in
  /// which the modules were first called.
  [[nodiscard]] std::vector<LayerProfile> layers() const;

  // ---- the hooks (hooks.hpp says when each is called) ----
  void before_forward(const nn::Module& module, const Tensor& input) override;
  void after_forward(const nn::Module& module, const Tensor& input, const Tensor& output) override;
  void forward_failed(const nn::Module& module) override;
  [[nodiscard]] bool watches_backward() const override { return true; }
  void before_backward(const nn::Module* module, const autograd::Node& node) override;
  void after_backward(const nn::Module* module, const autograd::Node& node) override;

 private:
  /// A module call in progress.
  struct Frame {
    const nn::Module* module = nullptr;
    double start = 0.0;           // clock when it was called
    double nested_seconds = 0.0;  // wall time of the module calls made inside it so far
  };
  struct Place {  // where a module sits in the model
    std::string name;
    int depth = 0;
  };

  [[nodiscard]] double now() const;
  /// The profile of `module`, created (with its name, type, depth, parameter bytes) on first use.
  LayerProfile& profile_of(const nn::Module& module);

  ProfilerOptions options_;
  std::unordered_map<const nn::Module*, Place> places_;       // filled by the constructor
  std::unordered_map<const nn::Module*, std::size_t> index_;  // module -> position in profiles_
  std::vector<LayerProfile> profiles_;                        // in order of first call
  std::vector<Frame> stack_;                                  // the calls in progress
  double backward_start_ = 0.0;                               // clock at before_backward
  nn::HooksGuard guard_{*this};  // last: installed once every member above exists
};

// ---- framework-owned (report.cpp): you use these, you do not write them -------------------------

/// A text table of the layers, in the order given (Profiler::layers() sorts by total time): name
/// indented by depth, type, calls, forward, backward and total milliseconds, share of the total,
/// millions of multiply-adds, GMAC/s of the forward pass, parameter and activation KiB.
[[nodiscard]] std::string profile_table(const std::vector<LayerProfile>& layers);
/// The same as a JSON array of objects (seconds and bytes, not rounded). Pretty-printed text.
[[nodiscard]] std::string profile_to_json(const std::vector<LayerProfile>& layers);

}  // namespace tinytorch::bench
