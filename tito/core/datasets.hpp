#pragma once
// Data set verification against SHA256SUMS (the format `sha256sum` writes: "<64 hex>  <path>", or
// "<64 hex> *<path>" in binary mode). A data set is the first folder of each listed path
// ("mnist/train-images-idx3-ubyte.gz" belongs to "mnist"); a file at the top level is its own data
// set.
#include <filesystem>
#include <string>
#include <vector>

namespace tito {

namespace fs = std::filesystem;

/// Lower-case hex SHA-256 of a file (OpenSSL EVP). Throws TitoError naming the file it cannot read.
[[nodiscard]] std::string sha256_file(const fs::path& file);

struct DatasetStatus {
  std::string name;
  int files = 0;
  int verified = 0;
  std::vector<std::string> missing;     // listed but absent
  std::vector<std::string> mismatched;  // present with another checksum

  [[nodiscard]] bool ok() const { return missing.empty() && mismatched.empty(); }
};

/// Verifies every file listed in <dir>/SHA256SUMS; throws TitoError when that file is malformed.
[[nodiscard]] std::vector<DatasetStatus> verify_datasets(const fs::path& dir);

}  // namespace tito
