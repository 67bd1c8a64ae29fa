// Milestone 2012: Krizhevsky, Sutskever and Hinton's convolutional net wins on real photographs.
// A small CNN learns CIFAR-10 (32 x 32 colour images, ten classes) through the student's Conv2d,
// MaxPool2d, BatchNorm2d, DataLoader (prefetch, random crop and flip), SGD with Nesterov momentum
// and autograd. The data reader, the one-cycle schedule and the test accuracy live here.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "idx.hpp"
#include "run.hpp"
#include "stop_on_interrupt.hpp"
#include "tinytorch/dataloader.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/spatial.hpp"
#include "tinytorch/training.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace): a short program reads better

namespace {

// ---- the data, read here (not by the student's reader) so the gate counts the real test set ----

constexpr std::int64_t kRecordBytes = 1 + 3 * 32 * 32;               // label, then R, G, B planes
constexpr std::int64_t kRecordsPerFile = 10000;                      // every file of the real set
constexpr std::int64_t kFileBytes = kRecordBytes * kRecordsPerFile;  // 30,730,000

struct CifarSplit {
  std::vector<float> images;  // (N, 3, 32, 32), byte / 255
  std::vector<float> labels;  // (N), 0-9
  std::int64_t count = 0;
};

// data_batch_1..5 (train) or test_batch, each exactly 10,000 records: a file of another size is
// truncated or not CIFAR-10, and a gate on a partial test set would mean nothing.
CifarSplit load_cifar10(const std::filesystem::path& dir, bool train) {
  std::vector<std::string> names;
  if (train) {
    for (int i = 1; i <= 5; ++i) names.push_back(fmt::format("data_batch_{}.bin", i));
  } else {
    names.emplace_back("test_batch.bin");
  }
  CifarSplit split;
  split.count = kRecordsPerFile * static_cast<std::int64_t>(names.size());
  split.images.resize(static_cast<std::size_t>(split.count * (kRecordBytes - 1)));
  split.labels.resize(static_cast<std::size_t>(split.count));
  std::int64_t record = 0;
  for (const auto& name : names) {
    const auto path = milestones::find_data_file(dir, name);
    const std::vector<std::uint8_t> bytes = milestones::read_maybe_gzip(path);
    if (static_cast<std::int64_t>(bytes.size()) != kFileBytes) {
      throw std::runtime_error(fmt::format(
          "{}: {} bytes (decompressed), but a CIFAR-10 batch file holds exactly {} (10,000 "
          "records of 3,073 bytes): the file is truncated or not CIFAR-10; download it again "
          "(`tito data fetch`)",
          path.string(), bytes.size(), kFileBytes));
    }
    for (std::int64_t r = 0; r < kRecordsPerFile; ++r, ++record) {
      const std::uint8_t* rec = bytes.data() + r * kRecordBytes;
      if (rec[0] > 9) {
        throw std::runtime_error(
            fmt::format("{}: record {} has label {}, not a class 0-9", path.string(), r, rec[0]));
      }
      split.labels[record] = static_cast<float>(rec[0]);
      float* out = split.images.data() + record * (kRecordBytes - 1);
      for (std::int64_t i = 0; i < kRecordBytes - 1; ++i) out[i] = rec[1 + i] / 255.0f;
    }
  }
  return split;
}

// The training set's per-channel mean and standard deviation (of byte / 255): 125.27, 122.93,
// 113.86 and 62.53, 61.91, 66.46 on 0-255 (shared/data/README.md; the official files differ in the
// third digit).
const std::vector<float> kMean = {0.4913f, 0.4821f, 0.4465f};
const std::vector<float> kStd = {0.2452f, 0.2428f, 0.2606f};

void normalize_in_place(std::vector<float>& images) {
  const std::size_t plane = std::size_t{32} * 32;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::size_t c = (i / plane) % 3;
    images[i] = (images[i] - kMean[c]) / kStd[c];
  }
}

// ---- the schedule: one cycle per run, set every batch ----------------------------------------

// Smith's one-cycle policy as torch.optim.lr_scheduler.OneCycleLR (cosine annealing): the rate
// climbs from peak / div to peak over the first `warmup` fraction of the steps, then falls to
// peak / (div * final_div). A high rate in the middle explores, the long tail to ~0 settles.
struct OneCycle {
  double peak;
  std::int64_t total_steps;
  double warmup = 0.25;
  double div = 10.0;
  double final_div = 1e3;

  [[nodiscard]] double lr_at(std::int64_t step) const {
    const double start = peak / div;
    const double end = start / final_div;
    const double warm_steps = warmup * static_cast<double>(total_steps);
    const double t = static_cast<double>(std::min(step, total_steps - 1));
    auto cosine = [](double from, double to, double fraction) {
      return to + (from - to) * (1.0 + std::cos(std::numbers::pi * fraction)) / 2.0;
    };
    if (t < warm_steps) return cosine(start, peak, t / warm_steps);
    return cosine(peak, end, (t - warm_steps) / std::max(1.0, total_steps - 1 - warm_steps));
  }
};

// ---- the net ------------------------------------------------------------------------------------

