#include "grading_support.hpp"

#include "child_env.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
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
  const TempDir capture;
  const fs::path out = capture.path() / "out";
  const fs::path err = capture.path() / "err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<std::string> args = argv;
  std::vector<std::string> environment = test_support::child_environment(env);
  std::vector<char*> c_args;
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  std::vector<char*> c_env;
  for (auto& e : environment) c_env.push_back(e.data());
  c_env.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, args.front().c_str(), &actions, nullptr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  Output result;
  if (rc != 0) {
    result.err = "cannot start " + args.front();
    return result;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

Output tito(const fs::path& cwd, const std::vector<std::string>& args,
            const std::vector<std::string>& env) {
  std::vector<std::string> argv = {TITO_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(cwd, argv, env);
}

fs::path course_root() {
  return TINYTORCH_SOURCE_DIR;
}

fs::path grading_cache() {
  return GRADING_CACHE_DIR;
}

}  // namespace grading_test
