#pragma once
// Module 20's sessions over the models the milestones saved (framework-owned: the student writes
// the session's predict, the framework reads the files). A model folder is what a training
// milestone leaves in .tito/milestones/<id>/: config.json and model.safetensors (float32), plus
// model.int8.safetensors when module 17's QuantizedModel was saved next to them (int8).
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "tinytorch/inference.hpp"

namespace milestones {

struct LoadedSession {
  tinytorch::serve::InferenceSession session;
  std::string milestone;           // config.json's "milestone": mnist, mnist-cnn or cifar10
  nlohmann::json config;           // config.json as saved
  std::filesystem::path weights;   // the file the weights came from
  std::uintmax_t model_bytes = 0;  // its size on disk
};

/// The milestone whose text model tinytorch-serve serves on POST /v1/generate.
inline constexpr const char* kTextMilestone = "tinygpt";

/// Which milestone's model dir holds, from dir/config.json's "milestone": "mnist", "mnist-cnn",
/// "cifar10" (tensor models, load_inference_session) or "tinygpt" (the text model,
/// load_gpt_model; its first saves, without "milestone", too). A missing folder or config, a
/// malformed one, or another milestone: std::runtime_error naming the file, what is wrong and what
/// to run to (re)create it.
[[nodiscard]] std::string saved_model_milestone(const std::filesystem::path& dir);

/// The int8 model's file in a model folder: dir/model.int8.safetensors.
[[nodiscard]] std::filesystem::path int8_model_file(const std::filesystem::path& dir);

/// Reads dir/config.json to learn which milestone's net it is, then the weights of `precision`,
/// and returns a session over them (not yet warmed up). A missing folder, config or weights file,
/// a malformed or truncated one, a net this program does not know, or tinygpt's text model (which
/// takes prompts: TextGenerator serves it): std::runtime_error naming the file, what is wrong and
/// what to run to (re)create it.
[[nodiscard]] LoadedSession load_inference_session(const std::filesystem::path& dir,
                                                   tinytorch::serve::Precision precision);

}  // namespace milestones
