#include "saved_model.hpp"

#include "run.hpp"

#include <fmt/format.h>

#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <utility>

#include "tinytorch/atomic_file.hpp"
#include "tinytorch/spatial.hpp"
#include "tinytorch/training.hpp"

namespace milestones {
namespace fs = std::filesystem;
using namespace tinytorch;  // NOLINT(google-build-using-namespace): the nets read as in PyTorch

namespace {

constexpr int kFormat = 1;  // config.json's "format": bumped when what is saved changes

// The expressions are the ones the milestones used before the nets moved here, argument order
// included, so a given seed initialises (and trains) exactly the same model.
std::shared_ptr<nn::Sequential> mnist_mlp(Generator& generator) {
  return std::make_shared<nn::Sequential>(
      nn::Linear(784, 128, true, nn::Init::kaiming_uniform, generator), nn::ReLU(),
      nn::Linear(128, 64, true, nn::Init::kaiming_uniform, generator), nn::ReLU(),
      nn::Linear(64, 10, true, nn::Init::kaiming_uniform, generator));
}

// 1 x 28 x 28 -> 16 x 28 x 28 -> 16 x 14 x 14 -> 32 x 10 x 10 -> 32 x 5 x 5 = 800 features.
std::shared_ptr<nn::Sequential> mnist_cnn(Generator& generator) {
  return std::make_shared<nn::Sequential>(
      nn::Conv2d(1, 16, 5, 1, 2, false, generator), nn::BatchNorm2d(16), nn::ReLU(),
      nn::MaxPool2d(2), nn::Conv2d(16, 32, 5, 1, 0, false, generator), nn::BatchNorm2d(32),
      nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
      nn::Linear(800, 120, true, nn::Init::kaiming_uniform, generator), nn::ReLU(),
      nn::Linear(120, 84, true, nn::Init::kaiming_uniform, generator), nn::ReLU(),
      nn::Linear(84, 10, true, nn::Init::kaiming_uniform, generator));
}

// Three stages of conv 3 x 3 -> max-pool 2 -> batch norm -> ReLU, channels 32, 64, 128 and
// resolution 32 -> 16 -> 8 -> 4, then one linear layer on the 128 x 4 x 4 map. Pooling before the
// normalisation (as in Keller Jordan's airbench) normalises a quarter of the values for the same
// result, since ReLU and a positive-scale normalisation commute with the max. The convolutions
// have no bias: the batch norm's shift would cancel it. About 10.4 M multiply-adds per image.
std::shared_ptr<nn::Sequential> cifar10_net(Generator& generator) {
  auto net = std::make_shared<nn::Sequential>();
  for (auto [in, out] : {std::pair<std::int64_t, std::int64_t>{3, 32}, {32, 64}, {64, 128}}) {
    net->push_back(std::make_shared<nn::Conv2d>(in, out, 3, 1, 1, false, generator));
    net->push_back(std::make_shared<nn::MaxPool2d>(2));
    net->push_back(std::make_shared<nn::BatchNorm2d>(out));
    net->push_back(std::make_shared<nn::ReLU>());
  }
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(
      std::make_shared<nn::Linear>(128 * 4 * 4, 10, true, nn::Init::kaiming_uniform, generator));
  return net;
}

std::string valid_ids() {
  std::string text;
  for (const auto& id : saved_model_milestones()) text += (text.empty() ? "" : ", ") + id;
  return text;
}

std::string rerun(const std::string& milestone) {
  return fmt::format("run `tito milestone run {}` to train and save it", milestone);
}

nlohmann::json read_config(const std::string& milestone, const fs::path& file) {
  std::ifstream in(file);
  if (!in) {
    throw std::runtime_error(fmt::format("{}: cannot read the saved model's config; {}",
                                         file.string(), rerun(milestone)));
  }
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(
        fmt::format("{}: malformed ({}); {} again", file.string(), e.what(), rerun(milestone)));
  }
}

// Every file a saved model needs exists, or the error names the first one missing.
void require_files(const std::string& milestone, std::initializer_list<fs::path> files) {
  for (const auto& file : files) {
    if (!fs::exists(file)) {
      throw std::runtime_error(fmt::format("no saved {} model: {} does not exist; {}", milestone,
                                           file.string(), rerun(milestone)));
    }
  }
}

// The config names the milestone that saved it ("" when it names none).
void require_owner(const std::string& milestone, const fs::path& config_file,
                   const std::string& owner) {
  if (owner == milestone) return;
  throw std::runtime_error(
      fmt::format("{}: this is the {} model, not the {} one; point at the {} model's folder, or {}",
                  config_file.string(), owner.empty() ? "an unnamed" : "'" + owner + "'", milestone,
                  milestone, rerun(milestone)));
}

void load_weights(nn::Module& model, const fs::path& weights, const std::string& milestone) {
  try {
    train::load_checkpoint(model, weights);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: the saved {} model cannot be loaded ({}); {} again",
                                         weights.string(), milestone, e.what(), rerun(milestone)));
  }
}

}  // namespace

