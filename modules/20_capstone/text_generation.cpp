// Serving a text model (framework-owned): the checks of a POST /v1/generate body, and one
// generation at a time through the student's module 16 generate_with_cache.
#include "tinytorch/text_generation.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>

#include "tinytorch/caching.hpp"
#include "tinytorch/serving.hpp"

namespace tinytorch::serve {

namespace {

using nlohmann::json;

constexpr const char* kFields = "prompt, max_new_tokens, temperature, top_k, seed";

// "'é' (U+00E9)", or "U+000B" alone for a character that does not print.
std::string describe(char32_t cp) {
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
  if (cp < 0x20 || cp == 0x7F) return code;
  return "'" + text::encode_utf8(std::u32string(1, cp)) + "' (" + code + ")";
}

// A prompt character the tokenizer cannot encode is the client's fault: name it, its position and
// what the model does know (a character model's vocabulary is short enough to show).
void check_vocabulary(const std::u32string& prompt, const text::CharTokenizer& tokenizer) {
  if (tokenizer.policy() == text::UnknownPolicy::map_to_unk) return;  // becomes unk_id()
  const std::u32string& known = tokenizer.vocabulary();               // sorted
  for (std::size_t i = 0; i < prompt.size(); ++i) {
    if (std::binary_search(known.begin(), known.end(), prompt[i])) continue;
    std::string message = "prompt: character " + describe(prompt[i]) + " at position " +
                          std::to_string(i) + " is not in the model's vocabulary of " +
                          std::to_string(known.size()) +
                          " characters; send only characters it was trained on";
    if (known.size() <= 256) {
      message += ": " + json(text::encode_utf8(known)).dump();
    }
    throw InvalidRequest(message);
  }
}

// An integer field in [low, high]; the message says which field and what to send.
std::int64_t integer_field(const json& doc, const char* field, std::int64_t low, std::int64_t high,
                           std::int64_t fallback) {
  if (!doc.contains(field)) return fallback;
  const json& value = doc.at(field);
  const std::string range =
      "an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]";
  if (!value.is_number_integer()) {
    throw InvalidRequest(std::string(field) + " is " + value.type_name() + " (" + value.dump() +
                         "); send " + range);
  }
  const bool in_range = value.is_number_unsigned()
                            ? value.get<std::uint64_t>() <= static_cast<std::uint64_t>(high) &&
                                  static_cast<std::int64_t>(value.get<std::uint64_t>()) >= low
                            : value.get<std::int64_t>() >= low && value.get<std::int64_t>() <= high;
  if (!in_range) {
    throw InvalidRequest(std::string(field) + " = " + value.dump() + " is out of range; send " +
                         range);
  }
  return value.get<std::int64_t>();
}

float temperature_field(const json& doc) {
  if (!doc.contains("temperature")) return 0.0f;  // greedy: the same prompt, the same text
  const json& value = doc.at("temperature");
  const double t = value.is_number() ? value.get<double>() : -1.0;
  if (!value.is_number() || !(t >= 0.0) || t > std::numeric_limits<float>::max()) {
    throw InvalidRequest("temperature is " + std::string(value.type_name()) + " (" + value.dump() +
                         "); send a number >= 0 (0, the default, is greedy)");
  }
  return static_cast<float>(t);
}

std::u32string prompt_field(const json& doc) {
  if (!doc.contains("prompt")) {
    throw InvalidRequest(
        R"(prompt is missing; send {"prompt": "ROMEO:"} with the text to continue)");
  }
  const json& value = doc.at("prompt");
  if (!value.is_string()) {
    throw InvalidRequest("prompt is " + std::string(value.type_name()) + " (" + value.dump() +
                         "); send a string of text to continue");
  }
  // nlohmann has already refused a string that is not UTF-8.
  std::u32string prompt = text::decode_utf8(value.get_ref<const std::string&>());
  if (prompt.empty()) {
    throw InvalidRequest("prompt is empty; send at least one character to continue");
  }
  return prompt;
}

}  // namespace

GenerateRequest parse_generate_request(std::string_view body, const text::CharTokenizer& tokenizer,
                                       const GenerateLimits& limits) {
  if (body.size() > limits.max_body_bytes) {
    throw InvalidRequest("request body is " + std::to_string(body.size()) +
                         " bytes, over the limit of " + std::to_string(limits.max_body_bytes) +
                         "; send a shorter prompt (the model reads only its last characters)");
  }
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    throw InvalidRequest(R"(request body is not a JSON object; send {"prompt": "ROMEO:"})");
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "prompt" && key != "max_new_tokens" && key != "temperature" && key != "top_k" &&
        key != "seed") {
      throw InvalidRequest("unknown field '" + key + "'; /v1/generate takes " + kFields);
    }
  }
  const std::u32string prompt = prompt_field(doc);
  check_vocabulary(prompt, tokenizer);
  GenerateRequest request;
  request.max_new_tokens =
      integer_field(doc, "max_new_tokens", 1, limits.max_new_tokens, limits.default_new_tokens);
  request.sampling.temperature = temperature_field(doc);
  request.sampling.top_k =
      integer_field(doc, "top_k", 0, std::numeric_limits<std::int64_t>::max(), 0);
  request.sampling.seed = static_cast<std::uint64_t>(
      integer_field(doc, "seed", 0, std::numeric_limits<std::int64_t>::max(), 0));
  request.prompt = tokenizer.encode(text::encode_utf8(prompt));
  return request;
}

