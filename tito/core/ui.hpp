#pragma once
// Terminal output: colours (off for --no-color, NO_COLOR or a non-terminal), status lines, progress
// bars and aligned tables. In --json mode the human-readable text goes to stderr so that stdout
// holds exactly one JSON document.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace tito {

enum class Tone { plain, ok, warn, fail, dim, bold, accent };

/// Columns a UTF-8 string occupies on a terminal (one per code point; the course uses no wide
/// glyphs).
[[nodiscard]] std::size_t display_width(std::string_view utf8);

/// A stored UTC time ("2026-01-31T12:00:00Z", as the progress store writes it) in the local zone
/// for people: "2026-01-31 13:00 CET". Anything else comes back unchanged. JSON keeps UTC.
[[nodiscard]] std::string local_time(const std::string& utc);

/// `text` cut into lines of at most `width` columns, at spaces where possible (a word longer than
/// the width is split). Never returns an empty list.
[[nodiscard]] std::vector<std::string> wrap_text(std::string_view text, std::size_t width);

class Ui {
 public:
  Ui(bool want_color, bool json);

  [[nodiscard]] bool json() const { return json_; }
  [[nodiscard]] bool color() const { return color_; }
  /// Where human-readable text goes: stdout, or stderr when stdout carries JSON.
  [[nodiscard]] std::FILE* stream() const { return json_ ? stderr : stdout; }

  [[nodiscard]] std::string paint(std::string_view text, Tone tone) const;
  void line(std::string_view text = "") const;
  void heading(std::string_view text) const;
  /// "  ok    message" / "  warn  message" / "  FAIL  message".
  void check(Tone tone, std::string_view message) const;
  void error(std::string_view message) const;    // always stderr
  void warning(std::string_view message) const;  // always stderr
  /// The terminal's width for stream(): $COLUMNS when set (as git and cargo read it), else the
  /// terminal's own when stream() is one; 0 (no limit) when the output goes to a file or a pipe.
  [[nodiscard]] std::size_t columns() const;
  /// "[##########----------]  3/20 (15%)".
  [[nodiscard]] std::string progress_bar(std::size_t done, std::size_t total, int width = 30) const;

 private:
  [[nodiscard]] static std::string paint_always(std::string_view text, Tone tone);

  bool color_;      // colour on stream()
  bool err_color_;  // colour on stderr
  bool json_;
};

struct Cell {
  Cell(std::string t, Tone tone_ = Tone::plain) : text(std::move(t)), tone(tone_) {}  // NOLINT
  Cell(const char* t) : text(t) {}                                                    // NOLINT
  std::string text;
  Tone tone = Tone::plain;
};

/// Columns aligned on display width; colour is applied after padding so escapes never skew
/// alignment. A table wider than Ui::columns() shrinks its widest columns and wraps their cells
/// onto continuation lines (at spaces where it can), so nothing is cut and nothing runs past the
/// edge.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add_row(std::vector<Cell> row);
  void print(const Ui& ui) const;

 private:
  /// Natural widths, shrunk (widest first) until the row fits in `limit` columns (0: no limit).
  [[nodiscard]] std::vector<std::size_t> fitted_widths(std::size_t limit) const;

  std::vector<std::string> headers_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace tito
