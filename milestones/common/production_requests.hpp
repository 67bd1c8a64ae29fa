#pragma once
// The requests the production milestone sends to a served CIFAR-10 model, and how it reads the
// answers: one image per request as nested JSON arrays that read back to the very same floats, and
// the burst of bad requests a service must refuse with a 4xx. Framework-owned, shared by the
// milestone and its tests.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "load_generator.hpp"

namespace milestones {

constexpr std::int64_t kCifarSample = 3 * 32 * 32;  // floats of one (3, 32, 32) image

/// One (3, 32, width) sample of `image` (a (3, 32, 32) image) as nested arrays; `poison` replaces
/// its first value by the given text (e.g. "NaN", "1e39", "\"red\""). Each float is written as
/// the shortest text that a JSON parser reading doubles turns back into the same float.
[[nodiscard]] std::string sample_text(const float* image, int width = 32,
                                      const std::string& poison = "");

/// {"inputs": [sample]}: one image per request.
[[nodiscard]] std::string image_body(const float* image, int width = 32,
                                     const std::string& poison = "");

/// The argmax of an answer {"outputs": [[c logits]]} with `classes` logits; -1 when the answer is
/// anything else.
[[nodiscard]] std::int64_t served_prediction(const std::string& body, std::int64_t classes = 10);

struct BadRequest {
  std::string what;
  LoadRequest request;
  bool reaches_predict = true;  // counted by the server's /metrics (not a 413, not a wrong route)
};

/// The burst of bad requests, built around a valid (3, 32, 32) image: malformed JSON, NaN, a value
/// beyond float32, a string pixel, a flat vector, a (3, 32, 31) image, no inputs, an empty batch,
/// dtype float64, 257 images in one request, a body of max_body_bytes + 1, a GET on the predict
/// route and an unknown route.
[[nodiscard]] std::vector<BadRequest> bad_requests(const float* image, std::size_t max_body_bytes);

}  // namespace milestones
