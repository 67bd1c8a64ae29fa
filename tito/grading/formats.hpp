#pragma once
// The output formats of `tito grade`, and reading tito's own JSON back (for `tito grade merge`).
//   json        every test: status, points, message, output tail (the instructor's record)
//   gradescope  Gradescope's results.json; what a student sees: statuses and failure messages,
//               never the raw output of a test
//   csv         the gradebook: student, one column per module, total, max_total, review, notes
//   text        a table per submission, or a line per student for a batch
// Text that tests printed is not trusted to be UTF-8: every JSON document is written with invalid
// bytes replaced.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "grading/grades.hpp"

namespace tito::grading {

[[nodiscard]] nlohmann::json grade_to_json(const SubmissionGrade& grade);
/// Reads what grade_to_json wrote. Throws TitoError naming `origin` and what is wrong.
[[nodiscard]] SubmissionGrade grade_from_json(const nlohmann::json& doc, const std::string& origin);
[[nodiscard]] nlohmann::json grade_to_gradescope(const SubmissionGrade& grade,
                                                 const std::string& visibility);
[[nodiscard]] std::string gradebook_csv(const std::vector<SubmissionGrade>& grades);
[[nodiscard]] std::string text_report(const SubmissionGrade& grade);
[[nodiscard]] std::string batch_text(const std::vector<SubmissionGrade>& grades);

/// `text` with every `from` replaced by `to` (CSV quoting, paths taken out of build logs).
[[nodiscard]] std::string replace_all(std::string text, const std::string& from,
                                      const std::string& to);

/// One CSV field: quoted (RFC 4180) when it holds a comma, a quote or a line break.
[[nodiscard]] std::string csv_field(const std::string& text);

/// nlohmann's dump with invalid UTF-8 replaced (U+FFFD) instead of thrown.
[[nodiscard]] std::string dump_json(const nlohmann::json& doc, int indent = 2);

}  // namespace tito::grading
