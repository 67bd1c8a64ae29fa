// tinytorch-bench: training and inference throughput of the course's own nets, one JSON line per
// net, measured as bench/pytorch_reference.py measures PyTorch so the two compare one to one:
// synthetic inputs, batch 64, Adam, cross-entropy; `repeats` timed runs of `steps` steps each after
// a warm-up, and the median of the runs is reported. gpt_char, a character-level GPT, reports
// tokens (batch x context) per second instead of images, on a batch of 32 windows by default.
//
// The first line is the machine's sgemm rate (1024^3, the bench's thread count) through OpenBLAS
// and through kernels::sgemm; each image net's line adds the GFLOP/s its training reaches (from
// the multiply-adds of its convolutions and linear layers) and that as a fraction of OpenBLAS's.
// The multiply-adds are those of the convolution's definition (im2col + GEMM does exactly them);
// 3x3 stride-1 layers run Winograd F(2x2, 3x3), which does 2.25x fewer, so for nets with such
// layers the figure is an effective rate and can pass the sgemm rate. The line says so in
// "flop_count".
#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tinytorch/autograd.hpp"
#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/kernels/threads.hpp"
#include "tinytorch/layers.hpp"
#include "tinytorch/losses.hpp"
#include "tinytorch/optimizers.hpp"
#include "tinytorch/spatial.hpp"
#include "tinytorch/transformers.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)