// Three stages of conv 3 x 3 -> max-pool 2 -> batch norm -> ReLU, channels 32, 64, 128 and
// resolution 32 -> 16 -> 8 -> 4, then one linear layer on the 128 x 4 x 4 map. Pooling before the
// normalisation (as in Keller Jordan's airbench) normalises a quarter of the values for the same
// result, since ReLU and a positive-scale normalisation commute with the max. The convolutions
// have no bias: the batch norm's shift would cancel it. About 10.4 M multiply-adds per image.
std::shared_ptr<nn::Sequential> make_net(Generator& generator) {
  auto net = std::make_shared<nn::Sequential>();
  for (auto [in, out] : {std::pair<std::int64_t, std::int64_t>{3, 32}, {32, 64}, {64, 128}}) {
    net->push_back(std::make_shared<nn::Conv2d>(in, out, 3, 1, 1, false, generator));
    net->push_back(std::make_shared<nn::MaxPool2d>(2));
    net->push_back(std::make_shared<nn::BatchNorm2d>(out));
    net->push_back(std::make_shared<nn::ReLU>());
  }
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(
      std::make_shared<nn::Linear>(128 * 4 * 4, 10, true, nn::Init::kaiming_uniform, generator));
  return net;
}

}  // namespace

int main(int argc, char** argv) {
  return milestones::guarded_main([&] {
    milestones::Run run("cifar10", "Photographs with a convolutional net (2012)", argc, argv);
    if (run.help_requested()) return 0;
    const int epochs = run.epochs(5);
    const std::int64_t batch_size = 128;
    const double peak_lr = 0.05;
    const double weight_decay = 5e-4;
    run.setting("epochs", epochs);
    run.setting("batch_size", batch_size);
    run.setting("model",
                "3 x [Conv2d 3x3 (no bias) MaxPool2d(2) BatchNorm2d ReLU], channels 32, 64, 128; "
                "Flatten; Linear(2048, 10)");
    run.setting("optimizer",
                fmt::format("SGD Nesterov momentum 0.9, weight decay {}", weight_decay));
    run.setting("schedule", fmt::format("one-cycle per batch: {} -> {} over the first 25% of the "
                                        "steps, cosine down to {} (OneCycleLR, cosine)",
                                        peak_lr / 10, peak_lr, peak_lr / 1e4));
    run.setting("augmentation", "RandomCrop(32, padding 4), RandomHorizontalFlip(0.5), Normalize");

    const auto dir = run.data_dir() / "cifar-10-batches-bin";
    run.say(fmt::format("Reading CIFAR-10 from {}", dir.string()));
    auto train = load_cifar10(dir, true);
    auto test = load_cifar10(dir, false);
    normalize_in_place(test.images);
    run.setting("train_images", train.count);
    run.setting("test_images", test.count);

    Generator generator(run.seed());
    auto model = make_net(generator);

    // The student's loader: a new shuffle each epoch, each image randomly shifted (zero padding)
    // and mirrored, assembled on the prefetch thread while the model trains on the previous batch.
    auto train_set = std::make_shared<data::TensorDataset>(
        from_vector(std::move(train.images), {train.count, 3, 32, 32}),
        from_vector(std::move(train.labels), {train.count}));
    auto augment = std::make_shared<data::Compose>(
        std::vector<data::TransformPtr>{std::make_shared<data::RandomCrop>(32, 4),
                                        std::make_shared<data::RandomHorizontalFlip>(0.5),
                                        std::make_shared<data::Normalize>(kMean, kStd)});
    data::DataLoader loader(train_set, {.batch_size = batch_size,
                                        .shuffle = true,
                                        .seed = run.seed(),
                                        .drop_last = true,
                                        .prefetch = true,
                                        .transform = augment});

    optim::SGD optimizer(
        model->parameters(),
        optim::SGDOptions(peak_lr).momentum(0.9).nesterov(true).weight_decay(weight_decay));
    const OneCycle schedule{peak_lr, epochs * loader.num_batches()};
    std::int64_t step = 0;
    optimizer.set_lr(schedule.lr_at(0));

    int epoch = 0;
    train::TrainerOptions options;
    options.on_batch = [&](std::int64_t batch, std::int64_t total, double loss) {
      optimizer.set_lr(schedule.lr_at(++step));  // the rate of the next batch
      run.batch_progress(epoch, epochs, batch, total, loss, (batch + 1) * batch_size);
    };
    train::Trainer trainer(*model, optimizer, nn::CrossEntropyLoss(), options);

    double test_accuracy = 0.0;
    for (epoch = 1; epoch <= epochs && !milestones::Run::interrupted(); ++epoch) {
      milestones::StopOnInterrupt batches(loader);
      const double cpu0 = milestones::cpu_seconds();
      const auto stats = trainer.train_epoch(batches);
      const double train_cpu = milestones::cpu_seconds() - cpu0;
      if (milestones::Run::interrupted()) break;  // a partial epoch is not recorded
      model->eval();
      const double eval_cpu0 = milestones::cpu_seconds();
      test_accuracy = milestones::count_accuracy([&](const Tensor& x) { return (*model)(x); },
                                                 test.images, {3, 32, 32}, test.labels, 1000);
      run.end_epoch(epoch, epochs,
                    {{"train_loss", stats.loss},
                     {"train_accuracy", stats.accuracy},
                     {"test_accuracy", test_accuracy},
                     {"images_per_second", static_cast<double>(stats.samples) / stats.seconds},
                     {"train_cpu_seconds", train_cpu},
                     {"eval_cpu_seconds", milestones::cpu_seconds() - eval_cpu0}});
    }
    const bool passed = test_accuracy >= 0.75;
    return run.finish(passed, "test accuracy >= 0.75", {{"test_accuracy", test_accuracy}});
  });
}
