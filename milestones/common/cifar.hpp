#pragma once
// CIFAR-10's binary files, read by the framework (not by the student's reader) so a gate counts the
// real test set; shared by the cifar10 milestone and the programs that evaluate its saved model.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace milestones {

struct CifarSplit {
  std::vector<float> images;  // (N, 3, 32, 32), byte / 255
  std::vector<float> labels;  // (N), 0-9
  std::int64_t count = 0;
};

/// data_batch_1..5 (train) or test_batch, each exactly 10,000 records of 3,073 bytes (plain or
/// gzip): a file of another size is truncated or not CIFAR-10, and throws naming it.
[[nodiscard]] CifarSplit load_cifar10(const std::filesystem::path& dir, bool train);
/// One training file, data_batch_<index>.bin (index 1-5): 10,000 images, e.g. to calibrate a
/// quantized model without reading all 50,000.
[[nodiscard]] CifarSplit load_cifar10_batch(const std::filesystem::path& dir, int index);

/// The training set's per-channel mean and standard deviation (of byte / 255).
[[nodiscard]] const std::vector<float>& cifar10_mean();
[[nodiscard]] const std::vector<float>& cifar10_std();

/// (x - mean[c]) / std[c] for every value of (N, 3, 32, 32) images.
void normalize_cifar10(std::vector<float>& images);

}  // namespace milestones
