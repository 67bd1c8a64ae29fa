#pragma once
// The trained models the milestones leave behind, and the one way to read them back. mnist,
// mnist-cnn and cifar10 save their model to .tito/milestones/<id>/ (model.safetensors: the
// parameters and buffers under their dotted names; config.json: which milestone and net, the
// input shape, how it was trained), as tinygpt does, so later modules (17 precision, 18
// compression) load it instead of training again. Framework-owned: the nets are built here, so the
// milestone that trains a model and the program that loads it cannot disagree on its shape.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tinytorch/layers.hpp"
#include "tinytorch/random.hpp"
#include "tinytorch/tokenization.hpp"
#include "tinytorch/transformers.hpp"

namespace milestones {

class Run;

/// The milestones whose trained model is saved: "mnist", "mnist-cnn", "cifar10".
[[nodiscard]] const std::vector<std::string>& saved_model_milestones();

/// The net of a milestone, freshly initialised from generator (the milestone trains it).
/// mnist: Linear(784, 128) ReLU Linear(128, 64) ReLU Linear(64, 10), inputs (N, 784).
/// mnist-cnn: Conv2d(1, 16, 5, pad 2) BN ReLU MaxPool2d(2) Conv2d(16, 32, 5) BN ReLU MaxPool2d(2)
///            Flatten Linear(800, 120) ReLU Linear(120, 84) ReLU Linear(84, 10), inputs (N, 1, 28,
///            28).
/// cifar10: 3 x [Conv2d 3x3 pad 1 (no bias) MaxPool2d(2) BatchNorm2d ReLU], channels 32, 64, 128,
///          Flatten Linear(2048, 10), inputs (N, 3, 32, 32).
/// Throws std::invalid_argument for another id, naming the valid ones.
[[nodiscard]] std::shared_ptr<tinytorch::nn::Sequential> make_milestone_net(
    const std::string& milestone, tinytorch::Generator& generator);

/// The shape of one input sample of the milestone's net: {784}, {1, 28, 28} or {3, 32, 32}.
[[nodiscard]] tinytorch::Shape milestone_input_shape(const std::string& milestone);

/// .tito/milestones/<id>, relative to the working directory (tito runs milestones from the course
/// root).
[[nodiscard]] std::filesystem::path default_model_dir(const std::string& milestone);

/// Writes dir/model.safetensors, then dir/config.json (milestone, model description, input shape,
/// and `training`: accuracy, epochs, ...). config.json is written last, atomically, so its presence
/// marks a complete save.
void save_milestone_model(const std::filesystem::path& dir, const std::string& milestone,
                          const tinytorch::nn::Module& model, nlohmann::json training);

/// The end of a training milestone: saves `model` to --model-dir (default_model_dir otherwise) with
/// `training` and the run's seed, and tells the student where it went.
void save_trained_model(const Run& run, const std::string& milestone,
                        const tinytorch::nn::Module& model, nlohmann::json training);

struct SavedModel {
  std::shared_ptr<tinytorch::nn::Sequential> model;  // in eval mode
  nlohmann::json config;                             // config.json as saved
  std::filesystem::path dir;
};

/// Loads the model that `tito milestone run <milestone>` saved in dir. A missing, truncated or
/// malformed file, or the model of another milestone, throws std::runtime_error naming the file,
/// what is wrong and the milestone to run to (re)create it.
[[nodiscard]] SavedModel load_milestone_model(const std::string& milestone,
                                              const std::filesystem::path& dir);
[[nodiscard]] inline SavedModel load_milestone_model(const std::string& milestone) {
  return load_milestone_model(milestone, default_model_dir(milestone));
}

// ---- tinygpt's model: a GPT and its tokenizer
// ----------------------------------------------------

/// A GPTConfig as config.json's "model" holds it.
[[nodiscard]] nlohmann::json gpt_config_json(const tinytorch::nn::GPTConfig& config);

/// Writes dir/model.safetensors (the GPT's named parameters), dir/tokenizer.json, then
/// dir/config.json ({"format", "milestone": "tinygpt", "model": the GPTConfig, "training"}),
/// written last and atomically so that its presence marks a complete save.
void save_gpt_model(const std::filesystem::path& dir, const tinytorch::nn::GPT& model,
                    const tinytorch::text::CharTokenizer& tokenizer, nlohmann::json training);

struct SavedGPT {
  std::shared_ptr<tinytorch::nn::GPT> model;  // in eval mode
  tinytorch::text::CharTokenizer tokenizer;
  nlohmann::json config;  // config.json as saved
  std::filesystem::path dir;
};

/// Loads what save_gpt_model wrote (tinygpt's saves from before "milestone" was recorded are read
/// too). A missing, truncated or malformed file, a tokenizer that does not fit the model, or the
/// model of another milestone throws std::runtime_error naming the file, what is wrong and
/// `tito milestone run tinygpt`.
[[nodiscard]] SavedGPT load_gpt_model(const std::filesystem::path& dir);

}  // namespace milestones
