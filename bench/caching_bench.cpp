// caching-bench: module 16's benchmark. Tokens per second of greedy generation with and without
// the KV cache on the tinygpt shape (4 layers, 128 dims, 4 heads, context 64), 256 new tokens by
// default, and the bytes the cache holds. It links the course library, so with the student's
// modules it measures the student's cache.
//
// Three ways to generate the same text are timed, interleaved run by run so that a loaded machine
// slows all three alike:
//   cached     generate_with_cache (module 16): one prefill per window, then one position a step
//   uncached   generate_with_cache with use_cache = false: the same windows, each step recomputed
//   module 14  generate: the window slides by one id, every step a forward over up to 64 ids
// The speed-up is cached over uncached (the same windows, so the same work but for the cache),
// the median of the per-run ratios with their range. Figures on a shared machine vary: read the
// spread, not only the median.
//
// The model: the tinygpt milestone's saved model (.tito/milestones/tinygpt, written by `tito
// milestone run tinygpt`) when present, else a seeded random model of the same shape; the output
// says which. Timings do not depend on the weights, only on the shape.
//
// Its few options are parsed by hand, as tinytorch-bench's are: CLI11 would add about 20 s of
// compiling to every CI run for four flags.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/caching.hpp"
#include "tinytorch/kernels/threads.hpp"
#include "tinytorch/training.hpp"
#include "tinytorch/transformers.hpp"

namespace fs = std::filesystem;
using namespace tinytorch;  // NOLINT(google-build-using-namespace)

