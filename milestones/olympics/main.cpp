// Milestone 2018: MLPerf. The models the student trained (the cifar10 CNN, the tinygpt GPT) are
// loaded, never retrained, and run in one process against the naive baseline: every GEMM on
// module 15's rung 1 (three loops), one thread, no cache, float32. Then, step by step: profile
// (module 19's layer_cost), fast kernels (the framework's, or with --kernels student module 15's
// best rung), the KV cache (module 16), int8 (module 17) and magnitude pruning (module 18). Each
// step is timed by module 19's harness; every speed-up is a ratio of medians with its bootstrap
// interval, and the gates are judged here from the raw outputs.
//
// Why the naive CNN is timed on a subset: it does about 10.4 M multiply-adds per image at well
// under 1 G per second, so the 10,000 test images would take minutes per repetition. Every CNN
// variant is timed on the same seeded subset (--time-images, 100 by default), so each ratio
// compares the same work; the accuracies of the fast variants are counted on the whole test set,
// and the naive one's on the subset (with how many of its predictions the fast float32 model
// shares).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "cifar.hpp"
#include "olympics.hpp"
#include "run.hpp"
#include "saved_model.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/benchmarking.hpp"
#include "tinytorch/caching.hpp"
#include "tinytorch/charts.hpp"
#include "tinytorch/compression.hpp"
#include "tinytorch/kernels/dispatch.hpp"
#include "tinytorch/kernels/threads.hpp"
#include "tinytorch/quantized_model.hpp"
#include "tinytorch/spatial.hpp"
#include "tinytorch/training.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better
namespace fs = std::filesystem;
namespace oly = milestones::olympics;
using std::int64_t;

namespace {

// ---- the naive baseline -------------------------------------------------------------------------

// While alive, the framework runs as a student's first framework would: module 15's three-loop
// GEMM (and its im2col; no Winograd) on one thread. Restores the kernels and threads it found.
class NaiveBaseline {
 public:
  NaiveBaseline() : source_(kernels::kernel_source()), threads_(kernels::num_threads()) {
    kernels::set_kernel_source(kernels::KernelSource::naive);
    kernels::set_num_threads(1);
  }
  ~NaiveBaseline() {
    kernels::set_kernel_source(source_);
    kernels::set_num_threads(threads_);
  }
  NaiveBaseline(const NaiveBaseline&) = delete;
  NaiveBaseline& operator=(const NaiveBaseline&) = delete;

