// The SVG of module 18's accuracy-against-sparsity curve. Plain SVG 1.1: axes, grid, one polyline
// and its markers per series, a legend.
#include "compression_svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace bench {

namespace {

struct Series {
  std::string label;
  std::string colour;
  std::string dash;  // stroke-dasharray, "" for a solid line
  std::vector<std::pair<double, double>> points;
};

// Plot area in pixels.
constexpr double kLeft = 70, kRight = 600, kTop = 50, kBottom = 350;

std::string polyline(const Series& s, double y_min) {
  const auto px = [](double x) { return kLeft + x * (kRight - kLeft); };
  const auto py = [&](double y) {
    return kBottom - (y - y_min) / (1.0 - y_min) * (kBottom - kTop);
  };
  std::string points;
  std::string marks;
  for (const auto& [x, y] : s.points) {
    points += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    marks += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n", px(x),
                         py(y), s.colour);
  }
  return fmt::format(
      "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n{}", points,
      s.colour, s.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", s.dash), marks);
}

}  // namespace

std::string sparsity_svg(const nlohmann::json& mnist_pruning) {
  const double dense = mnist_pruning.at("dense_accuracy").get<double>();
  std::vector<Series> series = {
      {"per layer, no fine-tuning", "#d62728", "6,4", {}},
      {"per layer, fine-tuned", "#d62728", "", {}},
      {"global, no fine-tuning", "#1f77b4", "6,4", {}},
      {"global, fine-tuned", "#1f77b4", "", {}},
  };
  for (auto& s : series) s.points.emplace_back(0.0, dense);
  double y_min = dense;
  for (const auto& row : mnist_pruning.at("rows")) {
    const bool global = row.at("scope") == "global";
    const double x = row.at("measured_sparsity").get<double>();
    const double a = row.at("accuracy").get<double>();
    const double f = row.at("accuracy_fine_tuned").get<double>();
    series[global ? 2 : 0].points.emplace_back(x, a);
    series[global ? 3 : 1].points.emplace_back(x, f);
    y_min = std::min({y_min, a, f});
  }
  // The y axis starts at the tenth below the lowest accuracy, so small drops stay visible.
  y_min = std::clamp(std::floor(y_min * 10.0) / 10.0, 0.0, 0.9);

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"420\" "
      "viewBox=\"0 0 640 420\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"640\" height=\"420\" fill=\"white\"/>\n"
      "<text x=\"335\" y=\"28\" text-anchor=\"middle\" font-size=\"14\">mnist MLP: test accuracy "
      "against sparsity (magnitude pruning; fine-tuned: {} steps)</text>\n",
      mnist_pruning.at("fine_tune_steps").get<std::int64_t>());
  for (int i = 0; i <= 10; ++i) {  // x grid and ticks every 10%
    const double x = kLeft + i / 10.0 * (kRight - kLeft);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e5e5e5\"/>\n"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}%</text>\n",
        x, kTop, kBottom, kBottom + 18, i * 10);
  }
  const double y_step = 1.0 - y_min > 0.4 ? 0.1 : 0.05;  // at most about ten grid lines
  const int y_steps = static_cast<int>(std::lround((1.0 - y_min) / y_step));
  for (int i = 0; i <= y_steps; ++i) {
    const double v = y_min + i * y_step;
    const double y = kBottom - (v - y_min) / (1.0 - y_min) * (kBottom - kTop);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#e5e5e5\"/>\n"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:.2f}</text>\n",
        kLeft, y, kRight, kLeft - 6, y + 4, v);
  }
  svg += fmt::format(
      "<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" fill=\"none\" stroke=\"#333\"/>\n"
      "<text x=\"{4}\" y=\"{5}\" text-anchor=\"middle\">sparsity (fraction of Linear weights set "
      "to zero)</text>\n"
      "<text x=\"18\" y=\"{6}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {6})\">test "
      "accuracy</text>\n",
      kLeft, kTop, kRight - kLeft, kBottom - kTop, (kLeft + kRight) / 2, kBottom + 40,
      (kTop + kBottom) / 2);
  for (const auto& s : series) svg += polyline(s, y_min);
  for (std::size_t i = 0; i < series.size(); ++i) {  // legend, bottom left inside the plot
    const double y = kBottom - 70 + 16.0 * static_cast<double>(i);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
        "stroke-width=\"2\"{4}/>\n<text x=\"{5}\" y=\"{6:.1f}\">{7}</text>\n",
        kLeft + 12, y, kLeft + 42, series[i].colour,
        series[i].dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", series[i].dash),
        kLeft + 48, y + 4, series[i].label);
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace bench
