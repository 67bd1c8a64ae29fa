// precision-bench: module 17's benchmark (`tito module bench 17`). For each model a milestone saved
// (mnist, mnist-cnn, cifar10), in one run on this machine: the float32 model beside its int8
// version (your module 17 code, calibrated on training images), with
//   file size      model.safetensors against model.int8.safetensors (written, then read back),
//   accuracy       on the full test set, int8 calibrated by min/max and by the 99.99th percentile;
//                  the int8 figures come from the model read back from its file,
//   latency        one image, median and range over repeated calls (float and int8 interleaved),
//   throughput     images per second on batches of 256, median and range.
// Prints a table and writes the figures as JSON (--out). A model that was not saved is reported
// with the command that saves it, and skipped.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cifar.hpp"
#include "idx.hpp"
#include "run.hpp"
#include "saved_model.hpp"
#include "tinytorch/autograd.hpp"
#include "tinytorch/kernels/qgemm.hpp"
#include "tinytorch/kernels/threads.hpp"
#include "tinytorch/quantized_model.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better
using Clock = std::chrono::steady_clock;

struct DataSet {
  std::vector<float> train_images, train_labels, test_images, test_labels;
  Shape sample;
};

DataSet load_data(const std::string& milestone, const fs::path& data_dir) {
  DataSet d;
  d.sample = milestones::milestone_input_shape(milestone);
  if (milestone == "cifar10") {
    auto train = milestones::load_cifar10(data_dir / "cifar-10-batches-bin", true);
    auto test = milestones::load_cifar10(data_dir / "cifar-10-batches-bin", false);
    milestones::normalize_cifar10(train.images);
    milestones::normalize_cifar10(test.images);
    d.train_images = std::move(train.images);
    d.train_labels = std::move(train.labels);
    d.test_images = std::move(test.images);
    d.test_labels = std::move(test.labels);
  } else {
    auto train = milestones::load_mnist(data_dir / "mnist", true);
    auto test = milestones::load_mnist(data_dir / "mnist", false);
    d.train_images = std::move(train.images);
    d.train_labels = std::move(train.labels);
    d.test_images = std::move(test.images);
    d.test_labels = std::move(test.labels);
  }
  return d;
}

// n samples starting at `first` as one (n, ...) tensor.
Tensor batch_of(const std::vector<float>& images, const Shape& sample, std::int64_t first,
                std::int64_t n) {
  const std::int64_t size = shape_numel(sample);
  Shape shape{n};
  shape.insert(shape.end(), sample.begin(), sample.end());
  return from_vector(
      std::vector<float>(images.begin() + first * size, images.begin() + (first + n) * size),
      shape);
}

struct Timing {
  double median = 0, min = 0, max = 0;
};

Timing summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

json timing_json(const Timing& t) {
  return {{"median", t.median}, {"min", t.min}, {"max", t.max}};
}

// Seconds per call of a and of b, interleaved call by call so that both see the same load.
std::pair<Timing, Timing> time_pair(const std::function<void()>& a, const std::function<void()>& b,
                                    int repeats) {
  for (int i = 0; i < 3; ++i) a(), b();  // warm-up: caches, thread pool, allocations
  std::vector<double> ta, tb;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = Clock::now();
    a();
    auto t1 = Clock::now();
    b();
    auto t2 = Clock::now();
    ta.push_back(std::chrono::duration<double>(t1 - t0).count());
    tb.push_back(std::chrono::duration<double>(t2 - t1).count());
  }
  return {summarize(ta), summarize(tb)};
}

