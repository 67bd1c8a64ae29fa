#pragma once
// The environment for a child process that tests start: ours, with `overrides` ("NAME=value")
// replacing inherited variables of the same name. Appending instead would let an inherited value
// win (getenv returns the first match), e.g. CI's TINYTORCH_DATA over the test's own.
#include <algorithm>
#include <string>
#include <vector>

extern char** environ;  // NOLINT: POSIX

namespace test_support {

inline std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
  auto overridden = [&overrides](const std::string& entry) {
    const std::string name = entry.substr(0, entry.find('=') + 1);
    return std::any_of(overrides.begin(), overrides.end(),
                       [&name](const std::string& o) { return o.rfind(name, 0) == 0; });
  };
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!overridden(*e)) environment.emplace_back(*e);
  }
  environment.insert(environment.end(), overrides.begin(), overrides.end());
  return environment;
}

}  // namespace test_support
