// SVG charts: a fixed 640 x 400 canvas, a plot area inside margins, and one Scale per axis that
// maps data to pixels (linear, or log10 for values that span decades). Ticks are "nice" numbers
// (1, 2 or 5 times a power of ten) so a reader can read values off the grid.
#include "tinytorch/charts.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "tinytorch/atomic_file.hpp"

namespace tinytorch::charts {
namespace {

constexpr double kWidth = 640;
constexpr double kHeight = 400;
constexpr double kLeft = 72;
constexpr double kRight = 20;
constexpr double kTop = 40;
constexpr double kBottom = 64;

// Okabe-Ito: distinguishable by readers with the common forms of colour blindness.
constexpr std::array<std::string_view, 8> kPalette = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                      "#E69F00", "#56B4E9", "#000000", "#F0E442"};

std::string_view colour(std::size_t i) {
  return kPalette[i % kPalette.size()];
}

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Pixel coordinates with two decimals: exact enough for any screen, short enough to read.
std::string px(double v) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.2f", v);
  return buf.data();
}

// A tick label: as few digits as the value needs (0.001, 25, 1.5e+06).
// A number in as few characters as `digits` significant digits allow (0.001, 25, 1.5e+06): four
// for tick labels, three for the values written above bars, as a reader compares them.
std::string label_of(double v, int digits = 4) {
  if (std::abs(v) < 1e-12) return "0";
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.*g", digits, v);
  return buf.data();
}

bool usable(double v, bool log) {
  return std::isfinite(v) && (!log || v > 0);
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  [[nodiscard]] bool empty() const { return lo > hi; }
};

// The step between ticks: the nice number nearest range / target.
double nice_step(double range, int target) {
  const double raw = range / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  const double nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * power;
}

class Scale {
 public:
  // Maps [lo, hi] (widened to nice numbers, or to whole decades on a log axis) onto [p0, p1].
  Scale(Range r, bool log, double p0, double p1) : log_(log), p0_(p0), p1_(p1) {
    if (r.empty()) r = log ? Range{1, 10} : Range{0, 1};
    if (log) {
      lo_ = std::floor(std::log10(r.lo));
      hi_ = std::ceil(std::log10(r.hi));
      if (hi_ <= lo_) hi_ = lo_ + 1;
      return;
    }
    if (r.hi - r.lo < 1e-12 * std::max(1.0, std::abs(r.hi))) {  // one value: give it room
      r.lo -= std::max(1.0, std::abs(r.lo) * 0.1);
      r.hi += std::max(1.0, std::abs(r.hi) * 0.1);
    }
    step_ = nice_step(r.hi - r.lo, 5);
    lo_ = std::floor(r.lo / step_) * step_;
    hi_ = std::ceil(r.hi / step_) * step_;
  }

  [[nodiscard]] double operator()(double v) const {
    const double t = log_ ? std::log10(v) : v;
    return p0_ + (t - lo_) / (hi_ - lo_) * (p1_ - p0_);
  }

  [[nodiscard]] std::vector<double> ticks() const {
    std::vector<double> out;
    if (log_) {
      for (double e = lo_; e <= hi_ + 1e-9; e += 1) out.push_back(std::pow(10.0, e));
      return out;
    }
    for (double t = lo_; t <= hi_ + step_ * 1e-6; t += step_) {
      out.push_back(std::abs(t) < step_ * 1e-9 ? 0.0 : t);
    }
    return out;
  }

  // The data value at the bottom of the axis (where bars start).
  [[nodiscard]] double floor_value() const {
    return log_ ? std::pow(10.0, lo_) : std::max(lo_, 0.0);
  }

 private:
  bool log_;
  double p0_;
  double p1_;
  double lo_ = 0;
  double hi_ = 1;
  double step_ = 1;
};

struct Frame {
  Scale x;
  Scale y;
};

