#include "idx.hpp"

#include <zlib.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace milestones {
namespace fs = std::filesystem;

std::vector<std::uint8_t> read_maybe_gzip(const fs::path& path) {
  if (!fs::exists(path)) throw std::runtime_error(path.string() + ": file not found");
  // gzopen reads both gzip and plain files; gzread reports corruption as an error.
  std::unique_ptr<gzFile_s, decltype(&gzclose)> file(gzopen(path.c_str(), "rb"), &gzclose);
  if (!file) throw std::runtime_error(path.string() + ": cannot open for reading");
  gzbuffer(file.get(), 1 << 20);
  std::vector<std::uint8_t> bytes;
  std::vector<std::uint8_t> chunk(1 << 16);
  for (;;) {
    const int n = gzread(file.get(), chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      throw std::runtime_error(path.string() + ": corrupt or truncated gzip data (" +
                               gzerror(file.get(), &code) + ")");
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
  }
  return bytes;
}

fs::path find_data_file(const fs::path& dir, const std::string& name) {
  for (const auto& candidate : {dir / name, dir / (name + ".gz")}) {
    if (fs::exists(candidate)) return candidate;
  }
  throw std::runtime_error(
      "missing data file: neither " + (dir / name).string() + " nor " +
      (dir / (name + ".gz")).string() +
      " exists. Point TINYTORCH_DATA (or --data-dir) at the data folder, or run "
      "`tito data fetch`.");
}

namespace {
std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}
}  // namespace

IdxArray read_idx(const fs::path& path, std::size_t expected_ndims) {
  std::vector<std::uint8_t> bytes = read_maybe_gzip(path);
  const std::size_t header = 4 + 4 * expected_ndims;
  if (bytes.size() < header) {
    throw std::runtime_error(path.string() + ": truncated idx file (" +
                             std::to_string(bytes.size()) + " bytes, the header alone needs " +
                             std::to_string(header) + ")");
  }
  const std::uint32_t magic = big_endian_u32(bytes, 0);
  const std::uint32_t expected_magic = 0x00000800u | static_cast<std::uint32_t>(expected_ndims);
  if (magic != expected_magic) {
    char got[16];
    char want[16];
    std::snprintf(got, sizeof got, "0x%08X", magic);
    std::snprintf(want, sizeof want, "0x%08X", expected_magic);
    throw std::runtime_error(path.string() + ": wrong magic number " + got + " (expected " + want +
                             " for a uint8 idx file with " + std::to_string(expected_ndims) +
                             " dimensions): not the file its name says");
  }
  IdxArray array;
  // Checked as the product grows: three u32 sizes can multiply past 2^64 and wrap to the file's
  // length, and nothing may be sized from a number the file's bytes do not back.
  const std::size_t data_bytes = bytes.size() - header;
  std::size_t count = 1;
  for (std::size_t d = 0; d < expected_ndims; ++d) {
    array.dims.push_back(big_endian_u32(bytes, 4 + 4 * d));
    const std::size_t size = array.dims.back();
    if (size != 0 && count > data_bytes / size) {
      throw std::runtime_error(
          path.string() + ": the header's sizes promise more values than the " +
          std::to_string(data_bytes) + " data bytes in the file (truncated or corrupt file)");
    }
    count *= size;
  }
  if (bytes.size() != header + count) {
    throw std::runtime_error(path.string() + ": " + std::to_string(bytes.size() - header) +
                             " data bytes, the header promises " + std::to_string(count) +
                             " (truncated or corrupt file)");
  }
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return array;
}

MnistSplit load_mnist(const fs::path& mnist_dir, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const auto images_path = find_data_file(mnist_dir, prefix + "-images-idx3-ubyte");
  const auto labels_path = find_data_file(mnist_dir, prefix + "-labels-idx1-ubyte");
  const IdxArray images = read_idx(images_path, 3);
  const IdxArray labels = read_idx(labels_path, 1);
  if (images.dims[0] != labels.dims[0] || images.dims[1] != 28 || images.dims[2] != 28) {
    throw std::runtime_error(
        images_path.string() + " and " + labels_path.string() +
        ": expected N x 28 x 28 images and N labels, got " + std::to_string(images.dims[0]) +
        " x " + std::to_string(images.dims[1]) + " x " + std::to_string(images.dims[2]) + " and " +
        std::to_string(labels.dims[0]));
  }
  MnistSplit split;
  split.count = images.dims[0];
  split.images.resize(images.data.size());
  // (x / 255 - mean) / std with the training set's statistics, as torchvision's MNIST examples.
  constexpr float mean = 0.1307f;
  constexpr float std_dev = 0.3081f;
  for (std::size_t i = 0; i < images.data.size(); ++i) {
    split.images[i] = (static_cast<float>(images.data[i]) / 255.0f - mean) / std_dev;
  }
  split.labels.resize(labels.data.size());
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] > 9) {
      throw std::runtime_error(labels_path.string() + ": label " + std::to_string(labels.data[i]) +
                               " at index " + std::to_string(i) + " is not a digit");
    }
    split.labels[i] = static_cast<float>(labels.data[i]);
  }
  return split;
}

}  // namespace milestones
