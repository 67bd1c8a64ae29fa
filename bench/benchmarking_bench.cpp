// benchmarking-bench: module 19's benchmark (`tito module bench 19`). In one run, on this machine,
// with your module 19 code (the Profiler, the harness, the bootstrap):
//   1. profile: a milestone's net (its saved model when `tito milestone run` saved one, else the
//      same net with random weights, said so) over a few training steps (forward, cross-entropy,
//      backward): the per-layer table sorted by time, the process's peak resident memory, and
//      what profiling costs (the same step with and without a Profiler, compared);
//   2. compare: its inference on one batch with the framework's kernels and with module 15's
//      (TINYTORCH_KERNELS=student, and naive: the rung-1 loops), each speed-up with its bootstrap
//      95% interval;
//   3. variants: when the model was saved and its test set is present, the float32 model beside
//      its int8 version (module 17) and a channel-pruned copy (module 18, not fine-tuned): test
//      accuracy against median latency, the Pareto plot of what each one trades.
// Writes the figures as JSON (--out) and SVG charts beside it: bars of each variant's median
// latency with its 95% interval, the accuracy-against-latency Pareto plot, and the profile's
// per-layer time.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cifar.hpp"
#include "idx.hpp"
#include "run.hpp"
#include "saved_model.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/benchmarking.hpp"
#include "tinytorch/charts.hpp"
#include "tinytorch/compression.hpp"
#include "tinytorch/errors.hpp"
#include "tinytorch/kernels/dispatch.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/profiler.hpp"
#include "tinytorch/quantized_model.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better

struct Options {
  std::string model = "mnist-cnn";
  fs::path models = ".tito/milestones";
  fs::path data_dir;
  fs::path out = ".tito/bench/19_benchmarking.json";
  std::int64_t batch = 64;
  std::int64_t profile_steps = 3;
  std::int64_t test_images = 2000;
  double seconds = 1.0;
  double prune = 0.25;
  std::uint64_t seed = 0;
};

struct TestSet {
  std::vector<float> images, labels;
};

// The saved model, or the same net with random weights when none was saved (said so, not hidden).
milestones::SavedModel load_or_make(const Options& o, bool* saved) {
  const fs::path dir = o.models / o.model;
  if (fs::exists(dir / "config.json")) {
    *saved = true;
    return milestones::load_milestone_model(o.model, dir);
  }
  *saved = false;
  Generator generator(o.seed);
  milestones::SavedModel m{milestones::make_milestone_net(o.model, generator), json::object(), dir};
  m.model->eval();
  return m;
}

// The test set of the model's milestone, first o.test_images images; nullopt (with the reason
// printed) when the data folder does not hold it.
std::optional<TestSet> load_test_set(const Options& o) {
  fs::path data = o.data_dir;
  if (data.empty()) {
    const char* env = std::getenv("TINYTORCH_DATA");
    if (env == nullptr || *env == '\0') {
      fmt::print("  no data folder (--data-dir or TINYTORCH_DATA): accuracy not measured\n");
      return std::nullopt;
    }
    data = env;
  }
  TestSet t;
  try {
    if (o.model == "cifar10") {
      auto test = milestones::load_cifar10(data / "cifar-10-batches-bin", false);
      milestones::normalize_cifar10(test.images);
      t.images = std::move(test.images);
      t.labels = std::move(test.labels);
    } else {
      auto test = milestones::load_mnist(data / "mnist", false);
      t.images = std::move(test.images);
      t.labels = std::move(test.labels);
    }
  } catch (const std::exception& e) {
    fmt::print("  no test set ({}): accuracy not measured\n", e.what());
    return std::nullopt;
  }
  const auto n = static_cast<std::size_t>(
      std::min<std::int64_t>(o.test_images, static_cast<std::int64_t>(t.labels.size())));
  const std::size_t per_image = t.images.size() / t.labels.size();
  t.images.resize(n * per_image);
  t.labels.resize(n);
  return t;
}

Tensor random_batch(const Options& o, Generator& generator) {
  Shape shape{o.batch};
  for (std::int64_t d : milestones::milestone_input_shape(o.model)) shape.push_back(d);
  return randn(shape, generator);
}

Tensor random_labels(const Options& o, Generator& generator) {
  std::vector<float> labels(static_cast<std::size_t>(o.batch));
  for (float& y : labels) y = static_cast<float>(generator.below(10));
  return from_vector(std::move(labels), {o.batch});
}

