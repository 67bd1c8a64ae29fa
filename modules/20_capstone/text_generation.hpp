#pragma once
// Module 20: serving a text model (tinygpt). Framework-owned (you use it, you do not write it): the
// body of POST /v1/generate is checked here, and the text comes from YOUR module 16
// generate_with_cache over YOUR module 14 GPT and module 11 tokenizer:
//     serve::TextGenerator generator(saved.model, saved.tokenizer);
//     serve::GenerateRequest request = generator.parse(R"({"prompt": "ROMEO:"})");
//     serve::Completion done = generator.generate(request);   // done.text: the new characters
// The HTTP layer (http_server.hpp) answers the route; see there for the JSON of the answer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tinytorch/tokenization.hpp"
#include "tinytorch/transformers.hpp"

namespace tinytorch::serve {

/// What one POST /v1/generate may ask for.
struct GenerateLimits {
  /// max_new_tokens is in [1, max_new_tokens]. Requests run one at a time (see TextGenerator), so
  /// this bound is also the longest one request can hold up the next.
  std::int64_t max_new_tokens = 1024;
  /// max_new_tokens when the body does not give it.
  std::int64_t default_new_tokens = 100;
  /// Bytes of one JSON body (a prompt beyond the model's context is read by its last `context`
  /// characters only; this keeps a stranger from sending megabytes of it).
  std::size_t max_body_bytes = 64u << 10;
};

/// A checked POST /v1/generate body, ready for generate_with_cache.
struct GenerateRequest {
  std::vector<std::int64_t> prompt;  // the prompt's ids, one per character, at least one
  std::int64_t max_new_tokens = 0;   // in [1, GenerateLimits::max_new_tokens]
  SamplingOptions sampling{.temperature = 0.0f};  // greedy unless the body says otherwise
};

/// Parses {"prompt": "ROMEO:", "max_new_tokens": 100, "temperature": 0, "top_k": 0, "seed": 0};
/// only "prompt" is required, the defaults are the ones shown (temperature 0 is greedy, so the same
/// prompt always gets the same text). InvalidRequest (serving.hpp) naming the field and what to
/// send instead for: a body over limits.max_body_bytes, text that is not a JSON object, a field
/// this endpoint does not know, a missing, non-string or empty prompt, a prompt character outside
/// the tokenizer's vocabulary (naming it, as U+XXXX, and its position), max_new_tokens not an
/// integer in [1, limits.max_new_tokens], temperature not a finite number >= 0, top_k not an
/// integer >= 0, seed not an integer >= 0.
[[nodiscard]] GenerateRequest parse_generate_request(std::string_view body,
                                                     const text::CharTokenizer& tokenizer,
                                                     const GenerateLimits& limits = {});

/// What one generation produced.
struct Completion {
  std::string text;                // the new characters only (UTF-8), not the prompt
  std::int64_t tokens = 0;         // how many ids were generated (max_new_tokens)
  std::int64_t prompt_tokens = 0;  // the prompt's length in ids
};

/// A GPT and its character tokenizer behind POST /v1/generate.
///
/// Requests run one at a time, under one lock, and are not batched: cached decoding feeds one row
/// (one id) per step through one GPTCache, and batching prompts of different lengths would need
/// padding and a cache per row, which this course does not build. The lock is also what makes the
/// shared model safe: generate_with_cache switches it to eval mode and back.
class TextGenerator {
 public:
  /// A null model, a tokenizer whose vocab_size() differs from the model's, or limits with
  /// max_new_tokens < 1 or default_new_tokens outside [1, max_new_tokens]: std::invalid_argument
  /// naming them.
  TextGenerator(std::shared_ptr<nn::GPT> model, text::CharTokenizer tokenizer,
                GenerateLimits limits = {});

  /// parse_generate_request with this generator's tokenizer and limits.
  [[nodiscard]] GenerateRequest parse(std::string_view body) const;

  /// generate_with_cache(model, request.prompt, request.max_new_tokens, request.sampling) with the
  /// cache on, the new ids decoded. Blocks while another request runs.
  [[nodiscard]] Completion generate(const GenerateRequest& request);

  [[nodiscard]] const GenerateLimits& limits() const { return limits_; }
  [[nodiscard]] const text::CharTokenizer& tokenizer() const { return tokenizer_; }

 private:
  std::shared_ptr<nn::GPT> model_;
  text::CharTokenizer tokenizer_;
  GenerateLimits limits_;
  std::mutex mutex_;  // one generation at a time (see the class comment)
};

}  // namespace tinytorch::serve
