#pragma once
// Writing a file so that a reader, a kill or a full disk sees the old file or the new one, never
// half of one. Framework-owned: students never edit this file.
#include <filesystem>
#include <string_view>

namespace tinytorch {

/// Writes content to a temporary file beside `file`, fsyncs it and renames it over `file`. On
/// failure the temporary file is removed, `file` is left as it was, and std::runtime_error names
/// the file, `what` it holds ("the milestone result") and the system's reason.
void write_file_atomically(const std::filesystem::path& file, std::string_view content,
                           std::string_view what);

}  // namespace tinytorch
