// Every `tito <group> <command>` that a message, lesson, script or comment names must exist: the
// sources are searched for such strings and each is checked against the command tree the real
// tito reports (`tito system commands --json`, taken from CLI11's own subcommand list).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>

#include "tito_support.hpp"

namespace tito_test {
namespace {

using nlohmann::json;

const std::set<std::string> kScannedDirs = {"tito",        "modules",   "milestones", "scripts",
                                            "checkpoints", "datasets",  "kernels",    "bench",
                                            "core",        "solutions", "cmake",      ".ci"};
const std::set<std::string> kScannedExtensions = {".cpp", ".hpp",   ".md", ".json",
                                                  ".txt", ".cmake", ""};

std::vector<fs::path> scanned_files(const fs::path& root) {
  std::vector<fs::path> files = {root / "README.md"};
  for (const auto& dir : kScannedDirs) {
    if (!fs::exists(root / dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      if (e.is_regular_file() && kScannedExtensions.count(e.path().extension().string()) > 0 &&
          fs::file_size(e.path()) < 1'000'000) {
        files.push_back(e.path());
      }
    }
  }
  return files;
}

struct Mention {
  std::string command;  // "data fetch"
  std::string where;    // "scripts/quickstart:16"
};

/// True when the text before "tito" makes it code: a backtick or quote, optionally followed by `$`
/// or a path (`build/reference/bin/tito`, '$tito ...'), as scripts and messages quote commands.
bool quoted(const std::string& line, std::size_t at) {
  std::size_t i = at;
  while (i > 0 && (std::isalnum(static_cast<unsigned char>(line[i - 1])) != 0 ||
                   std::string_view("./_-$").find(line[i - 1]) != std::string_view::npos)) {
    --i;
  }
  const std::string prefix = line.substr(i, at - i);
  if (!prefix.empty() && prefix != "$" && prefix.back() != '/') return false;  // "mytito"
  return i > 0 && std::string_view("`'\"").find(line[i - 1]) != std::string_view::npos;
}

/// `tito GROUP COMMAND` where it reads as a command: quoted as code (see quoted()), or with GROUP
/// one of tito's own groups. Prose such as "tito never keeps" is not a command.
std::vector<Mention> mentions(const fs::path& root, const std::set<std::string>& groups) {
  static const std::regex pattern(R"(tito ([a-z][a-z-]*) ([a-z][a-z-]*))");
  std::vector<Mention> out;
  for (const auto& file : scanned_files(root)) {
    std::ifstream in(file);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      ++number;
      for (std::sregex_iterator it(line.begin(), line.end(), pattern), end; it != end; ++it) {
        const std::string group = (*it)[1].str();
        const auto at = static_cast<std::size_t>(it->position(0));
        const bool word_start =
            at == 0 || std::isalnum(static_cast<unsigned char>(line[at - 1])) == 0;
        if (!word_start && !quoted(line, at)) continue;
        if (!quoted(line, at) && groups.count(group) == 0) continue;
        out.push_back({group + " " + (*it)[2].str(),
                       file.lexically_relative(root).string() + ":" + std::to_string(number)});
      }
    }
  }
  return out;
}

TEST(CommandsNamed, EveryTitoCommandThatTheSourcesNameExists) {
  const Output r = tito(TINYTORCH_SOURCE_DIR, {"system", "commands", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::set<std::string> commands;
  std::set<std::string> groups;
  std::set<std::string> leaf_groups;  // groups that are commands themselves (tito release ...)
  const json doc = r.json();
  for (const auto& c : doc["commands"]) {
    const std::string path = c.get<std::string>();
    commands.insert(path);
    if (path.find(' ') == std::string::npos) groups.insert(path);
  }
  for (const auto& g : groups) {
    const bool has_sub = std::any_of(commands.begin(), commands.end(), [&](const std::string& c) {
      return c.rfind(g + " ", 0) == 0;
    });
    if (!has_sub) leaf_groups.insert(g);
  }
  ASSERT_TRUE(commands.count("data fetch") > 0 && commands.count("module test") > 0);
  const auto found = mentions(TINYTORCH_SOURCE_DIR, groups);
  EXPECT_GT(found.size(), 20u) << "the search should find the many `tito module test` mentions";
  for (const auto& m : found) {
    const std::string group = m.command.substr(0, m.command.find(' '));
    if (leaf_groups.count(group) > 0) continue;  // `tito release OUT`: the word is an argument
    EXPECT_TRUE(commands.count(m.command) > 0)
        << m.where << " names `tito " << m.command << "`, which is not a tito command";
  }
}

}  // namespace
}  // namespace tito_test
