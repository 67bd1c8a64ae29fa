#pragma once
// A batch source that ends the pass early after Ctrl-C, so a milestone stops within one batch, not
// one epoch, and still writes its partial result.
#include <cstdint>
#include <optional>

#include "run.hpp"
#include "tinytorch/training.hpp"

namespace milestones {

class StopOnInterrupt : public tinytorch::train::BatchSource {
 public:
  explicit StopOnInterrupt(tinytorch::train::BatchSource& inner) : inner_(inner) {}
  void reset() override { inner_.reset(); }
  [[nodiscard]] std::optional<tinytorch::train::Batch> next() override {
    if (Run::interrupted()) return std::nullopt;
    return inner_.next();
  }
  [[nodiscard]] std::int64_t num_batches() const override { return inner_.num_batches(); }

 private:
  tinytorch::train::BatchSource& inner_;
};

}  // namespace milestones