 private:
  kernels::KernelSource source_;
  int threads_;
};

// ---- options ------------------------------------------------------------------------------------

struct Settings {
  fs::path cifar_dir;
  fs::path gpt_dir;
  int64_t test_images = oly::kFullTestSet;
  int64_t time_images = 100;
  int64_t tokens = oly::kGateTokens;
  std::optional<double> prune_amount;  // none: chosen on training images (choose_prune_amount)
  double budget_seconds = 3.0;  // per fast variant; the naive ones stop at their minimum repeats
  std::string prompt = "ROMEO:";
};

double parse_fraction(const std::string& text, const std::string& flag) {
  try {
    std::size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size() && value >= 0.0 && value < 1.0) return value;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(flag + " " + text + ": give a fraction in [0, 1), e.g. 0.5");
}

Settings read_settings(const milestones::Run& run) {
  Settings s;
  s.cifar_dir = run.option("--cifar-dir").value_or(milestones::default_model_dir("cifar10"));
  s.gpt_dir = run.option("--gpt-dir").value_or(milestones::default_model_dir("tinygpt"));
  s.test_images = run.option_number("--test-images", s.test_images);
  s.time_images = run.option_number("--time-images", s.time_images);
  s.tokens = run.option_number("--tokens", s.tokens);
  if (const auto amount = run.option("--prune"))
    s.prune_amount = parse_fraction(*amount, "--prune");
  s.budget_seconds = static_cast<double>(run.option_number("--budget", 3));
  if (s.test_images < 1 || s.test_images > oly::kFullTestSet) {
    throw std::invalid_argument("--test-images must be between 1 and 10000");
  }
  if (s.time_images < 1 || s.time_images > s.test_images) {
    throw std::invalid_argument("--time-images must be between 1 and --test-images");
  }
  if (s.tokens < 1) throw std::invalid_argument("--tokens must be at least 1");
  if (s.budget_seconds <= 0) throw std::invalid_argument("--budget must be at least 1 second");
  return s;
}

// ---- measuring ----------------------------------------------------------------------------------

bench::RunOptions naive_options() {
  // Seconds per repetition: the minimum number of repetitions is the budget.
  return {.warmup = 0, .min_repeats = 3, .max_repeats = 3, .max_seconds = 1e-3};
}

bench::RunOptions fast_options(const Settings& s) {
  return {.warmup = 2, .min_repeats = 7, .max_repeats = 200, .max_seconds = s.budget_seconds};
}

bench::Interval cumulative(const bench::Measurement& baseline, const bench::Measurement& step) {
  return bench::compare(baseline, step).speedup;
}

std::string describe_measurement(const bench::Measurement& m) {
  return fmt::format("median {:.4g} s, IQR {:.2g} s, {} repeats ({}), {} outliers",
                     m.summary.median, m.summary.iqr, m.seconds.size(), bench::to_string(m.stop),
                     m.summary.outliers.low + m.summary.outliers.high);
}

// ---- the CNN ------------------------------------------------------------------------------------

struct TestSet {
  std::vector<float> images;  // normalised, (N, 3, 32, 32)
  std::vector<float> labels;
  int64_t count = 0;
};

TestSet first_images(milestones::CifarSplit split, int64_t count) {
  constexpr int64_t kImage = 3 * 32 * 32;
  split.images.resize(static_cast<std::size_t>(count * kImage));
  split.labels.resize(static_cast<std::size_t>(count));
  milestones::normalize_cifar10(split.images);
  return {std::move(split.images), std::move(split.labels), count};
}

// A seeded sample of `count` distinct test images (the same seed, the same sample).
Tensor sample_images(const TestSet& test, int64_t count, std::uint64_t seed,
                     std::vector<float>& labels) {
  std::vector<int64_t> order(static_cast<std::size_t>(test.count));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  constexpr int64_t kImage = 3 * 32 * 32;
  std::vector<float> x(static_cast<std::size_t>(count * kImage));
  labels.resize(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t from = order[static_cast<std::size_t>(i)];
    std::copy_n(test.images.begin() + from * kImage, kImage, x.begin() + i * kImage);
    labels[static_cast<std::size_t>(i)] = test.labels[static_cast<std::size_t>(from)];
  }
  return from_vector(std::move(x), {count, 3, 32, 32});
}

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const Tensor z = logits.contiguous();
  const int64_t rows = z.size(0), classes = z.size(1);
  std::vector<int64_t> best(static_cast<std::size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = z.data_ptr() + r * classes;
    best[static_cast<std::size_t>(r)] = std::max_element(row, row + classes) - row;
  }
  return best;
}

std::string layer_kind(const nn::Module& layer) {
  if (dynamic_cast<const nn::Conv2d*>(&layer) != nullptr) return "Conv2d";
  if (dynamic_cast<const nn::Linear*>(&layer) != nullptr) return "Linear";
  if (dynamic_cast<const nn::MaxPool2d*>(&layer) != nullptr) return "MaxPool2d";
  if (dynamic_cast<const nn::BatchNorm2d*>(&layer) != nullptr) return "BatchNorm2d";
  if (dynamic_cast<const nn::ReLU*>(&layer) != nullptr) return "ReLU";
  if (dynamic_cast<const nn::Flatten*>(&layer) != nullptr) return "Flatten";
  return "other";
}

std::string cnn_kernels_text(const std::string& source) {
  return source == "student" ? "module 15's im2col + gemm_parallel (--kernels student)"
                             : "the framework's kernels (Winograd or im2col + packed GEMM)";
}

