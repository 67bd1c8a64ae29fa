#include "run.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <stdexcept>

#include "curves.hpp"
#include "tinytorch/atomic_file.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/charts.hpp"

namespace milestones {
namespace fs = std::filesystem;
namespace {

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void on_sigint(int /*signal*/) {
  stop_requested = 1;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string clock_text(double seconds) {
  const long s = std::lround(seconds);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

void usage(const std::string& id, const std::string& title, const std::vector<ExtraOption>& extra) {
  std::cout << fmt::format(
      "milestone {}: {}\n\n"
      "  --data-dir DIR  data folder (default: $TINYTORCH_DATA)\n"
      "  --out FILE      result file (default: .tito/milestones/{}.json)\n"
      "  --epochs N      override the number of epochs\n"
      "  --seed N        random seed (default 0)\n"
      "  --quiet         only the verdict\n",
      id, title, id);
  for (const auto& option : extra) {
    std::cout << fmt::format("  {:<15} {}\n", option.flag + " " + option.value_name, option.help);
  }
}

long long parse_number(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  long long n = -1;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || n < 0)
    throw std::invalid_argument(flag + " needs a whole number, got '" + text + "'");
  return n;
}

}  // namespace

Run::Run(std::string id, std::string title, int argc, char** argv,
         std::vector<ExtraOption> extra_options)
    : id_(std::move(id)),
      title_(std::move(title)),
      out_(".tito/milestones/" + id_ + ".json"),
      extra_options_(std::move(extra_options)) {
  auto value = [&](int& i, const std::string& flag) -> std::string {
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    return argv[++i];
  };
  auto number = parse_number;
  auto extra = [&](const std::string& flag) {
    return std::find_if(extra_options_.begin(), extra_options_.end(),
                        [&](const ExtraOption& o) { return o.flag == flag; });
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--data-dir")
      data_dir_arg_ = value(i, arg);
    else if (arg == "--out")
      out_ = value(i, arg);
    else if (arg == "--epochs")
      epochs_ = static_cast<int>(number(arg, value(i, arg)));
    else if (arg == "--seed")
      seed_ = static_cast<std::uint64_t>(number(arg, value(i, arg)));
    else if (arg == "--quiet")
      quiet_ = true;
    else if (arg == "--help" || arg == "-h")
      help_ = true;
    else if (const auto option = extra(arg); option != extra_options_.end())
      extra_values_.emplace_back(arg, option->value_name.empty() ? "" : value(i, arg));
    else
      throw std::invalid_argument("unknown option '" + arg + "' (see --help)");
  }
  if (help_) usage(id_, title_, extra_options_);
  tty_ = isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr;
  std::signal(SIGINT, on_sigint);
  start_ = epoch_start_ = std::chrono::steady_clock::now();
  settings_["seed"] = seed_;
}

std::optional<std::string> Run::option(const std::string& flag) const {
  std::optional<std::string> found;  // the last occurrence wins, as for the common options
  for (const auto& [given, text] : extra_values_) {
    if (given == flag) found = text;
  }
  return found;
}

std::int64_t Run::option_number(const std::string& flag, std::int64_t default_value) const {
  const auto text = option(flag);
  return text ? parse_number(flag, *text) : default_value;
}

fs::path Run::data_dir() const {
  if (!data_dir_arg_.empty()) return data_dir_arg_;
  if (const char* env = std::getenv("TINYTORCH_DATA"); env != nullptr && *env != '\0') return env;
  throw std::runtime_error(
      "no data folder: set TINYTORCH_DATA or pass --data-dir DIR (a folder holding mnist/, "
      "cifar-10-batches-bin/, tinyshakespeare/); `tito data fetch` downloads them");
}

void Run::say(const std::string& line) const {
  if (!quiet_) std::cout << line << std::endl;
}

bool Run::interrupted() {
  return stop_requested != 0;
}

void Run::batch_progress(int epoch, int epochs, std::int64_t batch, std::int64_t batches,
                         double loss, std::int64_t samples_done) {
  if (quiet_ || !tty_) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  const double fraction = static_cast<double>(batch + 1) / static_cast<double>(batches);
  const int width = 24;
  const int filled = static_cast<int>(fraction * width);
  const double epoch_eta = elapsed / fraction - elapsed;
  std::cout << fmt::format(
                   "\r  epoch {:>2}/{} [{}{}] {:>4}/{} loss {:.4f} {:>7.0f} samples/s ETA {}  ",
                   epoch, epochs, std::string(filled, '#'), std::string(width - filled, '.'),
                   batch + 1, batches, loss, samples_done / std::max(elapsed, 1e-9),
                   clock_text(epoch_eta))
            << std::flush;
}

void Run::end_epoch(int epoch, int epochs, nlohmann::json metrics) {
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  record("epoch", epoch, epochs, std::move(metrics), total / epoch * (epochs - epoch));
}

void Run::record(const std::string& unit, std::int64_t index, std::int64_t count,
                 nlohmann::json metrics, double eta_seconds) {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - epoch_start_).count();
  epoch_start_ = now;
  metrics[unit] = index;
  metrics["seconds"] = seconds;
  curves_.push_back(metrics);
  if (quiet_) return;
  std::string line = fmt::format("  {} {:>2}/{}", unit, index, count);
  for (const auto& [key, value] : metrics.items()) {
    if (key == unit || key == "seconds") continue;
    if (value.is_number_float()) line += fmt::format("  {} {:.4f}", key, value.get<double>());
    if (value.is_number_integer()) line += fmt::format("  {} {}", key, value.get<std::int64_t>());
  }
  line += fmt::format("  {:.1f} s  ETA {}", seconds, clock_text(eta_seconds));
  std::cout << (tty_ ? "\r" : "") << line << std::string(tty_ ? 8 : 0, ' ') << std::endl;
}

fs::path Run::chart(const std::string& name, const std::string& svg) {
  const fs::path file = out_.parent_path() / (out_.stem().string() + "-" + name + ".svg");
  tinytorch::charts::write_svg(file, svg);
  const std::string listed = file.filename().string();
  if (std::find(charts_.begin(), charts_.end(), listed) == charts_.end()) charts_.push_back(listed);
  return file;
}

int Run::finish(bool passed, const std::string& gate, nlohmann::json final_metrics) {
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const bool stopped = interrupted();
  // A picture that cannot be written costs the picture, never the result file.
  try {
    if (const auto svg = training_curves_svg(curves_, id_)) {
      say("  training curves: " + chart("curves", *svg).string());
    }
  } catch (const std::exception& error) {
    std::cerr << "warning: " << error.what() << "\n";
  }
  nlohmann::json result = {{"id", id_},
                           {"title", title_},
                           {"finished_at", utc_now()},
                           {"settings", settings_},
                           {"epochs", curves_},
                           {"final", std::move(final_metrics)},
                           {"gate", {{"rule", gate}, {"passed", passed && !stopped}}},
                           {"interrupted", stopped},
                           {"charts", charts_},
                           {"wall_seconds", wall}};
  for (const auto& [key, value] : sections_.items()) {
    if (!result.contains(key)) result[key] = value;
  }
  fs::create_directories(out_.has_parent_path() ? out_.parent_path() : fs::path("."));
  tinytorch::write_file_atomically(out_, result.dump(2) + "\n", "the milestone result");
  const char* verdict = stopped ? "INTERRUPTED" : passed ? "PASSED" : "NOT PASSED";
  std::cout << fmt::format("\n{} {}: {} (gate: {}) in {:.1f} s\n  result: {}\n", id_, title_,
                           verdict, gate, wall, out_.string());
  if (stopped) return 130;
  return passed ? 0 : 1;
}

std::int64_t count_correct(const tinytorch::Tensor& logits, const float* labels) {
  // Read the numbers through the framework's own shape/stride metadata, not student functions.
  const std::int64_t rows = logits.shape().at(0);
  const std::int64_t classes = logits.shape().at(1);
  const std::int64_t row_stride = logits.strides().at(0);
  const std::int64_t col_stride = logits.strides().at(1);
  const float* base = logits.data_ptr();
  std::int64_t correct = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < classes; ++c) {
      if (base[r * row_stride + c * col_stride] > base[r * row_stride + best * col_stride])
        best = c;
    }
    correct += best == static_cast<std::int64_t>(labels[r]) ? 1 : 0;
  }
  return correct;
}

