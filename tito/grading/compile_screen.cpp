#include "grading/compile_screen.hpp"

#include <fmt/core.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/errors.hpp"
#include "core/progress.hpp"
#include "core/runner.hpp"

namespace tito::grading {

namespace {

bool inside(const fs::path& file, const fs::path& root) {
  const fs::path rel = file.lexically_normal().lexically_relative(root.lexically_normal());
  return !rel.empty() && *rel.begin() != ".." && !rel.is_absolute();
}

/// Why a file the compiler read may not be part of a submission, or nothing when it may.
std::optional<std::string> forbidden_dependency(const fs::path& dep, const CompileScreenInput& in) {
  std::error_code ec;
  const fs::path file = dep.is_absolute() ? dep : (in.build_dir / dep);
  const fs::path real = fs::weakly_canonical(file, ec);
  if (real == fs::weakly_canonical(in.source, ec)) return std::nullopt;
  const bool header = real.extension() == ".hpp" || real.extension() == ".h" ||
                      real.extension().empty() || real.extension() == ".tcc";
  for (const auto& root : in.header_roots) {
    if (inside(real, fs::weakly_canonical(root, ec)) && header) return std::nullopt;
  }
  bool under_roots = false;
  for (const auto& root : in.header_roots) under_roots = under_roots || inside(real, root);
  if (inside(real, "/usr") && !under_roots) return std::nullopt;
  return fmt::format(
      "{} includes {}, which is neither a standard or system header nor one of "
      "the course's public headers (include only <...> standard headers and "
      "<tinytorch/...> headers)",
      in.shown, real.string());
}

}  // namespace

std::vector<std::string> split_command(const std::string& command) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == '\'') {
      const std::size_t end = command.find('\'', i + 1);
      word += command.substr(i + 1, end - i - 1);
      i = end == std::string::npos ? command.size() : end;
      in_word = true;
    } else if (c == '"') {
      for (++i; i < command.size() && command[i] != '"'; ++i) {
        if (command[i] == '\\' && i + 1 < command.size() &&
            std::string("\"\\$`").find(command[i + 1]) != std::string::npos) {
          ++i;
        }
        word += command[i];
      }
      in_word = true;
    } else if (c == '\\' && i + 1 < command.size()) {
      word += command[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(word);
  return out;
}

std::vector<std::string> parse_depfile(const std::string& text) {
  // "target: a.cpp b.h \\\n c.h": spaces in names are escaped as "\ ".
  std::vector<std::string> out;
  const std::size_t colon = text.find(": ");
  if (colon == std::string::npos) return out;
  std::string word;
  for (std::size_t i = colon + 2; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == '\r')) {
      ++i;
      continue;
    }
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == ' ' || text[i + 1] == '#')) {
      word += text[++i];
    } else if (c == '$' && i + 1 < text.size() && text[i + 1] == '$') {
      word += text[++i];
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

namespace {

struct CompileCommand {
  std::vector<std::string> argv;
  fs::path directory;
};

CompileCommand command_for(const fs::path& build_dir, const fs::path& file) {
  const fs::path database = build_dir / "compile_commands.json";
  nlohmann::json entries;
  try {
    entries = nlohmann::json::parse(read_file_text(database));
  } catch (const nlohmann::json::exception& e) {
    throw TitoError(fmt::format("{}: {}", database.string(), e.what()));
  }
  std::error_code ec;
  const fs::path source = fs::weakly_canonical(file, ec);
  for (const auto& e : entries) {
    if (!e.contains("file") || !e.contains("command")) continue;
    if (fs::weakly_canonical(e.at("file").get<std::string>(), ec) != source) continue;
    return {split_command(e.at("command").get<std::string>()),
            e.value("directory", build_dir.string())};
  }
  throw TitoError(fmt::format("{} has no compile command in {}", file.string(), database.string()));
}

}  // namespace

fs::path object_for(const fs::path& build_dir, const fs::path& source) {
  const CompileCommand c = command_for(build_dir, source);
  for (std::size_t i = 0; i + 1 < c.argv.size(); ++i) {
    if (c.argv[i] == "-o") return c.directory / c.argv[i + 1];
  }
  throw TitoError(fmt::format("the compile command of {} names no object", source.string()));
}

CompileScreenResult screen_compilation(const CompileScreenInput& in) {
  const CompileCommand command = command_for(in.build_dir, in.source);
  const std::vector<std::string>& argv = command.argv;
  const fs::path& directory = command.directory;
  CompileScreenResult result;
  // The same command, to assembly: drop -c and the object, keep every flag.
  std::vector<std::string> screen;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "-o" && i + 1 < argv.size()) {
      result.object = directory / argv[++i];
      continue;
    }
    if (argv[i] == "-c" || argv[i] == "-MD" || argv[i] == "-MMD") continue;
    if ((argv[i] == "-MF" || argv[i] == "-MT" || argv[i] == "-MQ") && i + 1 < argv.size()) {
      ++i;
      continue;
    }
    screen.push_back(argv[i]);
  }
  fs::create_directories(in.scratch);
  const fs::path assembly = in.scratch / "screen.s";
  const fs::path deps = in.scratch / "screen.d";
  for (const std::string& flag : {std::string("-S"), std::string("-o"), assembly.string(),
                                  std::string("-MD"), std::string("-MF"), deps.string()}) {
    screen.push_back(flag);
  }
  ProcessOptions options;
  options.cwd = directory;
  options.timeout = std::chrono::seconds(static_cast<long>(in.timeout_s));
  const ProcessResult compiled = run_process(screen, options);
  if (!compiled.ok()) {
    // The build itself reports compile errors; a screen compile that fails where the build
    // passed means the file behaves differently on a second compile.
    result.refusal = fmt::format("{} could not be compiled to assembly for screening ({})",
                                 in.shown, compiled.describe());
    return result;
  }
  for (const auto& dep : parse_depfile(read_file_text(deps))) {
    if (auto why = forbidden_dependency(dep, in)) {
      result.refusal = *why;
      return result;
    }
  }
  std::istringstream lines(read_file_text(assembly));
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line == "#APP" || line.rfind("#APP", 0) == 0) {
      result.refusal = fmt::format(
          "{} contains inline assembly (asm statements are not allowed in a submission)", in.shown);
      return result;
    }
  }
  return result;
}

}  // namespace tito::grading