// The profile: module 19's layer_cost for each layer of the net on one image, and the time each
// layer takes under the naive baseline (one pass over the timed sample, layer by layer).
nlohmann::json profile_cnn(nn::Sequential& net, const Tensor& sample, const milestones::Run& run) {
  nlohmann::json rows = nlohmann::json::array();
  Tensor x = sample;
  int64_t total_macs = 0;
  double total_seconds = 0;
  std::vector<std::tuple<std::string, bench::LayerCost, double>> layers;
  for (std::size_t i = 0; i < net.size(); ++i) {
    const auto layer = net[i];
    const auto start = std::chrono::steady_clock::now();
    Tensor y = (*layer)(x);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bench::LayerCost cost = bench::layer_cost(*layer, x.shape(), y.shape());
    total_macs += cost.macs;
    total_seconds += seconds;
    layers.emplace_back(fmt::format("{} {}", i, layer_kind(*layer)), cost, seconds);
    x = y;
  }
  run.say(fmt::format("  {:<20} {:>14} {:>10} {:>12} {:>8}", "layer", "MACs/image", "MACs %",
                      "naive time", "time %"));
  const double images = static_cast<double>(sample.size(0));
  for (const auto& [name, cost, seconds] : layers) {
    const double macs = static_cast<double>(cost.macs) / images;
    run.say(fmt::format("  {:<20} {:>14.0f} {:>9.1f}% {:>10.3f} s {:>7.1f}%", name, macs,
                        100.0 * static_cast<double>(cost.macs) / std::max<int64_t>(total_macs, 1),
                        seconds, 100.0 * seconds / std::max(total_seconds, 1e-12)));
    rows.push_back(
        {{"layer", name},
         {"type", cost.type},
         {"macs_per_image", macs},
         {"parameter_bytes", cost.parameter_bytes},
         {"activation_bytes_per_image", static_cast<double>(cost.activation_bytes) / images},
         {"naive_seconds", seconds}});
  }
  run.say(fmt::format("  {:<20} {:>14.0f}            {:>10.3f} s  (one pass over {} images)",
                      "total", static_cast<double>(total_macs) / images, total_seconds,
                      sample.size(0)));
  return rows;
}

struct PruneChoice {
  double amount = 0.0;     // 0: no amount qualified
  double agreement = 0.0;  // of the chosen amount
  nlohmann::json tried;    // [{amount, agreement}] in the order tried
};

// The largest global magnitude pruning amount (0.1, 0.2, ... 0.9, stopping at the first that
// fails) whose pruned float model still gives the unpruned model's prediction on at least 99% of
// the images: then its accuracy cannot move by more than 1 point on them. Chosen on training
// images, so the test set judges the result without having chosen it.
PruneChoice choose_prune_amount(const Settings& s, const Tensor& images) {
  milestones::SavedModel reference = milestones::load_milestone_model("cifar10", s.cifar_dir);
  const std::vector<int64_t> want = argmax_rows((*reference.model)(images));
  PruneChoice choice;
  choice.tried = nlohmann::json::array();
  for (int tenths = 1; tenths <= 9; ++tenths) {
    const double amount = tenths / 10.0;
    milestones::SavedModel copy = milestones::load_milestone_model("cifar10", s.cifar_dir);
    (void)compress::Pruner::global(*copy.model, amount);
    const std::vector<int64_t> got = argmax_rows((*copy.model)(images));
    int64_t same = 0;
    for (std::size_t i = 0; i < want.size(); ++i) same += got[i] == want[i] ? 1 : 0;
    const double agreement = static_cast<double>(same) / static_cast<double>(want.size());
    choice.tried.push_back({{"amount", amount}, {"agreement", agreement}});
    if (agreement < 0.99) break;
    choice.amount = amount;
    choice.agreement = agreement;
  }
  return choice;
}

struct CnnResult {
  std::vector<oly::Step> steps;
  double float_accuracy = 0.0;
  double final_accuracy = 0.0;
  bench::Interval speedup;
  int64_t float_bytes = 0;
  int64_t final_bytes = 0;
  std::vector<bench::Measurement> measurements;
  std::vector<bench::Comparison> comparisons;
};

double quantized_accuracy(const quant::QuantizedModel& q, const TestSet& test) {
  return milestones::count_accuracy([&](const Tensor& x) { return q.forward(x); }, test.images,
                                    {3, 32, 32}, test.labels, 1000);
}