json bench_model(const std::string& milestone, const fs::path& model_dir, const fs::path& data_dir,
                 std::int64_t calibration_images, int latency_repeats, int throughput_repeats) {
  const milestones::SavedModel saved = milestones::load_milestone_model(milestone, model_dir);
  const DataSet data = load_data(milestone, data_dir);
  nn::Sequential& net = *saved.model;
  autograd::NoGradGuard no_grad;

  // Calibration: the first images of the training set, in batches of 256 (never the test set).
  std::vector<Tensor> calibration;
  const auto train_count = static_cast<std::int64_t>(data.train_labels.size());
  for (std::int64_t first = 0; first < std::min(calibration_images, train_count); first += 256) {
    calibration.push_back(batch_of(data.train_images, data.sample, first,
                                   std::min<std::int64_t>(256, calibration_images - first)));
  }
  auto accuracy = [&](const std::function<Tensor(const Tensor&)>& forward) {
    return milestones::count_accuracy(forward, data.test_images, data.sample, data.test_labels,
                                      1000);
  };
  const double float_accuracy = accuracy([&](const Tensor& x) { return net(x); });
  json result = {{"model", milestone},
                 {"float_test_accuracy", float_accuracy},
                 {"calibration_images", std::min(calibration_images, train_count)}};
  const fs::path float_file = model_dir / "model.safetensors";
  result["float_file_bytes"] = fs::file_size(float_file);

  quant::QuantizedModel timed;
  for (const auto& [name, method] : {std::pair{"minmax", quant::Calibration::minmax},
                                     std::pair{"percentile", quant::Calibration::percentile}}) {
    const auto q = quant::QuantizedModel::from_float(net, calibration, method, 99.99);
    const fs::path file = model_dir / fmt::format("model.int8.{}.safetensors", name);
    q.save(file);
    const auto back = quant::QuantizedModel::load(file);  // the figures are the file's
    result[fmt::format("int8_{}_test_accuracy", name)] =
        accuracy([&](const Tensor& x) { return back.forward(x); });
    result[fmt::format("int8_{}_file_bytes", name)] = fs::file_size(file);
    if (method == quant::Calibration::minmax) {
      timed = back;
      result["int8_layers"] = back.describe();
    }
  }

  const Tensor one = batch_of(data.test_images, data.sample, 0, 1);
  const auto [float_latency, int8_latency] =
      time_pair([&] { (void)net(one); }, [&] { (void)timed.forward(one); }, latency_repeats);
  const std::int64_t batch = 256;
  const Tensor many = batch_of(data.test_images, data.sample, 0, batch);
  const auto [float_batch, int8_batch] =
      time_pair([&] { (void)net(many); }, [&] { (void)timed.forward(many); }, throughput_repeats);
  auto per_second = [&](const Timing& t) {
    return Timing{batch / t.median, batch / t.max, batch / t.min};
  };
  result["latency_seconds"] = {{"float", timing_json(float_latency)},
                               {"int8", timing_json(int8_latency)},
                               {"repeats", latency_repeats}};
  result["throughput_images_per_second"] = {{"float", timing_json(per_second(float_batch))},
                                            {"int8", timing_json(per_second(int8_batch))},
                                            {"batch", batch},
                                            {"repeats", throughput_repeats}};
  result["latency_speedup"] = float_latency.median / int8_latency.median;
  result["throughput_speedup"] = float_batch.median / int8_batch.median;
  return result;
}

