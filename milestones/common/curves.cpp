#include "curves.hpp"

#include <map>
#include <set>
#include <vector>

#include "tinytorch/charts.hpp"

namespace milestones {
namespace {

namespace charts = tinytorch::charts;

// The unit a record counts in: the first of these keys it holds.
std::optional<std::string> unit_of(const nlohmann::json& record) {
  for (const char* unit : {"epoch", "step"}) {
    if (record.contains(unit) && record.at(unit).is_number()) return unit;
  }
  return std::nullopt;
}

// "by-hand, two-layer MLP": the record's string fields, which tell its part or model apart.
std::string prefix_of(const nlohmann::json& record) {
  std::string prefix;
  for (const auto& [key, value] : record.items()) {
    if (value.is_string()) prefix += (prefix.empty() ? "" : ", ") + value.get<std::string>();
  }
  return prefix;
}

// The lines of one panel, in the order their first point appears. A line is named by its
// record's prefix, plus the metric when the panel holds several (train_loss and val_loss).
std::vector<charts::Series> panel(const nlohmann::json& records, const std::string& kind) {
  std::set<std::string> metrics;
  for (const nlohmann::json& record : records) {
    if (!record.is_object() || !unit_of(record)) continue;
    for (const auto& [key, value] : record.items()) {
      if (key.find(kind) != std::string::npos && value.is_number()) metrics.insert(key);
    }
  }
  std::vector<charts::Series> lines;
  std::map<std::string, std::size_t> index;
  for (const nlohmann::json& record : records) {
    const auto unit = record.is_object() ? unit_of(record) : std::nullopt;
    if (!unit) continue;
    const std::string prefix = prefix_of(record);
    for (const std::string& metric : metrics) {
      if (!record.contains(metric) || !record.at(metric).is_number()) continue;
      std::string name = prefix;
      if (metrics.size() > 1 || name.empty()) name += (name.empty() ? "" : ": ") + metric;
      auto [at, added] = index.try_emplace(name, lines.size());
      if (added) lines.push_back({name, {}, {}});
      lines[at->second].x.push_back(record.at(*unit).get<double>());
      lines[at->second].y.push_back(record.at(metric).get<double>());
    }
  }
  return lines;
}

}  // namespace

std::optional<std::string> training_curves_svg(const nlohmann::json& records,
                                               const std::string& title) {
  if (!records.is_array()) return std::nullopt;
  std::string unit = "epoch";
  for (const nlohmann::json& record : records) {
    if (auto u = record.is_object() ? unit_of(record) : std::nullopt) {
      unit = *u;
      break;
    }
  }
  std::vector<std::string> panels;
  for (const char* kind : {"loss", "accuracy"}) {
    const std::vector<charts::Series> lines = panel(records, kind);
    if (lines.empty()) continue;
    panels.push_back(charts::line_chart({title + ": " + kind + " by " + unit, unit, kind}, lines));
  }
  if (panels.empty()) return std::nullopt;
  return panels.size() == 1 ? panels.front() : charts::side_by_side(panels);
}

}  // namespace milestones
