// Framework-owned: the JSON report, shaped like Google Benchmark's (--benchmark_format=json): a
// "context" naming the machine, then one object per benchmark. Students use to_json(); they do not
// write it.
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tinytorch/benchmarking.hpp"

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

}  // namespace tinytorch::bench
