// `tito data fetch|verify|path` against local files: file:// sources stand in for the official
// hosts, a registry written here pins their sums, and an unreachable address plays the machine
// without a network.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>

#include "tito_support.hpp"

namespace tito_test {
namespace {

using nlohmann::json;

std::string sha256_of(const fs::path& file) {
  const Output r = run(file.parent_path(), {"sha256sum", file.string()});
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out.substr(0, 64);
}

/// Bytes no compressor shrinks and no test confuses with another file's.
std::string noise(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g() & 0xff);
  return s;
}

fs::path gzipped(const fs::path& file) {
  EXPECT_EQ(run(file.parent_path(), {"gzip", "-k", "-n", "-9", file.string()}).status, 0);
  return file.string() + ".gz";
}

/// A file the registry pins: its content on the "server", downloaded as is or as NAME.gz.
struct Served {
  std::string name;
  std::string content;
  bool as_gzip = false;
};

/// A registry with one data set "toy" whose files are served from `server` by file:// URLs.
class ToySource {
 public:
  explicit ToySource(std::vector<Served> files) : files_(std::move(files)) {
    for (const auto& f : files_) {
      write_file(server_.path() / f.name, f.content);
      if (f.as_gzip) gzipped(server_.path() / f.name);
    }
  }

  [[nodiscard]] json entry(const Served& f) const {
    const fs::path plain = server_.path() / f.name;
    const fs::path served = f.as_gzip ? fs::path(plain.string() + ".gz") : plain;
    return {{"name", f.name},
            {"bytes", f.content.size()},
            {"sha256", sha256_of(plain)},
            {"download",
             {{"name", served.filename().string()},
              {"bytes", fs::file_size(served)},
              {"sha256", sha256_of(served)},
              {"urls", {"file://" + served.string()}}}}};
  }

  /// The registry; `change` edits the JSON before it is written (a wrong sum, a mirror list).
  [[nodiscard]] fs::path registry(const std::function<void(json&)>& change = {}) const {
    json files = json::array();
    for (const auto& f : files_) files.push_back(entry(f));
    json doc = {
        {"schema_version", 1},
        {"datasets",
         {{{"id", "toy"}, {"folder", "toy"}, {"title", "a toy data set"}, {"files", files}}}}};
    if (change) change(doc);
    const fs::path file = server_.path() / "registry.json";
    write_file(file, doc.dump(2));
    return file;
  }

  [[nodiscard]] const fs::path& dir() const { return server_.path(); }

 private:
  TempDir server_;
  std::vector<Served> files_;
};

std::vector<std::string> data_args(const std::string& command, const fs::path& registry,
                                   const fs::path& data, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"data",       command,      "--registry", registry.string(),
                                   "--data-dir", data.string()};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::vector<std::string> part_files(const fs::path& dir) {
  std::vector<std::string> parts;
  if (!fs::exists(dir)) return parts;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".part") parts.push_back(e.path().string());
  }
  return parts;
}

std::map<std::string, std::string> states(const json& verify_doc) {
  std::map<std::string, std::string> out;
  for (const auto& d : verify_doc["datasets"]) {
    for (const auto& f : d["files"]) out[f["name"]] = f["state"];
  }
  return out;
}

TEST(DataFetch, DownloadsEachFileVerifiesItAndLeavesNoPartFile) {
  const ToySource source(
      {{"a.bin", noise(300000, 1)}, {"b.idx", noise(5000, 2) + std::string(50000, 'x'), true}});
  const TempDir data;
  const Output r = tito(data.path(), data_args("fetch", source.registry(), data.path(), {"toy"}));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(read_file(data.path() / "toy" / "a.bin"), noise(300000, 1));
  EXPECT_TRUE(fs::exists(data.path() / "toy" / "b.idx.gz")) << "kept as downloaded";
  EXPECT_TRUE(part_files(data.path()).empty());
  const Output v =
      tito(data.path(), data_args("verify", source.registry(), data.path(), {"--json"}));
  EXPECT_EQ(v.status, 0) << v.out << v.err;
  EXPECT_EQ(states(v.json()),
            (std::map<std::string, std::string>{{"a.bin", "ok"}, {"b.idx", "ok"}}));
}

