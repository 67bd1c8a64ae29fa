#include "tinytorch/kernels/dispatch.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace tinytorch::kernels {
namespace {

constexpr int kUnset = -1;
std::atomic<int> g_source{kUnset};

KernelSource source_from_environment() {
  const char* value = std::getenv("TINYTORCH_KERNELS");
  if (value == nullptr || *value == '\0') return KernelSource::framework;
  const std::string text = value;
  if (text == "framework") return KernelSource::framework;
  if (text == "student") return KernelSource::student;
  if (text == "naive") return KernelSource::naive;
  throw std::invalid_argument("TINYTORCH_KERNELS='" + text +
                              "' is not a kernel source: use 'framework' (the default), "
                              "'student' (module 15's GEMM, im2col and col2im) or 'naive' "
                              "(module 15's three-loop GEMM, rung 1)");
}

}  // namespace

KernelSource kernel_source() {
  int source = g_source.load(std::memory_order_relaxed);
  if (source == kUnset) {
    source = static_cast<int>(source_from_environment());
    int expected = kUnset;
    // set_kernel_source may have won the race: its choice stands.
    if (!g_source.compare_exchange_strong(expected, source)) source = expected;
  }
  return static_cast<KernelSource>(source);
}

void set_kernel_source(KernelSource source) {
  g_source.store(static_cast<int>(source), std::memory_order_relaxed);
}

const char* kernel_source_name(KernelSource source) {
  switch (source) {
    case KernelSource::student:
      return "student";
    case KernelSource::naive:
      return "naive";
    case KernelSource::framework:
      break;
  }
  return "framework";
}

namespace detail {

const KernelSet* selected_student_kernels() {
  switch (kernel_source()) {
    case KernelSource::student:
      return &student_kernels();
    case KernelSource::naive:
      return &naive_kernels();
    case KernelSource::framework:
      break;
  }
  return nullptr;
}

}  // namespace detail
}  // namespace tinytorch::kernels
