// Module 01 — reference solution. The contract is setup.hpp.
#include "tinytorch/setup.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <thread>

#include "tinytorch/kernels/gemm.hpp"

namespace tinytorch::setup {

namespace {

// The oldest toolchain the course builds with: C++20's <span>, concepts and designated
// initialisers are complete from GCC 12 and Clang 14 on.
constexpr long kMinimumCxxStandard = 202002L;
constexpr int kMinimumGccMajor = 12;
constexpr int kMinimumClangMajor = 14;

// "GCC 12.2.0" -> 12 when the string starts with `name` and a space; nullopt otherwise.
std::optional<int> major_version(std::string_view compiler, std::string_view name) {
  if (!compiler.starts_with(name) || compiler.size() <= name.size() ||
      compiler[name.size()] != ' ') {
    return std::nullopt;
  }
  const std::string_view version = compiler.substr(name.size() + 1);
  int major = 0;
  const auto [end, error] = std::from_chars(version.data(), version.data() + version.size(), major);
  if (error != std::errc{} || end == version.data()) return std::nullopt;
  return major;
}

}  // namespace

std::string compiler_version() {
  // clang also defines __GNUC__ (it claims GCC 4.2 compatibility), so it must be tested first.
#if defined(__clang__)
  return "Clang " + std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__) + "." +
         std::to_string(__clang_patchlevel__);
#elif defined(__GNUC__)
  return "GCC " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown compiler";
#endif
}

long cxx_standard() {
  return static_cast<long>(__cplusplus);
}

int hardware_threads() {
  // hardware_concurrency() is a hint and may be 0 when the count cannot be determined.
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

SystemInfo system_info() {
  SystemInfo info;
  info.compiler = compiler_version();
  info.cxx_standard = cxx_standard();
#ifdef NDEBUG
  info.build_type = "Release";
#else
  info.build_type = "Debug";
#endif
  info.hardware_threads = hardware_threads();
  info.blas = kernels::blas_info();
  return info;
}

std::string format_system_info(const SystemInfo& info) {
  std::string out;
  out += "compiler: " + info.compiler + "\n";
  out += "c++ standard: " + std::to_string(info.cxx_standard) + "\n";
  out += "build type: " + info.build_type + "\n";
  out += "hardware threads: " + std::to_string(info.hardware_threads) + "\n";
  out += "blas: " + info.blas + "\n";
  return out;
}

std::vector<std::string> environment_problems(const SystemInfo& info) {
  std::vector<std::string> problems;
  if (info.cxx_standard < kMinimumCxxStandard) {
    problems.push_back("The library was compiled as C++ " + std::to_string(info.cxx_standard) +
                       "; the course needs C++20 (202002) or newer.");
  }
  const auto gcc = major_version(info.compiler, "GCC");
  const auto clang = major_version(info.compiler, "Clang");
  if (gcc) {
    if (*gcc < kMinimumGccMajor) {
      problems.push_back(info.compiler + " is too old; the course needs GCC 12 or newer.");
    }
  } else if (clang) {
    if (*clang < kMinimumClangMajor) {
      problems.push_back(info.compiler + " is too old; the course needs Clang 14 or newer.");
    }
  } else {
    problems.push_back("The compiler '" + info.compiler +
                       "' is not supported; the course needs GCC 12+ or Clang 14+.");
  }
  if (info.hardware_threads < 1) {
    problems.push_back("The machine reports " + std::to_string(info.hardware_threads) +
                       " hardware threads; at least 1 is needed.");
  }
  if (info.blas.empty()) {
    problems.push_back("No BLAS library is named; install OpenBLAS (libopenblas-dev) and rebuild.");
  }
  return problems;
}

}  // namespace tinytorch::setup