namespace {

struct Net {
  std::function<std::shared_ptr<nn::Module>()> make;
  Shape sample_shape;  // one input sample
  std::int64_t classes;
  // Multiply-adds of one image's forward pass (convolutions: out_channels * C*k*k * Ho*Wo; linear:
  // in * out), and of the first layer, whose input needs no gradient: training does the forward,
  // dW and dX for every layer but that one's dX, 3 * forward - first.
  std::int64_t forward_macs;
  std::int64_t first_layer_macs;
};

// The registry of benchmarked nets; each mirrors a net of bench/pytorch_reference.py.
std::map<std::string, Net> nets() {
  return {
      {"mnist_mlp",
       {[] {
          return std::make_shared<nn::Sequential>(nn::Linear(784, 128), nn::ReLU(),
                                                  nn::Linear(128, 64), nn::ReLU(),
                                                  nn::Linear(64, 10));
        },
        {784},
        10,
        784L * 128 + 128L * 64 + 64L * 10,
        784L * 128}},
      {"mnist_lenet",
       {[] {
          return std::make_shared<nn::Sequential>(
              nn::Conv2d(1, 8, 3, 1, 1), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(8, 16, 3, 1, 1),
              nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(784, 128), nn::ReLU(),
              nn::Linear(128, 10));
        },
        {1, 28, 28},
        10,
        8L * 9 * 784 + 16L * 72 * 196 + 784L * 128 + 128L * 10,
        8L * 9 * 784}},
      {"cifar10_cnn",
       {[] {
          return std::make_shared<nn::Sequential>(
              nn::Conv2d(3, 32, 3, 1, 1), nn::ReLU(), nn::Conv2d(32, 32, 3, 1, 1), nn::ReLU(),
              nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, 1, 1), nn::ReLU(),
              nn::Conv2d(64, 64, 3, 1, 1), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
              nn::Linear(4096, 256), nn::ReLU(), nn::Linear(256, 10));
        },
        {3, 32, 32},
        10,
        32L * 27 * 1024 + 32L * 288 * 1024 + 64L * 288 * 256 + 64L * 576 * 256 + 4096L * 256 +
            256L * 10,
        32L * 27 * 1024}},
  };
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// GFLOP/s of C = A @ B, 1024 x 1024 x 1024, median of 7 (after 2 warm-ups).
template <class Gemm>
double sgemm_gflops(Gemm&& gemm) {
  constexpr int n = 1024;
  const auto size = static_cast<std::size_t>(n) * n;
  std::vector<float> a(size, 0.5f), b(size, 0.25f), c(size);
  std::vector<double> rates;
  for (int r = 0; r < 9; ++r) {
    const double s = seconds([&] { gemm(n, a.data(), b.data(), c.data()); });
    if (r >= 2) rates.push_back(2.0 * n * n * n / s / 1e9);
  }
  return median(rates);
}

// The machine's sgemm rate at the bench's thread count: OpenBLAS with its own threads (set back to
// one after, as the framework keeps it), and kernels::sgemm over the framework's pool.
nlohmann::json sgemm_rates() {
  const int threads = kernels::num_threads();
  openblas_set_num_threads(threads);
  const double openblas = sgemm_gflops([](int n, const float* a, const float* b, float* c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
  });
  openblas_set_num_threads(1);
  const double ours = sgemm_gflops([](int n, const float* a, const float* b, float* c) {
    kernels::sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
  });
  return {{"sgemm", "1024x1024x1024"},
          {"threads", threads},
          {"openblas_gflops", openblas},
          {"tinytorch_gflops", ours}};
}

nlohmann::json run(const std::string& name, const Net& net, std::int64_t batch, int steps,
                   int repeats, double sgemm_rate) {
  Generator generator(0);
  Shape input_shape{batch};
  input_shape.insert(input_shape.end(), net.sample_shape.begin(), net.sample_shape.end());
  const Tensor x = randn(input_shape, generator);
  std::vector<float> labels(static_cast<std::size_t>(batch));
  for (auto& label : labels) label = static_cast<float>(generator.below(net.classes));
  const Tensor y = from_vector(labels, {batch});

  auto model = net.make();
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(1e-3));
  auto train_step = [&] {
    optimizer.zero_grad();
    Tensor loss = cross_entropy(model->forward(x), y);
    loss.backward();
    optimizer.step();
  };
  auto infer_step = [&] {
    autograd::GradMode::set_enabled(false);
    const Tensor logits = model->forward(x);
    autograd::GradMode::set_enabled(true);
    (void)logits;
  };
  for (int i = 0; i < std::max(3, steps / 5); ++i) train_step();  // warm-up: caches, BLAS pool
  std::vector<double> train_rates;
  std::vector<double> infer_rates;
  for (int r = 0; r < repeats; ++r) {
    train_rates.push_back(static_cast<double>(batch * steps) / seconds([&] {
                            for (int i = 0; i < steps; ++i) train_step();
                          }));
    model->eval();
    infer_rates.push_back(static_cast<double>(batch * steps) / seconds([&] {
                            for (int i = 0; i < steps; ++i) infer_step();
                          }));
    model->train();
  }
  const double train_rate = median(train_rates);
  const double train_gflops =
      2.0 * static_cast<double>(3 * net.forward_macs - net.first_layer_macs) * train_rate / 1e9;
  return {{"framework", "tinytorch"},
          {"net", name},
          {"batch", batch},
          {"threads", kernels::num_threads()},
          {"train_img_per_s", train_rate},
          {"infer_img_per_s", median(infer_rates)},
          {"train_gflops", train_gflops},
          {"fraction_of_openblas_sgemm", train_gflops / sgemm_rate},
          {"flop_count", "direct convolution; Winograd layers do fewer, so the rate is effective"},
          {"repeats", repeats},
          {"steps", steps}};
}

// The GPT of milestone tinygpt: 4 layers, 4 heads, 128 dims, context 64, 65 characters; random
// ids, next-id targets, AdamW. A token is one position of one window (batch x context per step).
constexpr const char* kGptName = "gpt_char";
constexpr std::int64_t kGptBatch = 32;

