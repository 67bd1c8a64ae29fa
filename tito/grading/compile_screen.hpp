#pragma once
// Screening what the compiler sees of a student's file, not its text: the file is compiled a
// second time exactly as the build compiles it (its command from the tree's
// compile_commands.json), to assembly, with the compiler's own dependency list (-MD). So no
// spelling of an include (digraphs, macros, line splices, __has_include tricks) gets past:
//   - every file the compiler read must be the student's file itself, a system header (under
//     /usr), or a public header of the course (core/include, kernels/include, the contract
//     headers in modules/, the build's include/ folder); a solution, a hidden test or any other
//     file is refused, by name;
//   - the assembly must hold no inline assembly (GCC brackets it with #APP ... #NO_APP), the only
//     way to a raw system call that the object screen could not see as a symbol.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tito::grading {

namespace fs = std::filesystem;

struct CompileScreenInput {
  fs::path build_dir;                  // holds compile_commands.json
  fs::path source;                     // the staged student file, as the build names it
  std::string shown;                   // "modules/02_tensor/tensor.cpp", for messages
  std::vector<fs::path> header_roots;  // folders whose headers a submission may include
  fs::path scratch;                    // a folder for the assembly and the dependency list
  double timeout_s = 300;
};

struct CompileScreenResult {
  std::optional<std::string> refusal;  // set: refused, with the reason
  fs::path object;                     // the object the build writes for this file
};

/// Throws TitoError when the file has no compile command (the tree is not configured for it).
[[nodiscard]] CompileScreenResult screen_compilation(const CompileScreenInput& input);

/// The object file the build writes for `source` (from compile_commands.json in `build_dir`).
/// Throws TitoError when the file has no compile command.
[[nodiscard]] fs::path object_for(const fs::path& build_dir, const fs::path& source);

/// Splits a command line the way a POSIX shell would (quotes and backslashes; no expansions).
[[nodiscard]] std::vector<std::string> split_command(const std::string& command);

/// The prerequisites of a Makefile rule as the compiler writes it with -MD.
[[nodiscard]] std::vector<std::string> parse_depfile(const std::string& text);

}  // namespace tito::grading
