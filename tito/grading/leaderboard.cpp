#include "grading/leaderboard.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "core/errors.hpp"
#include "core/milestones.hpp"
#include "core/process.hpp"
#include "core/progress.hpp"
#include "grading/formats.hpp"
#include "grading/sandbox.hpp"
#include "grading/submission_files.hpp"

namespace tito::grading {

namespace {

using nlohmann::json;

std::string figure(const std::optional<double>& value) {
  return value ? fmt::format("{:.6g}", *value) : "";
}

std::optional<double> number_at(const json& final_metrics, const char* key) {
  if (!final_metrics.is_object() || !final_metrics.contains(key)) return std::nullopt;
  const json& v = final_metrics.at(key);
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

/// The last non-empty line of a program's output: what went wrong, usually.
std::string last_line(const std::string& output) {
  std::size_t end = output.find_last_not_of("\n\r ");
  if (end == std::string::npos) return "";
  const std::size_t begin = output.rfind('\n', end);
  return output.substr(begin == std::string::npos ? 0 : begin + 1, end - begin);
}

/// One scratch tree for the leaderboard, held (flock) for the whole run.
class BoardTree {
 public:
  explicit BoardTree(const fs::path& cache) : dir_(cache / "leaderboard") {
    fs::create_directories(dir_);
    const fs::path lock = dir_ / "tree.lock";
    fd_ = ::open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      throw TitoError(
          fmt::format("{} is in use by another `tito grade --leaderboard` (or cannot "
                      "be opened): wait for it, or give another --cache",
                      lock.string()));
    }
  }
  ~BoardTree() {
    if (fd_ >= 0) ::close(fd_);
  }
  BoardTree(const BoardTree&) = delete;
  BoardTree& operator=(const BoardTree&) = delete;
  [[nodiscard]] fs::path staging() const { return dir_ / "staging" / "modules"; }
  [[nodiscard]] fs::path build() const { return dir_ / "build"; }
  [[nodiscard]] fs::path runs() const { return dir_ / "runs"; }

 private:
  fs::path dir_;
  int fd_ = -1;
};

struct Board {
  const Course& course;
  const LeaderboardOptions& options;
  const Milestone& milestone;
  BoardTree tree;
  bool configured = false;

  void log(const std::string& line) const {
    if (options.grade.log) options.grade.log(line);
  }

  /// The student's files for every module the milestone requires, the reference for the rest.
  /// Returns why the submission cannot be built, or nothing.
  std::optional<std::string> stage(const Submission& sub) const {
    const std::set<std::string> required(milestone.requires_modules.begin(),
                                         milestone.requires_modules.end());
    const Located where = locate(course, sub.dir);
    for (const auto& m : course.modules()) {
      std::map<std::string, std::string> content;
      if (required.count(m.dir) != 0) {
        StudentFiles files = read_student_files(where, sub.dir, m);
        if (files.status) return files.message;
        content = std::move(files.content);
      } else {
        const fs::path solutions = course.root() / "solutions" / m.dir;
        const fs::path origin = fs::is_directory(solutions) ? solutions : course.module_dir(m);
        for (const auto& f : m.files) content[f] = read_file_text(origin / f);
      }
      for (const auto& [file, text] : content)
        write_if_different(tree.staging() / m.dir / file, text);
    }
    return std::nullopt;
  }

  void configure() {
    if (configured) return;
    log(fmt::format("leaderboard: configuring {}", tree.build().string()));
    ProcessOptions po;
    po.timeout = std::chrono::seconds(600);
    po.cwd = course.root();
    const ProcessResult r = run_process(
        {"cmake", "-S", course.root().string(), "-B", tree.build().string(), "-G", "Ninja",
         "-DCMAKE_BUILD_TYPE=Release", "-DTINYTORCH_SUBMISSION_DIR=" + tree.staging().string(),
         "-DTINYTORCH_STUDENT_MODULES=all", "-DTINYTORCH_BUILD_TITO=OFF",
         "-DTINYTORCH_BUILD_TESTS=OFF", "-DTINYTORCH_NATIVE=OFF",
         "-DTINYTORCH_ENABLE_STUB_CHECKS=OFF"},
        po);
    if (!r.ok()) {
      throw TitoError(fmt::format("cannot configure the leaderboard's build tree {} ({}):\n{}",
                                  tree.build().string(), r.describe(), r.tail(30)));
    }
    configured = true;
  }