double count_accuracy(const std::function<tinytorch::Tensor(const tinytorch::Tensor&)>& forward,
                      const std::vector<float>& inputs, const tinytorch::Shape& sample_shape,
                      const std::vector<float>& labels, std::int64_t batch_size) {
  const auto count = static_cast<std::int64_t>(labels.size());
  std::int64_t sample_size = 1;
  for (auto d : sample_shape) sample_size *= d;
  if (static_cast<std::int64_t>(inputs.size()) != count * sample_size) {
    throw std::logic_error("count_accuracy: inputs and labels disagree on the number of samples");
  }
  const bool was_enabled = tinytorch::autograd::GradMode::is_enabled();
  tinytorch::autograd::GradMode::set_enabled(false);
  std::int64_t correct = 0;
  for (std::int64_t begin = 0; begin < count; begin += batch_size) {
    const std::int64_t n = std::min(batch_size, count - begin);
    tinytorch::Shape shape{n};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    std::vector<float> batch(inputs.begin() + begin * sample_size,
                             inputs.begin() + (begin + n) * sample_size);
    const tinytorch::Tensor logits = forward(tinytorch::from_vector(std::move(batch), shape));
    if (logits.dim() != 2 || logits.shape()[0] != n) {
      tinytorch::autograd::GradMode::set_enabled(was_enabled);
      throw std::runtime_error("the model returned logits of shape " +
                               tinytorch::shape_to_string(logits.shape()) + " for a batch of " +
                               std::to_string(n) + "; expected (" + std::to_string(n) +
                               ", classes)");
    }
    correct += count_correct(logits, labels.data() + begin);
  }
  tinytorch::autograd::GradMode::set_enabled(was_enabled);
  return count == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(count);
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int guarded_main(const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& error) {
    std::cerr << "\nerror: " << error.what() << std::endl;
    return 2;
  }
}

}  // namespace milestones
