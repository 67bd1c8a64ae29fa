// Fuzz target: the grader's result channel (grading/grading_main.cpp writes it, tito/grading/
// verdict.cpp judges it). Input: the bytes a test process sent on the channel, one record a line.
// Contract: never a crash; a test earns all its points or none, and all only for exactly one
// well-formed "passed" record for this very test, one "done" record counting one test, and exit 0.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "grading/verdict.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  tito::grading::SandboxResult run;
  run.exit_code = 0;
  std::size_t begin = 0;
  for (std::size_t end; (end = bytes.find('\n', begin)) != std::string::npos; begin = end + 1) {
    run.records.push_back(bytes.substr(begin, end - begin));
  }
  if (begin < bytes.size()) run.records.push_back(bytes.substr(begin));
  tito::grading::TestGrade test;
  test.name = "Suite.Name";
  test.max_points = 2;
  tito::grading::judge(test, run, {20, 2048});
  const bool passed = test.status == tito::grading::TestStatus::passed;
  if (test.points != (passed ? 2.0 : 0.0)) std::abort();
  if (passed && run.records.size() < 2) std::abort();  // a pass needs its result and done records
  return 0;
}