TEST(DataFetch, TriesTheNextSourceWhenOneFails) {
  const ToySource source({{"a.bin", noise(1000, 3)}});
  const fs::path registry = source.registry([](json& doc) {
    json& urls = doc["datasets"][0]["files"][0]["download"]["urls"];
    urls.insert(urls.begin(), "file:///nonexistent-tito-source/a.bin");
  });
  const TempDir data;
  const Output r = tito(data.path(), data_args("fetch", registry, data.path()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("nonexistent-tito-source"), std::string::npos)
      << "the failed source is named";
  EXPECT_EQ(read_file(data.path() / "toy" / "a.bin"), noise(1000, 3));
}

TEST(DataFetch, ADownloadWhoseChecksumDiffersNeverAppearsUnderItsName) {
  const ToySource source({{"a.bin", noise(20000, 4)}});
  const fs::path registry = source.registry([](json& doc) {
    doc["datasets"][0]["files"][0]["download"]["sha256"] = std::string(64, '0');
  });
  const TempDir data;
  const Output r = tito(data.path(), data_args("fetch", registry, data.path()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("a.bin"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("SHA-256"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(data.path() / "toy" / "a.bin"));
  EXPECT_TRUE(part_files(data.path()).empty()) << "bad bytes are not kept to resume from";
}

TEST(DataFetch, ResumesAnInterruptedDownload) {
  const std::string content = noise(100000, 5);
  const ToySource source({{"a.bin", content}});
  const TempDir data;
  write_file(data.path() / "toy" / ".a.bin.part", content.substr(0, 40000));
  const Output r = tito(data.path(), data_args("fetch", source.registry(), data.path()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("resuming a.bin at byte 40000"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(data.path() / "toy" / "a.bin"), content);
  EXPECT_TRUE(part_files(data.path()).empty());
}

TEST(DataFetch, StartsAgainFromZeroWhenTheResumedBytesDoNotVerify) {
  const std::string content = noise(100000, 6);
  const ToySource source({{"a.bin", content}});
  const TempDir data;
  write_file(data.path() / "toy" / ".a.bin.part", noise(40000, 99));  // not this file's bytes
  const Output r = tito(data.path(), data_args("fetch", source.registry(), data.path()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("starting again from zero"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(data.path() / "toy" / "a.bin"), content);
}

TEST(DataFetch, UnpacksAnArchiveOnlyAfterItsChecksumMatches) {
  const TempDir server;
  write_file(server.path() / "pkg" / "x.bin", noise(7000, 20));
  write_file(server.path() / "pkg" / "y.bin", noise(9000, 21));
  ASSERT_EQ(run(server.path(), {"tar", "-czf", "toy.tar.gz", "pkg"}).status, 0);
  const fs::path archive = server.path() / "toy.tar.gz";
  const auto registry = [&](const std::string& sum) {
    const json doc = {{"schema_version", 1},
                      {"datasets",
                       {{{"id", "toy"},
                         {"folder", "toy"},
                         {"title", "a toy archive"},
                         {"archive",
                          {{"name", "toy.tar.gz"},
                           {"bytes", fs::file_size(archive)},
                           {"sha256", sum},
                           {"urls", {"file://" + archive.string()}},
                           {"inside", "pkg"}}},
                         {"files",
                          {{{"name", "x.bin"}, {"bytes", 7000}, {"sha256", nullptr}},
                           {{"name", "y.bin"}, {"bytes", 9000}, {"sha256", nullptr}}}}}}}};
    const fs::path file = server.path() / ("registry-" + sum.substr(0, 4) + ".json");
    write_file(file, doc.dump());
    return file;
  };
  const TempDir data;
  Output r = tito(data.path(), data_args("fetch", registry(std::string(64, 'a')), data.path()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("SHA-256"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(data.path() / "toy" / "x.bin")) << "nothing unpacked from a bad archive";
  const fs::path good = registry(sha256_of(archive));
  r = tito(data.path(), data_args("fetch", good, data.path()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(read_file(data.path() / "toy" / "x.bin"), noise(7000, 20));
  EXPECT_EQ(read_file(data.path() / "toy" / "y.bin"), noise(9000, 21));
  EXPECT_FALSE(fs::exists(data.path() / "toy.tar.gz")) << "the archive is removed once unpacked";
  r = tito(data.path(), data_args("fetch", good, data.path()));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("already here"), std::string::npos) << r.out;
}

TEST(DataFetch, OfflineItFailsAtOnceNamingTheFolderLayoutToProvideByHand) {
  // The course's real registry, every source pointed at an address that refuses connections.
  json doc = json::parse(read_file(fs::path(TINYTORCH_SOURCE_DIR) / "datasets" / "datasets.json"));
  for (auto& d : doc["datasets"]) {
    auto unreachable = [](json& remote) {
      for (auto& url : remote["urls"]) {
        const std::string u = url.get<std::string>();
        url = "http://127.0.0.1:1/" + u.substr(u.find("://") + 3);
      }
    };
    if (d.contains("archive")) unreachable(d["archive"]);
    for (auto& f : d["files"]) {
      if (f.contains("download")) unreachable(f["download"]);
    }
  }
  const TempDir dir;
  write_file(dir.path() / "registry.json", doc.dump());
  const fs::path data = dir.path() / "data";
  const auto start = std::chrono::steady_clock::now();
  const Output r =
      tito(dir.path(), data_args("fetch", dir.path() / "registry.json", data, {"all"}));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.status, 1);
  EXPECT_LT(seconds, 20.0) << "no waiting on a network that is not there";
  for (const char* expected :
       {"no network", "mnist/", "train-images-idx3-ubyte", "cifar-10-batches-bin/",
        "data_batch_1.bin", "tinyshakespeare/", "input.txt", "tito data verify", data.c_str()}) {
    EXPECT_NE(r.err.find(expected), std::string::npos) << expected << " in:\n" << r.err;
  }
  EXPECT_FALSE(fs::exists(data / "mnist" / "train-images-idx3-ubyte.gz"));
  EXPECT_TRUE(part_files(data).empty());
}

TEST(DataVerify, NamesEachFileMissingTruncatedOrDifferent) {
  const ToySource source({{"good.bin", noise(4000, 7)},
                          {"gone.bin", noise(4000, 8)},
                          {"short.bin", noise(4000, 9)},
                          {"short.gz.bin", noise(4000, 10)},
                          {"other.bin", noise(4000, 11)}});
  const TempDir data;
  const fs::path toy = data.path() / "toy";
  write_file(toy / "good.bin", noise(4000, 7));
  write_file(toy / "short.bin", noise(4000, 9).substr(0, 1000));
  write_file(toy / "short.gz.bin", noise(4000, 10));
  const fs::path gz = gzipped(toy / "short.gz.bin");
  fs::remove(toy / "short.gz.bin");
  fs::resize_file(gz, fs::file_size(gz) / 2);  // a gzip stream cut in half
  write_file(toy / "other.bin", noise(4000, 12));
  const Output r =
      tito(data.path(), data_args("verify", source.registry(), data.path(), {"--json"}));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(states(r.json()), (std::map<std::string, std::string>{{"good.bin", "ok"},
                                                                  {"gone.bin", "missing"},
                                                                  {"short.bin", "truncated"},
                                                                  {"short.gz.bin", "truncated"},
                                                                  {"other.bin", "different"}}));
  const Output text = tito(data.path(), data_args("verify", source.registry(), data.path()));
  for (const char* expected : {"missing gone.bin", "truncated short.bin", "truncated short.gz.bin",
                               "different other.bin"}) {
    EXPECT_NE(text.out.find(expected), std::string::npos) << expected << " in:\n" << text.out;
  }
}

TEST(DataVerify, SaysPlainlyWhenTheFilesAreAKnownCopyAndNotTheOfficialOnes) {
  const ToySource source({{"a.bin", noise(4000, 13)}});
  const fs::path registry = source.registry([&](json& doc) {
    json& file = doc["datasets"][0]["files"][0];
    file["known_copies"] = {{{"sha256", file["sha256"]}, {"verdict", "a re-encoded copy"}}};
    file["sha256"] = nullptr;  // the official sum is not known
  });
  const TempDir data;
  write_file(data.path() / "toy" / "a.bin", noise(4000, 13));
  const Output r = tito(data.path(), data_args("verify", registry, data.path(), {"--json"}));
  EXPECT_EQ(r.status, 0) << "a known copy is usable";
  const json doc = r.json();
  EXPECT_EQ(doc["datasets"][0]["usable"], true);
  EXPECT_EQ(doc["datasets"][0]["official"], false);
  EXPECT_EQ(states(doc)["a.bin"], "not official");
  const Output text = tito(data.path(), data_args("verify", registry, data.path()));
  EXPECT_NE(text.out.find("NOT the official files"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("a re-encoded copy"), std::string::npos) << text.out;
}

TEST(DataVerify, TheSharedCifarCopyIsNamedAsNotTheOfficialFiles) {
  const char* env = std::getenv("TINYTORCH_DATA");
  if (env == nullptr || !fs::exists(fs::path(env) / "cifar-10-batches-bin" / "test_batch.bin.gz")) {
    GTEST_SKIP() << "needs TINYTORCH_DATA with the course's copy of CIFAR-10 (CI has it)";
  }
  const Output r = tito(TINYTORCH_SOURCE_DIR, {"data", "verify", "cifar10", "--data-dir", env});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("NOT the official files"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("JPEG"), std::string::npos) << r.out;
}

TEST(DataVerify, TheDigitsThatShipWithTheCourseMatchTheirPinnedSums) {
  const TempDir elsewhere;
  const Output r = tito(TINYTORCH_SOURCE_DIR, {"data", "verify", "tinydigits", "--json",
                                               "--data-dir", elsewhere.path().string()});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["datasets"][0]["official"], true) << doc.dump(2);
  EXPECT_EQ(doc["datasets"][0]["files"].size(), 4u);
}

TEST(DataRegistry, AMalformedRegistryIsRefusedNamingTheFieldAtFault) {
  const ToySource source({{"a.bin", noise(100, 14)}});
  const TempDir data;
  const fs::path bad_sum = source.registry(
      [](json& doc) { doc["datasets"][0]["files"][0]["sha256"] = "not-a-checksum"; });
  Output r = tito(data.path(), data_args("verify", bad_sum, data.path()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("datasets[0].files[0].sha256"), std::string::npos) << r.err;
  const fs::path escape =
      source.registry([](json& doc) { doc["datasets"][0]["files"][0]["name"] = "../escape"; });
  r = tito(data.path(), data_args("fetch", escape, data.path()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("datasets[0].files[0].name"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(data.path() / "escape"));
}

TEST(DataPath, ShowsWhereDataIsLookedForAndWhereEachSetWasFound) {
  const TempDir data;
  write_file(data.path() / "mnist" / "train-labels-idx1-ubyte.gz", "x");
  const Output r =
      tito(TINYTORCH_SOURCE_DIR, {"data", "path", "--json", "--data-dir", data.path().string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["data_dir"], data.path().string());
  EXPECT_EQ(doc["looked_in"][0]["source"], "--data-dir");
  EXPECT_EQ(doc["looked_in"][0]["exists"], true);
  std::map<std::string, bool> found;
  for (const auto& d : doc["datasets"]) found[d["id"]] = d["found"];
  EXPECT_TRUE(found["mnist"]);
  EXPECT_FALSE(found["cifar10"]);
  EXPECT_TRUE(found["tinydigits"]) << "it ships with the course";
  const Output from_env = tito(TINYTORCH_SOURCE_DIR, {"data", "path", "--json"},
                               {"TINYTORCH_DATA=" + data.path().string()});
  EXPECT_EQ(from_env.json()["data_dir"], data.path().string());
}

}  // namespace
}  // namespace tito_test
