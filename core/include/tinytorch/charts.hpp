#pragma once
// Standalone SVG charts for measured results: training curves, benchmark bars with their intervals,
// accuracy-against-latency Pareto plots and latency histograms. The output has no scripts, no
// external fonts and no styles beyond SVG attributes, so any browser or image viewer shows it as
// it is. Framework-owned: students never edit this file.
//
// Every function returns one complete <svg> document of a fixed size (640 x 400 user units);
// side_by_side() puts several into one document. Non-finite values are skipped, never plotted.
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tinytorch::charts {

/// Titles of a chart and its axes; a log axis needs every plotted value > 0 (others are skipped).
struct Axes {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  bool log_y = false;
};

/// One line of a line chart, e.g. {"train loss", epochs, losses}; x and y have the same length.
struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

/// One bar with an optional interval drawn as an error bar (e.g. the median and its 95% CI).
struct Bar {
  std::string label;
  double value = 0.0;
  std::optional<double> low;
  std::optional<double> high;
};

/// One labelled point of a scatter plot.
struct Point {
  std::string label;
  double x = 0.0;
  double y = 0.0;
};

/// A labelled vertical line on a histogram (e.g. {"p99", 12.5}).
struct Marker {
  std::string label;
  double x = 0.0;
};

/// Lines with a legend; throws std::invalid_argument when a series' x and y differ in length.
[[nodiscard]] std::string line_chart(const Axes& axes, std::span<const Series> series);

/// Vertical bars from 0 (or from the smallest value on a log axis) with their intervals.
[[nodiscard]] std::string bar_chart(const Axes& axes, std::span<const Bar> bars);

/// Labelled points. With pareto_front, the points that no other point beats on both axes (a
/// smaller x and a larger y, e.g. latency against accuracy) are joined by a line and drawn filled.
[[nodiscard]] std::string scatter_chart(const Axes& axes, std::span<const Point> points,
                                        bool pareto_front);

/// The distribution of values in `bins` equal-width bins, with labelled vertical markers.
/// Throws std::invalid_argument when bins < 1.
[[nodiscard]] std::string histogram(const Axes& axes, std::span<const double> values, int bins,
                                    std::span<const Marker> markers = {});

/// Several charts in one row, in one SVG document.
[[nodiscard]] std::string side_by_side(std::span<const std::string> charts);

/// The points of `points` on the Pareto front (smaller x and larger y are better), sorted by x.
[[nodiscard]] std::vector<Point> pareto_front(std::span<const Point> points);

/// Writes svg to path (creating its folder); throws std::runtime_error naming the path on failure.
void write_svg(const std::filesystem::path& path, const std::string& svg);

}  // namespace tinytorch::charts
