// Framework-owned: QuantizedModel (quantized_model.hpp): the conversion of a float Sequential,
// calibration, the uint8 max-pool, and the safetensors file with I8 / I32 / F32 tensors.
#include "tinytorch/quantized_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "tinytorch/autograd.hpp"
#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/spatial.hpp"

namespace tinytorch::quant {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "tinytorch.quantized";
constexpr int kVersion = 1;

// ---- conversion: the float net as groups that become one quantized step each -------------------

// One quantized step to be: its float computation (batch norm folded) and what it becomes.
struct Group {
  enum class Kind { linear, conv, pool, flatten } kind;
  std::shared_ptr<nn::Module> float_layer;  // Linear, Conv2d (folded), MaxPool2d or Flatten
  bool relu = false;
  std::string name;  // "child 3 (Conv2d)" for error messages
};

template <class T>
std::shared_ptr<T> child_as(nn::Sequential& model, std::size_t i) {
  return i < model.size() ? std::dynamic_pointer_cast<T>(model[i]) : nullptr;
}

std::string child_name(nn::Sequential& model, std::size_t i) {
  const nn::Module& m = *model[i];
  std::string kind = "an unsupported module";
  if (dynamic_cast<const nn::Linear*>(&m)) kind = "Linear";
  if (dynamic_cast<const nn::Conv2d*>(&m)) kind = "Conv2d";
  if (dynamic_cast<const nn::BatchNorm2d*>(&m)) kind = "BatchNorm2d";
  if (dynamic_cast<const nn::ReLU*>(&m)) kind = "ReLU";
  if (dynamic_cast<const nn::MaxPool2d*>(&m)) kind = "MaxPool2d";
  if (dynamic_cast<const nn::Flatten*>(&m)) kind = "Flatten";
  return "child " + std::to_string(i) + " (" + kind + ")";
}

// A Conv2d holding the folded weights, so that calibration runs exactly what is quantized.
std::shared_ptr<nn::Conv2d> folded_conv(const nn::Conv2d& conv, const nn::BatchNorm2d& bn) {
  const ConvWeights w = fold_batchnorm(conv, bn);
  Generator unused(0);
  auto out = std::make_shared<nn::Conv2d>(conv.in_channels, conv.out_channels, conv.kernel_size,
                                          conv.stride, conv.padding, true, unused);
  out->weight.copy_(w.weight);
  out->bias.copy_(w.bias);
  return out;
}

bool positive_multipliers(const nn::BatchNorm2d& bn) {
  const Tensor g = bn.weight.contiguous();
  return std::all_of(g.data_ptr(), g.data_ptr() + g.numel(), [](float v) { return v > 0.0f; });
}

std::vector<Group> group_layers(nn::Sequential& model) {
  std::vector<Group> groups;
  std::size_t i = 0;
  while (i < model.size()) {
    const std::string name = child_name(model, i);
    if (auto linear = child_as<nn::Linear>(model, i)) {
      Group g{Group::Kind::linear, linear, false, name};
      if (child_as<nn::ReLU>(model, i + 1)) g.relu = true, ++i;
      groups.push_back(g);
      ++i;
    } else if (auto conv = child_as<nn::Conv2d>(model, i)) {
      Group g{Group::Kind::conv, conv, false, name};
      std::shared_ptr<nn::MaxPool2d> pool;
      std::size_t next = i + 1;
      if (auto bn = child_as<nn::BatchNorm2d>(model, next)) {  // Conv BN [ReLU] [Pool]
        g.float_layer = folded_conv(*conv, *bn);
        ++next;
      } else if (auto p = child_as<nn::MaxPool2d>(model, next);
                 p && child_as<nn::BatchNorm2d>(model, next + 1)) {  // Conv Pool BN [ReLU]
        auto bn2 = child_as<nn::BatchNorm2d>(model, next + 1);
        if (!positive_multipliers(*bn2)) {
          throw std::invalid_argument(
              "QuantizedModel: " + child_name(model, next + 1) +
              " follows a max-pool and has a weight <= 0, so it cannot be folded into the "
              "convolution before the pool (max(m x) = m max(x) needs m > 0)");
        }
        g.float_layer = folded_conv(*conv, *bn2);
        pool = p;
        next += 2;
      }
      if (child_as<nn::ReLU>(model, next)) g.relu = true, ++next;
      groups.push_back(g);
      if (pool) groups.push_back(Group{Group::Kind::pool, pool, false, name + "'s pool"});
      i = next;
    } else if (auto p = child_as<nn::MaxPool2d>(model, i)) {
      groups.push_back(Group{Group::Kind::pool, p, false, name});
      ++i;
    } else if (auto f = child_as<nn::Flatten>(model, i)) {
      groups.push_back(Group{Group::Kind::flatten, f, false, name});
      ++i;
    } else {
      throw std::invalid_argument(
          "QuantizedModel: cannot quantize " + name +
          ": supported are Linear [ReLU], Conv2d [BatchNorm2d] [ReLU], Conv2d MaxPool2d "
          "BatchNorm2d [ReLU], MaxPool2d and Flatten");
    }
  }
  return groups;
}

Tensor run_float(const Group& g, const Tensor& x) {
  Tensor y = g.float_layer->forward(x);
  return g.relu ? relu(y) : y;
}

// ---- the uint8 steps
// -----------------------------------------------------------------------------

QTensor max_pool(const QuantizedMaxPool2d& p, const QTensor& x) {
  if (x.shape().size() != 4) {
    throw std::invalid_argument("QuantizedMaxPool2d: input " + shape_to_string(x.shape()) +
                                ", expected (N, C, H, W)");
  }
  const std::int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  const std::int64_t out_h = (h + 2 * p.padding - p.kernel_size) / p.stride + 1;
  const std::int64_t out_w = (w + 2 * p.padding - p.kernel_size) / p.stride + 1;
  QTensor y({n, c, out_h, out_w}, x.qparams());
  const std::uint8_t* in = x.uint8_data();
  std::uint8_t* out = y.uint8_data();
  kernels::parallel_for(0, n * c, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t plane = begin; plane < end; ++plane) {
      const std::uint8_t* src = in + plane * h * w;
      std::uint8_t* dst = out + plane * out_h * out_w;
      if (p.padding == 0 && p.kernel_size == 2 && p.stride == 2) {  // the common case, unrolled
        for (std::int64_t oy = 0; oy < out_h; ++oy) {
          const std::uint8_t* top = src + 2 * oy * w;
          const std::uint8_t* bottom = top + w;
          for (std::int64_t ox = 0; ox < out_w; ++ox) {
            dst[oy * out_w + ox] = std::max(std::max(top[2 * ox], top[2 * ox + 1]),
                                            std::max(bottom[2 * ox], bottom[2 * ox + 1]));
          }
        }
        continue;
      }
      if (p.padding == 0) {  // every window lies inside the plane: no bounds to check
        for (std::int64_t oy = 0; oy < out_h; ++oy) {
          for (std::int64_t ox = 0; ox < out_w; ++ox) {
            const std::uint8_t* window = src + oy * p.stride * w + ox * p.stride;
            std::uint8_t best = 0;
            for (std::int64_t ky = 0; ky < p.kernel_size; ++ky) {
              for (std::int64_t kx = 0; kx < p.kernel_size; ++kx) {
                best = std::max(best, window[ky * w + kx]);
              }
            }
            dst[oy * out_w + ox] = best;
          }
        }
        continue;
      }
      for (std::int64_t oy = 0; oy < out_h; ++oy) {
        for (std::int64_t ox = 0; ox < out_w; ++ox) {
          std::uint8_t best = 0;  // padding never wins: it is below every value
          for (std::int64_t ky = 0; ky < p.kernel_size; ++ky) {
            const std::int64_t yy = oy * p.stride - p.padding + ky;
            if (yy < 0 || yy >= h) continue;
            for (std::int64_t kx = 0; kx < p.kernel_size; ++kx) {
              const std::int64_t xx = ox * p.stride - p.padding + kx;
              if (xx >= 0 && xx < w) best = std::max(best, src[yy * w + xx]);
            }
          }
          dst[oy * out_w + ox] = best;
        }
      }
    }
  });
  return y;
}

