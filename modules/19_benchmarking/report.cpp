// Framework-owned: the JSON report, shaped like Google Benchmark's (--benchmark_format=json): a
// "context" naming the machine, then one object per benchmark. Students use to_json(); they do not
// write it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tinytorch/benchmarking.hpp"
#include "tinytorch/profiler.hpp"

namespace tinytorch::bench {

namespace {

using nlohmann::json;

json interval_json(const Interval& ci) {
  return {{"low", ci.low}, {"estimate", ci.estimate}, {"high", ci.high}, {"level", ci.level}};
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json measurement_json(const Measurement& m) {
  const Summary& s = m.summary;
  return {{"name", m.name},
          {"time_unit", "s"},
          {"warmup", m.warmup},
          {"repeats", static_cast<std::int64_t>(m.seconds.size())},
          {"stop", to_string(m.stop)},
          {"median", s.median},
          {"q1", s.q1},
          {"q3", s.q3},
          {"iqr", s.iqr},
          {"mean", s.mean},
          {"min", s.min},
          {"max", s.max},
          {"outliers",
           {{"low", s.outliers.low},
            {"high", s.outliers.high},
            {"low_fence", s.outliers.low_fence},
            {"high_fence", s.outliers.high_fence}}},
          {"median_ci", interval_json(m.median_ci)},
          {"samples", m.seconds}};
}

}  // namespace

std::string to_json(const Machine& machine, const std::vector<Measurement>& results,
                    const std::vector<Comparison>& comparisons) {
  json doc;
  doc["context"] = {{"date", utc_now()},
                    {"cpu_model", machine.cpu_model},
                    {"threads", machine.threads},
                    {"kernel_threads", machine.kernel_threads},
                    {"blas", machine.blas},
                    {"compiler", machine.compiler},
                    {"build_type", machine.build_type}};
  doc["benchmarks"] = json::array();
  for (const Measurement& m : results) doc["benchmarks"].push_back(measurement_json(m));
  doc["comparisons"] = json::array();
  for (const Comparison& c : comparisons) {
    doc["comparisons"].push_back({{"baseline", c.baseline},
                                  {"candidate", c.candidate},
                                  {"speedup", interval_json(c.speedup)},
                                  {"resamples", c.resamples},
                                  {"seed", c.seed}});
  }
  return doc.dump(2);
}

namespace {

// printf into a std::string: the table's columns are fixed-width numbers.
template <class... Args>
std::string format(const char* pattern, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, pattern, args...);
  return buf;
}

std::string display_name(const LayerProfile& p) {
  const std::string name = p.name.empty() ? "(model)" : p.name;
  return std::string(static_cast<std::size_t>(2 * p.depth), ' ') + name;
}

}  // namespace

std::string profile_table(const std::vector<LayerProfile>& layers) {
  double total = 0.0;
  std::size_t width = 5;  // "layer"
  for (const LayerProfile& p : layers) {
    total += p.total_seconds();
    width = std::max(width, display_name(p).size());
  }
  const int w = static_cast<int>(width);
  std::string out =
      format("%-*s %-12s %6s %10s %10s %10s %6s %10s %8s %10s %10s\n", w, "layer", "type", "calls",
             "fwd ms", "bwd ms", "total ms", "%", "MMAC", "GMAC/s", "param KiB", "act KiB");
  for (const LayerProfile& p : layers) {
    const double share = total > 0.0 ? 100.0 * p.total_seconds() / total : 0.0;
    // Multiply-adds per second of the forward pass: how near the machine's speed the layer runs.
    const std::string rate =
        p.macs > 0 && p.forward_seconds > 0.0
            ? format("%8.2f", static_cast<double>(p.macs) / p.forward_seconds / 1e9)
            : format("%8s", "-");
    out += format("%-*s %-12s %6lld %10.3f %10.3f %10.3f %6.1f %10.2f %s %10.1f %10.1f\n", w,
                  display_name(p).c_str(), p.type.c_str(), static_cast<long long>(p.calls),
                  1e3 * p.forward_seconds, 1e3 * p.backward_seconds, 1e3 * p.total_seconds(), share,
                  static_cast<double>(p.macs) / 1e6, rate.c_str(),
                  static_cast<double>(p.parameter_bytes) / 1024.0,
                  static_cast<double>(p.activation_bytes) / 1024.0);
  }
  out += format("%-*s %-12s %6s %10s %10s %10.3f\n", w, "total", "", "", "", "", 1e3 * total);
  return out;
}

std::string profile_to_json(const std::vector<LayerProfile>& layers) {
  json doc = json::array();
  for (const LayerProfile& p : layers) {
    doc.push_back({{"name", p.name},
                   {"type", p.type},
                   {"depth", p.depth},
                   {"calls", p.calls},
                   {"forward_seconds", p.forward_seconds},
                   {"backward_seconds", p.backward_seconds},
                   {"backward_nodes", p.backward_nodes},
                   {"total_seconds", p.total_seconds()},
                   {"macs", p.macs},
                   {"parameter_bytes", p.parameter_bytes},
                   {"activation_bytes", p.activation_bytes}});
  }
  return doc.dump(2);
}

}  // namespace tinytorch::bench
