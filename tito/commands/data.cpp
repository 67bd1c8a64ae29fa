// `tito data fetch|verify|path`: the data sets the milestones train on. Everything about them
// (where they are published, the SHA-256 of each file) comes from the registry
// datasets/datasets.json.
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <set>

#include "core/context.hpp"
#include "core/datasets.hpp"
#include "core/download.hpp"
#include "core/runner.hpp"

namespace tito {

namespace {

using nlohmann::json;

struct DataOptions {
  std::vector<std::string> ids;  // empty or "all": every data set
  std::string registry;          // --registry FILE; empty = the course's datasets/datasets.json
};

DatasetRegistry registry_for(Context& ctx, const DataOptions& options) {
  if (!options.registry.empty()) return load_dataset_registry(options.registry);
  return load_dataset_registry(registry_path(ctx.course().root()));
}

fs::path course_root_or_empty(Context& ctx) {
  const Course* course = ctx.try_course();
  return course != nullptr ? course->root() : fs::path();
}

/// The requested data sets, in registry order.
std::vector<const DatasetInfo*> selected(const DatasetRegistry& registry,
                                         const std::vector<std::string>& ids) {
  const bool all = ids.empty() || std::find(ids.begin(), ids.end(), "all") != ids.end();
  std::set<std::string> wanted;
  for (const auto& id : ids) {
    if (id != "all") wanted.insert(registry.resolve(id).id);
  }
  std::vector<const DatasetInfo*> out;
  for (const auto& d : registry.datasets) {
    if (all || wanted.count(d.id) > 0) out.push_back(&d);
  }
  return out;
}

/// Where fetch writes: --data-dir, else TINYTORCH_DATA, else <course root>/data (created).
fs::path fetch_target(Context& ctx) {
  if (const auto dir = ctx.data_dir()) return *dir;
  const Course* course = ctx.try_course();
  if (course == nullptr) {
    throw TitoError(
        "no data folder: pass --data-dir DIR or set TINYTORCH_DATA, or run tito inside the course "
        "(then it writes to <course>/data)");
  }
  return course->root() / "data";
}

std::string megabytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

/// The files a data set needs, as a folder layout a user can build by hand.
std::string layout_text(const std::vector<const DatasetInfo*>& sets, const fs::path& dir) {
  std::string text = fmt::format("  {}/\n", dir.string());
  for (const DatasetInfo* d : sets) {
    if (!d->embedded.empty()) continue;
    text += fmt::format("    {}/\n", d->folder);
    for (const auto& f : d->files) {
      text += fmt::format("      {}  (or {}.gz; {} bytes uncompressed)\n", f.name, f.name, f.bytes);
    }
  }
  return text;
}

std::string sources_text(const std::vector<const DatasetInfo*>& sets) {
  std::string text;
  for (const DatasetInfo* d : sets) {
    if (!d->embedded.empty()) continue;
    text += fmt::format(
        "  {}: {}{}\n", d->id, d->homepage,
        d->archive ? fmt::format(" ({}, unpack its {}/)", d->archive->name, d->archive->inside)
                   : "");
  }
  return text;
}

/// Prints a live "[####----]  4.2/9.9 MB  1.3 MB/s  ETA 0:04" line on a terminal.
DownloadObserver observer_for(const Ui& ui, const std::string& label) {
  const bool live = ::isatty(STDERR_FILENO) != 0 && !ui.json();
  auto shown = std::make_shared<bool>(false);
  DownloadObserver observer;
  observer.note = [&ui](const std::string& line) { ui.line("    " + line); };
  if (live) {
    observer.progress = [label, shown](std::uint64_t done, std::uint64_t total, double rate) {
      const double eta = rate > 0 ? static_cast<double>(total - std::min(done, total)) / rate : 0;
      const auto filled =
          total > 0 ? static_cast<std::size_t>(24 * std::min(done, total) / total) : 0;
      fmt::print(stderr, "\r    {:<28} [{}{}] {:3}%  {} / {}  {}/s  ETA {}   ", label,
                 std::string(filled, '#'), std::string(24 - filled, '-'),
                 total > 0 ? 100 * std::min(done, total) / total : 0, megabytes(done),
                 megabytes(total), megabytes(static_cast<std::uint64_t>(rate)),
                 rate > 0 ? clock_text(eta) : "?");
      *shown = true;
    };
    observer.end_progress = [shown] {
      if (*shown) fmt::print(stderr, "\n");
      *shown = false;
    };
  }
  return observer;
}

void download_with_report(const Ui& ui, const RemoteFile& remote, const fs::path& target) {
  ui.line(fmt::format("  downloading {} ({})", remote.name, megabytes(remote.bytes)));
  const auto start = std::chrono::steady_clock::now();
  download(remote, target, observer_for(ui, remote.name));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ui.line(ui.paint(fmt::format("    {} verified (SHA-256 {}...), {:.1f} s", target.string(),
                               remote.sha256.substr(0, 12), seconds),
                   Tone::ok));
}

/// A bad file that the download will not overwrite (NAME when NAME.gz is fetched) moves aside,
/// never deleted, so that the readers find the new one.
void move_aside(const Ui& ui, const FileCheck& check, const fs::path& target) {
  if (check.state == FileState::missing || check.path == target || !fs::exists(check.path)) return;
  fs::path aside = check.path;
  aside += ".replaced";
  fs::rename(check.path, aside);
  ui.line(fmt::format("    moved {} aside to {}", check.path.string(), aside.string()));
}

void fetch_files(const Ui& ui, const DatasetInfo& d, const fs::path& folder,
                 const DatasetCheck& before) {
  for (std::size_t i = 0; i < d.files.size(); ++i) {
    const DataFile& file = d.files[i];
    if (before.files[i].state == FileState::ok) continue;
    if (!file.download) {
      throw TitoError(fmt::format("{}: the registry names no download for {}", d.id, file.name));
    }
    const fs::path target = folder / file.download->name;
    move_aside(ui, before.files[i], target);
    download_with_report(ui, *file.download, target);
  }
}

void fetch_archive(const Ui& ui, const DatasetInfo& d, const fs::path& folder) {
  const RemoteFile& archive = *d.archive;
  const fs::path target = folder.parent_path() / archive.name;
  download_with_report(ui, archive, target);
  // Unpack next to the data folder (same file system, so each file moves in by rename).
  std::string pattern = (folder.parent_path() / ".unpack-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw TitoError(fmt::format("cannot create a folder in {}", folder.parent_path().string()));
  }
  const fs::path unpack = pattern;
  ui.line(fmt::format("  unpacking {}", archive.name));
  ProcessOptions options;
  options.timeout = std::chrono::seconds(1800);
  const ProcessResult tar =
      run_process({"tar", "-xzf", target.string(), "-C", unpack.string()}, options);
  if (!tar.ok()) {
    fs::remove_all(unpack);
    throw TitoError(fmt::format("tar could not unpack {} ({}): {}", target.string(), tar.describe(),
                                tar.tail(5)));
  }
  fs::create_directories(folder);
  for (const auto& file : d.files) {
    const fs::path from = unpack / archive.inside / file.name;
    if (!fs::exists(from)) {
      fs::remove_all(unpack);
      throw TitoError(fmt::format("{} holds no {}/{}", archive.name, archive.inside, file.name));
    }
    const fs::path existing = folder / file.name;
    if (fs::exists(existing)) fs::rename(existing, existing.string() + ".replaced");
    if (fs::exists(folder / (file.name + ".gz"))) {
      fs::rename(folder / (file.name + ".gz"), folder / (file.name + ".gz.replaced"));
      ui.line(fmt::format("    moved {}.gz aside to {}.gz.replaced", file.name, file.name));
    }
    fs::rename(from, existing);
  }
  fs::remove_all(unpack);
  fs::remove(target);
}

[[noreturn]] void fail_offline(const std::vector<const DatasetInfo*>& sets, const fs::path& dir,
                               const DownloadError& e) {
  throw TitoError(fmt::format(
      "no network: none of the sources could be reached.\n{}\n"
      "Provide the files by hand instead (from another machine, a USB stick, a course mirror), "
      "in this layout:\n{}"
      "The official sources:\n{}"
      "then check them with `tito data verify`. Without them, the course still runs: "
      "`tito milestone run tinydigits` trains on the digits that ship with it.",
      e.what(), layout_text(sets, dir), sources_text(sets)));
}

int fetch(Context& ctx, const DataOptions& options) {
  const DatasetRegistry registry = registry_for(ctx, options);
  const auto sets = selected(registry, options.ids);
  const fs::path dir = fetch_target(ctx);
  const Ui& ui = ctx.ui();
  json results = json::array();
  bool all_ok = true;
  for (const DatasetInfo* d : sets) {
    if (!d->embedded.empty()) {
      if (!options.ids.empty() && options.ids != std::vector<std::string>{"all"}) {
        ui.line(
            fmt::format("{}: ships with the course in {}/; nothing to fetch", d->id, d->embedded));
      }
      continue;
    }
    const fs::path folder = dir / d->folder;
    ui.line(ui.paint(fmt::format("{} -> {}", d->id, folder.string()), Tone::bold));
    const DatasetCheck before = verify_dataset(*d, folder);
    const bool unpinned_but_whole = before.usable() && before.count(FileState::known_copy) == 0 &&
                                    before.count(FileState::unpinned) > 0;
    if (before.official()) {
      ui.line(ui.paint("  already here and verified", Tone::ok));
    } else if (unpinned_but_whole) {
      // Files unpacked from a checked archive have no per-file sums to check again (CIFAR-10).
      ui.line(ui.paint("  already here, every file the right size (no per-file sums are pinned)",
                       Tone::ok));
    } else {
      fs::create_directories(folder);
      try {
        if (d->archive) {
          fetch_archive(ui, *d, folder);
        } else {
          fetch_files(ui, *d, folder, before);
        }
      } catch (const DownloadError& e) {
        if (e.unreachable()) fail_offline(sets, dir, e);
        throw;
      }
    }
    const DatasetCheck after = verify_dataset(*d, folder);
    const bool ok = after.usable() && after.count(FileState::known_copy) == 0;
    all_ok = all_ok && ok;
    if (!ok) {
      for (const auto& f : after.files) {
        if (f.state != FileState::ok && f.state != FileState::unpinned) {
          ui.check(Tone::fail, f.name + ": " + f.detail);
        }
      }
    }
    results.push_back({{"id", d->id}, {"folder", folder.string()}, {"ok", ok}});
  }
  if (ui.json()) {
    ctx.emit({{"ok", all_ok}, {"data_dir", dir.string()}, {"datasets", results}});
  } else if (all_ok) {
    ui.line(ui.paint(fmt::format("Data in {}. Use it with TINYTORCH_DATA={} (or --data-dir).",
                                 dir.string(), dir.string()),
                     Tone::ok));
  }
  return all_ok ? kExitOk : kExitFailure;
}

json check_json(const DatasetCheck& check) {
  json files = json::array();
  for (const auto& f : check.files) {
    files.push_back({{"name", f.name},
                     {"path", f.path.string()},
                     {"state", to_string(f.state)},
                     {"bytes", f.bytes},
                     {"detail", f.detail},
                     {"partial_download", f.partial_download}});
  }
  return {{"id", check.id},
          {"folder", check.folder.string()},
          {"usable", check.usable()},
          {"official", check.official()},
          {"files", files}};
}

void print_check(const Ui& ui, const DatasetInfo& d, const DatasetCheck& check) {
  const int n = static_cast<int>(check.files.size());
  const int missing = check.count(FileState::missing);
  if (missing == n) {
    ui.check(Tone::warn, fmt::format("{:<16} not here: none of its {} files is in {} -> `tito "
                                     "data fetch {}`",
                                     d.id, n, check.folder.string(), d.id));
    return;
  }
  if (check.official()) {
    ui.check(Tone::ok, fmt::format("{:<16} {}/{} files match the pinned SHA-256 ({})", d.id, n, n,
                                   check.folder.string()));
    return;
  }
  const int copies = check.count(FileState::known_copy);
  const int unpinned = check.count(FileState::unpinned);
  if (check.usable()) {
    ui.check(Tone::warn,
             fmt::format("{:<16} usable, but {}: {} ({})", d.id,
                         copies > 0 ? "NOT the official files" : "not verifiable",
                         copies > 0 ? fmt::format("{} of {} files are a known copy", copies, n)
                                    : fmt::format("{} of {} files have no pinned sum", unpinned, n),
                         check.folder.string()));
  } else {
    ui.check(Tone::fail, fmt::format("{:<16} {} of {} files are missing, truncated or different",
                                     d.id, n - check.count(FileState::ok) - copies - unpinned, n));
  }
  std::set<std::string> said;
  for (const auto& f : check.files) {
    if (f.state == FileState::ok) continue;
    if (f.state == FileState::known_copy) {
      // One verdict per data set: the same sentence six times says nothing new.
      const std::string verdict = f.detail.substr(f.detail.find(" is ") + 4);
      if (said.insert(verdict).second) ui.line(fmt::format("         {}: {}", f.name, f.detail));
      continue;
    }
    ui.line(fmt::format("         {} {}: {}", to_string(f.state), f.name, f.detail));
    if (f.partial_download) {
      ui.line(
          fmt::format("         (an interrupted download of it is there: `tito data fetch {}` "
                      "resumes it)",
                      d.id));
    }
  }
  if (!d.note.empty() && (copies > 0 || unpinned > 0)) ui.line("         " + d.note);
}

int verify(Context& ctx, const DataOptions& options) {
  const DatasetRegistry registry = registry_for(ctx, options);
  const auto sets = selected(registry, options.ids);
  const auto dir = ctx.data_dir();
  const fs::path root = course_root_or_empty(ctx);
  const Ui& ui = ctx.ui();
  json list = json::array();
  bool all_usable = true;
  if (!ui.json()) {
    ui.heading(fmt::format("tito data verify ({})", dir ? dir->string() : "no data folder"));
  }
  for (const DatasetInfo* d : sets) {
    if (d->embedded.empty() && !dir) {
      ui.check(Tone::fail, fmt::format("{:<16} no data folder: set TINYTORCH_DATA or pass "
                                       "--data-dir (see `tito data path`)",
                                       d->id));
      all_usable = false;
      continue;
    }
    if (!d->embedded.empty() && root.empty()) continue;  // a registry outside the course
    const DatasetCheck check = verify_dataset(*d, dataset_folder(*d, dir.value_or(""), root));
    all_usable = all_usable && check.usable();
    list.push_back(check_json(check));
    if (!ui.json()) print_check(ui, *d, check);
  }
  if (ui.json()) ctx.emit({{"ok", all_usable}, {"datasets", list}});
  return all_usable ? kExitOk : kExitFailure;
}

int data_path(Context& ctx, const DataOptions& options) {
  const Course* course = ctx.try_course();
  const char* env = std::getenv("TINYTORCH_DATA");
  json candidates = json::array();
  auto candidate = [&](const std::string& source, const std::optional<fs::path>& where) {
    candidates.push_back({{"source", source},
                          {"path", where ? json(where->string()) : json(nullptr)},
                          {"exists", where && fs::is_directory(*where)}});
  };
  candidate("--data-dir", ctx.options.data_dir.empty()
                              ? std::nullopt
                              : std::optional<fs::path>(fs::absolute(ctx.options.data_dir)));
  candidate("TINYTORCH_DATA", env != nullptr && *env != '\0'
                                  ? std::optional<fs::path>(fs::absolute(env))
                                  : std::nullopt);
  candidate("<course>/data",
            course != nullptr ? std::optional<fs::path>(course->root() / "data") : std::nullopt);
  const auto chosen = ctx.data_dir();
  json sets = json::array();
  std::optional<DatasetRegistry> registry;
  if (course != nullptr || !options.registry.empty()) registry = registry_for(ctx, options);
  const fs::path root = course_root_or_empty(ctx);
  for (const auto& d : registry ? registry->datasets : std::vector<DatasetInfo>{}) {
    if (d.embedded.empty() && !chosen) {
      sets.push_back({{"id", d.id}, {"folder", nullptr}, {"found", false}});
      continue;
    }
    const fs::path folder = dataset_folder(d, chosen.value_or(""), root);
    const DatasetCheck check = verify_dataset(d, folder);
    sets.push_back({{"id", d.id},
                    {"folder", folder.string()},
                    {"embedded", !d.embedded.empty()},
                    {"found", check.count(FileState::missing) < static_cast<int>(d.files.size())}});
  }
  const Ui& ui = ctx.ui();
  if (ui.json()) {
    ctx.emit({{"ok", true},
              {"data_dir", chosen ? json(chosen->string()) : json(nullptr)},
              {"looked_in", candidates},
              {"datasets", sets}});
    return kExitOk;
  }
  ui.line("Data sets are looked for in the first of:");
  for (const auto& c : candidates) {
    const std::string where = c["path"].is_null() ? "(not set)" : c["path"].get<std::string>();
    ui.line(fmt::format("  {:<16} {}{}", c["source"].get<std::string>(), where,
                        c["path"].is_null()       ? ""
                        : c["exists"].get<bool>() ? ""
                                                  : "  (no such folder)"));
  }
  ui.line(fmt::format("Using: {}", chosen ? chosen->string() : "none"));
  for (const auto& s : sets) {
    const bool found = s["found"].get<bool>();
    ui.check(found ? Tone::ok : Tone::warn,
             fmt::format("{:<16} {}", s["id"].get<std::string>(),
                         s["folder"].is_null() ? "(no data folder)"
                         : found               ? s["folder"].get<std::string>()
                                               : s["folder"].get<std::string>() +
                                       "  (not here: `tito data "
                                       "fetch " +
                                       s["id"].get<std::string>() + "`)"));
  }
  return kExitOk;
}

void install(CLI::App& app, Commands& commands) {
  CLI::App* group = app.add_subcommand("data", "Data sets: download, verify, locate");
  group->require_subcommand(1);
  auto add = [&](const char* name, const char* help, int (*action)(Context&, const DataOptions&),
                 bool takes_ids) {
    auto options = std::make_shared<DataOptions>();
    CLI::App* leaf = group->add_subcommand(name, help);
    if (takes_ids) {
      leaf->add_option("datasets", options->ids,
                       "Data set ids from datasets/datasets.json (mnist, cifar10, ...) or all "
                       "(default: all)");
    }
    leaf->add_option("--registry", options->registry,
                     "Data set registry (default: <course>/datasets/datasets.json)");
    commands.add(leaf, [options, action](Context& c) { return action(c, *options); });
  };
  add("fetch",
      "Download data sets from their official sources (or mirrors), verify each file's SHA-256, "
      "write them whole",
      fetch, true);
  add("verify", "Check the data sets against the pinned SHA-256 sums; name each file at fault",
      verify, true);
  add("path", "Where data sets are looked for, and where each one was found", data_path, false);
}

const bool registered = register_group({35, install});

}  // namespace

}  // namespace tito
