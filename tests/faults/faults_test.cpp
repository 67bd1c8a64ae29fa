// Faults, as a student's laptop meets them: tito or a milestone program killed half-way through a
// write (Ctrl-C twice, an OOM kill, a closed lid), and a full disk. Every file left behind must be
// the old version or the new one, complete, and a full disk must be a clear error that names the
// file and loses nothing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <random>
#include <thread>

#include "core/process.hpp"
#include "tinytorch/training.hpp"
#include "tito_support.hpp"

extern char** environ;  // NOLINT: POSIX

namespace tito_test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

/// Starts argv in cwd with its output discarded; the caller kills and reaps it. (tito's process
/// helper runs a child to the end; these tests need to kill it at a moment of their choosing.)
pid_t start(const fs::path& cwd, const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd : {0, 1, 2}) {
    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<std::string> args = argv;
  std::vector<char*> c_args = tito::c_strings(args);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, c_args[0], &actions, nullptr, c_args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  return pid;
}

/// Runs argv to the end and returns how long it took.
Clock::duration time_one_run(const fs::path& cwd, const std::vector<std::string>& argv) {
  const auto begin = Clock::now();
  const pid_t pid = start(cwd, argv);
  int status = 0;
  waitpid(pid, &status, 0);
  // 0 or 1 (a milestone whose gate was not met in one epoch): it ran to the end and wrote.
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) <= 1) << argv[0] << " failed unkilled";
  return Clock::now() - begin;
}

/// Starts argv, SIGKILLs it after a random part of `run_time` (or lets it finish first).
void kill_at_random(const fs::path& cwd, const std::vector<std::string>& argv,
                    Clock::duration run_time, std::mt19937& rng) {
  std::uniform_int_distribution<long long> when(
      0, std::chrono::duration_cast<std::chrono::microseconds>(run_time).count());
  const pid_t pid = start(cwd, argv);
  std::this_thread::sleep_for(std::chrono::microseconds(when(rng)));
  ::kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

/// The command run with a file-size limit of `kib` KiB and SIGXFSZ ignored, so a write past it
/// fails with EFBIG as a full disk fails with ENOSPC (instead of the signal killing the program).
std::vector<std::string> with_full_disk(int kib, const std::vector<std::string>& argv) {
  std::vector<std::string> out = {
      "bash", "-c", "trap '' XFSZ; ulimit -f " + std::to_string(kib) + "; exec \"$0\" \"$@\""};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::vector<fs::path> leftovers(const fs::path& dir, const std::string& marker) {
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(marker) != std::string::npos) found.push_back(e.path());
  }
  return found;
}

constexpr int kKills = 60;

