#pragma once
// Seeded random numbers, identical on every platform: the engine is std::mt19937_64 (fully
// specified by the standard) and the float conversions below are ours, not the standard library's
// distributions (whose output differs between implementations).
#include <cstdint>
#include <random>

namespace tinytorch {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}

  void manual_seed(std::uint64_t seed) {
    engine_.seed(seed);
    has_spare_ = false;
  }

  [[nodiscard]] std::uint64_t next_u64() { return engine_(); }

  /// Uniform on [0, 1): the top 24 bits of one draw, so every float is exactly representable.
  [[nodiscard]] float uniform() {
    return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f);
  }

  /// Uniform integer on [0, n).
  [[nodiscard]] std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next_u64() % n; }

  /// Standard normal by the Box-Muller transform; each pair of uniforms gives two normals.
  [[nodiscard]] float normal();

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  float spare_ = 0.0f;
};

/// The generator used when a function is not handed one; reseed it with manual_seed.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

}  // namespace tinytorch
