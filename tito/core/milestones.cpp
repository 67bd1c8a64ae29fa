#include "core/milestones.hpp"

#include <fmt/core.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/errors.hpp"
#include "core/json_file.hpp"

namespace tito {

namespace {

using nlohmann::json;

/// A field that must be a string; a json::exception (caught by the caller, who names the file).
std::string text_field(const json& entry, const char* key) {
  return entry.at(key).get<std::string>();
}

std::vector<MilestonePart> parse_parts(const json& m) {
  std::vector<MilestonePart> parts;
  if (!m.contains("parts")) return parts;
  for (const json& p : m.at("parts")) {
    if (!p.is_object()) throw std::invalid_argument("every part must be an object");
    parts.push_back({text_field(p, "id"), p.value("title", ""),
                     p.at("requires").get<std::vector<std::string>>()});
  }
  if (parts.size() == 1) throw std::invalid_argument("\"parts\" needs two parts or none");
  return parts;
}

Milestone parse_milestone(const json& m) {
  if (!m.is_object()) throw std::invalid_argument("every entry must be an object");
  const json& dataset = m.at("dataset");
  Milestone milestone{text_field(m, "id"),
                      text_field(m, "title"),
                      int_field(m, "year"),
                      m.value("after", ""),
                      m.at("requires").get<std::vector<std::string>>(),
                      parse_parts(m),
                      dataset.is_null() ? "" : dataset.get<std::string>(),
                      text_field(m, "gate"),
                      text_field(m, "program"),
                      m.value("info", "")};
  if (!milestone.parts.empty() &&
      milestone.parts.front().requires_modules != milestone.requires_modules) {
    throw std::invalid_argument(fmt::format(
        "milestone '{}': \"requires\" must list what its first part requires", milestone.id));
  }
  return milestone;
}

/// Every module a milestone names, in its requires and in its parts'.
std::vector<std::string> named_modules(const Milestone& m) {
  std::vector<std::string> all = m.requires_modules;
  for (const auto& part : m.parts) {
    all.insert(all.end(), part.requires_modules.begin(), part.requires_modules.end());
  }
  return all;
}

}  // namespace

fs::path milestone_registry_file(const Course& course) {
  return course.root() / "milestones" / "milestones.json";
}

std::vector<Milestone> load_milestones(const Course& course) {
  const fs::path file = milestone_registry_file(course);
  const json doc = read_json_file(file);
  std::vector<Milestone> list;
  try {
    if (!doc.is_object() || !doc.contains("milestones") || !doc.at("milestones").is_array()) {
      throw std::invalid_argument("expected an object with a \"milestones\" array");
    }
    for (const json& m : doc.at("milestones")) {
      Milestone milestone = parse_milestone(m);
      for (const auto& dir : named_modules(milestone)) {
        if (course.find_module(dir) == nullptr) {
          throw std::invalid_argument(fmt::format(
              "milestone '{}' requires '{}', which is not a module", milestone.id, dir));
        }
      }
      list.push_back(std::move(milestone));
    }
  } catch (const json::exception& e) {
    throw TitoError(fmt::format("{}: malformed milestone registry ({})", file.string(), e.what()));
  } catch (const std::invalid_argument& e) {
    throw TitoError(fmt::format("{}: malformed milestone registry: {}", file.string(), e.what()));
  }
  return list;
}

MilestoneResult read_milestone_result(const fs::path& file) {
  MilestoneResult result;
  std::ifstream in(file);
  if (!in) return result;  // never run
  const auto unreadable = [&](const std::string& why) {
    result.state = MilestoneResult::State::unreadable;
    result.problem =
        why.rfind(file.string(), 0) == 0 ? why : fmt::format("{}: {}", file.string(), why);
    return result;
  };
  std::stringstream text;
  text << in.rdbuf();
  json doc;
  try {
    doc = parse_json_text(text.str(), file);
  } catch (const TitoError& e) {
    return unreadable(fmt::format("{} (a run cut short?)", e.what()));
  }
  if (!doc.is_object() || !doc.contains("gate") || !doc.at("gate").is_object() ||
      !doc.at("gate").contains("passed") || !doc.at("gate").at("passed").is_boolean()) {
    return unreadable("no \"gate\": {\"passed\": true|false}");
  }
  result.passed = doc.at("gate").at("passed").get<bool>();
  const auto optional = [&](const char* key, auto fallback, auto is_type) {
    return doc.contains(key) && is_type(doc.at(key)) ? doc.at(key).get<decltype(fallback)>()
                                                     : fallback;
  };
  const auto is_string = [](const json& j) { return j.is_string(); };
  result.finished_at = optional("finished_at", std::string(), is_string);
  result.library = optional("library", std::string("unknown"), is_string);
  result.wall_seconds = optional("wall_seconds", 0.0, [](const json& j) { return j.is_number(); });
  result.interrupted = optional("interrupted", false, [](const json& j) { return j.is_boolean(); });
  if (doc.contains("final") && doc.at("final").is_object()) result.final_metrics = doc.at("final");
  if (doc.contains("settings") && doc.at("settings").is_object()) {
    for (const json& part : doc.at("settings").value("parts", json::array())) {
      if (part.is_string()) result.parts.push_back(part.get<std::string>());
    }
  }
  // Chart names are bare file names beside the result file; anything else is not ours to name.
  for (const json& chart : doc.value("charts", json::array())) {
    if (!chart.is_string()) continue;
    const fs::path name = chart.get<std::string>();
    if (name.has_parent_path() || name.extension() != ".svg") continue;
    if (const fs::path path = file.parent_path() / name; fs::exists(path)) {
      result.charts.push_back(path);
    }
  }
  result.state = MilestoneResult::State::ok;
  return result;
}

}  // namespace tito
