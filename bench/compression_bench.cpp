// Module 18's benchmark (`tito module bench 18`): what compression costs in accuracy and buys in
// size and speed, measured on the models the milestones saved (tito milestone run mnist, then
// mnist-cnn), with the student's own module 18 code.
//   1. the mnist MLP pruned by magnitude (per layer and global) at each sparsity, test accuracy
//      before and after a short fine-tuning that keeps the masks;
//   2. the mnist-cnn pruned by whole channels: parameters, test accuracy (before and after
//      fine-tuning) and inference latency against the original, timed interleaved in one run;
//   3. distillation: a small MLP trained from the cnn teacher against the same MLP trained alone
//      (same seed, same batches), test accuracy of both;
//   4. low rank: the MLP's first Linear factorised by SVD at several kept energies.
// Writes the figures as JSON (--out) and the accuracy-against-sparsity curve as an SVG beside it;
// --json prints the JSON document on stdout instead of the tables.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compression_svg.hpp"
#include "idx.hpp"
#include "run.hpp"
#include "saved_model.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/compression.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Options {
  fs::path data_dir;
  fs::path models = ".tito/milestones";
  fs::path out = ".tito/bench/18_compression.json";
  std::vector<double> sparsities = {0.5, 0.7, 0.9};
  std::vector<double> channel_amounts = {0.25, 0.5};
  std::vector<double> energies = {0.5, 0.8, 0.9, 0.95, 0.99};
  std::int64_t fine_tune_steps = 300;
  std::int64_t distill_images = 10000;
  std::int64_t distill_epochs = 2;
  std::int64_t repeats = 30;
  float temperature = 4.0f;
  float alpha = 0.9f;
  std::uint64_t seed = 0;
  std::vector<std::string> sections = {"pruning", "structured", "distillation", "low-rank"};
  bool json = false;

  [[nodiscard]] bool wants(const std::string& section) const {
    return std::find(sections.begin(), sections.end(), section) != sections.end();
  }
};

// Images (N, sample) and labels, with batches drawn in a seeded order.
struct Split {
  std::vector<float> images;
  std::vector<float> labels;
  std::int64_t count = 0;
  std::int64_t sample = 784;
};

Split first_images(const milestones::MnistSplit& s, std::int64_t n) {
  n = std::min(n, s.count);
  Split out;
  out.count = n;
  out.images.assign(s.images.begin(), s.images.begin() + n * 784);
  out.labels.assign(s.labels.begin(), s.labels.begin() + n);
  return out;
}

// The `steps` batches of `batch` images a seeded shuffle gives, epoch after epoch.
class Batches {
 public:
  Batches(const Split& split, std::int64_t batch, std::uint64_t seed)
      : split_(split), batch_(batch), generator_(seed), order_(split.count) {
    reshuffle();
  }
  // (batch, shape...) images and (batch) labels.
  std::pair<Tensor, Tensor> next(const Shape& sample_shape) {
    if (pos_ + batch_ > split_.count) reshuffle();
    std::vector<float> x(static_cast<std::size_t>(batch_ * split_.sample));
    std::vector<float> y(static_cast<std::size_t>(batch_));
    for (std::int64_t b = 0; b < batch_; ++b) {
      const std::int64_t i = order_[static_cast<std::size_t>(pos_ + b)];
      std::copy_n(split_.images.begin() + i * split_.sample, split_.sample,
                  x.begin() + b * split_.sample);
      y[static_cast<std::size_t>(b)] = split_.labels[static_cast<std::size_t>(i)];
    }
    pos_ += batch_;
    Shape shape = {batch_};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    return {from_vector(std::move(x), shape), from_vector(std::move(y), {batch_})};
  }

 private:
  void reshuffle() {
    std::iota(order_.begin(), order_.end(), 0);
    for (std::size_t i = order_.size(); i > 1; --i) {  // Fisher-Yates with the course's Generator
      std::swap(order_[i - 1], order_[generator_.below(i)]);
    }
    pos_ = 0;
  }
  const Split& split_;
  std::int64_t batch_;
  Generator generator_;
  std::vector<std::int64_t> order_;
  std::int64_t pos_ = 0;
};

