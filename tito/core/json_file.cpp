#include "core/json_file.hpp"

#include <fmt/core.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "core/errors.hpp"

namespace tito {

namespace {

using nlohmann::json;

struct TooDeep {};

}  // namespace

json parse_json_text(const std::string& text, const fs::path& file) {
  const auto limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth) throw TooDeep{};
    return true;
  };
  try {
    return json::parse(text, limit_depth);
  } catch (const TooDeep&) {
    throw TitoError(
        fmt::format("{}: not a file tito wrote or reads: its JSON nests deeper than {} "
                    "levels",
                    file.string(), kMaxJsonDepth));
  } catch (const json::exception& e) {
    throw TitoError(fmt::format("{}: not valid JSON: {}", file.string(), e.what()));
  }
}

json read_json_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TitoError(fmt::format("{}: cannot be read", file.string()));
  std::stringstream text;
  text << in.rdbuf();
  return parse_json_text(text.str(), file);
}

int int_field(const json& j, const char* key, std::optional<int> fallback) {
  if (!j.is_object() || !j.contains(key)) {
    if (fallback) return *fallback;
    throw std::invalid_argument(fmt::format("\"{}\" is missing", key));
  }
  const json& value = j.at(key);
  bool fits = false;
  if (value.is_number_unsigned()) {
    fits = value.get<unsigned long long>() <=
           static_cast<unsigned long long>(std::numeric_limits<int>::max());
  } else if (value.is_number_integer()) {
    fits = value.get<long long>() >= std::numeric_limits<int>::min() &&
           value.get<long long>() <= std::numeric_limits<int>::max();
  }
  if (!fits) {
    throw std::invalid_argument(
        fmt::format("\"{}\" must be a whole number that fits an int, got {}", key,
                    value.is_primitive() ? value.dump() : "a structure"));
  }
  return static_cast<int>(value.get<long long>());
}

}  // namespace tito
