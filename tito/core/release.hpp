#pragma once
// `tito release`: the student repository, made from the instructor's course. What ships is an
// allow-list (modules/ with stubs, lessons and visible tests; tito/, checkpoints/, milestones/,
// kernels/, core/, bench/, cmake/, the student's scripts, CMakeLists.txt, a student-only
// CMakePresets.json and grading/student-README.md as README.md). Nothing else does: no solutions/,
// no hidden suites (tests/NN_name/), no instructor scripts or CI, and not tito's instructor wing
// (tito/grading/, the grade and release commands).
//
// The leak check then proves no solution text got in by another door (a stub left with its body,
// a lesson quoting the answer: cs249r_book#1684): every function body of every file under
// solutions/ is compared, as normalised non-trivial code lines, against every line (and every
// comment's text, and every inline code span of a lesson) of every released file.
#include <filesystem>
#include <string>
#include <vector>

namespace tito {

namespace fs = std::filesystem;

struct ReleaseReport {
  fs::path out;
  std::vector<std::string> files;    // released, relative to out
  std::vector<std::string> skipped;  // top-level entries of the course left out on purpose
};

struct Leak {
  std::string solution;            // "solutions/01_setup/setup.cpp:52 (cxx_standard)"
  std::string released;            // "modules/01_setup/setup.cpp:30"
  std::vector<std::string> lines;  // the matching normalised lines
  std::string why;
  std::string allowed;  // the reason from grading/release-allow.json; empty = a real leak
};

/// Copies the student repository into `out` (must be absent, empty, or an earlier release when
/// `force`). Throws TitoError on a refused destination.
[[nodiscard]] ReleaseReport make_release(const fs::path& course_root, const fs::path& out,
                                         bool force);

/// The leak check of a release folder against the course's solutions/ and hidden suites.
[[nodiscard]] std::vector<Leak> check_release(const fs::path& course_root, const fs::path& out);

}  // namespace tito
