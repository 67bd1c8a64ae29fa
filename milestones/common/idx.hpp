#pragma once
// Readers for the data sets the milestones use. Framework-owned: the milestone, not the student's
// code, decides what the data is, so a gate cannot be met by reading a different test set.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace milestones {

/// The whole content of a file, decompressed when it is gzip (zlib reads plain files unchanged).
/// Throws std::runtime_error naming the file when it is missing, unreadable or corrupt.
[[nodiscard]] std::vector<std::uint8_t> read_maybe_gzip(const std::filesystem::path& path);

/// Finds name or name.gz under dir; throws naming both candidates and how to get the data.
[[nodiscard]] std::filesystem::path find_data_file(const std::filesystem::path& dir,
                                                   const std::string& name);

/// An idx file (MNIST): big-endian magic 0x00000800 | (type 0x08 = uint8) << 8 | ndims, then ndims
/// big-endian u32 sizes, then the bytes. Checks the magic and that the size matches exactly.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};
[[nodiscard]] IdxArray read_idx(const std::filesystem::path& path, std::size_t expected_ndims);

/// MNIST images scaled to [0, 1] and normalised with the training set's mean 0.1307 and std 0.3081,
/// (N, 784) row-major, and labels 0-9.
struct MnistSplit {
  std::vector<float> images;
  std::vector<float> labels;
  std::int64_t count = 0;
};
[[nodiscard]] MnistSplit load_mnist(const std::filesystem::path& mnist_dir, bool train);

}  // namespace milestones