std::string open_document(const Axes& axes, bool x_title = true) {
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px(kWidth) +
                    "\" height=\"" + px(kHeight) + "\" viewBox=\"0 0 " + px(kWidth) + " " +
                    px(kHeight) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  // A long title gets a smaller font (about 0.55 em per character) rather than running off.
  const double title_size =
      std::clamp((kWidth - 20) / (0.55 * static_cast<double>(axes.title.size()) + 1), 9.0, 15.0);
  out += "<text x=\"" + px(kWidth / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"" +
         px(title_size) + "\">" + escape(axes.title) + "</text>\n";
  if (x_title) {
    out += "<text x=\"" + px(kLeft + (kWidth - kLeft - kRight) / 2) + "\" y=\"" + px(kHeight - 12) +
           "\" text-anchor=\"middle\">" + escape(axes.x_label) + "</text>\n";
  }
  out += "<text transform=\"translate(16," + px(kTop + (kHeight - kTop - kBottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + escape(axes.y_label) + "</text>\n";
  return out;
}

// Grid lines and tick labels on the y axis, and on the x axis unless the x axis is categorical.
std::string draw_grid(const Frame& f, bool x_ticks) {
  std::string out;
  for (double t : f.y.ticks()) {
    const std::string y = px(f.y(t));
    out += "<line x1=\"" + px(kLeft) + "\" x2=\"" + px(kWidth - kRight) + "\" y1=\"" + y +
           "\" y2=\"" + y + "\" stroke=\"#dddddd\"/>\n";
    out += "<text x=\"" + px(kLeft - 6) + "\" y=\"" + y +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + label_of(t) + "</text>\n";
  }
  if (x_ticks) {
    for (double t : f.x.ticks()) {
      const std::string x = px(f.x(t));
      out += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + px(kTop) + "\" y2=\"" +
             px(kHeight - kBottom) + "\" stroke=\"#eeeeee\"/>\n";
      out += "<text x=\"" + x + "\" y=\"" + px(kHeight - kBottom + 16) +
             "\" text-anchor=\"middle\">" + label_of(t) + "</text>\n";
    }
  }
  out += "<rect x=\"" + px(kLeft) + "\" y=\"" + px(kTop) + "\" width=\"" +
         px(kWidth - kLeft - kRight) + "\" height=\"" + px(kHeight - kTop - kBottom) +
         "\" fill=\"none\" stroke=\"#333333\"/>\n";
  return out;
}

std::string no_data(std::string out) {
  out += "<text x=\"" + px(kWidth / 2) + "\" y=\"" + px(kHeight / 2) +
         "\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n</svg>\n";
  return out;
}

// The range widened by 8% on each side (a factor of 1.25 on a log axis).
Range padded(Range r, bool log) {
  if (log) return {r.lo / 1.25, r.hi * 1.25};
  const double pad = 0.08 * std::max(r.hi - r.lo, 1e-12 * std::max(1.0, std::abs(r.hi)));
  // Data that is never negative (a latency, a size) keeps an axis that starts at zero or above.
  return {r.lo >= 0 ? std::max(0.0, r.lo - pad) : r.lo - pad, r.hi + pad};
}

Scale x_scale(Range r, bool log) {
  return {r, log, kLeft, kWidth - kRight};
}
Scale y_scale(Range r, bool log) {
  return {r, log, kHeight - kBottom, kTop};
}

std::string circle(double x, double y, double r, std::string_view fill, std::string_view stroke) {
  return "<circle cx=\"" + px(x) + "\" cy=\"" + px(y) + "\" r=\"" + px(r) + "\" fill=\"" +
         std::string(fill) + "\" stroke=\"" + std::string(stroke) + "\"/>\n";
}

}  // namespace

std::string line_chart(const Axes& axes, std::span<const Series> series) {
  Range rx;
  Range ry;
  for (const Series& s : series) {
    if (s.x.size() != s.y.size()) {
      throw std::invalid_argument("charts::line_chart: series '" + s.name + "' has " +
                                  std::to_string(s.x.size()) + " x values and " +
                                  std::to_string(s.y.size()) + " y values");
    }
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (usable(s.x[i], axes.log_x) && usable(s.y[i], axes.log_y)) {
        rx.add(s.x[i]);
        ry.add(s.y[i]);
      }
    }
  }
  std::string out = open_document(axes);
  if (rx.empty()) return no_data(std::move(out));
  const Frame f{x_scale(rx, axes.log_x), y_scale(ry, axes.log_y)};
  out += draw_grid(f, true);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    // A non-finite value breaks the line rather than drawing a spike to the edge.
    std::string points;
    std::size_t drawn = 0;
    auto flush = [&] {
      if (!points.empty()) {
        out += "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + std::string(colour(k)) +
               "\" points=\"" + points + "\"/>\n";
      }
      points.clear();
    };
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], axes.log_x) || !usable(s.y[i], axes.log_y)) {
        flush();
        continue;
      }
      points += px(f.x(s.x[i])) + "," + px(f.y(s.y[i])) + " ";
      ++drawn;
    }
    flush();
    if (drawn <= 40) {  // few points: mark each one, so a single epoch still shows
      for (std::size_t i = 0; i < s.x.size(); ++i) {
        if (usable(s.x[i], axes.log_x) && usable(s.y[i], axes.log_y)) {
          out += circle(f.x(s.x[i]), f.y(s.y[i]), 3, colour(k), colour(k));
        }
      }
    }
  }
  // The legend goes in the corner of the plot area that hides the fewest points of the lines
  // (each segment sampled), on white so grid lines do not cross it. Wide enough for the longest
  // name at about 6.6 px per character of a 12 px sans-serif font.
  std::size_t longest = 0;
  for (const Series& s : series) longest = std::max(longest, s.name.size());
  const double legend_w =
      std::min(44 + 6.6 * static_cast<double>(longest), kWidth - kLeft - kRight - 12);
  const double legend_h = 18.0 * static_cast<double>(series.size()) + 6;
  std::vector<std::pair<double, double>> samples;
  for (const Series& s : series) {
    for (std::size_t i = 0; i + 1 < s.x.size(); ++i) {
      if (!usable(s.x[i], axes.log_x) || !usable(s.y[i], axes.log_y) ||
          !usable(s.x[i + 1], axes.log_x) || !usable(s.y[i + 1], axes.log_y)) {
        continue;
      }
      for (int t = 0; t <= 16; ++t) {
        const double a = t / 16.0;
        samples.emplace_back((1 - a) * f.x(s.x[i]) + a * f.x(s.x[i + 1]),
                             (1 - a) * f.y(s.y[i]) + a * f.y(s.y[i + 1]));
      }
    }
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (usable(s.x[i], axes.log_x) && usable(s.y[i], axes.log_y)) {
        samples.emplace_back(f.x(s.x[i]), f.y(s.y[i]));
      }
    }
  }
  const std::array<std::pair<double, double>, 4> corners = {{
      {kWidth - kRight - legend_w - 6, kTop + 6},                          // top right
      {kWidth - kRight - legend_w - 6, kHeight - kBottom - legend_h - 6},  // bottom right
      {kLeft + 6, kTop + 6},                                               // top left
      {kLeft + 6, kHeight - kBottom - legend_h - 6},                       // bottom left
  }};
  std::size_t best_hidden = std::numeric_limits<std::size_t>::max();
  double legend_x = corners[0].first;
  double legend_y = corners[0].second;
  for (const auto& corner : corners) {
    const double cx = corner.first;  // plain names: clang 14 cannot capture structured bindings
    const double cy = corner.second;
    const auto hidden =
        static_cast<std::size_t>(std::count_if(samples.begin(), samples.end(), [&](const auto& p) {
          return p.first >= cx - 4 && p.first <= cx + legend_w + 4 && p.second >= cy - 4 &&
                 p.second <= cy + legend_h + 4;
        }));
    if (hidden < best_hidden) {
      best_hidden = hidden;
      legend_x = cx;
      legend_y = cy;
    }
  }
  out += "<rect x=\"" + px(legend_x) + "\" y=\"" + px(legend_y) + "\" width=\"" + px(legend_w) +
         "\" height=\"" + px(legend_h) +
         "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const double y = legend_y + 12 + 18.0 * static_cast<double>(k);
    out += "<line x1=\"" + px(legend_x + 8) + "\" x2=\"" + px(legend_x + 30) + "\" y1=\"" + px(y) +
           "\" y2=\"" + px(y) + "\" stroke-width=\"2\" stroke=\"" + std::string(colour(k)) +
           "\"/>\n";
    out += "<text x=\"" + px(legend_x + 36) + "\" y=\"" + px(y) +
           "\" dominant-baseline=\"middle\">" + escape(series[k].name) + "</text>\n";
  }
  return out + "</svg>\n";
}

