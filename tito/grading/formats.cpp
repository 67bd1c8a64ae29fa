#include "grading/formats.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "core/errors.hpp"

namespace tito::grading {

namespace {

using nlohmann::json;

constexpr std::size_t kStudentMessage = 2000;  // what Gradescope shows of one failure

std::string number(double value) {
  return fmt::format("{:g}", value);
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  return "\"" + replace_all(text, "\"", "\"\"") + "\"";
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

std::string dump_json(const json& doc, int indent) {
  return doc.dump(indent, ' ', false, json::error_handler_t::replace);
}

json grade_to_json(const SubmissionGrade& grade) {
  json modules = json::array();
  for (const auto& m : grade.modules) {
    json tests = json::array();
    for (const auto& t : m.tests) {
      json test = {{"name", t.name},
                   {"points", t.points},
                   {"max_points", t.max_points},
                   {"status", to_string(t.status)},
                   {"seconds", t.seconds},
                   {"message", t.message}};
      if (!t.output.empty()) test["output"] = t.output;
      tests.push_back(std::move(test));
    }
    modules.push_back({{"module", m.module},
                       {"status", to_string(m.status)},
                       {"message", m.message},
                       {"isolation", m.isolation},
                       {"review", m.review},
                       {"score", m.score()},
                       {"max_score", m.max_score()},
                       {"passed", m.passed()},
                       {"tests_total", m.tests.size()},
                       {"build_seconds", m.build_seconds},
                       {"run_seconds", m.run_seconds},
                       {"tests", tests}});
  }
  return {{"student", grade.student},       {"submission", grade.dir.string()},
          {"layout", grade.layout},         {"score", grade.score()},
          {"max_score", grade.max_score()}, {"needs_review", grade.needs_review()},
          {"seconds", grade.seconds},       {"modules", modules}};
}

SubmissionGrade grade_from_json(const json& doc, const std::string& origin) {
  SubmissionGrade g;
  try {
    g.student = doc.at("student").get<std::string>();
    g.dir = doc.value("submission", "");
    g.layout = doc.value("layout", "");
    g.seconds = doc.value("seconds", 0.0);
    for (const auto& jm : doc.at("modules")) {
      ModuleGrade m;
      m.module = jm.at("module").get<std::string>();
      const auto status = parse_module_status(jm.at("status").get<std::string>());
      if (!status) throw TitoError(fmt::format("module {}: unknown status", m.module));
      m.status = *status;
      m.message = jm.value("message", "");
      m.isolation = jm.value("isolation", "");
      m.review = jm.value("review", std::vector<std::string>{});
      m.build_seconds = jm.value("build_seconds", 0.0);
      m.run_seconds = jm.value("run_seconds", 0.0);
      for (const auto& jt : jm.at("tests")) {
        TestGrade t;
        t.name = jt.at("name").get<std::string>();
        t.points = jt.at("points").get<double>();
        t.max_points = jt.at("max_points").get<double>();
        const auto ts = parse_test_status(jt.at("status").get<std::string>());
        if (!ts) throw TitoError(fmt::format("test {}: unknown status", t.name));
        t.status = *ts;
        t.message = jt.value("message", "");
        t.output = jt.value("output", "");
        t.seconds = jt.value("seconds", 0.0);
        m.tests.push_back(std::move(t));
      }
      g.modules.push_back(std::move(m));
    }
  } catch (const json::exception& e) {
    throw TitoError(
        fmt::format("{}: not a grade written by `tito grade --format json`: {}", origin, e.what()));
  }
  return g;
}

json grade_to_gradescope(const SubmissionGrade& grade, const std::string& visibility) {
  json tests = json::array();
  std::string summary;
  for (const auto& m : grade.modules) {
    summary += fmt::format("{}: {:g}/{:g}", m.module, m.score(), m.max_score());
    if (m.status != ModuleStatus::graded) summary += fmt::format(" ({})", to_string(m.status));
    summary += "\n";
    if (m.status != ModuleStatus::graded) summary += m.message + "\n";
    int number = 0;
    for (const auto& t : m.tests) {
      ++number;
      // The student sees the verdict and the assertion's message, capped; never the test's raw
      // output, which could quote files the test had no business reading.
      std::string output;
      if (t.status != TestStatus::passed) {
        output = fmt::format("{}: {}", to_string(t.status), t.message);
        if (output.size() > kStudentMessage) output = output.substr(0, kStudentMessage) + " [...]";
      }
      tests.push_back({{"name", m.module + ": " + t.name},
                       {"number", fmt::format("{}.{}", m.module.substr(0, 2), number)},
                       {"score", t.points},
                       {"max_score", t.max_points},
                       {"status", t.status == TestStatus::passed ? "passed" : "failed"},
                       {"output", output},
                       {"visibility", visibility}});
    }
  }
  std::vector<std::string> review;
  for (const auto& m : grade.modules) {
    for (const auto& r : m.review) review.push_back(m.module + ": " + r);
  }
  return {{"score", grade.score()},
          {"execution_time", std::lround(grade.seconds)},
          {"output", summary},
          {"visibility", visibility},
          {"stdout_visibility", "hidden"},
          {"extra_data",
           {{"max_score", grade.max_score()}, {"layout", grade.layout}, {"review", review}}},
          {"tests", tests}};
}

std::string gradebook_csv(const std::vector<SubmissionGrade>& grades) {
  std::vector<std::string> modules;
  for (const auto& g : grades) {
    for (const auto& m : g.modules) {
      if (std::find(modules.begin(), modules.end(), m.module) == modules.end()) {
        modules.push_back(m.module);
      }
    }
  }
  std::sort(modules.begin(), modules.end());
  std::string out = "student";
  for (const auto& m : modules) out += "," + m;
  out += ",total,max_total,review,notes\n";
  for (const auto& g : grades) {
    out += csv_field(g.student);
    std::string notes;
    for (const auto& dir : modules) {
      const auto it = std::find_if(g.modules.begin(), g.modules.end(),
                                   [&](const ModuleGrade& m) { return m.module == dir; });
      out += "," + (it == g.modules.end() ? std::string() : number(it->score()));
      if (it == g.modules.end()) continue;
      if (it->status != ModuleStatus::graded) {
        notes += fmt::format("{}{}: {}", notes.empty() ? "" : "; ", dir, to_string(it->status));
      }
      for (const auto& r : it->review) {
        notes += fmt::format("{}{}: review: {}", notes.empty() ? "" : "; ", dir, first_line(r));
      }
    }
    out += fmt::format(",{},{},{},{}\n", number(g.score()), number(g.max_score()),
                       g.needs_review() ? "yes" : "", csv_field(notes));
  }
  return out;
}

std::string text_report(const SubmissionGrade& g) {
  std::string out =
      fmt::format("Grades for {} ({}, layout: {})\n\n", g.student, g.dir.string(), g.layout);
  // Plain aligned columns: this text may go to a file, so no colours.
  std::vector<std::vector<std::string>> cells = {
      {"module", "passed", "score", "status", "isolation", "build s", "tests s"}};
  for (const auto& m : g.modules) {
    cells.push_back({m.module, fmt::format("{}/{}", m.passed(), m.tests.size()),
                     fmt::format("{:g}/{:g}", m.score(), m.max_score()),
                     std::string(to_string(m.status)), m.isolation,
                     fmt::format("{:.1f}", m.build_seconds), fmt::format("{:.1f}", m.run_seconds)});
  }
  cells.push_back({"total", "", fmt::format("{:g}/{:g}", g.score(), g.max_score()), "", "", "",
                   fmt::format("{:.1f}", g.seconds)});
  std::vector<std::size_t> width(cells.front().size(), 0);
  for (const auto& row : cells) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : cells) {
    std::string line = " ";
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += " " + row[c] + std::string(width[c] - row[c].size() + 1, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  for (const auto& m : g.modules) {
    for (const auto& r : m.review) out += fmt::format("\n{}: needs review: {}\n", m.module, r);
    if (m.status != ModuleStatus::graded) {
      out += fmt::format("\n{} ({}): {}\n", m.module, to_string(m.status), m.message);
      continue;
    }
    bool header = false;
    for (const auto& t : m.tests) {
      if (t.status == TestStatus::passed) continue;
      if (!header) out += fmt::format("\n{}: tests that earned no points\n", m.module);
      header = true;
      out += fmt::format("  {:<8} {}  {}\n", to_string(t.status), t.name, first_line(t.message));
    }
  }
  return out;
}

std::string batch_text(const std::vector<SubmissionGrade>& grades) {
  std::string out;
  for (const auto& g : grades) {
    std::string notes;
    for (const auto& m : g.modules) {
      if (m.status != ModuleStatus::graded) {
        notes += fmt::format("{}{} {}", notes.empty() ? "" : ", ", m.module, to_string(m.status));
      }
    }
    if (g.needs_review()) notes += std::string(notes.empty() ? "" : ", ") + "needs review";
    out += fmt::format("{:<24} {:>8}/{:<8} {}\n", g.student, fmt::format("{:g}", g.score()),
                       fmt::format("{:g}", g.max_score()), notes);
  }
  return out;
}

}  // namespace tito::grading
