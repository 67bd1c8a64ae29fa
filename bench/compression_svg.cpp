// The SVG of module 18's accuracy-against-sparsity curve, drawn by the framework's charts.
#include "compression_svg.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "tinytorch/charts.hpp"

namespace bench {

std::string sparsity_svg(const nlohmann::json& mnist_pruning) {
  const double dense = mnist_pruning.at("dense_accuracy").get<double>();
  // Every line starts at the dense model (sparsity 0), so each drop is read from the same point.
  std::vector<tinytorch::charts::Series> series = {{"per layer, no fine-tuning", {0.0}, {dense}},
                                                   {"per layer, fine-tuned", {0.0}, {dense}},
                                                   {"global, no fine-tuning", {0.0}, {dense}},
                                                   {"global, fine-tuned", {0.0}, {dense}}};
  for (const auto& row : mnist_pruning.at("rows")) {
    const std::size_t line = row.at("scope") == "global" ? 2 : 0;
    const double x = row.at("measured_sparsity").get<double>();
    series[line].x.push_back(x);
    series[line].y.push_back(row.at("accuracy").get<double>());
    series[line + 1].x.push_back(x);
    series[line + 1].y.push_back(row.at("accuracy_fine_tuned").get<double>());
  }
  return tinytorch::charts::line_chart(
      {fmt::format("mnist MLP: accuracy against sparsity (fine-tuned: {} steps)",
                   mnist_pruning.at("fine_tune_steps").get<std::int64_t>()),
       "sparsity (fraction of Linear weights set to zero)", "test accuracy"},
      series);
}

}  // namespace bench