void print_table(const json& results) {
  fmt::print("\n{:<10} {:>8} {:>8} {:>8} {:>9} {:>9} {:>6} {:>19} {:>19} {:>6} {:>15} {:>6}\n",
             "model", "float", "int8 mm", "int8 pc", "float KB", "int8 KB", "size",
             "latency float ms", "latency int8 ms", "x", "img/s fl / int8", "x");
  for (const json& r : results) {
    auto ms = [](const json& t) {
      return fmt::format("{:.3f} [{:.3f}-{:.3f}]", 1e3 * t["median"].get<double>(),
                         1e3 * t["min"].get<double>(), 1e3 * t["max"].get<double>());
    };
    const auto fb = r["float_file_bytes"].get<double>();
    const auto qb = r["int8_minmax_file_bytes"].get<double>();
    fmt::print(
        "{:<10} {:>8.4f} {:>8.4f} {:>8.4f} {:>9.1f} {:>9.1f} {:>5.2f}x {:>19} {:>19} {:>5.2f}x "
        "{:>7.0f}/{:<7.0f} {:>5.2f}x\n",
        r["model"].get<std::string>(), r["float_test_accuracy"].get<double>(),
        r["int8_minmax_test_accuracy"].get<double>(),
        r["int8_percentile_test_accuracy"].get<double>(), fb / 1024, qb / 1024, fb / qb,
        ms(r["latency_seconds"]["float"]), ms(r["latency_seconds"]["int8"]),
        r["latency_speedup"].get<double>(),
        r["throughput_images_per_second"]["float"]["median"].get<double>(),
        r["throughput_images_per_second"]["int8"]["median"].get<double>(),
        r["throughput_speedup"].get<double>());
  }
  fmt::print(
      "\naccuracy: full test set; int8 mm / pc: calibrated by min/max / 99.99th percentile, read "
      "back from the saved file. size: float file / int8 file. latency: one image, median "
      "[min-max]; img/s: batches of 256, median. x: float time / int8 time.\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"precision-bench: float32 against int8 on the milestones' saved models"};
  std::vector<std::string> models = milestones::saved_model_milestones();
  std::string data_dir;
  std::string model_root = ".tito/milestones";
  std::string out = ".tito/bench/17_precision.json";
  std::int64_t calibration_images = 1024;
  int latency_repeats = 200;
  int throughput_repeats = 20;
  app.add_option("--models", models, "which saved models (default: mnist mnist-cnn cifar10)");
  app.add_option("--data-dir", data_dir, "the data folder (default: TINYTORCH_DATA)");
  app.add_option("--model-root", model_root, "the folder holding <milestone>/model.safetensors");
  app.add_option("--out", out, "where the JSON results go");
  app.add_option("--calibration-images", calibration_images, "training images for calibration")
      ->check(CLI::Range(1, 60000));
  app.add_option("--latency-repeats", latency_repeats, "one-image calls timed per model")
      ->check(CLI::Range(1, 100000));
  app.add_option("--throughput-repeats", throughput_repeats, "batches of 256 timed per model")
      ->check(CLI::Range(1, 10000));
  CLI11_PARSE(app, argc, argv);
  try {
    if (data_dir.empty()) {
      const char* env = std::getenv("TINYTORCH_DATA");
      if (env == nullptr) {
        throw std::runtime_error(
            "no data folder: pass --data-dir or set TINYTORCH_DATA (the "
            "folder holding mnist/ and cifar-10-batches-bin/)");
      }
      data_dir = env;
    }
    json doc = {{"benchmark", "precision-bench"},
                {"qgemm_path", kernels::qgemm_path_name(kernels::qgemm_path())},
                {"threads", kernels::num_threads()},
                {"models", json::array()},
                {"skipped", json::array()}};
    fmt::print("precision-bench: int8 GEMM path {}, {} threads\n",
               doc["qgemm_path"].get<std::string>(), kernels::num_threads());
    for (const std::string& m : models) {
      try {
        fmt::print("{}: quantizing and timing ...\n", m);
        std::cout.flush();
        doc["models"].push_back(bench_model(m, fs::path(model_root) / m, data_dir,
                                            calibration_images, latency_repeats,
                                            throughput_repeats));
      } catch (const std::runtime_error& e) {
        fmt::print("{}: skipped: {}\n", m, e.what());
        doc["skipped"].push_back({{"model", m}, {"reason", e.what()}});
      }
    }
    if (doc["models"].empty()) throw std::runtime_error("no model could be measured (see above)");
    print_table(doc["models"]);
    if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());
    std::ofstream(out) << doc.dump(2) << '\n';
    fmt::print("results: {}\n", out);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "precision-bench: " << e.what() << '\n';
    return 2;
  }
}
