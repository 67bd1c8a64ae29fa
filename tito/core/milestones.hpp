#pragma once
// The milestone registry, milestones/milestones.json: {"milestones": [{"id", "title", "year",
// "after", "requires": [module dirs], "parts": [{"id", "title", "requires"}] (optional), "dataset",
// "gate", "program", "info"}]}, and the result file
// each milestone program writes, .tito/milestones/<id>.json. Both are outside input (hand-edited,
// half-written by a killed run): every malformed file is a TitoError naming it, never a crash.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/course.hpp"

namespace tito {

/// One part of a milestone in parts (XOR by hand after module 06, with autograd after 07): the
/// program runs the parts it is given (--parts a,b); tito gives the ones whose modules are
/// complete.
struct MilestonePart {
  std::string id;
  std::string title;
  std::vector<std::string> requires_modules;
};

struct Milestone {
  std::string id;
  std::string title;
  int year = 0;
  std::string after;
  std::vector<std::string> requires_modules;  // what the first part (or the whole) needs
  std::vector<MilestonePart> parts;           // empty: one program, no parts
  std::string dataset;                        // empty: none
  std::string gate;
  std::string program;
  std::string info;
};

[[nodiscard]] fs::path milestone_registry_file(const Course& course);
/// Every milestone of the registry; throws TitoError naming the file and the entry at fault.
[[nodiscard]] std::vector<Milestone> load_milestones(const Course& course);

/// The last result of a milestone run, as `tito milestone status` shows it.
struct MilestoneResult {
  enum class State { never_run, unreadable, ok };
  State state = State::never_run;
  std::string problem;  // why it is unreadable, naming the file
  bool passed = false;
  bool interrupted = false;
  std::string finished_at;
  std::string library = "unknown";
  std::vector<std::string> parts;  // the parts the run covered (settings.parts); empty: no parts
  double wall_seconds = 0;
  std::vector<fs::path> charts;  // the run's SVG pictures that still exist (result's "charts")
  nlohmann::json final_metrics = nlohmann::json::object();
};

/// Reads a result file; a missing file is never_run, a malformed one unreadable (never a throw).
[[nodiscard]] MilestoneResult read_milestone_result(const fs::path& file);

}  // namespace tito
