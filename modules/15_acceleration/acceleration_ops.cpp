// Module 15's framework file (you do not write this one): the argument checks every rung calls,
// the float64 oracle the tests judge rungs by, the machine's caches as sysfs describes them, and
// the hook that puts your kernels inside the framework (kernels/include/tinytorch/kernels/
// dispatch.hpp: TINYTORCH_KERNELS=student).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/acceleration.hpp"
#include "tinytorch/kernels/dispatch.hpp"

namespace tinytorch::accel {

namespace {

using std::int64_t;
namespace fs = std::filesystem;

std::string shape_text(int64_t rows, int64_t cols) {
  std::string text = "(";
  text.append(std::to_string(rows)).append(", ").append(std::to_string(cols)).append(")");
  return text;
}

// One operand as it is stored: `rows` rows of `cols` floats, `ld` floats apart. (The messages are
// built by appending: GCC 12 warns falsely (-Wrestrict) on long chains of std::string +.)
void check_operand(const char* rung, const char* name, const char* ld_name, const char* shape_names,
                   int64_t rows, int64_t cols, const float* data, int64_t ld) {
  const int64_t row = std::max<int64_t>(cols, 1);
  if (ld < row) {
    std::string message = rung;
    message.append(": ").append(ld_name).append(" = ").append(std::to_string(ld));
    message.append(" is smaller than a row of ").append(name).append(" as stored ");
    message.append(shape_names).append(" = ").append(shape_text(rows, cols));
    message.append(": the distance between rows must be at least ").append(std::to_string(row));
    throw std::invalid_argument(message);
  }
  if (data == nullptr && rows > 0 && cols > 0) {
    std::string message = rung;
    message.append(": ").append(name).append(" is null but ").append(shape_names);
    message.append(" = ").append(shape_text(rows, cols)).append(" has elements");
    throw std::invalid_argument(message);
  }
}

}  // namespace

void check_gemm(const char* rung, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                const float* a, int64_t lda, const float* b, int64_t ldb, const float* c,
                int64_t ldc) {
  if (m < 0 || n < 0 || k < 0) {
    throw std::invalid_argument(std::string(rung) + ": negative size (m, n, k) = (" +
                                std::to_string(m) + ", " + std::to_string(n) + ", " +
                                std::to_string(k) + ")");
  }
  if (trans_a) {
    check_operand(rung, "A", "lda", "(k, m)", k, m, a, lda);
  } else {
    check_operand(rung, "A", "lda", "(m, k)", m, k, a, lda);
  }
  if (trans_b) {
    check_operand(rung, "B", "ldb", "(n, k)", n, k, b, ldb);
  } else {
    check_operand(rung, "B", "ldb", "(k, n)", k, n, b, ldb);
  }
  check_operand(rung, "C", "ldc", "(m, n)", m, n, c, ldc);
}

void check_blocks(const char* rung, const BlockSizes& blocks) {
  const auto check = [&](const char* name, int64_t value) {
    if (value < 1) {
      throw std::invalid_argument(std::string(rung) + ": block size " + name + " = " +
                                  std::to_string(value) + " must be at least 1");
    }
  };
  check("mc", blocks.mc);
  check("kc", blocks.kc);
  check("nc", blocks.nc);
}

void reference_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc) {
  check_gemm("reference_gemm", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double x = trans_a ? a[p * lda + i] : a[i * lda + p];
        const double y = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        sum += x * y;
      }
      float& out = c[i * ldc + j];
      // beta == 0 writes without reading: BLAS's rule, so NaN already in C does not survive.
      const double old = beta == 0.0f ? 0.0 : static_cast<double>(beta) * out;
      out = static_cast<float>(static_cast<double>(alpha) * sum + old);
    }
  }
}

namespace {

std::string read_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// sysfs writes sizes as "32K", "1024K", "32M".
int64_t parse_size(const std::string& text) {
  if (text.empty()) return 0;
  std::size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    return 0;
  }
  const std::string unit = text.substr(used);
  if (unit == "K") return value * 1024;
  if (unit == "M") return value * 1024 * 1024;
  if (unit == "G") return value * 1024 * 1024 * 1024;
  return value;
}

}  // namespace

std::vector<CacheLevel> cpu_caches() {
  std::vector<CacheLevel> caches;
  const fs::path root = "/sys/devices/system/cpu/cpu0/cache";
  std::error_code error;
  if (!fs::is_directory(root, error)) return caches;
  for (const auto& entry : fs::directory_iterator(root, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("index", 0) != 0) continue;
    CacheLevel cache;
    try {
      cache.level = std::stoi(read_line(entry.path() / "level"));
    } catch (const std::exception&) {
      continue;
    }
    cache.type = read_line(entry.path() / "type");
    cache.size_bytes = parse_size(read_line(entry.path() / "size"));
    cache.line_bytes = parse_size(read_line(entry.path() / "coherency_line_size"));
    cache.shared_with = read_line(entry.path() / "shared_cpu_list");
    caches.push_back(cache);
  }
  std::sort(caches.begin(), caches.end(), [](const CacheLevel& x, const CacheLevel& y) {
    return x.level != y.level ? x.level < y.level : x.type < y.type;
  });
  return caches;
}

namespace {

// kernels::KernelSet's GEMM has no block sizes: the default blocks.
void best_rung(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc) {
  gemm_parallel(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace

}  // namespace tinytorch::accel

// The hook of kernels/dispatch.hpp: with TINYTORCH_KERNELS=student, kernels::sgemm, im2col and
// col2im call these, so ops::matmul, Linear, attention and Conv2d run on module 15's code.
const tinytorch::kernels::KernelSet& tinytorch::kernels::detail::student_kernels() {
  static const KernelSet set{&accel::best_rung, &accel::im2col, &accel::col2im};
  return set;
}

// TINYTORCH_KERNELS=naive: every GEMM on rung 1, the baseline the olympics milestone starts from.
const tinytorch::kernels::KernelSet& tinytorch::kernels::detail::naive_kernels() {
  static const KernelSet set{&accel::gemm_naive, &accel::im2col, &accel::col2im};
  return set;
}
