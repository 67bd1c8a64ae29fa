#include "grading_support.hpp"

#include "core/process.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace grading_test {

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "grading-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("GRADING_TEST_KEEP") == nullptr) fs::remove_all(path_, ec);
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& file, const std::string& content) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
}

nlohmann::json read_json(const fs::path& file) {
  const auto doc = nlohmann::json::parse(read_file(file), nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error(file.string() + " is not JSON");
  return doc;
}

Output run(const fs::path& cwd, const std::vector<std::string>& argv,
           const std::vector<std::string>& env) {
  // The same helper tito starts programs with: our environment with `env` replacing inherited
  // variables of the same name (CI's TINYTORCH_DATA must not win over the test's own).
  tito::ProcessOptions options;
  options.cwd = cwd;
  options.env = tito::env_pairs(env);
  options.stdio = tito::Stdio::separate;
  options.max_output = std::size_t{256} << 20;
  Output result;
  try {
    const tito::ProcessResult r = tito::run_process(argv, options);
    result.status = r.term_signal != 0 ? 128 + r.term_signal : r.exit_code;
    result.out = r.output;
    result.err = r.error;
    result.seconds = r.seconds;
  } catch (const std::exception& e) {
    result.err = e.what();
  }
  return result;
}

Output tito(const fs::path& cwd, const std::vector<std::string>& args,
            const std::vector<std::string>& env) {
  std::vector<std::string> argv = {TITO_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(cwd, argv, env);
}

Output tito_grade(const fs::path& cwd, const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--root", course_root().string(), "grade", "--cache",
                                  grading_cache().string()};
  all.insert(all.end(), args.begin(), args.end());
  return tito(cwd, all);
}

fs::path course_root() {
  return TINYTORCH_SOURCE_DIR;
}

fs::path grading_cache() {
  return GRADING_CACHE_DIR;
}

}  // namespace grading_test
