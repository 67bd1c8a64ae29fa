#include "cifar.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "idx.hpp"

namespace milestones {

namespace {
constexpr std::int64_t kRecordBytes = 1 + 3 * 32 * 32;               // label, then R, G, B planes
constexpr std::int64_t kRecordsPerFile = 10000;                      // every file of the real set
constexpr std::int64_t kFileBytes = kRecordBytes * kRecordsPerFile;  // 30,730,000

}  // namespace

namespace {

// Appends the file's 10,000 records to split (whose count is already the total).
void read_batch_file(const std::filesystem::path& dir, const std::string& name, CifarSplit& split,
                     std::int64_t first_record) {
  const auto path = find_data_file(dir, name);
  const std::vector<std::uint8_t> bytes = read_maybe_gzip(path);
  if (static_cast<std::int64_t>(bytes.size()) != kFileBytes) {
    throw std::runtime_error(fmt::format(
        "{}: {} bytes (decompressed), but a CIFAR-10 batch file holds exactly {} (10,000 "
        "records of 3,073 bytes): the file is truncated or not CIFAR-10; download it again "
        "(`tito data fetch`)",
        path.string(), bytes.size(), kFileBytes));
  }
  std::int64_t record = first_record;
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

CifarSplit load_files(const std::filesystem::path& dir, const std::vector<std::string>& names) {
  CifarSplit split;
  split.count = kRecordsPerFile * static_cast<std::int64_t>(names.size());
  split.images.resize(static_cast<std::size_t>(split.count * (kRecordBytes - 1)));
  split.labels.resize(static_cast<std::size_t>(split.count));
  for (std::size_t i = 0; i < names.size(); ++i) {
    read_batch_file(dir, names[i], split, static_cast<std::int64_t>(i) * kRecordsPerFile);
  }
  return split;
}

}  // namespace

// A gate on a partial test set would mean nothing: every file must be whole.
CifarSplit load_cifar10(const std::filesystem::path& dir, bool train) {
  std::vector<std::string> names;
  if (train) {
    for (int i = 1; i <= 5; ++i) names.push_back(fmt::format("data_batch_{}.bin", i));
  } else {
    names.emplace_back("test_batch.bin");
  }
  return load_files(dir, names);
}

CifarSplit load_cifar10_batch(const std::filesystem::path& dir, int index) {
  if (index < 1 || index > 5) {
    throw std::invalid_argument(
        fmt::format("load_cifar10_batch: CIFAR-10 has training files 1 to 5, not {}", index));
  }
  return load_files(dir, {fmt::format("data_batch_{}.bin", index)});
}

// The training set's per-channel mean and standard deviation (of byte / 255): 125.27, 122.93,
// 113.86 and 62.53, 61.91, 66.46 on 0-255 (shared/data/README.md; the official files differ in the
// third digit).
const std::vector<float>& cifar10_mean() {
  static const std::vector<float> mean = {0.4913f, 0.4821f, 0.4465f};
  return mean;
}

const std::vector<float>& cifar10_std() {
  static const std::vector<float> sd = {0.2452f, 0.2428f, 0.2606f};
  return sd;
}

void normalize_cifar10(std::vector<float>& images) {
  const std::vector<float>& mean = cifar10_mean();
  const std::vector<float>& sd = cifar10_std();
  const std::size_t plane = std::size_t{32} * 32;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::size_t c = (i / plane) % 3;
    images[i] = (images[i] - mean[c]) / sd[c];
  }
}

}  // namespace milestones