nlohmann::json run_gpt(std::int64_t batch, int steps, int repeats) {
  const nn::GPTConfig config{
      .vocab_size = 65, .context = 64, .embed_dim = 128, .num_heads = 4, .num_layers = 4};
  Generator generator(0);
  nn::GPT model(config, generator);
  const std::int64_t T = config.context, V = config.vocab_size;
  // Windows of T + 1 random ids: inputs the first T, targets the last T (next-id prediction).
  std::vector<float> inputs, targets;
  for (std::int64_t b = 0; b < batch; ++b) {
    std::vector<float> window(static_cast<std::size_t>(T + 1));
    for (auto& id : window) id = static_cast<float>(generator.below(V));
    inputs.insert(inputs.end(), window.begin(), window.end() - 1);
    targets.insert(targets.end(), window.begin() + 1, window.end());
  }
  const Tensor x = from_vector(inputs, {batch, T});    // (B, T)
  const Tensor y = from_vector(targets, {batch * T});  // (B * T)
  optim::AdamW optimizer(model.parameters(), optim::AdamOptions(1e-3).weight_decay(0.1));
  auto train_step = [&] {
    optimizer.zero_grad();
    Tensor loss = cross_entropy(model(x).reshape({batch * T, V}), y);
    loss.backward();
    optimizer.step();
  };
  auto infer_step = [&] {
    autograd::NoGradGuard no_grad;
    const Tensor logits = model(x);
    (void)logits;
  };
  for (int i = 0; i < std::max(3, steps / 5); ++i) train_step();
  std::vector<double> train_rates;
  std::vector<double> infer_rates;
  const auto tokens = static_cast<double>(batch * T * steps);
  for (int r = 0; r < repeats; ++r) {
    model.train();
    train_rates.push_back(tokens / seconds([&] {
                            for (int i = 0; i < steps; ++i) train_step();
                          }));
    model.eval();
    infer_rates.push_back(tokens / seconds([&] {
                            for (int i = 0; i < steps; ++i) infer_step();
                          }));
  }
  return {{"framework", "tinytorch"},
          {"net", kGptName},
          {"batch", batch},
          {"context", T},
          {"threads", kernels::num_threads()},
          {"train_tok_per_s", median(train_rates)},
          {"infer_tok_per_s", median(infer_rates)},
          {"repeats", repeats},
          {"steps", steps}};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> selected;
  int steps = 50;
  int repeats = 5;
  std::int64_t batch = 0;  // 0: each net's own (64 images, 32 GPT windows)
  const auto registry = nets();
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--net")
        selected.push_back(next());
      else if (arg == "--steps")
        steps = std::stoi(next());
      else if (arg == "--repeats")
        repeats = std::stoi(next());
      else if (arg == "--batch")
        batch = std::stoll(next());
      else if (arg == "--threads")
        kernels::set_num_threads(std::stoi(next()));
      else if (arg == "--list") {
        for (const auto& [name, net] : registry) std::cout << name << '\n';
        std::cout << kGptName << '\n';
        return 0;
      } else {
        std::cout << "usage: tinytorch-bench [--net NAME]... [--steps N] [--repeats N] [--batch N] "
                     "[--threads N] [--list]\n";
        return arg == "--help" ? 0 : 2;
      }
    }
    if (selected.empty()) {
      for (const auto& [name, net] : registry) selected.push_back(name);
      selected.emplace_back(kGptName);
    }
    const nlohmann::json rates = sgemm_rates();
    std::cout << rates.dump() << std::endl;
    for (const auto& name : selected) {
      if (name == kGptName) {
        std::cout << run_gpt(batch > 0 ? batch : kGptBatch, steps, repeats).dump() << std::endl;
        continue;
      }
      const auto it = registry.find(name);
      if (it == registry.end())
        throw std::invalid_argument("unknown net '" + name + "' (see --list)");
      std::cout << run(name, it->second, batch > 0 ? batch : 64, steps, repeats,
                       rates["openblas_gflops"].get<double>())
                       .dump()
                << std::endl;
    }
  } catch (const std::exception& error) {
    std::cerr << "tinytorch-bench: " << error.what() << '\n';
    return 2;
  }
  return 0;
}