CnnResult run_cnn(milestones::Run& run, const Settings& s, const fs::path& artefacts,
                  const char* fast_name) {
  CnnResult r;
  milestones::SavedModel saved = milestones::load_milestone_model("cifar10", s.cifar_dir);
  nn::Sequential& net = *saved.model;
  const fs::path float_file = s.cifar_dir / "model.safetensors";
  r.float_bytes = oly::compressed_size(float_file);
  const int64_t float_raw = static_cast<int64_t>(fs::file_size(float_file));

  const fs::path data = run.data_dir() / "cifar-10-batches-bin";
  run.say(fmt::format("Reading CIFAR-10 from {}", data.string()));
  const TestSet test = first_images(milestones::load_cifar10(data, false), s.test_images);
  // Calibration reads training images, never test ones.
  const TestSet calibration = first_images(milestones::load_cifar10_batch(data, 1), 1000);
  std::vector<Tensor> calibration_batches;
  for (int64_t b = 0; b < 4; ++b) {
    calibration_batches.push_back(
        from_vector(std::vector<float>(calibration.images.begin() + b * 250 * 3072,
                                       calibration.images.begin() + (b + 1) * 250 * 3072),
                    {250, 3, 32, 32}));
  }
  std::vector<float> sample_labels;
  const Tensor sample = sample_images(test, s.time_images, run.seed(), sample_labels);
  const std::string unit = fmt::format("{} images", s.time_images);
  autograd::NoGradGuard no_grad;

  // 1. profile + the naive baseline.
  run.say(fmt::format("\ncifar10 - profile under the naive baseline (module 19's layer_cost):"));
  nlohmann::json profile;
  bench::Measurement naive;
  Tensor naive_logits;
  {
    NaiveBaseline baseline;
    profile = profile_cnn(net, sample, run);
    naive = bench::measure(
        "cifar10 naive", [&] { naive_logits = net(sample); }, naive_options());
  }
  run.say("  naive: " + describe_measurement(naive));
  const double naive_accuracy =
      static_cast<double>(milestones::count_correct(naive_logits, sample_labels.data())) /
      static_cast<double>(s.time_images);
  r.measurements.push_back(naive);
  r.steps.push_back({"cifar10",
                     "naive baseline",
                     "float32, module 15 rung-1 GEMM (three loops), 1 thread",
                     naive_accuracy,
                     s.time_images,
                     naive.summary.median,
                     unit,
                     r.float_bytes,
                     float_raw,
                     {1.0, 1.0, 1.0, 0.95},
                     "accuracy on the timed sample only (too slow for all)"});

  // 2. fast kernels, float32.
  Tensor fast_logits;
  const bench::Measurement fast = bench::measure(
      "cifar10 fast kernels", [&] { fast_logits = net(sample); }, fast_options(s));
  run.say("  fast kernels: " + describe_measurement(fast));
  const auto naive_ids = argmax_rows(naive_logits), fast_ids = argmax_rows(fast_logits);
  int64_t agree = 0;
  for (std::size_t i = 0; i < naive_ids.size(); ++i) agree += naive_ids[i] == fast_ids[i] ? 1 : 0;
  r.float_accuracy = milestones::count_accuracy([&](const Tensor& x) { return net(x); },
                                                test.images, {3, 32, 32}, test.labels, 1000);
  r.measurements.push_back(fast);
  r.comparisons.push_back(bench::compare(naive, fast));
  r.steps.push_back(
      {"cifar10", "fast kernels",
       fmt::format("float32, {}, {} threads", cnn_kernels_text(fast_name), kernels::num_threads()),
       r.float_accuracy, s.test_images, fast.summary.median, unit, r.float_bytes, float_raw,
       cumulative(naive, fast),
       fmt::format("same predictions as the naive run on {} of {} sampled images", agree,
                   s.time_images)});

  // 3. int8 (module 17): batch norms folded, ReLU fused, integer GEMMs.
  auto quantize = [&](nn::Sequential& model, const std::string& name, const std::string& step,
                      const std::string& what, const std::string& note) {
    const quant::QuantizedModel q = quant::QuantizedModel::from_float(model, calibration_batches);
    const fs::path file = artefacts / name;
    q.save(file);
    const bench::Measurement m = bench::measure(
        "cifar10 " + step, [&] { (void)q.forward(sample); }, fast_options(s));
    run.say(fmt::format("  {}: {}", step, describe_measurement(m)));
    const double accuracy = quantized_accuracy(q, test);
    r.measurements.push_back(m);
    r.comparisons.push_back(bench::compare(naive, m));
    r.steps.push_back({"cifar10", step, what, accuracy, s.test_images, m.summary.median, unit,
                       oly::compressed_size(file), static_cast<int64_t>(fs::file_size(file)),
                       cumulative(naive, m), note});
    return accuracy;
  };
  r.final_accuracy = quantize(net, "cifar10.int8.safetensors", "int8",
                              "module 17: per-channel int8 weights, uint8 activations, int32 sums",
                              "calibrated on 1,000 training images (min/max)");
  r.final_bytes = r.steps.back().size_bytes;
  r.speedup = r.steps.back().speedup;
  // The int8 model beside the float one it came from, where the production milestone serves it
  // from (tito milestone run production --precision int8).
  const fs::path served = s.cifar_dir / "model.int8.safetensors";
  fs::copy_file(artefacts / "cifar10.int8.safetensors", served,
                fs::copy_options::overwrite_existing);
  run.say("  int8 model saved for serving: " + served.string());

  // 4. magnitude pruning (module 18) of a fresh copy of the float model, then int8 again.
  const Tensor calibration_images =
      from_vector(std::vector<float>(calibration.images), {calibration.count, 3, 32, 32});
  const PruneChoice choice = s.prune_amount ? PruneChoice{*s.prune_amount, -1.0, nullptr}
                                            : choose_prune_amount(s, calibration_images);
  run.section("pruning", {{"amount", choice.amount},
                          {"chosen_on", s.prune_amount ? "--prune" : "1,000 training images"},
                          {"tried", choice.tried}});
  if (choice.amount > 0.0) {
    milestones::SavedModel copy = milestones::load_milestone_model("cifar10", s.cifar_dir);
    const compress::Pruner pruner = compress::Pruner::global(*copy.model, choice.amount);
    const auto report = pruner.report();
    r.final_accuracy = quantize(
        *copy.model, "cifar10.pruned.int8.safetensors", "pruned + int8",
        fmt::format("module 18: {:.0f}% of the conv/linear weights zeroed (global magnitude), "
                    "no fine-tuning; then int8",
                    100.0 * report.back().sparsity),
        fmt::format("{}; zeros shrink the deflated file, the dense int8 kernels still multiply "
                    "them (no speed gain expected)",
                    s.prune_amount ? "amount set by --prune"
                                   : fmt::format("amount: the most that kept {:.1f}% of the "
                                                 "float predictions on 1,000 training images",
                                                 100.0 * choice.agreement)));
    r.final_bytes = r.steps.back().size_bytes;
    r.speedup = r.steps.back().speedup;
  } else {
    run.say(s.prune_amount ? "  pruning: off (--prune 0)"
                           : "  pruning: even 10% changed more than 1% of the predictions on the "
                             "training images; not applied (it does not help this model)");
  }
  run.section("cifar10_profile", profile);
  return r;
}

