#pragma once
// Reading a build's output for the student: the compiler's diagnostics grouped into blocks (the
// "In function" line, the message, its notes and source excerpt), which student file each block
// is about, and the first errors of a failed build. GCC's own text is shown unchanged; this only
// chooses which of it to show, the full log stays on disk.
#include <filesystem>
#include <string>
#include <vector>

namespace tito {

namespace fs = std::filesystem;

struct Diagnostic {
  enum class Kind { warning, error };
  Kind kind = Kind::warning;
  std::string file;        // as the compiler printed it
  std::string module_dir;  // "03_activations" when the file is under modules/NN_name/, else ""
  std::string text;        // the block, lines joined with '\n'
};

/// The warning and error blocks of a build's output, in order (linker errors included as errors
/// without a module unless they name a module's file).
[[nodiscard]] std::vector<Diagnostic> compiler_diagnostics(const std::string& output);

/// The first error blocks of a failed build, at most `max_lines` lines; when the output holds no
/// recognisable error, its last `max_lines` lines.
[[nodiscard]] std::string first_errors(const std::string& output, std::size_t max_lines);

}  // namespace tito
