#pragma once
// The verdict on one hidden test, formed by the grader from what it saw of the test's process:
// how the process ended (sandbox) and the records on the result channel (grading_main.cpp). Full
// points only for exactly one well-formed "passed" record, for exactly this test, then one "done"
// record counting one test, then a normal exit with status 0. Output is never interpreted.
#include <string>

#include "grading/grades.hpp"
#include "grading/sandbox.hpp"

namespace tito::grading {

struct VerdictContext {
  double test_timeout_s = 0;  // as enforced, for the message
  double memory_mb = 0;       // for the message of a failed allocation
};

/// The last `lines` lines of `text` (a test's or a build's output).
[[nodiscard]] std::string last_lines(const std::string& text, std::size_t lines);

/// Sets `test`'s status, points (0 or its max_points), message, output and seconds.
void judge(TestGrade& test, const SandboxResult& run, const VerdictContext& context);

}  // namespace tito::grading
