#include "grading/grades.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace tito::grading {

namespace {

constexpr std::array<std::pair<TestStatus, std::string_view>, 8> kTestStatuses = {{
    {TestStatus::passed, "passed"},
    {TestStatus::failed, "failed"},
    {TestStatus::skipped, "skipped"},
    {TestStatus::crashed, "crashed"},
    {TestStatus::timeout, "timeout"},
    {TestStatus::exited, "exited"},
    {TestStatus::invalid, "invalid"},
    {TestStatus::not_run, "not_run"},
}};

constexpr std::array<std::pair<ModuleStatus, std::string_view>, 4> kModuleStatuses = {{
    {ModuleStatus::graded, "graded"},
    {ModuleStatus::compile_error, "compile_error"},
    {ModuleStatus::missing_files, "missing_files"},
    {ModuleStatus::rejected, "rejected"},
}};

template <typename Table, typename Enum>
std::string_view name_of(const Table& table, Enum value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "?";
}

template <typename Enum, typename Table>
std::optional<Enum> value_of(const Table& table, std::string_view text) {
  for (const auto& [e, name] : table) {
    if (name == text) return e;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(TestStatus status) {
  return name_of(kTestStatuses, status);
}
std::string_view to_string(ModuleStatus status) {
  return name_of(kModuleStatuses, status);
}
std::optional<TestStatus> parse_test_status(std::string_view text) {
  return value_of<TestStatus>(kTestStatuses, text);
}
std::optional<ModuleStatus> parse_module_status(std::string_view text) {
  return value_of<ModuleStatus>(kModuleStatuses, text);
}

double ModuleGrade::score() const {
  double sum = 0;
  for (const auto& t : tests) sum += t.points;
  return sum;
}

double ModuleGrade::max_score() const {
  double sum = 0;
  for (const auto& t : tests) sum += t.max_points;
  return sum;
}

int ModuleGrade::passed() const {
  return static_cast<int>(std::count_if(tests.begin(), tests.end(), [](const TestGrade& t) {
    return t.status == TestStatus::passed;
  }));
}

double SubmissionGrade::score() const {
  double sum = 0;
  for (const auto& m : modules) sum += m.score();
  return sum;
}

double SubmissionGrade::max_score() const {
  double sum = 0;
  for (const auto& m : modules) sum += m.max_score();
  return sum;
}

bool SubmissionGrade::needs_review() const {
  return std::any_of(modules.begin(), modules.end(),
                     [](const ModuleGrade& m) { return !m.review.empty(); });
}

}  // namespace tito::grading