bench::RunOptions run_options(const Options& o) {
  bench::RunOptions r;
  r.max_seconds = o.seconds;
  return r;
}

void print_measurement(const bench::Measurement& m, std::optional<double> accuracy) {
  fmt::print("  {:<34} median {:8.3f} ms  95% CI [{:.3f}, {:.3f}]  IQR {:.3f}  n {:>4}  {}{}\n",
             m.name, 1e3 * m.summary.median, 1e3 * m.median_ci.low, 1e3 * m.median_ci.high,
             1e3 * m.summary.iqr, m.seconds.size(), bench::to_string(m.stop),
             accuracy ? fmt::format("  accuracy {:.4f}", *accuracy) : "");
}

void print_comparison(const bench::Comparison& c) {
  fmt::print("  {} over {}: speed-up {:.2f}x, 95% CI [{:.2f}, {:.2f}]{}\n", c.candidate, c.baseline,
             c.speedup.estimate, c.speedup.low, c.speedup.high,
             c.speedup.low <= 1.0 && c.speedup.high >= 1.0 ? " (no difference shown)" : "");
}

// ---- 1. the profile of a few training steps ----

json profile(const Options& o, milestones::SavedModel& m,
             std::vector<bench::Measurement>& measurements,
             std::vector<bench::Comparison>& comparisons) {
  Generator generator(o.seed + 1);
  const Tensor x = random_batch(o, generator);
  const Tensor y = random_labels(o, generator);
  nn::Sequential& model = *m.model;
  model.train();
  auto step = [&] {
    model.zero_grad();
    cross_entropy(model(x), y).backward();
  };
  step();  // warm-up: first-touch page faults and lazy allocations are not a layer's cost
  std::vector<bench::LayerProfile> layers;
  {
    bench::Profiler profiler(model);
    for (std::int64_t i = 0; i < o.profile_steps; ++i) step();
    layers = profiler.layers();
  }
  fmt::print(
      "\n1. Profile: {} training steps of a batch of {} (forward, cross-entropy, backward)\n",
      o.profile_steps, o.batch);
  std::cout << bench::profile_table(layers);
  fmt::print("peak resident memory: {:.1f} MiB\n",
             static_cast<double>(bench::peak_rss_bytes()) / (1024.0 * 1024.0));

  // What watching costs: the same step with and without a profiler installed.
  const bench::Measurement plain = bench::measure("training step", step, run_options(o));
  const bench::Measurement watched = bench::measure(
      "training step, profiled",
      [&] {
        const bench::Profiler profiler(model);
        step();
      },
      run_options(o));
  model.eval();
  print_measurement(plain, std::nullopt);
  print_measurement(watched, std::nullopt);
  comparisons.push_back(bench::compare(watched, plain));
  print_comparison(comparisons.back());
  measurements.push_back(plain);
  measurements.push_back(watched);
  return json::parse(bench::profile_to_json(layers));
}

// ---- 2 and 3: inference variants measured by the harness ----

struct Variant {
  std::string label;  // short, for the charts' axes
  bench::Measurement latency;
  std::optional<double> accuracy;
};

bench::Measurement time_inference(const Options& o, const std::string& name,
                                  const std::function<Tensor(const Tensor&)>& forward,
                                  const Tensor& x) {
  const autograd::NoGradGuard no_grad;
  return bench::measure(
      name, [&] { (void)forward(x); }, run_options(o));
}

double accuracy_of(const std::function<Tensor(const Tensor&)>& forward, const Options& o,
                   const TestSet& t) {
  return milestones::count_accuracy(forward, t.images, milestones::milestone_input_shape(o.model),
                                    t.labels);
}

