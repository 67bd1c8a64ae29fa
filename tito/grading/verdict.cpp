#include "grading/verdict.hpp"

#include <fmt/core.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <vector>

namespace tito::grading {

namespace {

struct Record {
  std::string test;
  std::string status;
  std::string message;
};

}  // namespace

std::string last_lines(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n')) --pos;
  std::size_t count = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++count == lines) break;
    --pos;
  }
  return text.substr(pos);
}

void judge(TestGrade& t, const SandboxResult& r, const VerdictContext& context) {
  std::vector<Record> results;
  int malformed = 0;
  int done_records = 0;
  long done_count = -1;
  for (const auto& line : r.records) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("event") || !record.at("event").is_string()) {
      ++malformed;
      continue;
    }
    const std::string event = record.at("event").get<std::string>();
    if (event == "result" && record.value("test", nlohmann::json()).is_string() &&
        record.value("status", nlohmann::json()).is_string()) {
      Record rec;
      rec.test = record.at("test").get<std::string>();
      rec.status = record.at("status").get<std::string>();
      if (record.contains("message") && record.at("message").is_string()) {
        rec.message = record.at("message").get<std::string>();
      }
      results.push_back(std::move(rec));
    } else if (event == "done" && record.value("tests", nlohmann::json()).is_number_integer()) {
      ++done_records;
      done_count = record.at("tests").get<long>();
    } else {
      ++malformed;
    }
  }
  t.seconds = r.seconds;
  t.points = 0;
  t.message.clear();
  if (r.timed_out) {
    t.status = TestStatus::timeout;
    t.message = fmt::format("did not finish within {:g} s and was killed", context.test_timeout_s);
  } else if (r.term_signal != 0) {
    t.status = TestStatus::crashed;
    if (r.term_signal == SIGXCPU) {
      t.message = "used up its CPU time limit and was killed (SIGXCPU)";
    } else if (r.term_signal == SIGXFSZ) {
      t.message = "wrote a file larger than the limit and was killed (SIGXFSZ)";
    } else {
      t.message = "crashed: " + r.describe();
    }
  } else if (results.empty()) {
    t.status = TestStatus::exited;
    t.message = fmt::format(
        "the test program ended ({}) before the test reported a result: the tested code ended "
        "the process (e.g. exit() or abort-like code)",
        r.describe());
  } else if (results.size() != 1 || results[0].test != t.name || done_records != 1 ||
             done_count != 1) {
    t.status = TestStatus::invalid;
    t.message = "the test program reported results other than this test's one result";
  } else if (results[0].status == "passed") {
    if (r.exit_code == 0) {
      t.status = TestStatus::passed;
      t.points = t.max_points;
    } else {
      t.status = TestStatus::failed;
      t.message = fmt::format("the test passed, but the program then {}", r.describe());
    }
  } else if (results[0].status == "failed") {
    t.status = TestStatus::failed;
    t.message = results[0].message.empty() ? "failed" : results[0].message;
    if (t.message.find("bad_alloc") != std::string::npos) {
      t.message += fmt::format("\n(the memory limit is {:g} MiB)", context.memory_mb);
    }
  } else if (results[0].status == "skipped") {
    t.status = TestStatus::skipped;
    t.message = "the test was skipped";
  } else {
    t.status = TestStatus::invalid;
    t.message = "the test program sent a result record it should not be able to send";
  }
  if (malformed > 0) {
    t.message += fmt::format("{}ignored {} malformed line(s) on the result channel",
                             t.message.empty() ? "" : "\n", malformed);
  }
  t.output = t.status == TestStatus::passed ? "" : last_lines(r.output, 30);
}

}  // namespace tito::grading