  /// Builds the milestone program (and the server it depends on); the reason when it fails.
  std::optional<std::string> build() {
    configure();
    ProcessOptions po;
    po.timeout = std::chrono::seconds(static_cast<long>(options.grade.build_timeout_s));
    po.cwd = course.root();
    const ProcessResult r = run_process(
        {"cmake", "--build", tree.build().string(), "--target", "milestone_" + milestone.id,
         "--parallel", std::to_string(std::max(1U, std::thread::hardware_concurrency()))},
        po);
    if (r.ok()) return std::nullopt;
    if (r.timed_out) {
      return fmt::format("the build did not finish within {:g} s", options.grade.build_timeout_s);
    }
    std::string error;
    for (const auto& line : split_lines(r.tail(60))) {
      if (line.find("error") != std::string::npos) {
        error = line;
        break;
      }
    }
    // The compiler names the staged copy (an absolute or a build-relative path): name the
    // submission's file instead.
    if (const std::size_t at = error.find("staging/modules/"); at != std::string::npos) {
      const std::size_t begin = error.rfind(' ', at);
      error.replace(
          begin == std::string::npos ? 0 : begin + 1,
          at + std::string("staging/").size() - (begin == std::string::npos ? 0 : begin + 1), "");
    }
    return "does not build: " + (error.empty() ? r.describe() : error);
  }

  static std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t begin = 0;
    for (std::size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
      lines.push_back(text.substr(begin, end - begin));
    }
    if (begin < text.size()) lines.push_back(text.substr(begin));
    return lines;
  }

  LeaderboardRow run(const Submission& sub, const fs::path& model_dir, Isolation isolation) {
    const fs::path bin = tree.build() / "bin";
    const fs::path program = bin / ("milestone_" + milestone.id);
    const fs::path cwd = tree.runs() / fmt::format("{}-{}", sub.student, ::getpid());
    std::error_code ec;
    fs::remove_all(cwd, ec);
    fs::create_directories(cwd);
    const int exec_fd = sealed_executable(program);
    SandboxRun sandbox;
    sandbox.program_name = "milestone_" + milestone.id;
    sandbox.exec_fd = exec_fd;
    sandbox.cwd = cwd;
    sandbox.isolation = isolation;
    const fs::path out = isolation == Isolation::bwrap ? fs::path("/work") : cwd;
    sandbox.args = {"--out",       (out / (milestone.id + ".json")).string(),
                    "--model-dir", model_dir.string(),
                    "--data-dir",  options.data_dir.string(),
                    "--server",    (bin / "tinytorch-serve").string(),
                    "--quiet"};
    sandbox.args.insert(sandbox.args.end(), options.extra_args.begin(), options.extra_args.end());
    sandbox.read_only = {bin, model_dir, options.data_dir};
    sandbox.limits.wall =
        std::chrono::milliseconds(static_cast<long>(options.run_timeout_s * 1000));
    sandbox.limits.memory_bytes = static_cast<std::uint64_t>(options.memory_mb * 1024 * 1024);
    sandbox.limits.file_size_bytes = std::uint64_t{64} << 20;
    log(fmt::format("leaderboard: {}: running milestone {} ({} isolation)", sub.student,
                    milestone.id, to_string(isolation)));
    const SandboxResult r = run_sandboxed(sandbox);
    ::close(exec_fd);
    LeaderboardRow row;
    const fs::path result_file = cwd / (milestone.id + ".json");
    if (fs::exists(result_file, ec)) {
      try {
        row = leaderboard_row(sub.student, json::parse(read_file_text(result_file)));
      } catch (const json::exception& e) {
        row.student = sub.student;
        row.note = fmt::format("the milestone's result file is not JSON ({})", e.what());
      }
    } else {
      row.student = sub.student;
      row.note =
          fmt::format("the milestone {} without a result: {}", r.describe(), last_line(r.output));
    }
    if (isolation == Isolation::process) {
      row.note += std::string(row.note.empty() ? "" : "; ") +
                  "run without namespaces (isolation: process): review";
    }
    fs::remove_all(cwd, ec);
    return row;
  }
};

const Milestone& find_milestone(const Course& course, const std::string& id,
                                std::vector<Milestone>& storage) {
  storage = load_milestones(course);
  for (const auto& m : storage) {
    if (m.id == id) return m;
  }
  std::string valid;
  for (const auto& m : storage) valid += (valid.empty() ? "" : ", ") + m.id;
  throw UsageError(fmt::format("--leaderboard {}: not a milestone; valid: {}", id, valid));
}

}  // namespace