void write_charts(const Options& o, const std::vector<Variant>& variants,
                  const std::vector<bench::LayerProfile>& layers) {
  std::vector<charts::Bar> bars;
  std::vector<charts::Point> points;
  for (const Variant& v : variants) {
    const bench::Measurement& m = v.latency;
    bars.push_back(
        {v.label, 1e3 * m.summary.median, 1e3 * m.median_ci.low, 1e3 * m.median_ci.high});
    if (v.accuracy) points.push_back({v.label, 1e3 * m.summary.median, 100.0 * *v.accuracy});
  }
  const fs::path stem = o.out.parent_path() / o.out.stem();
  const std::string batch = fmt::format("{}, batches of {}", o.model, o.batch);
  charts::write_svg(
      fs::path(stem.string() + "_latency.svg"),
      charts::bar_chart({"Inference latency of one batch (" + batch + "), median and 95% CI",
                         "variant", "milliseconds"},
                        bars));
  fmt::print("  chart: {}_latency.svg\n", stem.string());
  if (points.size() >= 2) {
    charts::write_svg(fs::path(stem.string() + "_pareto.svg"),
                      charts::scatter_chart({"Accuracy against latency (" + batch + ")",
                                             "median latency of a batch (ms)", "test accuracy (%)"},
                                            points, /*pareto_front=*/true));
    fmt::print("  chart: {}_pareto.svg\n", stem.string());
  }
  // The layers that take the most time (layers are sorted), the rest summed: a bar per layer
  // of a deep net would be unreadable.
  constexpr std::size_t kShown = 8;
  std::vector<charts::Bar> layer_bars;
  double rest = 0.0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const double ms = 1e3 * layers[i].total_seconds() / static_cast<double>(o.profile_steps);
    if (i < kShown) {
      const std::string name = layers[i].name.empty() ? "(model)" : layers[i].name;
      layer_bars.push_back({name + " " + layers[i].type, ms, std::nullopt, std::nullopt});
    } else {
      rest += ms;
    }
  }
  if (layers.size() > kShown) {
    layer_bars.push_back(
        {fmt::format("{} others", layers.size() - kShown), rest, std::nullopt, std::nullopt});
  }
  charts::write_svg(
      fs::path(stem.string() + "_profile.svg"),
      charts::bar_chart({"Time per training step by layer, forward + backward (" + batch + ")",
                         "layer", "milliseconds per step"},
                        layer_bars));
  fmt::print("  chart: {}_profile.svg\n", stem.string());
}