QTensor run_step(const QuantizedStep& step, const QTensor& x) {
  return std::visit(
      [&](const auto& s) -> QTensor {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, QuantizedMaxPool2d>) {
          return max_pool(s, x);
        } else if constexpr (std::is_same_v<T, QuantizedFlatten>) {
          const std::int64_t n = x.shape().empty() ? 0 : x.shape()[0];
          return x.reshape({n, n == 0 ? 0 : x.numel() / n});
        } else {
          return s.forward(x);
        }
      },
      step);
}

// ---- safetensors with integer dtypes
// -------------------------------------------------------------

struct RawTensor {
  std::string dtype;  // "I8", "I32", "F32"
  Shape shape;
  std::vector<std::uint8_t> bytes;
};

std::int64_t dtype_size(const std::string& dtype) {
  if (dtype == "I8" || dtype == "U8") return 1;
  if (dtype == "I32" || dtype == "F32") return 4;
  return 0;
}

template <class T>
RawTensor raw(const std::string& dtype, Shape shape, const T* data, std::int64_t count) {
  RawTensor t{dtype, std::move(shape), {}};
  t.bytes.resize(static_cast<std::size_t>(count) * sizeof(T));
  std::memcpy(t.bytes.data(), data, t.bytes.size());
  return t;
}

