#pragma once
// The progress store, .tito/progress.json:
//   {"schema_version": 1,
//    "modules": {"02_tensor": {"state": "completed", "started_at": ..., "completed_at": ...,
//    "exported": true}}, "checkpoints": {"tensor": {"passed": true, "at": ..., "tests_passed": n,
//    "tests_total": n}}}
// Every read-modify-write holds an exclusive flock on .tito/progress.lock, and every write goes to
// a temporary file in the same folder that is fsynced and renamed over the old one, so two tito
// processes never lose each other's updates and a crash never leaves half a file. A file that is
// not valid progress is moved aside (never silently reset), and a file from a newer tito is refused
// and left untouched.
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tito {

namespace fs = std::filesystem;

inline constexpr int kProgressSchemaVersion = 1;

struct ModuleProgress {
  std::string state;  // "available", "started" or "completed" (locked is computed, never stored)
  std::string started_at;
  std::string completed_at;
  bool exported = false;
  std::string exported_at;
};

struct CheckpointResult {
  bool passed = false;
  std::string at;           // when this result was measured
  std::string achieved_at;  // first pass; kept while the checkpoint keeps passing
  int tests_passed = 0;
  int tests_total = 0;
};

struct Progress {
  std::map<std::string, ModuleProgress> modules;        // by module folder name
  std::map<std::string, CheckpointResult> checkpoints;  // by checkpoint id
  nlohmann::json other = nlohmann::json::object();      // top-level keys this tito does not know

  [[nodiscard]] const ModuleProgress* module(const std::string& dir) const;
  [[nodiscard]] bool completed(const std::string& dir) const;
};

class ProgressStore {
 public:
  explicit ProgressStore(fs::path state_dir);

  [[nodiscard]] fs::path file() const { return dir_ / "progress.json"; }
  /// Reads under the lock (a corrupt file is moved aside, reported on stderr, and reads as empty).
  [[nodiscard]] Progress load() const;
  /// Read-modify-write under the lock; returns the progress as written.
  Progress update(const std::function<void(Progress&)>& change) const;

 private:
  [[nodiscard]] Progress read_locked() const;
  void write_locked(const Progress& progress) const;

  fs::path dir_;
};

/// Writes `content` to a temporary file beside `file`, fsyncs it and renames it over `file`: a
/// reader (or a crash, a kill, a full disk) sees the old file or the new one, never a torn one. On
/// failure the temporary file is removed, `file` is untouched, and TitoError names it and the
/// cause.
void write_file_atomically(const fs::path& file, const std::string& content);

/// The whole file, bytes as they are. Throws TitoError naming the file when it cannot be read.
[[nodiscard]] std::string read_file_text(const fs::path& file);

/// Current UTC time, ISO 8601 ("2025-01-31T12:00:00Z").
[[nodiscard]] std::string utc_timestamp();
/// Current UTC time for file names ("20250131T120000Z").
[[nodiscard]] std::string utc_file_stamp();

}  // namespace tito