int run(const Options& o) {
  bool saved = false;
  milestones::SavedModel m = load_or_make(o, &saved);
  fmt::print("Module 19 benchmark: {} ({}), batches of {}, {} s per measurement\n", o.model,
             saved ? "the model saved in " + m.dir.string()
                   : "random weights: no saved model in " + m.dir.string() +
                         "; `tito milestone run " + o.model + "` saves one",
             o.batch, o.seconds);
  const bench::Machine machine = bench::machine_info();
  fmt::print("machine: {}, {} threads, kernels on {} threads, {}, {} {}\n", machine.cpu_model,
             machine.threads, machine.kernel_threads, machine.blas, machine.compiler,
             machine.build_type);

  // The profile runs on its own copy: training-mode batch norms would move the saved statistics.
  milestones::SavedModel profiled = load_or_make(o, &saved);
  json doc;
  std::vector<bench::Measurement> measurements;
  std::vector<bench::Comparison> comparisons;
  doc["profile"] = profile(o, profiled, measurements, comparisons);
  const std::vector<bench::LayerProfile> layers = [&] {
    std::vector<bench::LayerProfile> out;
    for (const json& j : doc["profile"]) {
      bench::LayerProfile p;
      p.name = j["name"];
      p.type = j["type"];
      p.forward_seconds = j["forward_seconds"];
      p.backward_seconds = j["backward_seconds"];
      out.push_back(p);
    }
    return out;
  }();

  fmt::print(
      "\n2. Inference on one batch: the framework's kernels against module 15's (best, naive)\n");
  Generator generator(o.seed + 2);
  const Tensor x = random_batch(o, generator);
  std::vector<Variant> variants;
  const std::optional<TestSet> test = saved ? load_test_set(o) : std::nullopt;
  if (!saved) fmt::print("  (accuracy needs the trained model: it is not measured)\n");
  auto float_forward = [&](const Tensor& in) { return (*m.model)(in); };

  kernels::set_kernel_source(kernels::KernelSource::framework);
  Variant framework{
      "float32", time_inference(o, "float32, framework kernels", float_forward, x), {}};
  if (test) framework.accuracy = accuracy_of(float_forward, o, *test);
  print_measurement(framework.latency, framework.accuracy);
  variants.push_back(framework);
  // Module 15's kernels: your best (student) and your rung-1 loops (naive, the olympics' baseline).
  for (const auto& [source, label] :
       {std::pair{kernels::KernelSource::student, std::string("module 15 kernels")},
        std::pair{kernels::KernelSource::naive, std::string("naive loops")}}) {
    try {
      kernels::set_kernel_source(source);
      Variant v{label, time_inference(o, "float32, " + label, float_forward, x), {}};
      print_measurement(v.latency, std::nullopt);
      comparisons.push_back(bench::compare(framework.latency, v.latency));
      print_comparison(comparisons.back());
      variants.push_back(v);
    } catch (const NotImplemented& e) {
      fmt::print("  {}: skipped, not written yet ({})\n", label, e.what());
    }
  }
  kernels::set_kernel_source(kernels::KernelSource::framework);

  if (test) {
    fmt::print("\n3. Variants: accuracy on {} test images against latency\n", test->labels.size());
    try {
      const std::vector<Tensor> calibration = {from_vector(
          std::vector<float>(test->images.begin(),
                             test->images.begin() + static_cast<std::ptrdiff_t>(x.numel())),
          x.shape())};
      const quant::QuantizedModel q = quant::QuantizedModel::from_float(*m.model, calibration);
      auto int8_forward = [&](const Tensor& in) { return q.forward(in); };
      Variant int8{"int8", time_inference(o, "int8 (module 17)", int8_forward, x),
                   accuracy_of(int8_forward, o, *test)};
      print_measurement(int8.latency, int8.accuracy);
      comparisons.push_back(bench::compare(framework.latency, int8.latency));
      print_comparison(comparisons.back());
      variants.push_back(int8);
    } catch (const NotImplemented& e) {
      fmt::print("  int8: skipped, module 17 not written yet ({})\n", e.what());
    }
    try {
      auto pruned_model = compress::prune_channels(*m.model, o.prune);
      pruned_model->eval();
      auto pruned_forward = [&](const Tensor& in) { return (*pruned_model)(in); };
      Variant pruned{
          fmt::format("pruned {:.0f}%", 100.0 * o.prune),
          time_inference(o, fmt::format("{:.0f}% channels pruned (module 18)", 100.0 * o.prune),
                         pruned_forward, x),
          accuracy_of(pruned_forward, o, *test)};
      print_measurement(pruned.latency, pruned.accuracy);
      comparisons.push_back(bench::compare(framework.latency, pruned.latency));
      print_comparison(comparisons.back());
      variants.push_back(pruned);
    } catch (const NotImplemented& e) {
      fmt::print("  pruned: skipped, module 18 not written yet ({})\n", e.what());
    }
  }

  for (const Variant& v : variants) measurements.push_back(v.latency);
  json report = json::parse(bench::to_json(machine, measurements, comparisons));
  report["profile"] = doc["profile"];
  report["model"] = {{"milestone", o.model}, {"saved", saved}, {"batch", o.batch}};
  report["accuracy"] = json::object();
  for (const Variant& v : variants) {
    if (v.accuracy) report["accuracy"][v.latency.name] = *v.accuracy;
  }
  fs::create_directories(o.out.parent_path().empty() ? "." : o.out.parent_path());
  std::ofstream(o.out) << report.dump(2) << "\n";
  fmt::print("\nresults: {}\n", o.out.string());
  write_charts(o, variants, layers);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "Module 19's benchmark: a per-layer profile of a milestone's net, and its variants (kernels, "
      "int8, pruned) compared by the harness, with charts"};
  app.add_option("--model", o.model, "The milestone whose net is measured")
      ->capture_default_str()
      ->check(CLI::IsMember({"mnist", "mnist-cnn", "cifar10"}));
  app.add_option("--models", o.models,
                 "Folder of the saved milestone models, <id>/model.safetensors and config.json")
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir,
                 "Data folder holding mnist/ or cifar-10-batches-bin/ (default: $TINYTORCH_DATA)");
  app.add_option("--out", o.out, "JSON result file; the SVG charts are written beside it")
      ->capture_default_str();
  app.add_option("--batch", o.batch, "Images per batch")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--profile-steps", o.profile_steps, "Training steps profiled")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--test-images", o.test_images, "Test images for each variant's accuracy")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", o.seconds, "Time budget of each measurement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--prune", o.prune, "Fraction of channels the pruned variant loses, in [0, 1)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  app.add_option("--seed", o.seed, "Seed of the random weights and batches")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return milestones::guarded_main([&] { return run(o); });
}