TEST(Faults, TitoKilledWhileWritingProgressLeavesTheOldOrTheNewFile) {
  const TempCourse course;
  const fs::path file = course.progress_file();
  const std::vector<std::string> argv = {TITO_BINARY, "--no-color", "module", "start", "01"};
  write_file(file, R"({"schema_version": 1})");
  const Clock::duration run_time = time_one_run(course.root(), argv);
  std::mt19937 rng(17);
  int old_kept = 0;
  int new_written = 0;
  for (int i = 0; i < kKills; ++i) {
    // A version of our own before each run; tito keeps the unknown key when it rewrites the file.
    const std::string old = R"({"schema_version": 1, "iteration": )" + std::to_string(i) + "}";
    write_file(file, old);
    kill_at_random(course.root(), argv, run_time, rng);
    const std::string now = read_file(file);
    if (now == old) {
      ++old_kept;
      continue;
    }
    const json doc = json::parse(now, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << "kill " << i << " left a torn progress file:\n" << now;
    EXPECT_EQ(doc.value("iteration", -1), i) << now;
    EXPECT_EQ(doc["modules"]["01_setup"]["state"], "started") << now;
    ++new_written;
  }
  // Both sides of the rename were hit, so the kills did land around the write.
  EXPECT_GT(old_kept, 0);
  EXPECT_GT(new_written, 0);
  std::printf("%d kills: %d left the old file, %d the new one\n", kKills, old_kept, new_written);
}

TEST(Faults, MilestoneKilledWhileWritingItsResultLeavesTheOldOrTheNewFile) {
  const TempDir dir;
  const fs::path file = dir.path() / "xor.json";
  const std::vector<std::string> argv = {MILESTONE_XOR_BINARY, "--out", file.string(),
                                         "--epochs",           "1",     "--quiet"};
  const Clock::duration run_time = time_one_run(dir.path(), argv);
  std::mt19937 rng(17);
  int old_kept = 0;
  int new_written = 0;
  for (int i = 0; i < kKills; ++i) {
    const std::string old = R"({"iteration": )" + std::to_string(i) + "}";
    write_file(file, old);
    kill_at_random(dir.path(), argv, run_time, rng);
    const std::string now = read_file(file);
    if (now == old) {
      ++old_kept;
      continue;
    }
    const json doc = json::parse(now, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << "kill " << i << " left a torn result file:\n" << now;
    EXPECT_TRUE(doc.contains("gate") && doc["gate"].contains("passed")) << now;
    ++new_written;
  }
  EXPECT_GT(old_kept, 0);
  EXPECT_GT(new_written, 0);
  std::printf("%d kills: %d left the old result, %d the new one\n", kKills, old_kept, new_written);
}

TEST(Faults, AFullDiskWhileSavingProgressIsAClearErrorAndKeepsTheOldFile) {
  const TempCourse course;
  const std::string old = R"({"schema_version": 1, "note": ")" + std::string(2000, 'x') + R"("})";
  write_file(course.progress_file(), old);
  const Output r = run(course.root(), with_full_disk(1, {TITO_BINARY, "module", "start", "01"}));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(course.progress_file().string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unchanged"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(course.progress_file()), old);
  EXPECT_TRUE(leftovers(course.root() / ".tito", ".tmp").empty());
}

TEST(Faults, AFullDiskWhileWritingAReleaseIsAClearErrorAndKeepsThePreviousRelease) {
  const TempCourse course;
  const TempDir out_dir;
  const fs::path out = out_dir.path() / "release";
  const Output first = tito(course.root(), {"release", "--out", out.string()});
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  const std::string presets = read_file(out / "CMakePresets.json");
  ASSERT_FALSE(presets.empty());
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) files += e.is_regular_file() ? 1 : 0;

  const Output full = run(
      course.root(), with_full_disk(4, {TITO_BINARY, "release", "--out", out.string(), "--force"}));
  EXPECT_EQ(full.status, 1) << full.out << full.err;
  EXPECT_NE(full.err.find(out.string() + " is unchanged"), std::string::npos) << full.err;
  EXPECT_EQ(read_file(out / "CMakePresets.json"), presets);
  std::size_t after = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) after += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(after, files);
  EXPECT_TRUE(leftovers(out_dir.path(), ".tito-").empty());
}

/// Sets this process's file-size limit for the scope (SIGXFSZ ignored, so a write past it fails
/// with EFBIG as a full disk fails with ENOSPC).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    previous_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limited);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_);
  }

 private:
  rlimit saved_{};
  void (*previous_)(int) = nullptr;
};

TEST(Faults, AFullDiskWhileSavingACheckpointIsAClearErrorAndKeepsTheOldFile) {
  const TempDir dir;
  const fs::path file = dir.path() / "model.safetensors";
  tinytorch::train::save_safetensors(file, {{"w", tinytorch::full({4}, 1.0f)}});
  const std::string old = read_file(file);
  std::string message;
  {
    const FileSizeLimit limit(4096);
    try {
      tinytorch::train::save_safetensors(file, {{"w", tinytorch::full({64, 64}, 2.0f)}});
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
  }
  EXPECT_NE(message.find(file.filename().string()), std::string::npos) << message;
  EXPECT_EQ(read_file(file), old);
  EXPECT_TRUE(leftovers(dir.path(), ".tmp").empty());
}

}  // namespace
}  // namespace tito_test