void write_safetensors(const fs::path& path, const std::map<std::string, RawTensor>& tensors,
                       const json& metadata) {
  json header = json::object();
  header["__metadata__"] = {{kFormat, metadata.dump()}};
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", t.dtype},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  fs::path temp = path;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw std::runtime_error("QuantizedModel::save: cannot write " + temp.string() +
                               " (does the folder exist?)");
    }
    const std::uint64_t n = text.size();
    out.write(reinterpret_cast<const char*>(&n), sizeof n);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : tensors) {
      out.write(reinterpret_cast<const char*>(t.bytes.data()),
                static_cast<std::streamsize>(t.bytes.size()));
    }
    if (!out.flush()) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw std::runtime_error("QuantizedModel::save: writing " + temp.string() + " failed");
    }
  }
  fs::rename(temp, path);
}

struct LoadedFile {
  json metadata;
  std::map<std::string, RawTensor> tensors;
};

LoadedFile read_safetensors(const fs::path& path) {
  const std::string where = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(where + ": cannot open the quantized model (missing?)");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::uint64_t n = 0;
  if (bytes.size() < sizeof n) throw std::runtime_error(where + ": truncated (no header length)");
  std::memcpy(&n, bytes.data(), sizeof n);
  if (n > bytes.size() - sizeof n) {
    throw std::runtime_error(where + ": truncated (the header claims " + std::to_string(n) +
                             " bytes, the file has " + std::to_string(bytes.size()) + ")");
  }
  json header;
  try {
    header = json::parse(bytes.begin() + sizeof n, bytes.begin() + sizeof n + n);
  } catch (const json::exception& e) {
    throw std::runtime_error(where + ": malformed safetensors header (" + e.what() + ")");
  }
  LoadedFile file;
  const std::uint64_t data_size = bytes.size() - sizeof n - n;
  const char* data = bytes.data() + sizeof n + n;
  try {
    if (!header.is_object() || !header.contains("__metadata__") ||
        !header["__metadata__"].contains(kFormat)) {
      throw std::runtime_error("not a tinytorch quantized model (no " + std::string(kFormat) +
                               " metadata): was it written by QuantizedModel::save?");
    }
    file.metadata = json::parse(header["__metadata__"][kFormat].get<std::string>());
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") continue;
      RawTensor t;
      t.dtype = entry.at("dtype").get<std::string>();
      t.shape = entry.at("shape").get<Shape>();
      const auto begin = entry.at("data_offsets").at(0).get<std::uint64_t>();
      const auto end = entry.at("data_offsets").at(1).get<std::uint64_t>();
      const std::int64_t size = dtype_size(t.dtype);
      if (size == 0) throw std::runtime_error("tensor '" + name + "' has dtype " + t.dtype);
      if (begin > end || end > data_size ||
          end - begin != static_cast<std::uint64_t>(shape_numel(t.shape) * size)) {
        throw std::runtime_error("tensor '" + name + "' has offsets [" + std::to_string(begin) +
                                 ", " + std::to_string(end) + ") that do not fit its shape " +
                                 shape_to_string(t.shape) + " or the " + std::to_string(data_size) +
                                 " data bytes (truncated?)");
      }
      t.bytes.assign(data + begin, data + end);
      file.tensors.emplace(name, std::move(t));
    }
  } catch (const json::exception& e) {
    throw std::runtime_error(where + ": malformed header entry (" + e.what() + ")");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(where + ": " + e.what());
  }
  return file;
}

