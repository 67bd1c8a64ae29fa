// Fuzz target: tito's course registry, the JSON files every command reads first
// (tito/core/course.cpp, tito/core/milestones.cpp): modules/02_tensor/module.json,
// checkpoints/checkpoints.json and milestones/milestones.json, and a milestone's result file
// .tito/milestones/<id>.json. Input: [module.json length: u32 LE][module.json]
// [checkpoints.json length: u32 LE][checkpoints.json][milestones.json length: u32 LE]
// [milestones.json][result file]. Every rejection is a TitoError naming the file.
#include "core/course.hpp"
#include "core/errors.hpp"
#include "core/milestones.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string_view module_json = fuzz::take(input, fuzz::take_u32(input));
  const std::string_view checkpoints_json = fuzz::take(input, fuzz::take_u32(input));
  const std::string_view milestones_json = fuzz::take(input, fuzz::take_u32(input));
  const std::string_view result_json = input;

  const fuzz::fs::path root = fuzz::scratch_dir();
  const fuzz::fs::path module_file = root / "modules" / "02_tensor" / "module.json";
  const fuzz::fs::path checkpoints_file = root / "checkpoints" / "checkpoints.json";
  const fuzz::fs::path milestones_file = root / "milestones" / "milestones.json";
  const fuzz::fs::path result_file = root / ".tito" / "milestones" / "result.json";
  fuzz::write_file(root / "CMakePresets.json", "{}");
  fuzz::write_file(module_file, module_json);
  fuzz::write_file(checkpoints_file, checkpoints_json);
  fuzz::write_file(milestones_file, milestones_json);
  fuzz::write_file(result_file, result_json);

  const tito::MilestoneResult result = tito::read_milestone_result(result_file);
  if (result.state == tito::MilestoneResult::State::unreadable) {
    fuzz::require_names(result.problem, {result_file});
  }
  try {
    const tito::Course course = tito::Course::load(root);
    try {
      for (const auto& c : course.checkpoints()) (void)course.find_checkpoint(c.id);
    } catch (const tito::TitoError& e) {
      fuzz::require_names(e.what(), {checkpoints_file});
    }
    (void)tito::load_milestones(course);
  } catch (const tito::TitoError& e) {
    fuzz::require_names(e.what(), {module_file, milestones_file});
  }
  return 0;
}
