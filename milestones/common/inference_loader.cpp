#include "inference_loader.hpp"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>
#include <utility>

#include "saved_model.hpp"

namespace milestones {
namespace fs = std::filesystem;
using tinytorch::serve::InferenceSession;
using tinytorch::serve::Precision;

std::string saved_model_milestone(const fs::path& dir) {
  const fs::path file = dir / "config.json";
  if (!fs::is_directory(dir)) {
    throw std::runtime_error(fmt::format(
        "model folder {} does not exist; train a model first (`tito milestone run mnist`, "
        "mnist-cnn, cifar10 or tinygpt save theirs to .tito/milestones/<id>/)",
        dir.string()));
  }
  std::ifstream in(file);
  if (!in) {
    throw std::runtime_error(fmt::format(
        "{}: missing, so {} holds no complete saved model; run the milestone that trains it "
        "(`tito milestone run mnist`, mnist-cnn, cifar10 or tinygpt) again",
        file.string(), dir.string()));
  }
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format(
        "{}: malformed ({}); run the milestone that trained it again", file.string(), e.what()));
  }
  // tinygpt's first saves had no "milestone"; a GPT config ("model") identifies them, as
  // load_gpt_model reads them.
  const std::string milestone =
      config.is_object()
          ? config.value("milestone",
                         config.contains("model") ? std::string(kTextMilestone) : std::string())
          : std::string();
  if (milestone == kTextMilestone) return milestone;
  for (const auto& id : saved_model_milestones()) {
    if (id == milestone) return milestone;
  }
  throw std::runtime_error(fmt::format(
      "{}: names milestone '{}', which saves no servable model (mnist, mnist-cnn, cifar10 and "
      "tinygpt do)",
      file.string(), milestone));
}

fs::path int8_model_file(const fs::path& dir) {
  return dir / "model.int8.safetensors";
}

LoadedSession load_inference_session(const fs::path& dir, Precision precision) {
  const std::string milestone = saved_model_milestone(dir);
  if (milestone == kTextMilestone) {
    throw std::runtime_error(
        fmt::format("{} holds the tinygpt model, a text model: it takes a prompt, not tensors; "
                    "`tinytorch-serve --model-dir {}` serves it on POST /v1/generate",
                    dir.string(), dir.string()));
  }
  SavedModel saved = load_milestone_model(milestone, dir);  // the float model and its config
  if (precision == Precision::float32) {
    const fs::path weights = dir / "model.safetensors";
    return {InferenceSession(saved.model, milestone_input_shape(milestone)), milestone,
            std::move(saved.config), weights, fs::file_size(weights)};
  }
  const fs::path weights = int8_model_file(dir);
  if (!fs::exists(weights)) {
    throw std::runtime_error(fmt::format(
        "no int8 model: {} does not exist; `tito milestone run olympics` saves the int8 model "
        "it measured there (or save one with module 17's "
        "quant::QuantizedModel::from_float(model, calibration_batches).save(path)), or serve the "
        "float model (--precision float32)",
        weights.string()));
  }
  // QuantizedModel::load names the file and the fault of a truncated or malformed one.
  return {InferenceSession(tinytorch::quant::QuantizedModel::load(weights),
                           milestone_input_shape(milestone)),
          milestone, std::move(saved.config), weights, fs::file_size(weights)};
}

}  // namespace milestones
