// Framework-owned: what the timings were taken on. Students use machine_info(); they do not write
// it.
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tinytorch/benchmarking.hpp"
#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/kernels/threads.hpp"

namespace tinytorch::bench {

namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// The value of the first "key : value" line whose key is `key`, or "" when there is none.
std::string cpuinfo_value(const std::string& cpuinfo, const std::string& key) {
  std::istringstream lines(cpuinfo);
  std::string line;
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(line.substr(0, colon)) == key) return trim(line.substr(colon + 1));
  }
  return "";
}

// The compiler's own version string (module 01 builds "GCC 12.2.0" from the version macros; this
// records the fuller text the compiler gives about itself).
std::string compiler() {
#if defined(__clang__)
  return __VERSION__;  // "Debian Clang 14.0.6"
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;  // "GCC 12.2.0"
#else
  return "unknown compiler";
#endif
}

}  // namespace

std::string cpu_model_from_cpuinfo(const std::string& cpuinfo) {
  for (const char* key : {"model name", "Model", "Hardware"}) {
    std::string value = cpuinfo_value(cpuinfo, key);
    if (!value.empty()) return value;
  }
  return "unknown";
}

Machine machine_info() {
  Machine m;
  std::ifstream file("/proc/cpuinfo");
  std::stringstream text;
  text << file.rdbuf();
  m.cpu_model = cpu_model_from_cpuinfo(text.str());
  m.threads = std::max(1U, std::thread::hardware_concurrency());
  m.kernel_threads = kernels::num_threads();
  m.blas = kernels::blas_info();
  m.compiler = compiler();
#ifdef NDEBUG
  m.build_type = "Release";
#else
  m.build_type = "Debug";
#endif
  return m;
}

}  // namespace tinytorch::bench
