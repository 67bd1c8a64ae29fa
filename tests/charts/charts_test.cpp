#include "tinytorch/charts.hpp"

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace charts = tinytorch::charts;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Every element opened is closed, or self-closing: a cheap well-formedness check.
void expect_balanced(const std::string& svg) {
  EXPECT_EQ(svg.rfind("<svg ", 0), 0U);
  EXPECT_EQ(count(svg, "<svg "), count(svg, "</svg>"));
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST(LineChart, IsOneCompleteSvgDocumentWithTitleAndLegend) {
  const std::vector<charts::Series> s = {{"train loss", {1, 2, 3}, {2.0, 1.5, 1.2}},
                                         {"test loss", {1, 2, 3}, {2.1, 1.7, 1.4}}};
  const std::string svg = charts::line_chart({"Loss by epoch", "epoch", "loss"}, s);
  expect_balanced(svg);
  EXPECT_NE(svg.find(">Loss by epoch</text>"), std::string::npos);
  EXPECT_NE(svg.find(">train loss</text>"), std::string::npos);
  EXPECT_NE(svg.find(">test loss</text>"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2U);
}

TEST(LineChart, EscapesMarkupInLabels) {
  const std::vector<charts::Series> s = {{"a<b & \"c\"", {0, 1}, {0, 1}}};
  const std::string svg = charts::line_chart({"x > y", "", ""}, s);
  EXPECT_NE(svg.find("a&lt;b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_NE(svg.find("x &gt; y"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
}

TEST(LineChart, RefusesASeriesWhoseXAndYDifferInLength) {
  const std::vector<charts::Series> s = {{"loss", {1, 2, 3}, {1, 2}}};
  try {
    (void)charts::line_chart({}, s);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'loss' has 3 x values and 2 y values"),
              std::string::npos);
  }
}

TEST(LineChart, BreaksTheLineAtANonFiniteValueInsteadOfPlottingIt) {
  const std::vector<charts::Series> s = {{"loss", {1, 2, 3, 4, 5}, {1, 2, kNaN, 3, 4}}};
  const std::string svg = charts::line_chart({}, s);
  EXPECT_EQ(count(svg, "<polyline"), 2U);
  // No coordinate or label reads "nan" or "inf" ("dominant-baseline" contains the letters).
  EXPECT_FALSE(std::regex_search(svg, std::regex("[^a-z](nan|inf)[^a-z]")));
}

TEST(LineChart, LogAxisSkipsValuesThatAreNotPositive) {
  const std::vector<charts::Series> s = {{"loss", {1, 2, 3}, {0.0, 10.0, 100.0}}};
  charts::Axes axes;
  axes.log_y = true;
  const std::string svg = charts::line_chart(axes, s);
  EXPECT_EQ(count(svg, "<circle"), 2U);                   // the 0 is not drawn
  EXPECT_NE(svg.find(">100</text>"), std::string::npos);  // decade ticks
}

TEST(LineChart, SaysNoDataWhenNothingIsPlottable) {
  const std::vector<charts::Series> s = {{"loss", {1}, {kNaN}}};
  const std::string svg = charts::line_chart({}, s);
  expect_balanced(svg);
  EXPECT_NE(svg.find(">no data</text>"), std::string::npos);
}

TEST(BarChart, DrawsOneBarPerValueAndAnErrorBarPerInterval) {
  const std::vector<charts::Bar> bars = {
      {"naive", 10.0, 9.0, 11.0}, {"packed", 2.0, {}, {}}, {"blas", 1.5, 1.4, 1.7}};
  const std::string svg = charts::bar_chart({"ms per call", "", "ms"}, bars);
  expect_balanced(svg);
  EXPECT_EQ(count(svg, "<rect"), 2U + 3U);  // background, frame, three bars
  EXPECT_EQ(count(svg, "<path"), 2U);       // only the bars with an interval
  EXPECT_NE(svg.find(">packed</text>"), std::string::npos);
}

TEST(BarChart, LinearAxisStartsAtZeroSoLengthsCompare) {
  const std::vector<charts::Bar> bars = {{"a", 100.0, {}, {}}, {"b", 101.0, {}, {}}};
  const std::string svg = charts::bar_chart({}, bars);
  EXPECT_NE(svg.find(">0</text>"), std::string::npos);
}

TEST(ParetoFront, KeepsThePointsNoOtherBeatsOnBothAxesSortedByX) {
  // (x = latency, y = accuracy): "slow" is beaten by "fast" (faster and more accurate).
  const std::vector<charts::Point> pts = {
      {"float", 10, 0.80}, {"slow", 12, 0.79}, {"int8", 4, 0.795}, {"pruned", 3, 0.70}};
  const std::vector<charts::Point> front = charts::pareto_front(pts);
  ASSERT_EQ(front.size(), 3U);
  EXPECT_EQ(front[0].label, "pruned");
  EXPECT_EQ(front[1].label, "int8");
  EXPECT_EQ(front[2].label, "float");
}

TEST(ParetoFront, KeepsOneOfTwoEqualPointsEach) {
  const std::vector<charts::Point> pts = {{"a", 1, 1}, {"b", 1, 1}};
  EXPECT_EQ(charts::pareto_front(pts).size(), 2U);  // neither strictly beats the other
}

TEST(ScatterChart, FillsTheFrontAndJoinsIt) {
  const std::vector<charts::Point> pts = {
      {"float", 10, 0.80}, {"slow", 12, 0.79}, {"int8", 4, 0.795}};
  const std::string svg =
      charts::scatter_chart({"accuracy against latency", "ms", "accuracy"}, pts, true);
  expect_balanced(svg);
  EXPECT_EQ(count(svg, "<polyline"), 1U);
  EXPECT_EQ(count(svg, "fill=\"white\" stroke"), 1U);  // only "slow" is hollow
}

TEST(Histogram, RefusesFewerThanOneBin) {
  const std::vector<double> v = {1, 2, 3};
  EXPECT_THROW((void)charts::histogram({}, v, 0), std::invalid_argument);
}

TEST(Histogram, DrawsEveryBinAndLabelsEachMarker) {
  const std::vector<double> v = {1, 1, 2, 3, 3, 3, 10};
  const std::vector<charts::Marker> m = {{"p50", 3}, {"p99", 10}};
  const std::string svg = charts::histogram({"latency", "ms", "requests"}, v, 5, m);
  expect_balanced(svg);
  EXPECT_EQ(count(svg, "<rect"), 2U + 5U);
  EXPECT_NE(svg.find(">p50 3</text>"), std::string::npos);
  EXPECT_NE(svg.find(">p99 10</text>"), std::string::npos);
}

TEST(SideBySide, NestsEachChartShiftedByItsWidth) {
  const std::vector<charts::Series> s = {{"a", {0, 1}, {0, 1}}};
  const std::vector<std::string> two = {charts::line_chart({}, s), charts::line_chart({}, s)};
  const std::string svg = charts::side_by_side(two);
  expect_balanced(svg);
  EXPECT_NE(svg.find("width=\"1280.00\""), std::string::npos);
  EXPECT_NE(svg.find("<svg x=\"640.00\""), std::string::npos);
}

TEST(WriteSvg, CreatesTheFolderAndReplacesAnOldFile) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("charts_test_" + std::to_string(::getpid()));
  const auto file = dir / "sub" / "curve.svg";
  charts::write_svg(file, "<svg>old</svg>\n");
  charts::write_svg(file, "<svg>new</svg>\n");
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "<svg>new</svg>\n");
  // No temporary file is left beside it.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(file.parent_path())) {
    EXPECT_EQ(entry.path().filename(), "curve.svg");
    ++files;
  }
  EXPECT_EQ(files, 1U);
  std::filesystem::remove_all(dir);
}

TEST(WriteSvg, NamesThePathWhenItCannotWrite) {
  const auto blocker =
      std::filesystem::temp_directory_path() / ("charts_block_" + std::to_string(::getpid()));
  std::ofstream(blocker) << "a file, not a folder";
  try {
    charts::write_svg(blocker / "curve.svg", "<svg/>");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find((blocker / "curve.svg").string()), std::string::npos);
  }
  std::filesystem::remove(blocker);
}
