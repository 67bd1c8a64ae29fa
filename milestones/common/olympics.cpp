#include "olympics.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "tinytorch/charts.hpp"

namespace milestones::olympics {

namespace {

std::string percent(double fraction) {
  return fmt::format("{:.2f}%", 100.0 * fraction);
}

std::string interval_text(const tinytorch::bench::Interval& i) {
  return fmt::format("{:.1f}x [{:.1f}, {:.1f}]", i.estimate, i.low, i.high);
}

std::string bytes_text(std::int64_t bytes) {
  if (bytes >= 1024 * 1024) return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / 1048576);
  return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
}

std::string seconds_text(double seconds) {
  if (seconds >= 1.0) return fmt::format("{:.2f} s", seconds);
  if (seconds >= 1e-3) return fmt::format("{:.2f} ms", seconds * 1e3);
  return fmt::format("{:.1f} us", seconds * 1e6);
}

Gate speedup_gate(const std::string& name, const std::string& what,
                  const tinytorch::bench::Interval& speedup) {
  return {name,
          fmt::format("{} >= {:.0f}x faster than the naive baseline (lower end of the 95% "
                      "bootstrap interval)",
                      what, kMinSpeedup),
          speedup.low >= kMinSpeedup, interval_text(speedup)};
}

}  // namespace

std::vector<Gate> judge(const VerdictInputs& in) {
  std::vector<Gate> gates;
  gates.push_back({"scope",
                   fmt::format("the whole CIFAR-10 test set ({} images) and {} generated tokens",
                               kFullTestSet, kGateTokens),
                   in.test_images == kFullTestSet && in.tokens >= kGateTokens,
                   fmt::format("{} test images, {} tokens", in.test_images, in.tokens)});
  const double drop = in.float_accuracy - in.final_accuracy;
  gates.push_back(
      {"accuracy", "the optimised CNN's accuracy within 1 point of the float32 model's",
       std::abs(drop) <= kMaxAccuracyDrop + 1e-12,
       fmt::format("float32 {}, optimised {} ({:+.2f} points)", percent(in.float_accuracy),
                   percent(in.final_accuracy), -100.0 * drop)});
  gates.push_back({"tokens", "greedy tokens of the cached GPT identical to the naive baseline's",
                   in.tokens_identical, in.tokens_identical ? "identical" : "they differ"});
  gates.push_back(speedup_gate("gpt speed", fmt::format("tinygpt generating {} tokens", in.tokens),
                               in.gpt_speedup));
  gates.push_back(speedup_gate("cnn speed", "CNN inference on the test images", in.cnn_speedup));
  const double fraction =
      in.float_bytes > 0 ? static_cast<double>(in.final_bytes) / static_cast<double>(in.float_bytes)
                         : 1.0;
  gates.push_back({"size", "the optimised CNN's file <= 25% of the float32 one's (both deflated)",
                   in.float_bytes > 0 && fraction <= kMaxSizeFraction,
                   fmt::format("{} of {} = {}", bytes_text(in.final_bytes),
                               bytes_text(in.float_bytes), percent(fraction))});
  return gates;
}

bool all_passed(const std::vector<Gate>& gates) {
  return !gates.empty() &&
         std::all_of(gates.begin(), gates.end(), [](const Gate& g) { return g.passed; });
}

std::string format_table(const std::vector<Step>& steps) {
  std::string text = fmt::format("  {:<8} {:<15} {:>16} {:>22} {:>10} {:>22}\n", "model", "step",
                                 "accuracy", "latency (median)", "size", "speed-up [95% CI]");
  for (const Step& s : steps) {
    const std::string accuracy =
        s.accuracy ? fmt::format("{} /{}", percent(*s.accuracy), s.accuracy_count) : "-";
    text += fmt::format("  {:<8} {:<15} {:>16} {:>22} {:>10} {:>22}\n", s.model, s.name, accuracy,
                        fmt::format("{} / {}", seconds_text(s.latency_seconds), s.unit),
                        bytes_text(s.size_bytes), interval_text(s.speedup));
    text += fmt::format("  {:<8} {:<15} {}\n", "", "", s.what);
    if (!s.note.empty()) text += fmt::format("  {:<8} {:<15} {}\n", "", "", s.note);
  }
  return text;
}

