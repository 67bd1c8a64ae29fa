// The main() of every hidden grading suite (linked instead of GoogleTest's gtest_main).
//
// Run by hand or by ctest it is exactly gtest_main: InitGoogleTest, then RUN_ALL_TESTS.
//
// Run by `tito grade` it also reports each test's result on a private channel: the grader passes a
// pipe's write end as TINYTORCH_GRADING_FD and a per-run secret as TINYTORCH_GRADING_NONCE. Both
// variables are read and removed from the environment before any test runs, the descriptor is
// closed on exec, and every record starts with the secret:
//   "<nonce> RESULT <Suite.Name> PASSED|FAILED|SKIPPED <escaped failure message>\n"
//   "<nonce> DONE <number of tests that ran>\n"
// The grader ignores stdout, stderr and every file the tests write: printing a fake "[  PASSED  ]"
// summary or a fake report changes nothing, and a test that ends the process early (exit(0), a
// crash) never writes its RESULT record, so it scores zero.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t kMaxMessage = 8000;

/// One line: backslash, newline, carriage return and other control bytes become escapes.
std::string escape(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, kMaxMessage)) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the grader is gone; it will score what it has
    done += static_cast<std::size_t>(n);
  }
}

class ResultChannel : public testing::EmptyTestEventListener {
 public:
  ResultChannel(int fd, std::string nonce) : fd_(fd), nonce_(std::move(nonce)) {}

  void OnTestEnd(const testing::TestInfo& info) override {
    const testing::TestResult& result = *info.result();
    const char* status = result.Skipped() ? "SKIPPED" : result.Failed() ? "FAILED" : "PASSED";
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
    write_all(fd_, nonce_ + " RESULT " + info.test_suite_name() + "." + info.name() + " " + status +
                       " " + escape(message) + "\n");
    ++ended_;
  }

  void OnTestProgramEnd(const testing::UnitTest& /*unit_test*/) override {
    write_all(fd_, nonce_ + " DONE " + std::to_string(ended_) + "\n");
  }

 private:
  int fd_;
  std::string nonce_;
  int ended_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const char* fd_text = std::getenv("TINYTORCH_GRADING_FD");
  const char* nonce_text = std::getenv("TINYTORCH_GRADING_NONCE");
  const int fd = fd_text != nullptr ? std::atoi(fd_text) : -1;
  const std::string nonce = nonce_text != nullptr ? nonce_text : "";
  ::unsetenv("TINYTORCH_GRADING_FD");
  ::unsetenv("TINYTORCH_GRADING_NONCE");
  testing::InitGoogleTest(&argc, argv);
  if (fd > 2 && nonce.size() >= 16) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // programs the tests start do not inherit the channel
    // GoogleTest takes ownership of listeners passed as raw pointers (its API).
    testing::UnitTest::GetInstance()->listeners().Append(
        new ResultChannel(fd, nonce));  // NOLINT(cppcoreguidelines-owning-memory)
  }
  return RUN_ALL_TESTS();
}
