#include "production_requests.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace milestones {
namespace {

// One float as the shortest text that reads back to the same float through a double (how the
// server's JSON parser reads it); the double's own text when the shortest one would not.
void append_float(std::string& out, float value) {
  const std::string shortest = fmt::format("{}", value);
  if (static_cast<float>(std::strtod(shortest.c_str(), nullptr)) == value) {
    out += shortest;
  } else {
    out += fmt::format("{}", static_cast<double>(value));
  }
}

}  // namespace

// One sample as nested arrays (channels, height, width); `poison` replaces value 0 by the given
// text (a NaN, an overflow, a string).
std::string sample_text(const float* image, int width, const std::string& poison) {
  std::string text;
  text.reserve(kCifarSample * 12);
  text += '[';
  for (int c = 0; c < 3; ++c) {
    text += c ? ",[" : "[";
    for (int y = 0; y < 32; ++y) {
      text += y ? ",[" : "[";
      for (int x = 0; x < width; ++x) {
        if (x) text += ',';
        const int i = (c * 32 + y) * 32 + x;
        if (i == 0 && !poison.empty()) {
          text += poison;
        } else {
          append_float(text, image[i]);
        }
      }
      text += ']';
    }
    text += ']';
  }
  text += ']';
  return text;
}

// {"inputs": [sample]}: one image per request.
std::string image_body(const float* image, int width, const std::string& poison) {
  return "{\"inputs\": [" + sample_text(image, width, poison) + "]}";
}

// The argmax of {"outputs": [[10 logits]]}; -1 when the answer is not that.
std::int64_t served_prediction(const std::string& body, std::int64_t classes) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("outputs") || !doc["outputs"].is_array() ||
      doc["outputs"].size() != 1 || !doc["outputs"][0].is_array() ||
      doc["outputs"][0].size() != static_cast<std::size_t>(classes)) {
    return -1;
  }
  std::vector<double> row;
  for (const auto& v : doc["outputs"][0]) {
    if (!v.is_number()) return -1;
    row.push_back(v.get<double>());
  }
  return std::max_element(row.begin(), row.end()) - row.begin();
}

std::vector<BadRequest> bad_requests(const float* image, std::size_t max_body_bytes) {
  const std::string good = image_body(image);
  std::string flat = "{\"inputs\": [[";
  for (std::int64_t i = 0; i < kCifarSample; ++i) flat += i ? ",0" : "0";
  flat += "]]}";
  const std::string sample = sample_text(image);
  std::string too_many = "{\"inputs\": [";
  for (int i = 0; i < 257; ++i) too_many += (i ? "," : "") + sample;
  too_many += "]}";
  std::vector<BadRequest> bad = {
      {"malformed JSON", {"POST", "/v1/predict", "{\"inputs\": [[[0.1, 0.2"}},
      {"NaN in an image", {"POST", "/v1/predict", image_body(image, 32, "NaN")}},
      {"a value beyond float32 (1e39)", {"POST", "/v1/predict", image_body(image, 32, "1e39")}},
      {"a string for a pixel", {"POST", "/v1/predict", image_body(image, 32, "\"red\"")}},
      {"a flat 3072-vector instead of (3, 32, 32)", {"POST", "/v1/predict", flat}},
      {"a (3, 32, 31) image", {"POST", "/v1/predict", image_body(image, 31)}},
      {"no inputs field", {"POST", "/v1/predict", "{\"images\": []}"}},
      {"an empty batch", {"POST", "/v1/predict", "{\"inputs\": []}"}},
      {"dtype float64",
       {"POST", "/v1/predict", "{\"dtype\": \"float64\", \"inputs\": [" + sample + "]}"}},
      {"257 images in one request", {"POST", "/v1/predict", too_many}},
      {"a body over the size limit",
       {"POST", "/v1/predict", std::string(max_body_bytes + 1, ' ')},
       false},
      {"GET on the predict route", {"GET", "/v1/predict", ""}, false},
      {"an unknown route", {"POST", "/v1/classify", good}, false},
  };
  return bad;
}

}  // namespace milestones
