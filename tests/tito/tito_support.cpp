#include "tito_support.hpp"

#include "core/process.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tito_test {

namespace {

void copy_into(const fs::path& from, const fs::path& to) {
  if (!fs::exists(from)) return;
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "tito-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("TITO_TEST_KEEP") == nullptr) fs::remove_all(path_, ec);
}

TempCourse::TempCourse() {
  const fs::path source = TINYTORCH_SOURCE_DIR;
  for (const char* file : {"CMakeLists.txt", "CMakePresets.json", ".clang-format"}) {
    if (fs::exists(source / file)) fs::copy_file(source / file, root() / file);
  }
  for (const char* dir : {"cmake", "core", "kernels", "modules", "solutions", "checkpoints",
                          "milestones", "datasets"}) {
    copy_into(source / dir, root() / dir);
  }
  // Only the hidden suites of tests/: not tests/tito (this program) nor other tool tests.
  fs::create_directories(root() / "tests");
  for (const auto& entry : fs::directory_iterator(source / "tests")) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.size() > 3 && std::isdigit(name[0]) && std::isdigit(name[1]) &&
        name[2] == '_') {
      copy_into(entry.path(), root() / "tests" / name);
    }
  }
}

void TempCourse::git_init() const {
  const std::vector<std::string> identity = {"-c", "user.name=tito test",
                                             "-c", "user.email=tito@example.invalid",
                                             "-c", "commit.gpgsign=false"};
  ASSERT_EQ(run(root(), {"git", "init", "-q"}).status, 0);
  ASSERT_EQ(run(root(), {"git", "add", "-A"}).status, 0);
  std::vector<std::string> commit = {"git"};
  commit.insert(commit.end(), identity.begin(), identity.end());
  commit.insert(commit.end(), {"commit", "-q", "-m", "course"});
  const Output r = run(root(), commit);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
}

nlohmann::json Output::json() const {
  const auto doc = nlohmann::json::parse(out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << "stdout is not JSON:\n" << out << "\nstderr:\n" << err;
  return doc.is_discarded() ? nlohmann::json() : doc;
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

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& file, const std::string& content) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
}

}  // namespace tito_test