const std::vector<std::string>& saved_model_milestones() {
  static const std::vector<std::string> ids = {"mnist", "mnist-cnn", "cifar10"};
  return ids;
}

std::shared_ptr<nn::Sequential> make_milestone_net(const std::string& milestone,
                                                   Generator& generator) {
  if (milestone == "mnist") return mnist_mlp(generator);
  if (milestone == "mnist-cnn") return mnist_cnn(generator);
  if (milestone == "cifar10") return cifar10_net(generator);
  throw std::invalid_argument(
      fmt::format("no saved-model net for milestone '{}': the milestones that save one are {}",
                  milestone, valid_ids()));
}

Shape milestone_input_shape(const std::string& milestone) {
  if (milestone == "mnist") return {784};
  if (milestone == "mnist-cnn") return {1, 28, 28};
  if (milestone == "cifar10") return {3, 32, 32};
  throw std::invalid_argument(
      fmt::format("no saved-model net for milestone '{}': the milestones that save one are {}",
                  milestone, valid_ids()));
}

fs::path default_model_dir(const std::string& milestone) {
  return fs::path(".tito") / "milestones" / milestone;
}

void save_milestone_model(const fs::path& dir, const std::string& milestone,
                          const nn::Module& model, nlohmann::json training) {
  fs::create_directories(dir);
  // A config left from an earlier run would describe the new, half-written weights: remove it
  // first, so an interrupted save reads as "no model", never as a mixed one.
  fs::remove(dir / "config.json");
  train::save_checkpoint(model, dir / "model.safetensors");
  const nlohmann::json doc = {{"format", kFormat},
                              {"milestone", milestone},
                              {"input_shape", milestone_input_shape(milestone)},
                              {"classes", 10},
                              {"training", std::move(training)}};
  // Written last and renamed into place, so a folder with a config.json holds a whole save.
  tinytorch::write_file_atomically(dir / "config.json", doc.dump(2) + "\n", "the model's config");
}

SavedModel load_milestone_model(const std::string& milestone, const fs::path& dir) {
  (void)milestone_input_shape(milestone);  // an unknown id is the caller's error: say so first
  const fs::path config_file = dir / "config.json";
  const fs::path weights = dir / "model.safetensors";
  require_files(milestone, {config_file, weights});
  SavedModel saved;
  saved.dir = dir;
  saved.config = read_config(milestone, config_file);
  const std::string owner = saved.config.value("milestone", std::string());
  require_owner(milestone, config_file, owner);
  if (saved.config.value("format", 0) != kFormat) {
    throw std::runtime_error(fmt::format("{}: saved in format {}, this program reads format {}; {}",
                                         config_file.string(), saved.config.value("format", 0),
                                         kFormat, rerun(milestone)));
  }
  Generator generator(0);  // every value is overwritten by the load
  saved.model = make_milestone_net(milestone, generator);
  load_weights(*saved.model, weights, milestone);
  saved.model->eval();
  return saved;
}