namespace {

constexpr double kLabelCharWidth = 5.5;  // px per character of a 10 px sans-serif label

// A label split in two at the space nearest its middle ({label, ""} when it has no space).
std::pair<std::string, std::string> split_label(const std::string& label) {
  std::size_t split = std::string::npos;
  const double middle = static_cast<double>(label.size()) / 2;
  for (std::size_t i = 0; i < label.size(); ++i) {
    if (label[i] == ' ' &&
        (split == std::string::npos || std::abs(static_cast<double>(i) - middle) <
                                           std::abs(static_cast<double>(split) - middle))) {
      split = i;
    }
  }
  if (split == std::string::npos) return {label, ""};
  return {label.substr(0, split), label.substr(split + 1)};
}

bool fits(const std::string& text, double slot) {
  return static_cast<double>(text.size()) * kLabelCharWidth <= slot;
}

// Fits under its slot in one line, or in two split at a space.
bool bar_label_fits(const std::string& label, double slot) {
  if (fits(label, slot)) return true;
  const auto [first, second] = split_label(label);
  return !second.empty() && fits(first, slot) && fits(second, slot);
}

// A bar's label under its slot: one line when it fits, two when it splits into lines that fit,
// else slanted and cut to 18 characters.
std::string bar_label(const std::string& label, double centre, double slot, bool slanted) {
  const std::string y = px(kHeight - kBottom + 14);
  const std::string x = px(centre);
  if (slanted) {
    const std::string cut = label.size() > 18 ? label.substr(0, 17) + "..." : label;
    return "<text transform=\"translate(" + x + "," + y +
           ") rotate(-30)\" text-anchor=\"end\" font-size=\"10\">" + escape(cut) + "</text>\n";
  }
  const std::string open =
      "<text x=\"" + x + "\" y=\"" + y + "\" text-anchor=\"middle\" font-size=\"10\">";
  if (fits(label, slot)) return open + escape(label) + "</text>\n";
  const auto [first, second] = split_label(label);
  return open + "<tspan x=\"" + x + "\">" + escape(first) + "</tspan><tspan x=\"" + x +
         "\" dy=\"12\">" + escape(second) + "</tspan></text>\n";
}

}  // namespace

