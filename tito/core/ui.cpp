#include "core/ui.hpp"

#include <fmt/color.h>
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace tito {

std::size_t display_width(std::string_view utf8) {
  // Count bytes that start a code point (everything but UTF-8 continuation bytes 10xxxxxx).
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
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

void Table::print(const Ui& ui) const {
  std::vector<std::size_t> widths;
  for (const auto& h : headers_) widths.push_back(display_width(h));
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i].text));
    }
  }
  auto print_row = [&](const std::vector<Cell>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const bool last = i + 1 == cells.size();
      const std::size_t pad = last ? 0 : widths[i] - display_width(cells[i].text) + 2;
      out += ui.paint(cells[i].text, cells[i].tone) + std::string(pad, ' ');
    }
    ui.line(out);
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