// The tensor `name` with exactly this dtype and shape, or an error naming what differs.
const RawTensor& expect_tensor(const LoadedFile& file, const std::string& name,
                               const std::string& dtype, const Shape& shape) {
  const auto it = file.tensors.find(name);
  if (it == file.tensors.end()) throw std::runtime_error("no tensor '" + name + "'");
  if (it->second.dtype != dtype || it->second.shape != shape) {
    throw std::runtime_error("tensor '" + name + "' is " + it->second.dtype + " " +
                             shape_to_string(it->second.shape) + ", expected " + dtype + " " +
                             shape_to_string(shape));
  }
  return it->second;
}

json params_json(const QParams& p) {
  return {{"scale", p.scale[0]}, {"zero_point", p.zero_point[0]}};
}

QParams params_from(const json& j) {
  QParams p;
  p.scale = {j.at("scale").get<float>()};
  p.zero_point = {j.at("zero_point").get<std::int32_t>()};
  (void)QTensor(Shape{1}, p);  // a zero, negative or NaN scale in the file is refused here
  return p;
}

// A loaded layer's weight: its I8 integers with the saved per-channel scales (zero points 0).
QTensor weight_from(const LoadedFile& file, const std::string& prefix, const Shape& shape) {
  const RawTensor& w = expect_tensor(file, prefix + "weight", "I8", shape);
  const RawTensor& s = expect_tensor(file, prefix + "weight_scale", "F32", {shape[0]});
  QParams params;
  params.dtype = QDType::qint8;
  params.axis = 0;
  params.scale.resize(static_cast<std::size_t>(shape[0]));
  std::memcpy(params.scale.data(), s.bytes.data(), s.bytes.size());
  params.zero_point.assign(static_cast<std::size_t>(shape[0]), 0);
  QTensor out(shape, params);  // checks every scale: a zero or NaN scale in the file is refused
  std::memcpy(out.int8_data(), w.bytes.data(), w.bytes.size());
  return out;
}

// What a quantized layer derives from its weight: the row sums and the packed GEMM operand.
template <class Layer>
void finish_layer(Layer& layer, QTensor weight, std::vector<std::int32_t> bias, QParams input,
                  QParams output, bool relu) {
  const std::int64_t rows = weight.shape()[0];
  const std::int64_t k = weight.numel() / rows;
  layer.weight_sums.assign(static_cast<std::size_t>(rows), 0);
  for (std::int64_t j = 0; j < rows; ++j) {
    for (std::int64_t p = 0; p < k; ++p) layer.weight_sums[j] += weight.int8_data()[j * k + p];
  }
  layer.packed = kernels::QGemmPackedB(weight.int8_data(), rows, k, k);
  layer.weight = std::move(weight);
  layer.bias = std::move(bias);
  layer.input_params = std::move(input);
  layer.output_params = std::move(output);
  layer.relu = relu;
}

}  // namespace