std::string bar_chart(const Axes& axes, std::span<const Bar> bars) {
  Range ry;
  for (const Bar& b : bars) {
    for (double v : {b.value, b.low.value_or(b.value), b.high.value_or(b.value)}) {
      if (usable(v, axes.log_y)) ry.add(v);
    }
  }
  const double slot =
      (kWidth - kLeft - kRight) / static_cast<double>(std::max<std::size_t>(bars.size(), 1));
  // Slanted labels take the room of the axis title, which the labels themselves then stand for.
  const bool slanted = bars.size() > 8 || std::any_of(bars.begin(), bars.end(), [&](const Bar& b) {
                         return !bar_label_fits(b.label, slot);
                       });
  std::string out = open_document(axes, !slanted);
  if (ry.empty()) return no_data(std::move(out));
  if (!axes.log_y) ry.add(0);  // bars start at zero, so lengths compare honestly
  const Scale y = y_scale(ry, axes.log_y);
  const Frame f{x_scale(Range{0, 1}, false), y};
  out += draw_grid(f, false);
  const double base = y(y.floor_value());
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double centre = kLeft + slot * (static_cast<double>(i) + 0.5);
    if (usable(b.value, axes.log_y)) {
      const double top = y(b.value);
      out += "<rect x=\"" + px(centre - slot * 0.3) + "\" y=\"" + px(std::min(top, base)) +
             "\" width=\"" + px(slot * 0.6) + "\" height=\"" + px(std::abs(base - top)) +
             "\" fill=\"" + std::string(colour(0)) + "\" fill-opacity=\"0.8\"/>\n";
      if (slot >= 28) {  // above the bar and its interval, centred; left out when bars crowd
        double label_y = top;
        if (b.high && usable(*b.high, axes.log_y)) label_y = std::min(label_y, y(*b.high));
        out += "<text x=\"" + px(centre) + "\" y=\"" + px(std::max(label_y - 4, kTop + 10)) +
               "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#444444\">" +
               label_of(b.value, 3) + "</text>\n";
      }
    }
    if (b.low && b.high && usable(*b.low, axes.log_y) && usable(*b.high, axes.log_y)) {
      const std::string lo = px(y(*b.low));
      const std::string hi = px(y(*b.high));
      const std::string c = px(centre);
      const std::string l = px(centre - slot * 0.1);
      const std::string r = px(centre + slot * 0.1);
      out += "<path d=\"M" + c + " " + lo + "V" + hi + "M" + l + " " + lo + "H" + r + "M" + l +
             " " + hi + "H" + r + "\" stroke=\"black\" stroke-width=\"1.5\" fill=\"none\"/>\n";
    }
    out += bar_label(b.label, centre, slot, slanted);
  }
  return out + "</svg>\n";
}

