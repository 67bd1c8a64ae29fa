#include "core/progress.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"
#include "core/json_file.hpp"

namespace tito {

namespace {

using nlohmann::json;

/// An open file descriptor, closed on scope exit.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

/// Exclusive flock on .tito/progress.lock for the lifetime of the object.
class LockGuard {
 public:
  explicit LockGuard(const fs::path& lock_file)
      : fd_(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_.get() < 0) {
      throw TitoError(
          fmt::format("cannot open lock file {}: {}", lock_file.string(), std::strerror(errno)));
    }
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) {
        throw TitoError(
            fmt::format("cannot lock {}: {}", lock_file.string(), std::strerror(errno)));
      }
    }
  }  // the lock is released when the descriptor closes

 private:
  UniqueFd fd_;
};

std::string format_utc(const char* pattern) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, pattern, &tm);
  return buffer;
}

void check_shape(const json& doc) {
  if (!doc.is_object()) throw std::invalid_argument("the top level is not a JSON object");
  if (!doc.contains("schema_version") || !doc.at("schema_version").is_number_integer()) {
    throw std::invalid_argument("\"schema_version\" is missing or not an integer");
  }
  for (const char* key : {"modules", "checkpoints"}) {
    if (doc.contains(key) && !doc.at(key).is_object()) {
      throw std::invalid_argument(fmt::format("\"{}\" is not an object", key));
    }
  }
}

ModuleProgress module_from_json(const std::string& dir, const json& j) {
  ModuleProgress m;
  m.state = j.at("state").get<std::string>();
  if (m.state != "available" && m.state != "started" && m.state != "completed") {
    throw std::invalid_argument(fmt::format("module {} has unknown state '{}'", dir, m.state));
  }
  m.started_at = j.value("started_at", "");
  m.completed_at = j.value("completed_at", "");
  m.exported = j.value("exported", false);
  m.exported_at = j.value("exported_at", "");
  return m;
}

json module_to_json(const ModuleProgress& m) {
  json j = {{"state", m.state}, {"exported", m.exported}};
  if (!m.started_at.empty()) j["started_at"] = m.started_at;
  if (!m.completed_at.empty()) j["completed_at"] = m.completed_at;
  if (!m.exported_at.empty()) j["exported_at"] = m.exported_at;
  return j;
}

CheckpointResult checkpoint_from_json(const json& j) {
  CheckpointResult c;
  c.passed = j.at("passed").get<bool>();
  c.at = j.value("at", "");
  c.achieved_at = j.value("achieved_at", "");
  c.tests_passed = int_field(j, "tests_passed", 0);
  c.tests_total = int_field(j, "tests_total", 0);
  return c;
}

json checkpoint_to_json(const CheckpointResult& c) {
  json j = {{"passed", c.passed},
            {"at", c.at},
            {"tests_passed", c.tests_passed},
            {"tests_total", c.tests_total}};
  if (!c.achieved_at.empty()) j["achieved_at"] = c.achieved_at;
  return j;
}

/// Parses a document already known to carry a supported schema_version; throws on a bad shape.
Progress from_json(const json& doc) {
  check_shape(doc);
  Progress p;
  // Named copies: iterating items() of a temporary would dangle.
  const json modules = doc.value("modules", json::object());
  const json checkpoints = doc.value("checkpoints", json::object());
  for (const auto& [dir, value] : modules.items()) p.modules[dir] = module_from_json(dir, value);
  for (const auto& [id, value] : checkpoints.items())
    p.checkpoints[id] = checkpoint_from_json(value);
  for (const auto& [key, value] : doc.items()) {
    if (key != "schema_version" && key != "modules" && key != "checkpoints") p.other[key] = value;
  }
  return p;
}

json to_json(const Progress& p) {
  json doc = p.other;
  doc["schema_version"] = kProgressSchemaVersion;
  doc["modules"] = json::object();
  for (const auto& [dir, m] : p.modules) doc["modules"][dir] = module_to_json(m);
  doc["checkpoints"] = json::object();
  for (const auto& [id, c] : p.checkpoints) doc["checkpoints"][id] = checkpoint_to_json(c);
  return doc;
}

void write_all(int fd, const std::string& data, const fs::path& file) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw TitoError(fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
}

void fsync_dir(const fs::path& dir) {
  const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());  // best effort: makes the rename itself durable
}

}  // namespace

