// Module 01 — fill in each TODO. The contract is setup.hpp: read each function's comment there
// first.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 01` after each
// function: the tests for the functions you have written turn green one by one.
#include "tinytorch/setup.hpp"

#include <string>
#include <thread>
#include <vector>

#include "tinytorch/errors.hpp"
#include "tinytorch/kernels/gemm.hpp"

namespace tinytorch::setup {

std::string compiler_version() {
  // TODO: Say which compiler built this file, e.g. "GCC 12.2.0" or "Clang 16.0.6".
  //   - Compilers announce themselves through predefined macros, decided at compile time:
  //     GCC defines __GNUC__, __GNUC_MINOR__ and __GNUC_PATCHLEVEL__; clang defines __clang__,
  //     __clang_major__, __clang_minor__ and __clang_patchlevel__.
  //   - Use the preprocessor (#if defined(...) / #elif / #endif) to pick one branch.
  //   - Careful: clang *also* defines __GNUC__ to look like an old GCC. Which test must come first?
  //   - std::to_string turns each number into text.
  throw NotImplemented("01_setup", "compiler_version");
}

long cxx_standard() {
  // TODO: Return the C++ standard this library was compiled as.
  //   - The standard macro __cplusplus holds it as a number (201703 for C++17, ...). Which value
  //     does C++20 give? CMakeLists.txt asks for CMAKE_CXX_STANDARD 20.
  throw NotImplemented("01_setup", "cxx_standard");
}

int hardware_threads() {
  // TODO: Return how many threads the hardware can run at once.
  //   - <thread> has a static function on std::thread that answers this.
  //   - Read its documentation: it is only a hint and may return 0. The contract promises at
  //     least 1, because later modules divide work by this number.
  throw NotImplemented("01_setup", "hardware_threads");
}

SystemInfo system_info() {
  // TODO: Fill a SystemInfo from the three functions above, plus:
  //   - build_type: "Release" when the macro NDEBUG is defined (optimised builds define it to
  //     switch assert() off), "Debug" otherwise.
  //   - blas: the name the kernel layer reports; see tinytorch/kernels/gemm.hpp (already included).
  throw NotImplemented("01_setup", "system_info");
}

std::string format_system_info(const SystemInfo& info) {
  // TODO: One "key: value" line per field, in the order the struct declares them, each ending in
  //   '\n'. The exact keys and an example are in setup.hpp; the tests compare the whole string, so
  //   spelling, spaces and the final newline all count.
  //   - Format the fields of `info`, not of this machine: `tito` also prints saved reports.
  (void)info;
  throw NotImplemented("01_setup", "format_system_info");
}

std::vector<std::string> environment_problems(const SystemInfo& info) {
  // TODO: Return one human-readable sentence per problem found in `info`, or an empty vector.
  //   The four checks are listed in setup.hpp. Each failed check adds exactly one sentence, so a
  //   student with three problems sees all three at once, not one per rebuild.
  //   - The compiler is a string such as "GCC 11.4.0": find which compiler it names, then read the
  //     major version as a *number* (std::stoi or std::from_chars). Comparing text would say that
  //     "9" comes after "12".
  //   - A compiler that is neither GCC nor Clang cannot be vouched for: that is a problem too.
  //   - Say what is wrong and what is needed ("... needs GCC 12 or newer"), so the sentence is
  //     useful on its own in `tito system doctor`.
  (void)info;
  throw NotImplemented("01_setup", "environment_problems");
}

}  // namespace tinytorch::setup
