#include "server_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

extern char** environ;  // NOLINT: POSIX

namespace milestones {
namespace {

using Clock = std::chrono::steady_clock;

// posix_spawn's file actions and attributes, released on every path out.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attributes{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// The port of a port file, {"host": ..., "port": N, "pid": ...} written atomically by the server;
// 0 while it is absent or not yet complete.
int read_port(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return 0;
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("port") ||
      !doc["port"].is_number_integer()) {
    return 0;
  }
  const int port = doc["port"].get<int>();
  return port > 0 && port < 65536 ? port : 0;
}

}  // namespace

ServerProcess::ServerProcess(std::vector<std::string> argv, const std::filesystem::path& log_file)
    : log_file_(log_file), program_(argv.empty() ? "" : argv.front()) {
  if (argv.empty()) throw std::invalid_argument("ServerProcess: no program given");
  if (log_file.has_parent_path()) std::filesystem::create_directories(log_file.parent_path());
  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&setup.actions, STDOUT_FILENO, STDERR_FILENO);
  // Its own process group (one kill reaches whatever it starts), and SIGTERM/SIGINT unblocked and
  // at their defaults whatever the milestone's own mask: the server installs its own handling.
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&setup.attributes, &none);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  posix_spawnattr_setpgroup(&setup.attributes, 0);
  posix_spawnattr_setflags(&setup.attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int error =
      posix_spawn(&pid, program_.c_str(), &setup.actions, &setup.attributes, args.data(), environ);
  if (error != 0) {
    throw std::runtime_error("cannot start the server " + program_ + ": " + std::strerror(error));
  }
  pid_ = pid;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(-pid_, SIGKILL);
    reap(true);
  }
}

void ServerProcess::reap(bool block) {
  if (pid_ <= 0 || exited_) return;
  int status = 0;
  pid_t got = -1;
  do {
    got = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got == pid_) {
    exited_ = true;
    wait_status_ = status;
  }
}

bool ServerProcess::running() {
  reap(false);
  return !exited_;
}

int ServerProcess::wait_for_port(const std::filesystem::path& port_file,
                                 std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (const int port = read_port(port_file); port > 0) return port;
    if (!running()) {
      throw std::runtime_error("the server " + program_ + " exited before it listened (" +
                               (WIFEXITED(wait_status_)
                                    ? "status " + std::to_string(WEXITSTATUS(wait_status_))
                                    : "signal " + std::to_string(WTERMSIG(wait_status_))) +
                               "); its log " + log_file_.string() + " ends:\n" + log_tail(20));
    }
    if (Clock::now() > deadline) {
      throw std::runtime_error("the server " + program_ + " wrote no port to " +
                               port_file.string() + " within " +
                               std::to_string(timeout.count() / 1000) + " s; its log " +
                               log_file_.string() + " ends:\n" + log_tail(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int ServerProcess::terminate(std::chrono::milliseconds timeout) {
  if (running()) ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + timeout;
  while (running() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (running()) {
    ::kill(-pid_, SIGKILL);
    reap(true);
    return -1;
  }
  ::kill(-pid_, SIGKILL);  // anything the server started and left behind in its group
  return WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : -1;
}

std::string ServerProcess::log_tail(std::size_t lines) const {
  std::ifstream in(log_file_);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::ostringstream out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out << "  " << all[i] << '\n';
  }
  return out.str();
}

}  // namespace milestones
