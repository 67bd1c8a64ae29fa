#pragma once
// Reading JSON files a person may have edited or a killed program half-wrote (course registry,
// progress, milestone results): one way, with the limits that keep a malformed file from crashing
// tito. Every failure is a TitoError that names the file.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tito {

namespace fs = std::filesystem;

/// Deeper nesting than any file of ours has. nlohmann parses any depth, but copying, comparing or
/// printing a value recurses once per level: a 200 KB file of '[' would overflow the stack.
inline constexpr int kMaxJsonDepth = 64;

/// `text` (the content of `file`) parsed; throws TitoError naming the file when it is not JSON or
/// nests deeper than kMaxJsonDepth.
[[nodiscard]] nlohmann::json parse_json_text(const std::string& text, const fs::path& file);
/// The file read and parsed; throws TitoError naming it when it cannot be read or parsed.
[[nodiscard]] nlohmann::json read_json_file(const fs::path& file);

/// j[key] as an int, or `fallback` when the key is absent. std::invalid_argument naming the key
/// (the caller names the file) when it is absent without a fallback, or is not a whole number an
/// int holds: nlohmann's get<int>() casts 1e300 to int, which is undefined behaviour.
[[nodiscard]] int int_field(const nlohmann::json& j, const char* key,
                            std::optional<int> fallback = std::nullopt);

}  // namespace tito