double accuracy(nn::Module& model, const milestones::MnistSplit& test, const Shape& sample_shape) {
  model.eval();
  return milestones::count_accuracy([&](const Tensor& x) { return model(x); }, test.images,
                                    sample_shape, test.labels);
}

milestones::SavedModel load(const Options& o, const std::string& milestone) {
  return milestones::load_milestone_model(milestone, o.models / milestone);
}

// ---- 1. magnitude pruning of the MLP ----

json mlp_pruning(const Options& o, const milestones::MnistSplit& test, const Split& train) {
  const Shape shape = milestones::milestone_input_shape("mnist");
  auto base = load(o, "mnist").model;
  const double dense = accuracy(*base, test, shape);
  if (!o.json) {
    fmt::print("\n1. mnist MLP, magnitude pruning ({} fine-tuning steps of 128, Adam lr 5e-4)\n",
               o.fine_tune_steps);
    fmt::print("   dense: test accuracy {:.4f}\n", dense);
    fmt::print("   {:<10} {:>9} {:>14} {:>16}\n", "scope", "sparsity", "no fine-tune",
               "with fine-tune");
  }
  json rows = json::array();
  json layer_report;
  for (const std::string scope : {"per_layer", "global"}) {
    for (const double s : o.sparsities) {
      auto model = load(o, "mnist").model;
      const auto pruner = scope == "global" ? compress::Pruner::global(*model, s)
                                            : compress::Pruner::per_layer(*model, s);
      const double before = accuracy(*model, test, shape);
      optim::Adam adam(model->parameters(), optim::AdamOptions(5e-4));
      Batches batches(train, 128, o.seed);
      model->train();
      for (std::int64_t step = 0; step < o.fine_tune_steps; ++step) {
        auto [x, y] = batches.next(shape);
        (void)compress::pruned_train_step(*model, adam, pruner, cross_entropy, x, y);
      }
      const double after = accuracy(*model, test, shape);
      const auto report = pruner.report();
      const double measured = report.back().sparsity;
      rows.push_back({{"scope", scope},
                      {"sparsity", s},
                      {"measured_sparsity", measured},
                      {"accuracy", before},
                      {"accuracy_fine_tuned", after}});
      if (scope == "global" && s == o.sparsities.back()) {
        layer_report = json::array();
        for (const auto& r : report) {
          layer_report.push_back(
              {{"name", r.name}, {"numel", r.numel}, {"zeros", r.zeros}, {"sparsity", r.sparsity}});
        }
      }
      if (!o.json) {
        fmt::print("   {:<10} {:>9.3f} {:>14.4f} {:>16.4f}\n", scope, measured, before, after);
      }
    }
  }
  if (!o.json && !layer_report.is_null()) {
    fmt::print("   per-layer sparsity after global pruning to {:.0f}% (fine-tuned):\n",
               o.sparsities.back() * 100);
    for (const auto& r : layer_report) {
      fmt::print("     {:<10} {:>7} weights {:>7} zero  {:>6.1f}%\n", r["name"].get<std::string>(),
                 r["numel"].get<std::int64_t>(), r["zeros"].get<std::int64_t>(),
                 100 * r["sparsity"].get<double>());
    }
  }
  return {{"dense_accuracy", dense},
          {"fine_tune_steps", o.fine_tune_steps},
          {"rows", rows},
          {"layer_report_global_highest", layer_report}};
}

// ---- 2. structured pruning of the CNN ----

struct Timing {
  double median = 0, min = 0, max = 0;
};

Timing summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.back()};
}

json timing_json(const Timing& t) {
  return {{"median_ms", t.median}, {"min_ms", t.min}, {"max_ms", t.max}};
}