const ModuleProgress* Progress::module(const std::string& dir) const {
  const auto it = modules.find(dir);
  return it == modules.end() ? nullptr : &it->second;
}

bool Progress::completed(const std::string& dir) const {
  const ModuleProgress* m = module(dir);
  return m != nullptr && m->state == "completed";
}

ProgressStore::ProgressStore(fs::path state_dir) : dir_(std::move(state_dir)) {}

Progress ProgressStore::load() const {
  if (!fs::exists(file())) return {};  // nothing recorded yet; no need to create .tito/
  fs::create_directories(dir_);
  const LockGuard lock(dir_ / "progress.lock");
  return read_locked();
}

Progress ProgressStore::update(const std::function<void(Progress&)>& change) const {
  fs::create_directories(dir_);
  const LockGuard lock(dir_ / "progress.lock");
  Progress progress = read_locked();
  change(progress);
  write_locked(progress);
  return progress;
}

Progress ProgressStore::read_locked() const {
  const fs::path path = file();
  if (!fs::exists(path)) return {};
  std::string problem;
  json doc;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problem = fmt::format("it cannot be read ({})", std::strerror(errno));
  } else {
    std::stringstream text;
    text << in.rdbuf();
    try {
      doc = parse_json_text(text.str(), path);
    } catch (const TitoError&) {
      problem = fmt::format("it is not valid JSON (or nests deeper than {} levels)", kMaxJsonDepth);
    }
  }
  if (problem.empty()) {
    if (doc.is_object() && doc.contains("schema_version") &&
        doc.at("schema_version").is_number_integer() &&
        doc.at("schema_version").get<long long>() > kProgressSchemaVersion) {
      throw TitoError(fmt::format(
          "{} has schema_version {}, newer than this tito understands ({}). Update tito; the file "
          "was left untouched.",
          path.string(), doc.at("schema_version").dump(), kProgressSchemaVersion));
    }
    try {
      // An integer first: nlohmann converts a float (1e84) to long long without a range check.
      const nlohmann::json& version = doc.at("schema_version");
      if (!version.is_number_integer() || version.get<long long>() != kProgressSchemaVersion) {
        throw std::invalid_argument(fmt::format("schema_version {} is not {}",
                                                doc.at("schema_version").dump(),
                                                kProgressSchemaVersion));
      }
      return from_json(doc);
    } catch (const std::exception& e) {
      problem = fmt::format("it is not a valid progress file ({})", e.what());
    }
  }
  // Never reset silently: keep the bytes for the student (or a bug report) and start afresh.
  fs::path aside = path;
  aside += ".corrupt-" + utc_file_stamp();
  for (int i = 1; fs::exists(aside); ++i) {
    aside = path;
    aside += fmt::format(".corrupt-{}-{}", utc_file_stamp(), i);
  }
  fs::rename(path, aside);
  fmt::print(stderr,
             "warning: {} was unusable: {}.\n"
             "         It was moved to {} and progress starts afresh; nothing in it was deleted.\n",
             path.string(), problem, aside.string());
  return {};
}

void ProgressStore::write_locked(const Progress& progress) const {
  write_file_atomically(file(), to_json(progress).dump(2) + "\n");
}

std::string read_file_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TitoError(fmt::format("cannot read {}", file.string()));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file_atomically(const fs::path& file, const std::string& content) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  fs::path temp = file;
  temp += fmt::format(".tmp-{}", ::getpid());
  try {
    const UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      throw TitoError(fmt::format("cannot create {}: {}", temp.string(), std::strerror(errno)));
    }
    write_all(fd.get(), content, temp);
    if (::fsync(fd.get()) != 0) {
      throw TitoError(fmt::format("cannot sync {}: {}", temp.string(), std::strerror(errno)));
    }
  } catch (const TitoError& e) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw TitoError(fmt::format("{} was not saved (it is unchanged): {}", file.string(), e.what()));
  }
  std::error_code error;
  fs::rename(temp, file, error);
  if (error) {
    fs::remove(temp, error);
    throw TitoError(fmt::format("{} was not saved (it is unchanged): cannot rename {} over it",
                                file.string(), temp.string()));
  }
  fsync_dir(dir);
}

std::string utc_timestamp() {
  return format_utc("%Y-%m-%dT%H:%M:%SZ");
}

std::string utc_file_stamp() {
  return format_utc("%Y%m%dT%H%M%SZ");
}

}  // namespace tito
