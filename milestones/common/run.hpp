#pragma once
// What every milestone program shares: its command line, the live progress line, the gate and the
// result file .tito/milestones/<id>.json (settings, per-epoch curves, final metrics, wall time).
// Framework-owned: the gate is computed here and in the milestone, never by the student's code.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tinytorch/tensor.hpp"

namespace milestones {

/// An option a milestone adds to the common ones, e.g. {"--generate", "PROMPT", "sample from the
/// saved model"}; an empty value_name makes it a switch that takes no value.
struct ExtraOption {
  std::string flag;
  std::string value_name;
  std::string help;
};

class Run {
 public:
  /// Parses --data-dir DIR, --out FILE, --epochs N, --seed N, --quiet, --help, and the milestone's
  /// own extra options; anything else is an error.
  Run(std::string id, std::string title, int argc, char** argv,
      std::vector<ExtraOption> extra_options = {});

  /// The data folder: --data-dir, else TINYTORCH_DATA; throws with instructions when neither is
  /// set.
  [[nodiscard]] std::filesystem::path data_dir() const;
  [[nodiscard]] int epochs(int default_epochs) const {
    return epochs_ > 0 ? epochs_ : default_epochs;
  }
  [[nodiscard]] std::uint64_t seed() const { return seed_; }
  [[nodiscard]] bool help_requested() const { return help_; }
  /// The result file finish() writes (--out).
  [[nodiscard]] const std::filesystem::path& out_path() const { return out_; }
  /// An extra option's value ("" for a switch), or nothing when it was not given.
  [[nodiscard]] std::optional<std::string> option(const std::string& flag) const;
  /// An extra option's value as a whole number >= 0, or default_value when it was not given.
  [[nodiscard]] std::int64_t option_number(const std::string& flag,
                                           std::int64_t default_value) const;

  void setting(const std::string& key, nlohmann::json value) { settings_[key] = std::move(value); }
  /// A section of the result file of its own, next to "settings" and "final" (e.g. the olympics'
  /// "steps"); the keys finish() writes itself cannot be replaced.
  void section(const std::string& key, nlohmann::json value) { sections_[key] = std::move(value); }
  void say(const std::string& line) const;

  /// Live progress within an epoch (rewritten in place on a terminal, silent otherwise).
  void batch_progress(int epoch, int epochs, std::int64_t batch, std::int64_t batches, double loss,
                      std::int64_t samples_done);
  /// Records one epoch (metrics such as train_loss, train_accuracy, test_accuracy) and prints it.
  void end_epoch(int epoch, int epochs, nlohmann::json metrics);
  /// The same for a training measured in other units ("step 1500/6000"): records metrics with
  /// metrics[unit] = index and prints them with the given estimate of the time left.
  void record(const std::string& unit, std::int64_t index, std::int64_t count,
              nlohmann::json metrics, double eta_seconds);
  /// True after Ctrl-C: stop training, the partial result is still written.
  [[nodiscard]] static bool interrupted();

  /// Writes a picture of the run next to the result file, as <result stem>-<name>.svg (e.g.
  /// .tito/milestones/cifar10-curves.svg), and lists it in the result's "charts" so that
  /// `tito milestone status` names it. Returns the file written.
  std::filesystem::path chart(const std::string& name, const std::string& svg);

  /// Writes the training curves (chart "curves", when the run recorded a loss or an accuracy),
  /// then the result file, and prints the verdict; returns the exit status (0 only when passed).
  int finish(bool passed, const std::string& gate, nlohmann::json final_metrics);

 private:
  std::string id_;
  std::string title_;
  std::filesystem::path data_dir_arg_;
  std::filesystem::path out_;
  int epochs_ = 0;
  std::uint64_t seed_ = 0;
  bool quiet_ = false;
  bool help_ = false;
  bool tty_ = false;
  std::vector<ExtraOption> extra_options_;
  std::vector<std::pair<std::string, std::string>> extra_values_;  // (flag, value) as given
  nlohmann::json settings_ = nlohmann::json::object();
  nlohmann::json sections_ = nlohmann::json::object();
  nlohmann::json curves_ = nlohmann::json::array();
  std::vector<std::string> charts_;  // file names, relative to the result file's folder
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point epoch_start_;
};

/// Runs forward over inputs (N, ...) in batches with grad mode off and counts argmax == label in
/// the milestone's own code. forward maps a (B, ...) batch to (B, C) logits.
[[nodiscard]] double count_accuracy(
    const std::function<tinytorch::Tensor(const tinytorch::Tensor&)>& forward,
    const std::vector<float>& inputs, const tinytorch::Shape& sample_shape,
    const std::vector<float>& labels, std::int64_t batch_size = 1000);

/// Fraction of rows whose largest logit sits at the label, from raw values (no student code).
[[nodiscard]] std::int64_t count_correct(const tinytorch::Tensor& logits, const float* labels);

/// CPU time of the whole process (every thread), which a busy machine does not inflate as it does
/// the wall time.
[[nodiscard]] double cpu_seconds();

/// Wraps main: runs body and turns any exception into a one-line error naming it (exit status 2).
int guarded_main(const std::function<int()>& body);

}  // namespace milestones