std::vector<Point> pareto_front(std::span<const Point> points) {
  std::vector<Point> front;
  for (const Point& p : points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
    const bool beaten = std::any_of(points.begin(), points.end(), [&](const Point& q) {
      return std::isfinite(q.x) && std::isfinite(q.y) && q.x <= p.x && q.y >= p.y &&
             (q.x < p.x || q.y > p.y);
    });
    if (!beaten) front.push_back(p);
  }
  std::sort(front.begin(), front.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
  return front;
}

std::string scatter_chart(const Axes& axes, std::span<const Point> points, bool with_front) {
  Range rx;
  Range ry;
  for (const Point& p : points) {
    if (usable(p.x, axes.log_x) && usable(p.y, axes.log_y)) {
      rx.add(p.x);
      ry.add(p.y);
    }
  }
  std::string out = open_document(axes);
  if (rx.empty()) return no_data(std::move(out));
  // Room around the points, so none sits on the frame with its label cut off.
  const Frame f{x_scale(padded(rx, axes.log_x), axes.log_x),
                y_scale(padded(ry, axes.log_y), axes.log_y)};
  out += draw_grid(f, true);
  const std::vector<Point> front = with_front ? pareto_front(points) : std::vector<Point>{};
  if (front.size() > 1) {
    std::string line;
    for (const Point& p : front) line += px(f.x(p.x)) + "," + px(f.y(p.y)) + " ";
    out += "<polyline fill=\"none\" stroke=\"" + std::string(colour(1)) +
           "\" stroke-dasharray=\"5,3\" stroke-width=\"1.5\" points=\"" + line + "\"/>\n";
  }
  for (const Point& p : points) {
    if (!usable(p.x, axes.log_x) || !usable(p.y, axes.log_y)) continue;
    const bool on_front = std::any_of(front.begin(), front.end(),
                                      [&](const Point& q) { return q.x == p.x && q.y == p.y; });
    out += circle(f.x(p.x), f.y(p.y), 5, on_front ? colour(1) : "white", colour(1));
    // Right of the point, or left of it in the right third so the label stays on the canvas.
    const bool left = f.x(p.x) > kLeft + (kWidth - kLeft - kRight) * 2 / 3;
    out += "<text x=\"" + px(f.x(p.x) + (left ? -8 : 8)) + "\" y=\"" + px(f.y(p.y) - 8) +
           "\" font-size=\"11\" text-anchor=\"" + (left ? "end" : "start") + "\">" +
           escape(p.label) + "</text>\n";
  }
  if (with_front) {
    out += "<text x=\"" + px(kWidth - kRight - 6) + "\" y=\"" + px(kTop + 16) +
           "\" text-anchor=\"end\" font-size=\"10\" fill=\"#555555\">filled: Pareto front "
           "(lower x and higher y are better)</text>\n";
  }
  return out + "</svg>\n";
}

std::string histogram(const Axes& axes, std::span<const double> values, int bins,
                      std::span<const Marker> markers) {
  if (bins < 1) {
    throw std::invalid_argument("charts::histogram: bins must be >= 1, got " +
                                std::to_string(bins));
  }
  Range rx;
  for (double v : values) {
    if (std::isfinite(v)) rx.add(v);
  }
  std::string out = open_document(axes);
  if (rx.empty()) return no_data(std::move(out));
  if (rx.hi == rx.lo) rx.hi = rx.lo + 1;
  const double width = (rx.hi - rx.lo) / bins;
  std::vector<double> counts(static_cast<std::size_t>(bins), 0.0);
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    const auto b = std::min(static_cast<std::size_t>((v - rx.lo) / width), counts.size() - 1);
    counts[b] += 1;
  }
  Range ry{0, *std::max_element(counts.begin(), counts.end())};
  Range rx_plot = rx;
  for (const Marker& m : markers) {
    if (std::isfinite(m.x)) rx_plot.add(m.x);
  }
  const Frame f{x_scale(rx_plot, false), y_scale(ry, false)};
  out += draw_grid(f, true);
  for (std::size_t b = 0; b < counts.size(); ++b) {
    const double x0 = f.x(rx.lo + width * static_cast<double>(b));
    const double x1 = f.x(rx.lo + width * static_cast<double>(b + 1));
    const double top = f.y(counts[b]);
    out += "<rect x=\"" + px(x0) + "\" y=\"" + px(top) + "\" width=\"" +
           px(std::max(x1 - x0 - 1, 0.5)) + "\" height=\"" + px(f.y(0) - top) + "\" fill=\"" +
           std::string(colour(0)) + "\" fill-opacity=\"0.8\"/>\n";
  }
  for (std::size_t k = 0; k < markers.size(); ++k) {
    const Marker& m = markers[k];
    if (!std::isfinite(m.x)) continue;
    const std::string x = px(f.x(m.x));
    out += "<line x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + px(kTop) + "\" y2=\"" +
           px(kHeight - kBottom) + "\" stroke=\"" + std::string(colour(k + 1)) +
           "\" stroke-dasharray=\"4,3\" stroke-width=\"1.5\"/>\n";
    out += "<text x=\"" + px(f.x(m.x) + 4) + "\" y=\"" +
           px(kTop + 14 + 14.0 * static_cast<double>(k)) + "\" font-size=\"11\" fill=\"" +
           std::string(colour(k + 1)) + "\">" + escape(m.label) + " " + label_of(m.x) + "</text>\n";
  }
  return out + "</svg>\n";
}

std::string side_by_side(std::span<const std::string> charts) {
  const double width = kWidth * static_cast<double>(std::max<std::size_t>(charts.size(), 1));
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px(width) +
                    "\" height=\"" + px(kHeight) + "\" viewBox=\"0 0 " + px(width) + " " +
                    px(kHeight) + "\">\n";
  for (std::size_t i = 0; i < charts.size(); ++i) {
    // Each chart is itself an <svg> document: nested, shifted by x, it keeps its own viewBox.
    const std::string& chart = charts[i];
    const auto at = chart.find("<svg ");
    if (at == std::string::npos) {
      throw std::invalid_argument("charts::side_by_side: chart " + std::to_string(i) +
                                  " is not an <svg> document");
    }
    out += chart.substr(0, at + 5) + "x=\"" + px(kWidth * static_cast<double>(i)) + "\" " +
           chart.substr(at + 5);
  }
  return out + "</svg>\n";
}

void write_svg(const std::filesystem::path& path, const std::string& svg) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  // A reader never sees half a chart; a failure names the path.
  write_file_atomically(path, svg, "the chart");
}

}  // namespace tinytorch::charts