void save_trained_model(const Run& run, const std::string& milestone,
                        const tinytorch::nn::Module& model, nlohmann::json training) {
  const std::filesystem::path dir =
      run.option("--model-dir").value_or(default_model_dir(milestone).string());
  training["seed"] = run.seed();
  save_milestone_model(dir, milestone, model, std::move(training));
  run.say(fmt::format("Saved the model to {}/ (model.safetensors, config.json)", dir.string()));
}

nlohmann::json gpt_config_json(const nn::GPTConfig& c) {
  return {{"vocab_size", c.vocab_size}, {"context", c.context},       {"embed_dim", c.embed_dim},
          {"num_heads", c.num_heads},   {"num_layers", c.num_layers}, {"tied_head", c.tied_head},
          {"dropout", c.dropout}};
}

namespace {

nn::GPTConfig gpt_config_from_json(const nlohmann::json& j) {
  return nn::GPTConfig{.vocab_size = j.at("vocab_size").get<std::int64_t>(),
                       .context = j.at("context").get<std::int64_t>(),
                       .embed_dim = j.at("embed_dim").get<std::int64_t>(),
                       .num_heads = j.at("num_heads").get<std::int64_t>(),
                       .num_layers = j.at("num_layers").get<std::int64_t>(),
                       .tied_head = j.at("tied_head").get<bool>(),
                       .dropout = j.at("dropout").get<float>()};
}

}  // namespace

void save_gpt_model(const fs::path& dir, const nn::GPT& model, const text::CharTokenizer& tokenizer,
                    nlohmann::json training) {
  fs::create_directories(dir);
  fs::remove(dir / "config.json");  // as save_milestone_model: never a config over mixed files
  train::save_checkpoint(model, dir / "model.safetensors");
  tokenizer.save((dir / "tokenizer.json").string());
  const nlohmann::json doc = {{"format", kFormat},
                              {"milestone", "tinygpt"},
                              {"model", gpt_config_json(model.config)},
                              {"training", std::move(training)}};
  // Written last and renamed into place, so a folder with a config.json holds a whole save.
  tinytorch::write_file_atomically(dir / "config.json", doc.dump(2) + "\n", "the model's config");
}

SavedGPT load_gpt_model(const fs::path& dir) {
  const std::string milestone = "tinygpt";
  const fs::path config_file = dir / "config.json";
  const fs::path weights = dir / "model.safetensors";
  const fs::path tokenizer_file = dir / "tokenizer.json";
  require_files(milestone, {config_file, weights, tokenizer_file});
  SavedGPT saved;
  saved.dir = dir;
  saved.config = read_config(milestone, config_file);
  // tinygpt's first saves had no "milestone"; a GPT config ("model") identifies them.
  const std::string owner =
      saved.config.value("milestone", saved.config.contains("model") ? milestone : std::string());
  require_owner(milestone, config_file, owner);
  nn::GPTConfig config;
  try {
    config = gpt_config_from_json(saved.config.at("model"));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: the model's settings are malformed ({}); {} again",
                                         config_file.string(), e.what(), rerun(milestone)));
  }
  try {
    saved.tokenizer = text::CharTokenizer::load(tokenizer_file.string());
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: the tokenizer cannot be loaded ({}); {} again",
                                         tokenizer_file.string(), e.what(), rerun(milestone)));
  }
  if (saved.tokenizer.vocab_size() != config.vocab_size) {
    throw std::runtime_error(
        fmt::format("{}: the tokenizer has {} characters but the model {}: a mixed save; {} again",
                    tokenizer_file.string(), saved.tokenizer.vocab_size(), config.vocab_size,
                    rerun(milestone)));
  }
  Generator generator(0);  // every value is overwritten by the load
  saved.model = std::make_shared<nn::GPT>(config, generator);
  load_weights(*saved.model, weights, milestone);
  saved.model->eval();
  return saved;
}

}  // namespace milestones