TextGenerator::TextGenerator(std::shared_ptr<nn::GPT> model, text::CharTokenizer tokenizer,
                             GenerateLimits limits)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), limits_(limits) {
  if (!model_) throw std::invalid_argument("TextGenerator: the model is null");
  if (tokenizer_.vocab_size() != model_->config.vocab_size) {
    throw std::invalid_argument(
        "TextGenerator: the tokenizer has " + std::to_string(tokenizer_.vocab_size()) +
        " ids but the model's vocab_size is " + std::to_string(model_->config.vocab_size) +
        "; load the tokenizer saved with this model");
  }
  if (limits_.max_new_tokens < 1 || limits_.default_new_tokens < 1 ||
      limits_.default_new_tokens > limits_.max_new_tokens) {
    throw std::invalid_argument(
        "TextGenerator: max_new_tokens is " + std::to_string(limits_.max_new_tokens) +
        " and default_new_tokens " + std::to_string(limits_.default_new_tokens) +
        "; give 1 <= default_new_tokens <= max_new_tokens");
  }
}

GenerateRequest TextGenerator::parse(std::string_view body) const {
  return parse_generate_request(body, tokenizer_, limits_);
}

Completion TextGenerator::generate(const GenerateRequest& request) {
  Generation generation;
  {
    std::lock_guard lock(mutex_);
    generation = generate_with_cache(*model_, request.prompt, request.max_new_tokens,
                                     GenerationOptions{.sampling = request.sampling});
  }
  const std::size_t expected =
      request.prompt.size() + static_cast<std::size_t>(request.max_new_tokens);
  if (generation.ids.size() != expected) {
    throw std::runtime_error("generate_with_cache returned " +
                             std::to_string(generation.ids.size()) + " ids for a prompt of " +
                             std::to_string(request.prompt.size()) + " and " +
                             std::to_string(request.max_new_tokens) + " new ones");
  }
  const auto prompt_length = static_cast<std::ptrdiff_t>(request.prompt.size());
  const std::vector<std::int64_t> fresh(generation.ids.begin() + prompt_length,
                                        generation.ids.end());
  return {tokenizer_.decode(fresh), static_cast<std::int64_t>(fresh.size()),
          static_cast<std::int64_t>(request.prompt.size())};
}

}  // namespace tinytorch::serve
