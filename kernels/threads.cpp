#include "tinytorch/kernels/threads.hpp"

#include <cblas.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace tinytorch::kernels {
namespace {

int initial_thread_count() {
  if (const char* env = std::getenv("TINYTORCH_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end != '\0' || n < 1 || n > 1024) {
      throw std::invalid_argument(std::string("TINYTORCH_NUM_THREADS='") + env +
                                  "' is not a thread count: use a whole number from 1 to 1024");
    }
    return static_cast<int>(n);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

int& current() {
  static int threads = [] {
    const int n = initial_thread_count();
    openblas_set_num_threads(n);
    return n;
  }();
  return threads;
}

}  // namespace

int num_threads() {
  return current();
}

void set_num_threads(int n) {
  if (n < 1)
    throw std::invalid_argument("set_num_threads: need at least 1 thread, got " +
                                std::to_string(n));
  current() = n;
  openblas_set_num_threads(n);
}

}  // namespace tinytorch::kernels
