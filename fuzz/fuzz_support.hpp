#pragma once
// Shared by the fuzz targets: every parser here reads a *file*, so each input is written to a file
// in a private folder on a RAM disk and the real entry point reads it back, exactly as a student's
// tool would. The parser contract is checked here, once: an input may only be rejected with the
// parser's documented exception whose message names the file; any other exception escapes and
// libFuzzer reports it as a crash (as it does every sanitizer finding, leak, timeout and
// allocation above -malloc_limit_mb).
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace fuzz {

namespace fs = std::filesystem;

/// A folder of this process's own under /dev/shm (else the temp folder), emptied on every call.
inline fs::path scratch_dir() {
  static const fs::path dir = [] {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    return base / ("tinytorch-fuzz-" + std::to_string(::getpid()));
  }();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  fs::create_directories(dir);
  return dir;
}

inline void write_file(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
}

/// Writes `bytes` gzip-compressed: the readers must take the gzip path with a *valid* stream too,
/// not only the corrupt ones the mutator makes of a gzip seed.
inline void write_gzip_file(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::unique_ptr<gzFile_s, decltype(&gzclose)> file(gzopen(path.c_str(), "wb1"), &gzclose);
  if (!file || (!bytes.empty() &&
                gzwrite(file.get(), bytes.data(), static_cast<unsigned>(bytes.size())) == 0)) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
}

/// The contract: a rejection's message names the file at fault (one of `files`) and says more
/// than the name. Aborts (a finding) otherwise.
inline void require_names(const std::string& message, std::initializer_list<fs::path> files) {
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    if (message.find(name) != std::string::npos && message.size() > name.size() + 8) return;
  }
  std::fprintf(stderr,
               "parser contract broken: this error names none of the files it read:\n  %s\n",
               message.c_str());
  std::abort();
}

/// Little-endian u32 at the front of `input`, consumed (0 when too short): how the targets that
/// read several files split one fuzz input into them.
inline std::uint32_t take_u32(std::string_view& input) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4 && !input.empty(); ++i) {
    value |= std::uint32_t{static_cast<unsigned char>(input.front())} << (8 * i);
    input.remove_prefix(1);
  }
  return value;
}

/// The next `length` bytes of `input` (fewer when it is shorter), consumed.
inline std::string_view take(std::string_view& input, std::size_t length) {
  const std::string_view part = input.substr(0, length);
  input.remove_prefix(part.size());
  return part;
}

}  // namespace fuzz
