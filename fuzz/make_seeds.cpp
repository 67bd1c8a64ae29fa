// Writes the seed corpora, fuzz/corpus/<target>/seed-*: small valid files, made by the project's
// own writers where it has one (save_safetensors, the tokenizers' save, the progress store) so a
// seed is exactly what the parser meets in use. Run by fuzz/make-seeds; its output is checked in.
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "core/progress.hpp"
#include "fuzz_support.hpp"
#include "tinytorch/tokenization.hpp"
#include "tinytorch/training.hpp"

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string u32_le(std::size_t n) {
  std::string out;
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

std::string u32_be(std::uint32_t n) {
  std::string out;
  for (int i = 3; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

/// A uint8 idx file: magic 0x0000080N, the sizes, then prod(sizes) bytes counting up.
std::string idx_file(const std::vector<std::uint32_t>& dims) {
  std::string out = u32_be(0x800u | static_cast<std::uint32_t>(dims.size()));
  std::size_t count = 1;
  for (const std::uint32_t d : dims) {
    out += u32_be(d);
    count *= d;
  }
  for (std::size_t i = 0; i < count; ++i) out += static_cast<char>(i % 10);
  return out;
}

std::string gzip(const std::string& bytes, const fs::path& scratch) {
  const fs::path file = scratch / "gzip.tmp";
  fuzz::write_gzip_file(file, bytes);
  return read_file(file);
}

void seed(const fs::path& corpus, const std::string& target, const std::string& name,
          const std::string& bytes) {
  fuzz::write_file(corpus / target / ("seed-" + name), bytes);
}

/// [flags][images length][images][labels], as mnist_idx_fuzz.cpp and milestone_mnist_fuzz.cpp read.
void mnist_seeds(const fs::path& corpus, const std::string& target, std::uint32_t side,
                 const fs::path& scratch) {
  const std::string images = idx_file({3, side, side});
  const std::string labels = idx_file({3});
  seed(corpus, target, "plain", std::string(1, '\0') + u32_le(images.size()) + images + labels);
  seed(corpus, target, "train-gzip-flags",
       std::string(1, '\7') + u32_le(images.size()) + images + labels);
  const std::string gz_images = gzip(images, scratch);
  seed(corpus, target, "gzip-files",
       std::string(1, '\0') + u32_le(gz_images.size()) + gz_images + gzip(labels, scratch));
}

void cifar_seeds(const fs::path& corpus, const fs::path& scratch) {
  std::string record(1 + 3 * 32 * 32, '\0');
  for (std::size_t i = 0; i < record.size(); ++i) record[i] = static_cast<char>(i % 251);
  record[0] = 7;  // the label
  seed(corpus, "cifar10", "one-record", std::string(1, '\0') + record);
  seed(corpus, "cifar10", "one-record-gzip", std::string(1, '\0') + gzip(record, scratch));
}

void safetensors_seeds(const fs::path& corpus, const fs::path& scratch) {
  const fs::path file = scratch / "model.safetensors";
  tinytorch::train::save_safetensors(
      file, {{"fc.weight", tinytorch::full({2, 3}, 0.5f)}, {"fc.bias", tinytorch::zeros({2})}});
  seed(corpus, "safetensors", "linear", read_file(file));
  tinytorch::train::save_safetensors(file, {{"scalar", tinytorch::full({}, 1.0f)}});
  seed(corpus, "safetensors", "scalar", read_file(file));
}

void tokenizer_seeds(const fs::path& corpus, const fs::path& scratch) {
  const fs::path file = scratch / "tokenizer.json";
  tinytorch::text::CharTokenizer("hello, world\n").save(file.string());
  seed(corpus, "tokenizer", "char", read_file(file));
  tinytorch::text::CharTokenizer("héllo", tinytorch::text::UnknownPolicy::map_to_unk)
      .save(file.string());
  seed(corpus, "tokenizer", "char-unk", read_file(file));
  tinytorch::text::BpeTokenizer bpe;
  bpe.train("the cat sat on the mat; the cat ate the rat", 262);
  bpe.save(file.string());
  seed(corpus, "tokenizer", "bpe", read_file(file));
}

void progress_seeds(const fs::path& corpus, const fs::path& scratch) {
  const tito::ProgressStore store(scratch / ".tito");
  store.update([](tito::Progress& p) {
    p.modules["01_setup"] = {"completed", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", true,
                             "2026-01-02T00:00:00Z"};
    p.modules["02_tensor"].state = "started";
    p.checkpoints["setup"] = {true, "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z", 3, 3};
  });
  seed(corpus, "progress", "two-modules", read_file(store.file()));
}

void registry_seeds(const fs::path& corpus, const fs::path& course) {
  const std::string module = read_file(course / "modules" / "02_tensor" / "module.json");
  const std::string checkpoints = read_file(course / "checkpoints" / "checkpoints.json");
  const std::string milestones =
      R"({"milestones": [{"id": "xor", "title": "XOR", "year": 1986, "after": "02",)"
      R"( "requires": ["02_tensor"], "dataset": null, "gate": "accuracy >= 0.99",)"
      R"( "program": "xor", "info": "hidden units"}]})";
  const std::string result =
      R"({"id": "xor", "gate": {"rule": "accuracy >= 0.99", "passed": true}, "final": {"accuracy": 1.0},)"
      R"( "finished_at": "2026-01-01T00:00:00Z", "library": "student", "wall_seconds": 1.5,)"
      R"( "interrupted": false})";
  const auto pack = [&](const std::string& m, const std::string& c, const std::string& s,
                        const std::string& r) {
    return u32_le(m.size()) + m + u32_le(c.size()) + c + u32_le(s.size()) + s + r;
  };
  seed(corpus, "course_registry", "tensor-xor", pack(module, checkpoints, milestones, result));
  // module.json's "grading" block, as `tito grade` reads it (the points per test and per suite).
  const std::string graded =
      R"({"number": 2, "name": "tensor", "files": ["tensor.cpp"], "grading": {"test_timeout_s": 30,)"
      R"( "suite_timeout_s": 600, "memory_mb": 512, "points": {"default": 1,)"
      R"( "tests": {"Tensor.Add": 3}, "suites": {"Matmul": 2}}}})";
  seed(corpus, "course_registry", "grading-points", pack(graded, checkpoints, milestones, result));
  seed(corpus, "course_registry", "course-milestones",
       pack(module, checkpoints, read_file(course / "milestones" / "milestones.json"), result));
}

void checksum_seeds(const fs::path& course, const fs::path& corpus) {
  // The registry itself: every data set, its files and their pinned sums.
  seed(corpus, "checksums", "datasets-registry", read_file(course / "datasets" / "datasets.json"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s COURSE_ROOT CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const fs::path course = argv[1];
  const fs::path corpus = argv[2];
  const fs::path scratch = fuzz::scratch_dir();
  mnist_seeds(corpus, "mnist_idx", 4, scratch);
  mnist_seeds(corpus, "milestone_mnist", 28, scratch);
  cifar_seeds(corpus, scratch);
  safetensors_seeds(corpus, scratch);
  tokenizer_seeds(corpus, scratch);
  progress_seeds(corpus, scratch);
  registry_seeds(corpus, course);
  checksum_seeds(course, corpus);
  fs::remove_all(scratch);
  std::printf("seeds written under %s\n", corpus.c_str());
  return 0;
}
