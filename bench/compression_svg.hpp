#pragma once
// The accuracy-against-sparsity curve of module 18's benchmark as a standalone SVG (drawn by
// tinytorch/charts.hpp), so a browser or an image viewer shows it as it is.
#include <string>

#include <nlohmann/json.hpp>

namespace bench {

/// One line per (scope, fine-tuned or not) from the benchmark's "mnist_pruning" object: x is the
/// measured sparsity, y the test accuracy; the dense model is the point at sparsity 0 of every
/// line.
[[nodiscard]] std::string sparsity_svg(const nlohmann::json& mnist_pruning);

}  // namespace bench