// The original and the pruned model timed in turn, repeat after repeat, so that a load change on
// the machine touches both alike.
std::pair<Timing, Timing> interleaved_latency(nn::Module& a, nn::Module& b, const Tensor& x,
                                              std::int64_t repeats) {
  autograd::NoGradGuard no_grad;
  a.eval();
  b.eval();
  (void)a(x);  // warm-up
  (void)b(x);
  std::vector<double> ta;
  std::vector<double> tb;
  for (std::int64_t r = 0; r < repeats; ++r) {
    for (auto [model, times] : {std::pair{&a, &ta}, std::pair{&b, &tb}}) {
      const auto t0 = std::chrono::steady_clock::now();
      (void)(*model)(x);
      times->push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  return {summarise(ta), summarise(tb)};
}

json cnn_structured(const Options& o, const milestones::MnistSplit& test, const Split& train) {
  const Shape shape = milestones::milestone_input_shape("mnist-cnn");
  auto original = load(o, "mnist-cnn").model;
  const double dense = accuracy(*original, test, shape);
  Generator g(o.seed);
  const Tensor one = randn({1, 1, 28, 28}, g);
  const Tensor batch = randn({64, 1, 28, 28}, g);
  if (!o.json) {
    fmt::print(
        "\n2. mnist-cnn, structured pruning (whole channels and neurons; {} fine-tuning steps)\n",
        o.fine_tune_steps);
    fmt::print("   original: {} parameters, test accuracy {:.4f}\n", original->num_parameters(),
               dense);
    fmt::print("   {:>6} {:>10} {:>12} {:>14} {:>22} {:>22}\n", "amount", "parameters",
               "no fine-tune", "with fine-tune", "batch 1 ms (orig/new)", "batch 64 ms (orig/new)");
  }
  json rows = json::array();
  for (const double amount : o.channel_amounts) {
    auto small = compress::prune_channels(*original, amount);
    const double before = accuracy(*small, test, shape);
    optim::Adam adam(small->parameters(), optim::AdamOptions(5e-4));
    Batches batches(train, 128, o.seed);
    small->train();
    for (std::int64_t step = 0; step < o.fine_tune_steps; ++step) {
      auto [x, y] = batches.next(shape);
      adam.zero_grad();
      const Tensor loss = cross_entropy((*small)(x), y);
      loss.backward();
      adam.step();
    }
    const double after = accuracy(*small, test, shape);
    const auto [o1, s1] = interleaved_latency(*original, *small, one, o.repeats);
    const auto [o64, s64] = interleaved_latency(*original, *small, batch, o.repeats);
    rows.push_back(
        {{"amount", amount},
         {"parameters", small->num_parameters()},
         {"accuracy", before},
         {"accuracy_fine_tuned", after},
         {"latency_batch1", {{"original", timing_json(o1)}, {"pruned", timing_json(s1)}}},
         {"latency_batch64", {{"original", timing_json(o64)}, {"pruned", timing_json(s64)}}}});
    if (!o.json) {
      fmt::print(
          "   {:>6.2f} {:>10} {:>12.4f} {:>14.4f} {:>10.3f} / {:<9.3f} {:>10.2f} / {:<9.2f}\n",
          amount, small->num_parameters(), before, after, o1.median, s1.median, o64.median,
          s64.median);
    }
  }
  return {{"original_parameters", original->num_parameters()},
          {"original_accuracy", dense},
          {"repeats", o.repeats},
          {"rows", rows}};
}

// ---- 3. distillation ----

std::shared_ptr<nn::Sequential> small_student(std::uint64_t seed) {
  Generator g(seed);
  return std::make_shared<nn::Sequential>(
      nn::Flatten(), nn::Linear(784, 32, true, nn::Init::kaiming_uniform, g), nn::ReLU(),
      nn::Linear(32, 10, true, nn::Init::kaiming_uniform, g));
}

json distillation(const Options& o, const milestones::MnistSplit& test,
                  const milestones::MnistSplit& full_train) {
  const Shape shape = milestones::milestone_input_shape("mnist-cnn");
  auto teacher = load(o, "mnist-cnn").model;
  const Split train = first_images(full_train, o.distill_images);
  const std::int64_t steps = o.distill_epochs * train.count / 128;
  const compress::DistillationOptions options{.temperature = o.temperature, .alpha = o.alpha};

  auto alone = small_student(o.seed);
  {
    optim::Adam adam(alone->parameters(), optim::AdamOptions(1e-3));
    Batches batches(train, 128, o.seed);
    alone->train();
    for (std::int64_t step = 0; step < steps; ++step) {
      auto [x, y] = batches.next(shape);
      adam.zero_grad();
      const Tensor loss = cross_entropy((*alone)(x), y);
      loss.backward();
      adam.step();
    }
  }
  auto taught = small_student(o.seed);  // the same initial weights
  {
    optim::Adam adam(taught->parameters(), optim::AdamOptions(1e-3));
    Batches batches(train, 128, o.seed);  // the same batches
    taught->train();
    for (std::int64_t step = 0; step < steps; ++step) {
      auto [x, y] = batches.next(shape);
      (void)compress::distill_step(*taught, *teacher, adam, x, y, options);
    }
  }
  const double teacher_acc = accuracy(*teacher, test, shape);
  const double alone_acc = accuracy(*alone, test, shape);
  const double taught_acc = accuracy(*taught, test, shape);
  if (!o.json) {
    fmt::print(
        "\n3. distillation: student MLP 784-32-10 ({} parameters), {} training images x {} "
        "epochs, Adam lr 1e-3, seed {}\n",
        alone->num_parameters(), train.count, o.distill_epochs, o.seed);
    fmt::print("   teacher (mnist-cnn, {} parameters): {:.4f}\n", teacher->num_parameters(),
               teacher_acc);
    fmt::print("   student alone:                      {:.4f}\n", alone_acc);
    fmt::print("   student distilled (T {}, alpha {}): {:.4f}\n", options.temperature,
               options.alpha, taught_acc);
  }
  return {{"teacher_accuracy", teacher_acc},
          {"teacher_parameters", teacher->num_parameters()},
          {"student_parameters", alone->num_parameters()},
          {"student_alone_accuracy", alone_acc},
          {"student_distilled_accuracy", taught_acc},
          {"temperature", options.temperature},
          {"alpha", options.alpha},
          {"train_images", train.count},
          {"epochs", o.distill_epochs},
          {"steps", steps}};
}

// ---- 4. low rank ----

json low_rank(const Options& o, const milestones::MnistSplit& test) {
  const Shape shape = milestones::milestone_input_shape("mnist");
  auto model = load(o, "mnist").model;
  auto fc = std::dynamic_pointer_cast<nn::Linear>((*model)[0]);
  if (!fc) throw std::runtime_error("the mnist model's first layer is not a Linear");
  const auto s = compress::svd(fc->weight).s;
  if (!o.json) {
    fmt::print("\n4. low rank: the mnist MLP's first Linear ({} x {}, {} weights) by SVD\n",
               fc->out_features, fc->in_features, fc->weight.numel());
    fmt::print("   {:>6} {:>5} {:>8} {:>14}\n", "energy", "rank", "weights", "test accuracy");
  }
  json rows = json::array();
  for (const double e : o.energies) {
    const std::int64_t r = compress::rank_for_energy(s, e);
    auto factored = compress::low_rank_linear(*fc, r);
    nn::Sequential replaced;
    replaced.push_back(factored);
    for (std::size_t i = 1; i < model->size(); ++i) replaced.push_back((*model)[i]);
    const double acc = accuracy(replaced, test, shape);
    const std::int64_t weights = r * (fc->in_features + fc->out_features);
    rows.push_back({{"energy", e}, {"rank", r}, {"weights", weights}, {"accuracy", acc}});
    if (!o.json) fmt::print("   {:>6.2f} {:>5} {:>8} {:>14.4f}\n", e, r, weights, acc);
  }
  return {{"layer_weights", fc->weight.numel()}, {"rows", rows}};
}

void write_file(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path temp = path.string() + ".tmp";
  {
    std::ofstream file(temp);
    if (!(file << text)) throw std::runtime_error(temp.string() + ": cannot write");
  }
  fs::rename(temp, path);
}

int run(const Options& o) {
  fs::path data = o.data_dir;
  if (data.empty()) {
    const char* env = std::getenv("TINYTORCH_DATA");
    if (env == nullptr || *env == '\0') {
      throw std::runtime_error(
          "no data folder: pass --data-dir DIR or set TINYTORCH_DATA (`tito data fetch mnist` "
          "downloads MNIST there)");
    }
    data = env;
  }
  const auto check = [](const std::vector<double>& values, const char* flag, bool energy) {
    for (const double v : values) {
      const bool ok = energy ? (v > 0.0 && v <= 1.0) : (v >= 0.0 && v < 1.0);
      if (!ok) {
        throw std::invalid_argument(
            fmt::format("{} {}: each value must be in {}", flag, v, energy ? "(0, 1]" : "[0, 1)"));
      }
    }
  };
  check(o.sparsities, "--sparsities", false);
  check(o.channel_amounts, "--channel-amounts", false);
  check(o.energies, "--energies", true);
  // The saved models first: a missing one is the likelier mistake, and its error names the
  // milestone to run.
  for (const std::string id : {"mnist", "mnist-cnn"}) (void)load(o, id);
  const auto train = milestones::load_mnist(data / "mnist", true);
  const auto test = milestones::load_mnist(data / "mnist", false);
  const Split train_split = first_images(train, train.count);
  const auto t0 = std::chrono::steady_clock::now();

  json doc = {{"benchmark", "18_compression"}, {"seed", o.seed}};
  if (o.wants("pruning")) doc["mnist_pruning"] = mlp_pruning(o, test, train_split);
  if (o.wants("structured")) doc["cnn_structured"] = cnn_structured(o, test, train_split);
  if (o.wants("distillation")) doc["distillation"] = distillation(o, test, train);
  if (o.wants("low-rank")) doc["low_rank"] = low_rank(o, test);
  doc["wall_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::path svg = o.out;
  svg.replace_extension(".svg");
  if (doc.contains("mnist_pruning")) doc["svg"] = svg.string();
  write_file(o.out, doc.dump(2) + "\n");
  if (doc.contains("mnist_pruning")) write_file(svg, bench::sparsity_svg(doc["mnist_pruning"]));
  if (o.json) {
    std::cout << doc.dump() << std::endl;
  } else {
    fmt::print("\nWrote {}{} ({:.0f} s)\n", o.out.string(),
               doc.contains("svg") ? " and " + svg.string() : "",
               doc["wall_seconds"].get<double>());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "Module 18's benchmark: pruning, structured pruning, distillation and low rank measured on "
      "the models the mnist and mnist-cnn milestones saved"};
  app.add_option("--data-dir", o.data_dir, "Data folder holding mnist/ (default: $TINYTORCH_DATA)");
  app.add_option("--models", o.models,
                 "Folder of the saved milestone models, <id>/model.safetensors and config.json")
      ->capture_default_str();
  app.add_option("--out", o.out, "JSON result file; the SVG curve is written beside it")
      ->capture_default_str();
  app.add_option("--sparsities", o.sparsities, "Magnitude-pruning sparsities, each in [0, 1)")
      ->capture_default_str();
  app.add_option("--channel-amounts", o.channel_amounts,
                 "Fractions of channels/neurons removed from the cnn, each in [0, 1)")
      ->capture_default_str();
  app.add_option("--energies", o.energies, "Kept energies for the low-rank layer, in (0, 1]")
      ->capture_default_str();
  app.add_option("--fine-tune-steps", o.fine_tune_steps, "Fine-tuning steps of 128 images")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--distill-images", o.distill_images, "Training images for the students")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--distill-epochs", o.distill_epochs, "Epochs for the students")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--repeats", o.repeats, "Timed forward passes per model and batch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--temperature", o.temperature, "Distillation temperature T")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--alpha", o.alpha, "Distillation weight of the soft term, in [0, 1]")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--sections", o.sections, "Which measurements to run")
      ->capture_default_str()
      ->check(CLI::IsMember({"pruning", "structured", "distillation", "low-rank"}));
  app.add_option("--seed", o.seed, "Seed of the batch order and the students' weights")
      ->capture_default_str();
  app.add_flag("--json", o.json, "Print the JSON document instead of the tables");
  CLI11_PARSE(app, argc, argv);
  return milestones::guarded_main([&] { return run(o); });
}
