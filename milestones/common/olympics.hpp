#pragma once
// The olympics milestone's bookkeeping, apart from its program so that tests can feed it known
// inputs: one row per step of the optimisation pipeline, the gates judged from raw measurements,
// the printed table and the SVG. Framework-owned: the student's code produces the outputs and the
// timings, never the verdict.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tinytorch/benchmarking.hpp"

namespace milestones::olympics {

/// One step of the pipeline for one model, as measured.
struct Step {
  std::string model;                   // "cifar10" or "tinygpt"
  std::string name;                    // "naive baseline", "fast kernels", "KV cache", "int8", ...
  std::string what;                    // how it runs, in a few words
  std::optional<double> accuracy;      // fraction correct (CNN), none for the GPT
  std::int64_t accuracy_count = 0;     // images the accuracy is over
  double latency_seconds = 0.0;        // median of one timed unit (see `unit`)
  std::string unit;                    // "100 images", "256 tokens"
  std::int64_t size_bytes = 0;         // the saved model file, deflate-compressed
  std::int64_t raw_bytes = 0;          // the saved model file as it is
  tinytorch::bench::Interval speedup;  // cumulative: median(baseline) / median(this step)
  std::string note;                    // why a step did (not) help, measured facts only
};

/// The raw figures the gates are judged on.
struct VerdictInputs {
  std::int64_t test_images = 0;            // CIFAR-10 test images the accuracies are over
  double float_accuracy = 0.0;             // the float32 model (fast kernels) on those images
  double final_accuracy = 0.0;             // the optimised model on the same images
  std::int64_t tokens = 0;                 // tokens generated per timed generation
  bool tokens_identical = false;           // greedy ids of the cached GPT == the naive baseline's
  tinytorch::bench::Interval cnn_speedup;  // optimised CNN against the naive one
  tinytorch::bench::Interval gpt_speedup;  // cached GPT against the naive one
  std::int64_t float_bytes = 0;            // the float32 CNN's saved file, compressed
  std::int64_t final_bytes = 0;            // the optimised CNN's saved file, compressed
};

/// One gate: its rule, whether it holds, and the figures that decided it.
struct Gate {
  std::string name;
  std::string rule;
  bool passed = false;
  std::string detail;
};

constexpr std::int64_t kFullTestSet = 10000;
constexpr std::int64_t kGateTokens = 256;
constexpr double kMaxAccuracyDrop = 0.01;  // one percentage point
constexpr double kMinSpeedup = 10.0;       // the lower end of the 95% interval must reach it
constexpr double kMaxSizeFraction = 0.25;

/// Every gate, in a fixed order: the run's scope (the whole test set, 256 tokens: a smaller run
/// proves nothing), the accuracy change, identical greedy tokens, the GPT's and the CNN's speed-ups
/// (the lower end of their bootstrap interval, so a lucky median cannot pass) and the size.
[[nodiscard]] std::vector<Gate> judge(const VerdictInputs& inputs);
[[nodiscard]] bool all_passed(const std::vector<Gate>& gates);

/// The steps as a table, one row each: model, step, accuracy, latency, size, speed-up [interval].
[[nodiscard]] std::string format_table(const std::vector<Step>& steps);
[[nodiscard]] std::string format_gates(const std::vector<Gate>& gates);

[[nodiscard]] nlohmann::json to_json(const Step& step);
[[nodiscard]] nlohmann::json to_json(const Gate& gate);

/// The steps drawn with tinytorch/charts.hpp: each model's cumulative speed-ups with their
/// intervals (log scale), and the CNN's accuracy against latency per image (the Pareto front).
[[nodiscard]] std::string chart(const std::vector<Step>& steps);

/// The bytes of `file` after deflate (zlib, level 9): the size a model ships at. Throws naming the
/// file when it cannot be read.
[[nodiscard]] std::int64_t compressed_size(const std::filesystem::path& file);

}  // namespace milestones::olympics
