// Module 01 — fill in each TODO. The contract is setup.hpp.
#include "tinytorch/setup.hpp"

#include "tinytorch/errors.hpp"

namespace tinytorch::setup {

std::string compiler_version() { throw NotImplemented("01_setup", "compiler_version"); }
long cxx_standard() { throw NotImplemented("01_setup", "cxx_standard"); }
int hardware_threads() { throw NotImplemented("01_setup", "hardware_threads"); }
SystemInfo system_info() { throw NotImplemented("01_setup", "system_info"); }
std::string format_system_info(const SystemInfo&) { throw NotImplemented("01_setup", "format_system_info"); }
std::vector<std::string> environment_problems(const SystemInfo&) {
  throw NotImplemented("01_setup", "environment_problems");
}

}  // namespace tinytorch::setup