LeaderboardRow leaderboard_row(const std::string& student, const json& result) {
  LeaderboardRow row;
  row.student = student;
  const json final_metrics = result.is_object() ? result.value("final", json::object()) : json();
  row.passed = result.is_object() && result.contains("gate") && result["gate"].is_object() &&
               result["gate"].value("passed", false);
  row.accuracy = number_at(final_metrics, "accuracy_served");
  row.p99_ms = number_at(final_metrics, "p99_ms");
  row.throughput_rps = number_at(final_metrics, "throughput_rps");
  if (const auto bytes = number_at(final_metrics, "model_bytes"); bytes && *bytes >= 0) {
    row.model_bytes = static_cast<std::uintmax_t>(*bytes);
  }
  if (!row.passed) {
    std::string why;
    if (final_metrics.is_object() && final_metrics.contains("problems") &&
        final_metrics["problems"].is_array()) {
      for (const auto& p : final_metrics["problems"]) {
        if (p.is_string()) why += (why.empty() ? "" : "; ") + p.get<std::string>();
      }
    }
    row.note = "the gate did not pass" + (why.empty() ? std::string() : ": " + why);
  }
  return row;
}

std::string leaderboard_csv(const std::vector<LeaderboardRow>& rows) {
  std::string out = "student,passed,accuracy,p99_ms,throughput_rps,model_bytes,note\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},{},{},{},{},{}\n", csv_field(r.student), r.passed ? "yes" : "no",
                       figure(r.accuracy), figure(r.p99_ms), figure(r.throughput_rps),
                       r.model_bytes ? std::to_string(*r.model_bytes) : "", csv_field(r.note));
  }
  return out;
}

std::vector<LeaderboardRow> run_leaderboard(const Course& course,
                                            const std::vector<Submission>& subs,
                                            const LeaderboardOptions& options) {
  std::vector<Milestone> milestones;
  const Milestone& milestone = find_milestone(course, options.milestone, milestones);
  if (!milestone.dataset.empty() &&
      (options.data_dir.empty() || !fs::is_directory(options.data_dir / milestone.dataset))) {
    throw UsageError(fmt::format(
        "the {} milestone needs the {} data set: set TINYTORCH_DATA (or --data-dir) to the folder "
        "holding {}/",
        milestone.id, milestone.dataset, milestone.dataset));
  }
  const fs::path cache =
      options.grade.cache_dir.empty() ? course.root() / "build" / "grade" : options.grade.cache_dir;
  const Isolation isolation =
      options.grade.isolation == IsolationChoice::process ? Isolation::process : detect_isolation();
  if (options.grade.isolation == IsolationChoice::bwrap && isolation != Isolation::bwrap) {
    throw UsageError("--isolation bwrap: bubblewrap does not run here; use --isolation process");
  }
  become_subreaper();
  Board board{course, options, milestone, BoardTree(cache)};
  std::vector<LeaderboardRow> rows;
  for (const auto& sub : subs) {
    LeaderboardRow row;
    row.student = sub.student;
    std::error_code ec;
    const fs::path model_dir =
        fs::weakly_canonical(fs::absolute(sub.dir / options.model_subdir), ec);
    const fs::path inside = model_dir.lexically_relative(fs::weakly_canonical(sub.dir, ec));
    if (!inside.empty() && *inside.begin() == "..") {
      row.note = fmt::format("{} leads outside the submission (a link?): submit the model itself",
                             options.model_subdir.string());
    } else if (!fs::exists(model_dir / "config.json")) {
      row.note = fmt::format(
          "no saved model: {} is missing; the student runs `tito milestone run cifar10` and "
          "submits {}/",
          (options.model_subdir / "config.json").string(), options.model_subdir.string());
    } else if (const auto problem = board.stage(sub)) {
      row.note = *problem;
    } else if (const auto broken = board.build()) {
      row.note = *broken;
    } else {
      row = board.run(sub, model_dir, isolation);
    }
    board.log(fmt::format("leaderboard: {}: {}", sub.student, row.passed ? "passed" : row.note));
    rows.push_back(std::move(row));
  }
  kill_orphans();
  return rows;
}

}  // namespace tito::grading
