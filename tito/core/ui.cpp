#include "core/ui.hpp"

#include <fmt/color.h>
#include <fmt/core.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <numeric>

namespace tito {

std::size_t display_width(std::string_view utf8) {
  // Count bytes that start a code point (everything but UTF-8 continuation bytes 10xxxxxx).
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

namespace {

/// Bytes of the longest prefix of `text` that fits in `width` columns (whole code points only).
std::size_t prefix_bytes(std::string_view text, std::size_t width) {
  std::size_t columns = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool starts_code_point = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (starts_code_point && columns++ == width) return i;
  }
  return text.size();
}

}  // namespace

std::string local_time(const std::string& utc) {
  std::tm parsed{};
  const char* end = ::strptime(utc.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parsed);
  if (end == nullptr || *end != '\0') return utc;
  const std::time_t when = ::timegm(&parsed);
  ::tzset();  // TZ as it is now (localtime_r need not read it)
  std::tm local{};
  if (::localtime_r(&when, &local) == nullptr) return utc;
  char text[64];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M %Z", &local);
  return n == 0 ? utc : std::string(text, n);
}

std::vector<std::string> wrap_text(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  width = std::max<std::size_t>(width, 1);
  while (display_width(text) > width) {
    const std::size_t fit = prefix_bytes(text, width);
    // Break at the last space that fits (or right after it); a word longer than the line is split.
    std::size_t cut = text.substr(0, fit + 1).rfind(' ');
    if (cut == std::string_view::npos || cut == 0) cut = fit;
    lines.emplace_back(text.substr(0, cut));
    while (lines.back().size() > 0 && lines.back().back() == ' ') lines.back().pop_back();
    text.remove_prefix(cut);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
  if (!text.empty() || lines.empty()) lines.emplace_back(text);
  return lines;
}

Ui::Ui(bool want_color, bool json)
    : color_(want_color && ::isatty(json ? STDERR_FILENO : STDOUT_FILENO) != 0),
      err_color_(want_color && ::isatty(STDERR_FILENO) != 0),
      json_(json) {}

std::string Ui::paint(std::string_view text, Tone tone) const {
  return color_ ? paint_always(text, tone) : std::string(text);
}

std::string Ui::paint_always(std::string_view text, Tone tone) {
  switch (tone) {
    case Tone::ok:
      return fmt::format(fmt::fg(fmt::terminal_color::green), "{}", text);
    case Tone::warn:
      return fmt::format(fmt::fg(fmt::terminal_color::yellow), "{}", text);
    case Tone::fail:
      return fmt::format(fmt::fg(fmt::terminal_color::red) | fmt::emphasis::bold, "{}", text);
    case Tone::dim:
      return fmt::format(fmt::fg(fmt::terminal_color::bright_black), "{}", text);
    case Tone::bold:
      return fmt::format(fmt::emphasis::bold, "{}", text);
    case Tone::accent:
      return fmt::format(fmt::fg(fmt::terminal_color::cyan), "{}", text);
    case Tone::plain:
      break;
  }
  return std::string(text);
}

void Ui::line(std::string_view text) const {
  fmt::print(stream(), "{}\n", text);
}

void Ui::heading(std::string_view text) const {
  line(paint(text, Tone::bold));
}

void Ui::check(Tone tone, std::string_view message) const {
  const char* label = tone == Tone::ok ? "ok  " : tone == Tone::warn ? "warn" : "FAIL";
  line(fmt::format("  {}  {}", paint(label, tone), message));
}

void Ui::error(std::string_view message) const {
  std::fflush(stdout);  // keep the order of what was already said when both go to one file
  fmt::print(stderr, "{} {}\n",
             err_color_ ? paint_always("error:", Tone::fail) : "error:", message);
}

void Ui::warning(std::string_view message) const {
  std::fflush(stdout);
  fmt::print(stderr, "{} {}\n",
             err_color_ ? paint_always("warning:", Tone::warn) : "warning:", message);
}

std::size_t Ui::columns() const {
  if (const char* env = std::getenv("COLUMNS"); env != nullptr && *env != '\0') {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(env, env + std::char_traits<char>::length(env), n);
    if (ec == std::errc() && *end == '\0' && n > 0) return n;
  }
  struct winsize size {};
  const int fd = json_ ? STDERR_FILENO : STDOUT_FILENO;
  if (::isatty(fd) != 0 && ::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  return 0;
}

std::string Ui::progress_bar(std::size_t done, std::size_t total, int width) const {
  const double fraction = total == 0 ? 0.0 : static_cast<double>(done) / static_cast<double>(total);
  const auto filled = static_cast<int>(std::lround(fraction * width));
  const std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                          std::string(static_cast<std::size_t>(width - filled), '-');
  return fmt::format("[{}] {}/{} ({:.0f}%)", paint(bar, done == total ? Tone::ok : Tone::accent),
                     done, total, fraction * 100.0);
}

void Table::add_row(std::vector<Cell> row) {
  row.resize(headers_.size(), Cell(""));
  rows_.push_back(std::move(row));
}

std::vector<std::size_t> Table::fitted_widths(std::size_t limit) const {
  std::vector<std::size_t> widths;
  for (const auto& h : headers_) widths.push_back(display_width(h));
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i].text));
    }
  }
  if (limit == 0 || widths.empty()) return widths;
  // A column shrinks no further than its header or 8 columns, whichever is wider (nor grows).
  std::vector<std::size_t> floor(widths.size());
  for (std::size_t i = 0; i < widths.size(); ++i) {
    floor[i] = std::min(widths[i], std::max<std::size_t>(display_width(headers_[i]), 8));
  }
  const std::size_t gaps = 2 * (widths.size() - 1);
  std::size_t total = std::accumulate(widths.begin(), widths.end(), gaps);
  while (total > limit) {
    std::size_t widest = widths.size();
    for (std::size_t i = 0; i < widths.size(); ++i) {
      if (widths[i] > floor[i] && (widest == widths.size() || widths[i] > widths[widest])) {
        widest = i;
      }
    }
    if (widest == widths.size()) break;  // every column at its floor: a narrower screen overflows
    --widths[widest];
    --total;
  }
  return widths;
}

void Table::print(const Ui& ui) const {
  const std::vector<std::size_t> widths = fitted_widths(ui.columns());
  auto print_row = [&](const std::vector<Cell>& cells) {
    std::vector<std::vector<std::string>> wrapped;
    std::size_t height = 1;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      wrapped.push_back(wrap_text(cells[i].text, widths[i]));
      height = std::max(height, wrapped.back().size());
    }
    for (std::size_t line = 0; line < height; ++line) {
      std::string out;
      for (std::size_t i = 0; i < cells.size(); ++i) {
        const bool last = i + 1 == cells.size();
        const std::string piece = line < wrapped[i].size() ? wrapped[i][line] : "";
        const std::size_t pad = last ? 0 : widths[i] - display_width(piece) + 2;
        out += ui.paint(piece, cells[i].tone) + std::string(pad, ' ');
      }
      while (!out.empty() && out.back() == ' ') out.pop_back();
      ui.line(out);
    }
  };
  const bool has_header =
      std::any_of(headers_.begin(), headers_.end(), [](const auto& h) { return !h.empty(); });
  if (has_header) {
    std::vector<Cell> header_cells;
    for (const auto& h : headers_) header_cells.emplace_back(h, Tone::bold);
    print_row(header_cells);
  }
  for (const auto& row : rows_) print_row(row);
}

}  // namespace tito