QuantizedModel QuantizedModel::from_float(nn::Sequential& model,
                                          const std::vector<Tensor>& calibration_batches,
                                          Calibration method, double percentile) {
  if (calibration_batches.empty()) {
    throw std::invalid_argument(
        "QuantizedModel::from_float: no calibration batch: activation "
        "ranges come from running real inputs through the model");
  }
  model.eval();
  const std::vector<Group> groups = group_layers(model);
  // One observer at the input and one after each quantized layer.
  auto make_observer = [&]() -> std::variant<MinMaxObserver, PercentileObserver> {
    if (method == Calibration::minmax) return MinMaxObserver(QDType::quint8, false);
    return PercentileObserver(percentile, QDType::quint8, false);
  };
  std::vector<std::variant<MinMaxObserver, PercentileObserver>> observers;
  for (std::size_t i = 0; i <= groups.size(); ++i) observers.push_back(make_observer());
  autograd::NoGradGuard no_grad;
  for (const Tensor& batch : calibration_batches) {
    std::visit([&](auto& o) { o.observe(batch); }, observers[0]);
    Tensor x = batch;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      x = run_float(groups[g], x);
      if (groups[g].kind == Group::Kind::linear || groups[g].kind == Group::Kind::conv) {
        std::visit([&](auto& o) { o.observe(x); }, observers[g + 1]);
      }
    }
  }
  QuantizedModel q;
  q.input_params_ = std::visit([](const auto& o) { return o.qparams(); }, observers[0]);
  QParams current = q.input_params_;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const Group& group = groups[g];
    if (group.kind == Group::Kind::pool) {
      const auto& p = static_cast<const nn::MaxPool2d&>(*group.float_layer);
      q.steps_.emplace_back(QuantizedMaxPool2d{p.kernel_size, p.stride, p.padding});
      continue;
    }
    if (group.kind == Group::Kind::flatten) {
      q.steps_.emplace_back(QuantizedFlatten{});
      continue;
    }
    const QParams output = std::visit([](const auto& o) { return o.qparams(); }, observers[g + 1]);
    if (group.kind == Group::Kind::linear) {
      const auto& linear = static_cast<const nn::Linear&>(*group.float_layer);
      q.steps_.emplace_back(QuantizedLinear::from_float(linear, current, output, group.relu));
    } else {
      const auto& conv = static_cast<const nn::Conv2d&>(*group.float_layer);
      q.steps_.emplace_back(QuantizedConv2d::from_float(conv, current, output, group.relu));
    }
    current = output;
  }
  return q;
}

Tensor QuantizedModel::forward(const Tensor& x) const {
  QTensor q = quantize(x, input_params_);
  for (const QuantizedStep& step : steps_) q = run_step(step, q);
  return dequantize(q);
}

std::string QuantizedModel::describe() const {
  std::string text;
  for (const QuantizedStep& step : steps_) {
    if (!text.empty()) text += " ";
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, QuantizedLinear>) {
            text += "QuantizedLinear(" + std::to_string(s.in_features) + ", " +
                    std::to_string(s.out_features) + (s.relu ? ", relu)" : ")");
          } else if constexpr (std::is_same_v<T, QuantizedConv2d>) {
            text += "QuantizedConv2d(" + std::to_string(s.in_channels) + ", " +
                    std::to_string(s.out_channels) + ", " + std::to_string(s.kernel_size) +
                    (s.padding ? ", pad " + std::to_string(s.padding) : "") +
                    (s.relu ? ", relu)" : ")");
          } else if constexpr (std::is_same_v<T, QuantizedMaxPool2d>) {
            text += "QuantizedMaxPool2d(" + std::to_string(s.kernel_size) + ")";
          } else {
            text += "QuantizedFlatten";
          }
        },
        step);
  }
  return text;
}

