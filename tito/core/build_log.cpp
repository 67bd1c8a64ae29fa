#include "core/build_log.hpp"

#include <regex>
#include <sstream>

namespace tito {

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// "path:12:5: warning: ..." / "path:12: undefined reference to ..." / "path: In function ..."
const std::regex kDiagnostic(R"(^(\S+?):(\d+:)?(\d+:)? (fatal error|error|warning): .*)");
const std::regex kContext(R"(^(\S+?): (In|At) .*:$)");
const std::regex kIncludedFrom(R"(^(In file included from|\s+from) \S+.*)");
const std::regex kLinker(R"(^(/usr/bin/ld|collect2|\S+\.o): .*)");
const std::regex kModuleFile(R"((^|/)modules/(\d\d_[A-Za-z0-9_]+)/)");

/// Ninja's own lines and the commands it echoes: they separate one tool's output from the next.
bool is_separator(const std::string& line) {
  static const std::regex ninja(R"(^(\[\d+/\d+\] |FAILED: |ninja: ))");
  static const std::regex command(R"(^(\S*ccache |\S*/?(c\+\+|g\+\+|clang\+\+|cc|gcc) ).* -[co] )");
  return std::regex_search(line, ninja) || std::regex_search(line, command);
}

std::string module_of(const std::string& file) {
  std::smatch m;
  return std::regex_search(file, m, kModuleFile) ? m[2].str() : "";
}

std::string join(const std::vector<std::string>& lines, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) out += lines[i] + (i + 1 < to ? "\n" : "");
  return out;
}

}  // namespace

std::vector<Diagnostic> compiler_diagnostics(const std::string& output) {
  const std::vector<std::string> lines = split_lines(output);
  std::vector<Diagnostic> out;
  std::size_t i = 0;
  while (i < lines.size()) {
    // A block: context lines ("In file included from", "In function"), then one warning or
    // error line, then everything up to the next block or separator (notes, source, carets).
    std::size_t begin = i;
    while (i < lines.size() &&
           (std::regex_match(lines[i], kContext) || std::regex_match(lines[i], kIncludedFrom))) {
      ++i;
    }
    std::smatch m;
    if (i == lines.size()) break;
    const bool diagnostic = std::regex_match(lines[i], m, kDiagnostic);
    const bool linker = !diagnostic && std::regex_match(lines[i], kLinker);
    if (!diagnostic && !linker) {
      i = std::max(i, begin) + 1;
      continue;
    }
    Diagnostic d;
    d.kind = (linker || m[4] != "warning") ? Diagnostic::Kind::error : Diagnostic::Kind::warning;
    d.file = diagnostic ? m[1].str() : "";
    ++i;
    while (i < lines.size() && !is_separator(lines[i]) && !std::regex_match(lines[i], kContext) &&
           !std::regex_match(lines[i], kIncludedFrom) &&
           !(std::regex_match(lines[i], m, kDiagnostic) && m[4] != "note") &&
           !std::regex_match(lines[i], kLinker)) {
      ++i;
    }
    d.text = join(lines, begin, i);
    d.module_dir = module_of(d.file.empty() ? d.text : d.file);
    out.push_back(std::move(d));
  }
  return out;
}

std::string first_errors(const std::string& output, std::size_t max_lines) {
  std::string out;
  std::size_t used = 0;
  for (const auto& d : compiler_diagnostics(output)) {
    if (d.kind != Diagnostic::Kind::error) continue;
    const std::vector<std::string> lines = split_lines(d.text);
    if (used > 0 && used + lines.size() > max_lines) break;
    const std::size_t take = std::min(lines.size(), max_lines - used);
    out += join(lines, 0, take) + "\n";
    used += take;
    if (used >= max_lines) break;
  }
  if (!out.empty()) return out;
  const std::vector<std::string> lines = split_lines(output);
  const std::size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
  return join(lines, from, lines.size()) + "\n";
}

}  // namespace tito
