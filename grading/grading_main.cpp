// The main() of every hidden grading suite (linked instead of GoogleTest's gtest_main).
//
// Run by hand or by ctest it is exactly gtest_main: InitGoogleTest, then RUN_ALL_TESTS.
//
// Run by `tito grade` it also reports each test's result on the result channel: the grader hands
// over one end of a Unix socket as a descriptor and names it with --tinytorch_grading_fd=N (taken
// out of argv before GoogleTest sees it). Each record is one JSON line:
//   {"event": "result", "test": "Suite.Name", "status": "passed|failed|skipped", "message": "..."}
//   {"event": "done", "tests": <number of tests that ended>}
// No secret is involved, so there is none for the tested code to steal. What keeps that code from
// writing records of its own is the grader's screen of the compiled submission (no function that
// writes to a descriptor, no raw system call, no code before main) and the socket itself: a
// socket cannot be reopened through /proc/self/fd or /dev/fd, and inside the grader's sandbox
// there is no /proc at all. The grader ignores stdout, stderr and every file the tests write, and
// a test that ends the process early never sends its record, so it scores zero.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t kMaxMessage = 8000;
constexpr std::string_view kChannelFlag = "--tinytorch_grading_fd=";

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the grader is gone; it will score what it has
    done += static_cast<std::size_t>(n);
  }
}

void send_record(int fd, const nlohmann::json& record) {
  // Messages quote what the tested code produced: invalid UTF-8 is replaced, never fatal.
  write_all(fd, record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

class ResultChannel : public testing::EmptyTestEventListener {
 public:
  explicit ResultChannel(int fd) : fd_(fd) {}

  void OnTestEnd(const testing::TestInfo& info) override {
    const testing::TestResult& result = *info.result();
    const char* status = result.Skipped() ? "skipped" : result.Failed() ? "failed" : "passed";
    std::string message;
    for (int i = 0; i < result.total_part_count(); ++i) {
      const testing::TestPartResult& part = result.GetTestPartResult(i);
      if (!part.failed()) continue;
      if (!message.empty()) message += "\n";
      if (part.file_name() != nullptr) {
        message += std::string(part.file_name()) + ":" + std::to_string(part.line_number()) + ": ";
      }
      message += part.message();
    }
    send_record(fd_, {{"event", "result"},
                      {"test", std::string(info.test_suite_name()) + "." + info.name()},
                      {"status", status},
                      {"message", message.substr(0, kMaxMessage)}});
    ++ended_;
  }

  void OnTestProgramEnd(const testing::UnitTest& /*unit_test*/) override {
    send_record(fd_, {{"event", "done"}, {"tests", ended_}});
  }

 private:
  int fd_;
  int ended_ = 0;
};

/// Takes --tinytorch_grading_fd=N out of argv; -1 when it is not there.
int take_channel(int& argc, char** argv) {
  int fd = -1;
  int kept = 0;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i > 0 && arg.substr(0, kChannelFlag.size()) == kChannelFlag) {
      fd = std::atoi(argv[i] + kChannelFlag.size());
      continue;
    }
    argv[kept++] = argv[i];
  }
  argc = kept;
  argv[argc] = nullptr;
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  const int fd = take_channel(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  if (fd > 2 && ::fcntl(fd, F_GETFD) != -1) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // programs the tests start do not inherit the channel
    // GoogleTest takes ownership of listeners passed as raw pointers (its API).
    testing::UnitTest::GetInstance()->listeners().Append(
        new ResultChannel(fd));  // NOLINT(cppcoreguidelines-owning-memory)
  }
  return RUN_ALL_TESTS();
}