void QuantizedModel::save(const fs::path& path) const {
  std::map<std::string, RawTensor> tensors;
  json steps = json::array();
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const std::string prefix = "layers." + std::to_string(i) + ".";
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, QuantizedMaxPool2d>) {
            steps.push_back({{"kind", "maxpool2d"},
                             {"kernel_size", s.kernel_size},
                             {"stride", s.stride},
                             {"padding", s.padding}});
          } else if constexpr (std::is_same_v<T, QuantizedFlatten>) {
            steps.push_back({{"kind", "flatten"}});
          } else {
            json entry = {{"input", params_json(s.input_params)},
                          {"output", params_json(s.output_params)},
                          {"relu", s.relu},
                          {"weight_shape", s.weight.shape()}};
            if constexpr (std::is_same_v<T, QuantizedLinear>) {
              entry["kind"] = "linear";
            } else {
              entry["kind"] = "conv2d";
              entry["stride"] = s.stride;
              entry["padding"] = s.padding;
            }
            steps.push_back(entry);
            const std::int64_t out = s.weight.shape()[0];
            tensors[prefix + "weight"] =
                raw("I8", s.weight.shape(), s.weight.int8_data(), s.weight.numel());
            tensors[prefix + "weight_scale"] =
                raw("F32", {out}, s.weight.qparams().scale.data(), out);
            tensors[prefix + "bias"] = raw("I32", {out}, s.bias.data(), out);
          }
        },
        steps_[i]);
  }
  const json metadata = {
      {"version", kVersion}, {"input", params_json(input_params_)}, {"steps", steps}};
  write_safetensors(path, tensors, metadata);
}

QuantizedModel QuantizedModel::load(const fs::path& path) {
  const LoadedFile file = read_safetensors(path);
  QuantizedModel q;
  try {
    if (file.metadata.value("version", 0) != kVersion) {
      throw std::runtime_error("written in format version " +
                               std::to_string(file.metadata.value("version", 0)) +
                               ", this library reads version " + std::to_string(kVersion));
    }
    q.input_params_ = params_from(file.metadata.at("input"));
    const json& steps = file.metadata.at("steps");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const json& s = steps[i];
      const std::string kind = s.at("kind").get<std::string>();
      const std::string prefix = "layers." + std::to_string(i) + ".";
      if (kind == "maxpool2d") {
        q.steps_.emplace_back(QuantizedMaxPool2d{s.at("kernel_size").get<std::int64_t>(),
                                                 s.at("stride").get<std::int64_t>(),
                                                 s.at("padding").get<std::int64_t>()});
        continue;
      }
      if (kind == "flatten") {
        q.steps_.emplace_back(QuantizedFlatten{});
        continue;
      }
      if (kind != "linear" && kind != "conv2d") {
        throw std::runtime_error("step " + std::to_string(i) + " has unknown kind '" + kind + "'");
      }
      const Shape shape = s.at("weight_shape").get<Shape>();
      if (shape.size() != (kind == "linear" ? 2u : 4u) || shape_numel(shape) <= 0) {
        throw std::runtime_error("step " + std::to_string(i) + " (" + kind + ") has weight shape " +
                                 shape_to_string(shape));
      }
      const QParams input = params_from(s.at("input"));
      const QParams output = params_from(s.at("output"));
      QTensor weight = weight_from(file, prefix, shape);
      const RawTensor& b = expect_tensor(file, prefix + "bias", "I32", {shape[0]});
      std::vector<std::int32_t> bias(static_cast<std::size_t>(shape[0]));
      std::memcpy(bias.data(), b.bytes.data(), b.bytes.size());
      const bool relu = s.at("relu").get<bool>();
      if (kind == "linear") {
        QuantizedLinear layer;
        layer.out_features = shape[0];
        layer.in_features = shape[1];
        finish_layer(layer, std::move(weight), std::move(bias), input, output, relu);
        q.steps_.emplace_back(std::move(layer));
      } else {
        QuantizedConv2d layer;
        layer.out_channels = shape[0];
        layer.in_channels = shape[1];
        layer.kernel_size = shape[2];
        layer.stride = s.at("stride").get<std::int64_t>();
        layer.padding = s.at("padding").get<std::int64_t>();
        if (shape[2] != shape[3] || layer.stride < 1 || layer.padding < 0) {
          throw std::runtime_error("step " + std::to_string(i) + " (conv2d) has weight shape " +
                                   shape_to_string(shape) + ", stride " +
                                   std::to_string(layer.stride) + ", padding " +
                                   std::to_string(layer.padding));
        }
        finish_layer(layer, std::move(weight), std::move(bias), input, output, relu);
        q.steps_.emplace_back(std::move(layer));
      }
    }
  } catch (const json::exception& e) {
    throw std::runtime_error(path.string() + ": malformed quantized-model metadata (" + e.what() +
                             ")");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  return q;
}

}  // namespace tinytorch::quant
