// Framework-owned: sample_next_token, module 14's sampling rule for one row of logits, so that
// generate_with_cache picks ids exactly as module 14's generate does (the tests compare the two).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <vector>

#include "tinytorch/caching.hpp"

namespace tinytorch {

std::int64_t sample_next_token(std::span<const float> logits, const SamplingOptions& options,
                               Generator& generator) {
  const auto V = static_cast<std::int64_t>(logits.size());
  if (V == 0) throw std::invalid_argument("sample_next_token: no logits (V = 0)");
  const float* z = logits.data();
  if (options.temperature == 0.0f) return std::max_element(z, z + V) - z;  // first on ties
  // top-k: every logit below the k-th largest drops out (ties with it stay).
  float cutoff = -std::numeric_limits<float>::infinity();
  if (options.top_k > 0 && options.top_k < V) {
    std::vector<float> sorted(z, z + V);
    std::nth_element(sorted.begin(), sorted.begin() + (options.top_k - 1), sorted.end(),
                     std::greater<>());
    cutoff = sorted[static_cast<std::size_t>(options.top_k - 1)];
  }
  // softmax(z / temperature) over the kept ids, the max subtracted so that exp cannot overflow.
  const float m = *std::max_element(z, z + V);
  std::vector<double> p(static_cast<std::size_t>(V), 0.0);
  double total = 0.0;
  for (std::int64_t i = 0; i < V; ++i) {
    if (z[i] >= cutoff) p[i] = std::exp(static_cast<double>(z[i] - m) / options.temperature);
    total += p[i];
  }
  // Inverse CDF: the first id whose cumulative probability exceeds u.
  const double u = generator.uniform() * total;
  double cumulative = 0.0;
  std::int64_t last_kept = 0;
  for (std::int64_t i = 0; i < V; ++i) {
    if (p[i] == 0.0) continue;
    cumulative += p[i];
    last_kept = i;
    if (cumulative > u) return i;
  }
  return last_kept;  // rounding left u just above the total
}

}  // namespace tinytorch
