#pragma once
// Module 01: know your machine. The contract for setup.cpp; do not edit it.
#include <string>
#include <vector>

namespace tinytorch::setup {

/// What `tito system info` and the milestones report about the build you are running.
struct SystemInfo {
  std::string compiler;      // "GCC 12.2.0"
  long cxx_standard = 0;     // the value of __cplusplus, e.g. 202002
  std::string build_type;    // "Release" or "Debug" (from NDEBUG)
  int hardware_threads = 0;  // std::thread::hardware_concurrency(), at least 1
  std::string blas;          // the BLAS library the kernels link, from kernels::blas_info()
};

/// "GCC <major>.<minor>.<patch>" for g++, "Clang <major>.<minor>.<patch>" for clang++.
[[nodiscard]] std::string compiler_version();
/// __cplusplus of the translation unit that compiled the library.
[[nodiscard]] long cxx_standard();
/// The number of hardware threads, never less than 1 (hardware_concurrency() may return 0).
[[nodiscard]] int hardware_threads();
[[nodiscard]] SystemInfo system_info();
/// One "key: value" line per field, in the order of the struct:
///   "compiler: GCC 12.2.0\nc++ standard: 202002\nbuild type: Release\nhardware threads: 2\nblas:
///   ...\n"
[[nodiscard]] std::string format_system_info(const SystemInfo& info);
/// Problems that would stop the course from building or running, one sentence each; empty when
/// the environment is fine. Checks: C++20 or newer, GCC >= 12 or Clang >= 14, at least 1 thread,
/// a BLAS library named.
[[nodiscard]] std::vector<std::string> environment_problems(const SystemInfo& info);

}  // namespace tinytorch::setup