std::string format_gates(const std::vector<Gate>& gates) {
  std::string text;
  for (const Gate& g : gates) {
    text +=
        fmt::format("  [{}] {}: {} ({})\n", g.passed ? "pass" : "FAIL", g.name, g.rule, g.detail);
  }
  return text;
}

nlohmann::json to_json(const Step& s) {
  nlohmann::json j = {{"model", s.model},
                      {"step", s.name},
                      {"what", s.what},
                      {"latency_seconds", s.latency_seconds},
                      {"unit", s.unit},
                      {"size_bytes_deflated", s.size_bytes},
                      {"size_bytes", s.raw_bytes},
                      {"speedup",
                       {{"estimate", s.speedup.estimate},
                        {"low", s.speedup.low},
                        {"high", s.speedup.high},
                        {"level", s.speedup.level}}},
                      {"note", s.note}};
  j["accuracy"] = s.accuracy ? nlohmann::json(*s.accuracy) : nlohmann::json(nullptr);
  j["accuracy_images"] = s.accuracy_count;
  return j;
}

nlohmann::json to_json(const Gate& g) {
  return {{"name", g.name}, {"rule", g.rule}, {"passed", g.passed}, {"detail", g.detail}};
}

std::string chart(const std::vector<Step>& steps) {
  namespace charts = tinytorch::charts;
  std::vector<std::string> panels;
  for (const std::string model : {"cifar10", "tinygpt"}) {
    std::vector<charts::Bar> bars;
    for (const Step& s : steps) {
      if (s.model != model) continue;
      bars.push_back({s.name, s.speedup.estimate, s.speedup.low, s.speedup.high});
    }
    if (bars.empty()) continue;
    panels.push_back(charts::bar_chart(
        {.title = fmt::format("{}: cumulative speed-up over the naive baseline (95% CI)", model),
         .x_label = "step",
         .y_label = "speed-up (x)",
         .log_y = true},
        bars));
  }
  // Accuracy against latency only for the steps counted on the same images (the naive baseline's
  // accuracy is over its timing sample alone: another set, not a comparable point).
  std::int64_t most = 0;
  for (const Step& s : steps) {
    if (s.model == "cifar10" && s.accuracy) most = std::max(most, s.accuracy_count);
  }
  std::vector<charts::Point> points;
  std::string unit;
  for (const Step& s : steps) {
    if (s.model == "cifar10" && s.accuracy && s.accuracy_count == most) {
      points.push_back({s.name, s.latency_seconds * 1e3, 100.0 * *s.accuracy});
      unit = s.unit;
    }
  }
  if (!points.empty()) {
    panels.push_back(charts::scatter_chart(
        {.title = fmt::format("cifar10: accuracy on {} test images against latency", most),
         .x_label = fmt::format("ms per {}", unit),
         .y_label = "test accuracy (%)",
         .log_x = true},
        points, true));
  }
  return charts::side_by_side(panels);
}

std::int64_t compressed_size(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot read the model file to size it");
  const std::vector<unsigned char> bytes{std::istreambuf_iterator<char>(in),
                                         std::istreambuf_iterator<char>()};
  uLongf size = compressBound(static_cast<uLong>(bytes.size()));
  std::vector<unsigned char> out(size);
  if (compress2(out.data(), &size, bytes.data(), static_cast<uLong>(bytes.size()), 9) != Z_OK) {
    throw std::runtime_error(file.string() + ": deflate failed while sizing the model");
  }
  return static_cast<std::int64_t>(size);
}

}  // namespace milestones::olympics
