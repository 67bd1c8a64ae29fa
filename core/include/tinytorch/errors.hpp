#pragma once
// Errors shared by every module. Framework-owned: students never edit this file.
#include <exception>
#include <string>
#include <string_view>

namespace tinytorch {

/// Thrown by every stub the student has not filled in yet.
///
/// Deliberately derives from std::exception only: a test that expects std::invalid_argument,
/// std::out_of_range or std::runtime_error must not pass by accident against a stub.
class NotImplemented : public std::exception {
 public:
  NotImplemented(std::string_view module, std::string_view function)
      : module_(module),
        function_(function),
        message_(std::string(module) + ": " + std::string(function) +
                 " is not implemented yet (fill in its TODO in modules/" + std::string(module) +
                 "/)") {}

  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }
  [[nodiscard]] const std::string& module() const noexcept { return module_; }
  [[nodiscard]] const std::string& function() const noexcept { return function_; }

 private:
  std::string module_;
  std::string function_;
  std::string message_;
};

}  // namespace tinytorch