namespace {

// The tinygpt milestone's shape (milestones/tinygpt/main.cpp): 65 characters of tiny Shakespeare.
const nn::GPTConfig kTinyGpt{
    .vocab_size = 65, .context = 64, .embed_dim = 128, .num_heads = 4, .num_layers = 4};

struct Model {
  std::unique_ptr<nn::GPT> gpt;
  std::string source;  // what the output says about where the weights came from
};

// The saved model when dir holds one (config.json is written last, so it marks a complete save).
Model load_model(const fs::path& dir, std::uint64_t seed) {
  const fs::path config_file = dir / "config.json";
  if (!fs::exists(config_file)) {
    Generator g(seed);
    return {std::make_unique<nn::GPT>(kTinyGpt, g),
            fmt::format("a seeded random model (seed {}; no saved tinygpt model in {})", seed,
                        dir.string())};
  }
  std::ifstream in(config_file);
  nn::GPTConfig c;
  try {
    const nlohmann::json doc = nlohmann::json::parse(in).at("model");
    c = nn::GPTConfig{.vocab_size = doc.at("vocab_size").get<std::int64_t>(),
                      .context = doc.at("context").get<std::int64_t>(),
                      .embed_dim = doc.at("embed_dim").get<std::int64_t>(),
                      .num_heads = doc.at("num_heads").get<std::int64_t>(),
                      .num_layers = doc.at("num_layers").get<std::int64_t>(),
                      .tied_head = doc.at("tied_head").get<bool>()};
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(config_file.string() + ": malformed (" + e.what() +
                             "); run `tito milestone run tinygpt` again to rewrite it");
  }
  Generator g(seed);
  auto gpt = std::make_unique<nn::GPT>(c, g);
  train::load_checkpoint(*gpt, dir / "model.safetensors");
  return {std::move(gpt), "the saved tinygpt model in " + dir.string()};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Series {
  std::string name;
  std::vector<double> rates;  // tokens/s, one per timed run
  std::vector<std::int64_t> ids;
  [[nodiscard]] nlohmann::json json() const {
    return {{"median_tok_per_s", median(rates)},
            {"min_tok_per_s", *std::min_element(rates.begin(), rates.end())},
            {"max_tok_per_s", *std::max_element(rates.begin(), rates.end())},
            {"runs", rates}};
  }
};

template <class F>
double tokens_per_second(std::int64_t tokens, F&& generate_once) {
  const auto start = std::chrono::steady_clock::now();
  generate_once();
  const std::chrono::duration<double> s = std::chrono::steady_clock::now() - start;
  return static_cast<double>(tokens) / s.count();
}

const char* const kUsage =
    "usage: caching-bench [--tokens N] [--repeats N] [--seed N] [--model-dir DIR] [--json]\n"
    "  --tokens N       new tokens per run (default 256)\n"
    "  --repeats N      timed runs of each mode (default 5)\n"
    "  --seed N         the random model's seed when no model is saved (default 0)\n"
    "  --model-dir DIR  where the tinygpt milestone saved its model (default "
    ".tito/milestones/tinygpt)\n"
    "  --json           print only the JSON result line\n";

struct Options {
  std::int64_t tokens = 256;
  int repeats = 5;
  std::uint64_t seed = 0;
  std::string model_dir = ".tito/milestones/tinygpt";
  bool json_only = false;
};

// A whole number in [low, high] for `flag`, else std::invalid_argument naming both.
std::int64_t number(const std::string& flag, const std::string& text, std::int64_t low,
                    std::int64_t high) {
  std::size_t used = 0;
  std::int64_t v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v < low || v > high) {
    throw std::invalid_argument(flag + " " + text + ": expected a whole number from " +
                                std::to_string(low) + " to " + std::to_string(high));
  }
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value\n" + kUsage);
      return argv[++i];
    };
    if (arg == "--tokens") {
      o.tokens = number(arg, value(), 1, 1 << 20);
    } else if (arg == "--repeats") {
      o.repeats = static_cast<int>(number(arg, value(), 1, 1000));
    } else if (arg == "--seed") {
      o.seed = static_cast<std::uint64_t>(number(arg, value(), 0, INT64_MAX));
    } else if (arg == "--model-dir") {
      o.model_dir = value();
    } else if (arg == "--json") {
      o.json_only = true;
    } else {
      throw std::invalid_argument("unknown option " + arg + "\n" + kUsage);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cout << kUsage;
      return 0;
    }
  }
  try {
    const Options opt = parse(argc, argv);
    const std::int64_t tokens = opt.tokens;
    const int repeats = opt.repeats;
    const bool json_only = opt.json_only;
    Model model = load_model(opt.model_dir, opt.seed);
    nn::GPT& gpt = *model.gpt;
    const std::vector<std::int64_t> prompt = {0};
    const SamplingOptions greedy{.temperature = 0.0f};
    Series cached{"with cache"}, uncached{"without cache, same windows"},
        sliding{"module 14 generate"};
    const auto run_all = [&](bool timed) {
      const auto time = [&](Series& s, auto&& f) {
        const double rate = tokens_per_second(tokens, [&] { f(s); });
        if (timed) s.rates.push_back(rate);
      };
      time(cached, [&](Series& s) {
        s.ids = generate_with_cache(gpt, prompt, tokens, {.sampling = greedy}).ids;
      });
      time(uncached, [&](Series& s) {
        s.ids =
            generate_with_cache(gpt, prompt, tokens, {.sampling = greedy, .use_cache = false}).ids;
      });
      time(sliding, [&](Series& s) { s.ids = generate(gpt, prompt, tokens, greedy); });
    };
    run_all(false);  // warm-up: first-touch allocations, the thread pool, caches
    for (int r = 0; r < repeats; ++r) run_all(true);

    std::vector<double> speedups;
    for (std::size_t r = 0; r < cached.rates.size(); ++r) {
      speedups.push_back(cached.rates[r] / uncached.rates[r]);
    }
    const GPTCache cache(gpt.config);
    const nn::GPTConfig& c = gpt.config;
    const nlohmann::json result = {{"bench", "caching"},
                                   {"model", model.source},
                                   {"shape",
                                    {{"layers", c.num_layers},
                                     {"embed_dim", c.embed_dim},
                                     {"heads", c.num_heads},
                                     {"context", c.context},
                                     {"vocab", c.vocab_size}}},
                                   {"new_tokens", tokens},
                                   {"repeats", repeats},
                                   {"threads", kernels::num_threads()},
                                   {"cached", cached.json()},
                                   {"uncached_same_windows", uncached.json()},
                                   {"module14_generate", sliding.json()},
                                   {"speedup_vs_uncached",
                                    {{"median", median(speedups)},
                                     {"min", *std::min_element(speedups.begin(), speedups.end())},
                                     {"max", *std::max_element(speedups.begin(), speedups.end())}}},
                                   {"cache_bytes", cache.bytes()},
                                   {"same_ids", cached.ids == uncached.ids}};
    if (!json_only) {
      fmt::print("KV cache benchmark: {} layers, {} dims, {} heads, context {}, vocab {}\n",
                 c.num_layers, c.embed_dim, c.num_heads, c.context, c.vocab_size);
      fmt::print("model: {}\n", model.source);
      fmt::print("{} new tokens, greedy, {} timed runs per mode after a warm-up, {} thread(s)\n\n",
                 tokens, repeats, kernels::num_threads());
      fmt::print("{:<30} {:>12} {:>22}\n", "mode", "tokens/s", "min .. max (runs)");
      for (const Series* s : {&cached, &uncached, &sliding}) {
        fmt::print("{:<30} {:>12.0f} {:>10.0f} .. {:<10.0f}\n", s->name, median(s->rates),
                   *std::min_element(s->rates.begin(), s->rates.end()),
                   *std::max_element(s->rates.begin(), s->rates.end()));
      }
      fmt::print(
          "\nspeed-up with the cache: {:.1f}x (median of per-run ratios; {:.1f}x .. {:.1f}x)\n",
          median(speedups), *std::min_element(speedups.begin(), speedups.end()),
          *std::max_element(speedups.begin(), speedups.end()));
      const std::int64_t head_dim = c.embed_dim / c.num_heads;
      fmt::print(
          "cache: {} bytes = 2 x {} layers x 1 batch x {} heads x {} positions x {} head_dim "
          "x 4 bytes\n",
          cache.bytes(), c.num_layers, c.num_heads, c.context, head_dim);
      fmt::print("the cached and uncached runs wrote the same ids: {}\n\n",
                 cached.ids == uncached.ids ? "yes" : "NO (a bug in the cache)");
    }
    std::cout << result.dump() << std::endl;
    return cached.ids == uncached.ids ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "caching-bench: " << e.what() << '\n';
    return 1;
  }
}