// ---- the GPT ------------------------------------------------------------------------------------

struct GptResult {
  std::vector<oly::Step> steps;
  bool tokens_identical = false;
  bench::Interval speedup;
  std::vector<bench::Measurement> measurements;
  std::vector<bench::Comparison> comparisons;
  std::string text;  // the cached greedy continuation
};

// Module 19's layer_cost over every Linear inside the GPT, for one forward pass over `tokens`
// positions: the multiply-adds a generation step spends in its projections and MLPs.
int64_t linear_macs(const nn::Module& module, int64_t tokens) {
  int64_t macs = 0;
  if (const auto* linear = dynamic_cast<const nn::Linear*>(&module)) {
    macs += bench::layer_cost(*linear, {1, tokens, linear->in_features},
                              {1, tokens, linear->out_features})
                .macs;
  }
  for (const auto& child : module.children()) macs += linear_macs(*child, tokens);
  return macs;
}

GptResult run_gpt(const milestones::Run& run, const Settings& s, const char* fast_name) {
  GptResult r;
  milestones::SavedGPT saved = milestones::load_gpt_model(s.gpt_dir);
  nn::GPT& model = *saved.model;
  const fs::path file = s.gpt_dir / "model.safetensors";
  const int64_t bytes = oly::compressed_size(file);
  const auto raw = static_cast<int64_t>(fs::file_size(file));
  const std::vector<int64_t> prompt = saved.tokenizer.encode(s.prompt);
  const std::string unit = fmt::format("{} tokens", s.tokens);
  const int64_t context = model.config.context;
  run.say(fmt::format(
      "\ntinygpt - profile (module 19's layer_cost over the Linear layers): one uncached step "
      "reads a window of up to {} positions, {} multiply-adds; a cached step reads 1, {}",
      context, linear_macs(model, context), linear_macs(model, 1)));

  auto generation = [&](bool cache) {
    GenerationOptions options;
    options.sampling.temperature = 0.0f;  // greedy: the ids must match exactly
    options.use_cache = cache;
    return generate_with_cache(model, prompt, s.tokens, options).ids;
  };
  std::vector<int64_t> naive_ids, fast_ids, cached_ids;
  bench::Measurement naive;
  {
    NaiveBaseline baseline;
    naive = bench::measure(
        "tinygpt naive", [&] { naive_ids = generation(false); }, naive_options());
  }
  run.say("  naive: " + describe_measurement(naive));
  r.measurements.push_back(naive);
  r.steps.push_back({"tinygpt",
                     "naive baseline",
                     "float32, rung-1 GEMM, 1 thread, every step recomputes its window",
                     std::nullopt,
                     0,
                     naive.summary.median,
                     unit,
                     bytes,
                     raw,
                     {1.0, 1.0, 1.0, 0.95},
                     ""});

  const bench::Measurement fast = bench::measure(
      "tinygpt fast kernels", [&] { fast_ids = generation(false); }, fast_options(s));
  run.say("  fast kernels: " + describe_measurement(fast));
  r.measurements.push_back(fast);
  r.comparisons.push_back(bench::compare(naive, fast));
  r.steps.push_back({"tinygpt", "fast kernels",
                     fmt::format("float32, the {} kernels, {} threads, no cache", fast_name,
                                 kernels::num_threads()),
                     std::nullopt, 0, fast.summary.median, unit, bytes, raw,
                     cumulative(naive, fast),
                     fast_ids == naive_ids ? "greedy tokens identical to the naive run's"
                                           : "greedy tokens DIFFER from the naive run's"});

  const bench::Measurement cached = bench::measure(
      "tinygpt KV cache", [&] { cached_ids = generation(true); }, fast_options(s));
  run.say("  KV cache: " + describe_measurement(cached));
  r.tokens_identical = cached_ids == naive_ids;
  r.measurements.push_back(cached);
  r.comparisons.push_back(bench::compare(naive, cached));
  r.speedup = cumulative(naive, cached);
  r.steps.push_back(
      {"tinygpt", "KV cache",
       "module 16: generate_with_cache, one new position per step (+ the fast kernels)",
       std::nullopt, 0, cached.summary.median, unit, bytes, raw, r.speedup,
       fmt::format("greedy tokens {} the naive run's; int8 and pruning not applied to the GPT "
                   "(module 17 converts Sequential nets only)",
                   r.tokens_identical ? "identical to" : "DIFFER from")});
  r.text = saved.tokenizer.decode(cached_ids);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run(
        "olympics", "The optimisation olympics (2018)", argc, argv,
        {{"--cifar-dir", "DIR", "the saved cifar10 model (default .tito/milestones/cifar10)"},
         {"--gpt-dir", "DIR", "the saved tinygpt model (default .tito/milestones/tinygpt)"},
         {"--test-images", "N", "CIFAR-10 test images counted (default 10000: the gate's)"},
         {"--time-images", "N", "the seeded sample every CNN variant is timed on (default 100)"},
         {"--tokens", "N", "tokens per timed generation (default 256: the gate's)"},
         {"--prune", "AMOUNT",
          "fraction of the CNN's weights pruned (default: the most that keeps 99% of the "
          "predictions on 1,000 training images; 0: none)"},
         {"--budget", "SECONDS", "time budget of each fast variant's measurement (default 3)"}});
    if (run.help_requested()) return 0;
    const Settings s = read_settings(run);
    const kernels::KernelSource fast_source = kernels::kernel_source();
    if (fast_source == kernels::KernelSource::naive) {
      throw std::invalid_argument(
          "TINYTORCH_KERNELS=naive: the olympics time the naive kernels themselves; run with "
          "the framework's kernels (the default) or --kernels student");
    }
    const char* fast_name = kernels::kernel_source_name(fast_source);
    // Both models are read first: a missing one stops the run before any timing.
    (void)milestones::load_milestone_model("cifar10", s.cifar_dir);
    (void)milestones::load_gpt_model(s.gpt_dir);

    const fs::path artefacts =
        run.out_path().parent_path() / run.out_path().stem();  // .tito/milestones/olympics/
    fs::create_directories(artefacts);
    run.setting("kernels", fast_name);
    run.setting("threads", kernels::num_threads());
    run.setting("cifar10_model", s.cifar_dir.string());
    run.setting("tinygpt_model", s.gpt_dir.string());
    run.setting("test_images", s.test_images);
    run.setting("time_images", s.time_images);
    run.setting("tokens", s.tokens);
    run.setting("prompt", s.prompt);
    run.setting("prune_amount", s.prune_amount ? nlohmann::json(*s.prune_amount)
                                               : nlohmann::json("chosen on training images"));
    run.setting("naive_baseline",
                "module 15 rung 1 (accel::gemm_naive) for every GEMM, module 15's im2col, no "
                "Winograd, 1 thread, no cache, float32");
    run.say(fmt::format(
        "Naive baseline against the optimised system ({} kernels, {} threads), in this process; "
        "CNN timed on {} seeded test images, GPT on {} greedy tokens",
        fast_name, kernels::num_threads(), s.time_images, s.tokens));

    CnnResult cnn = run_cnn(run, s, artefacts, fast_name);
    GptResult gpt = run_gpt(run, s, fast_name);

    std::vector<oly::Step> steps = cnn.steps;
    steps.insert(steps.end(), gpt.steps.begin(), gpt.steps.end());
    run.say("\n" + oly::format_table(steps));
    run.say(fmt::format("Greedy continuation of \"{}\" (KV cache):\n{}\n", s.prompt, gpt.text));

    const oly::VerdictInputs inputs{.test_images = s.test_images,
                                    .float_accuracy = cnn.float_accuracy,
                                    .final_accuracy = cnn.final_accuracy,
                                    .tokens = s.tokens,
                                    .tokens_identical = gpt.tokens_identical,
                                    .cnn_speedup = cnn.speedup,
                                    .gpt_speedup = gpt.speedup,
                                    .float_bytes = cnn.float_bytes,
                                    .final_bytes = cnn.final_bytes};
    const std::vector<oly::Gate> gates = oly::judge(inputs);
    run.say(oly::format_gates(gates));

    nlohmann::json step_docs = nlohmann::json::array();
    for (const auto& step : steps) step_docs.push_back(oly::to_json(step));
    nlohmann::json gate_docs = nlohmann::json::array();
    for (const auto& gate : gates) gate_docs.push_back(oly::to_json(gate));
    std::vector<bench::Measurement> measurements = cnn.measurements;
    measurements.insert(measurements.end(), gpt.measurements.begin(), gpt.measurements.end());
    std::vector<bench::Comparison> comparisons = cnn.comparisons;
    comparisons.insert(comparisons.end(), gpt.comparisons.begin(), gpt.comparisons.end());
    run.section("steps", step_docs);
    run.section("gates", gate_docs);
    run.section("benchmark", nlohmann::json::parse(
                                 bench::to_json(bench::machine_info(), measurements, comparisons)));
    run.say("Chart: " + run.chart("pipeline", oly::chart(steps)).string());
    return run.finish(
        oly::all_passed(gates),
        "accuracy within 1 point, identical greedy tokens, tinygpt 256 tokens and CNN inference "
        ">= 10x faster (95% CI), CNN file <= 25% of float32",
        {{"cnn_speedup", cnn.speedup.estimate},
         {"cnn_speedup_low", cnn.speedup.low},
         {"gpt_speedup", gpt.speedup.estimate},
         {"gpt_speedup_low", gpt.speedup.low},
         {"accuracy_change_points", 100.0 * (cnn.final_accuracy - cnn.float_accuracy)},
         {"tokens_identical", gpt.tokens_identical},
         {"size_fraction", static_cast<double>(cnn.final_bytes) /
                               static_cast<double>(std::max<int64_t>(cnn.float_bytes, 1))}});
  });
}
