#pragma once
// The served model as a child process, for the production milestone: started with an argument
// vector (no shell) in a process group of its own, its output going to a log file, its port read
// from the --port-file it writes, stopped with SIGTERM and its exit status checked. Whatever
// happens, the destructor leaves nothing running (SIGKILL to the group). tito's own process
// helper (tito/core/process.hpp) runs programs to completion; this one keeps a server alive while
// the milestone talks to it, and the milestones build without tito's sources.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace milestones {

class ServerProcess {
 public:
  /// Starts argv[0] (a path) with its arguments; stdout and stderr are appended to log_file.
  /// Throws std::runtime_error naming the program when it cannot start.
  ServerProcess(std::vector<std::string> argv, const std::filesystem::path& log_file);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// Waits until port_file holds {"port": N, ...} (the server writes it once it listens). Throws
  /// std::runtime_error with the log's tail when the server exits first or the time runs out.
  [[nodiscard]] int wait_for_port(const std::filesystem::path& port_file,
                                  std::chrono::milliseconds timeout);

  /// SIGTERM, then waits up to `timeout` for the exit. Returns the exit status (0 = a clean
  /// drain); -1 when it had to be killed (it did not stop in time) or a signal ended it.
  [[nodiscard]] int terminate(std::chrono::milliseconds timeout);

  /// True while the process has not exited.
  [[nodiscard]] bool running();

  /// The last `lines` lines of the log (for error messages).
  [[nodiscard]] std::string log_tail(std::size_t lines) const;

 private:
  void reap(bool block);

  std::filesystem::path log_file_;
  std::string program_;
  int pid_ = -1;
  bool exited_ = false;
  int wait_status_ = 0;
};

}  // namespace milestones
