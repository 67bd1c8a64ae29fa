// Module 04 — fill in each TODO. The contract is layers.hpp: read each class's comment there first,
// and the lesson in README.md for the why of each piece.
//
// Every body below throws NotImplemented until you replace it. Run `tito module test 04` after each
// function: the tests for the functions you have written turn green one by one.
//
// Suggested order: Module's registration (register_parameter, register_buffer, add_child), then
// named_parameters and friends, train / zero_grad / num_parameters, then Linear, Sequential, the
// activation modules, Flatten and Dropout.
//
// One rule for every forward(): build it from Tensor operations (matmul, transpose, +, *, flatten)
// and module 03's functions (relu, sigmoid, ...), never from loops over data(). Those operations
// are recorded, so in module 07 autograd will differentiate your layers without a line of new code.
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinytorch/errors.hpp"
#include "tinytorch/layers.hpp"

namespace tinytorch::nn {

// ---- Module: registration ---------------------------------------------------------------------
// The three lists parameters_, buffers_ and children_ (declared in layers.hpp) hold (name, value)
// pairs in registration order. Everything else in Module walks them.

Tensor& Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  // TODO: Append (name, t) to parameters_ and return a reference to the stored tensor.
  //   - A name that is already used on this module throws std::invalid_argument naming it (a second
  //     "weight" would make the checkpoint key "fc.weight" ambiguous). Also refuse an empty name
  //     or one containing '.': the dot is the separator of nested names.
  //   - Set the tensor's requires_grad flag from the argument: parameters are what gets trained.
  (void)name;
  (void)t;
  (void)requires_grad;
  throw NotImplemented("04_layers", "Module::register_parameter");
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  // TODO: Like register_parameter, into buffers_, without touching requires_grad: a buffer (say,
  //   BatchNorm's running mean) is saved with the model but never trained.
  (void)name;
  (void)t;
  throw NotImplemented("04_layers", "Module::register_buffer");
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  // TODO: Append (name, module) to children_. register_module<M>() in the header calls this.
  //   - Same name rules as above; a null module throws std::invalid_argument.
  (void)name;
  (void)module;
  throw NotImplemented("04_layers", "Module::add_child");
}

// ---- Module: walking the tree
// ---------------------------------------------------------------------

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  // TODO: This module's own parameters first, in registration order; then, if recurse, each
  //   child's named_parameters(), in child order, each name prefixed by "<child name>.".
  //   - Recursion gives depth-first order and the full dotted path for free: a child's names
  //     already carry its own children's prefixes ("0.weight" becomes "encoder.0.weight").
  (void)recurse;
  throw NotImplemented("04_layers", "Module::named_parameters");
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  // TODO: The same walk as named_parameters, over buffers_.
  (void)recurse;
  throw NotImplemented("04_layers", "Module::named_buffers");
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  // TODO: The tensors of named_parameters(recurse), same order. (An optimizer only needs these.)
  (void)recurse;
  throw NotImplemented("04_layers", "Module::parameters");
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  // TODO: The direct children only (not grandchildren), in registration order.
  throw NotImplemented("04_layers", "Module::children");
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  // TODO: The direct children with their names.
  throw NotImplemented("04_layers", "Module::named_children");
}

void Module::train(bool on) {
  // TODO: Set training_ here and in every descendant. eval() (in the header) calls train(false):
  //   one call on the model must reach the Dropout buried three levels down.
  (void)on;
  throw NotImplemented("04_layers", "Module::train");
}

void Module::zero_grad() {
  // TODO: Make every parameter's gradient undefined: set_grad(Tensor()). Gradients accumulate (+=)
  //   in module 07, so a training loop clears them before each backward pass.
  throw NotImplemented("04_layers", "Module::zero_grad");
}

std::int64_t Module::num_parameters() const {
  // TODO: The sum of numel() over parameters().
  throw NotImplemented("04_layers", "Module::num_parameters");
}

// ---- Linear -------------------------------------------------------------------------------------

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Init init,
               Generator& generator)
    : in_features(in_features), out_features(out_features) {
  // TODO: Create and register the parameters.
  //   1. weight, shape (out_features, in_features), drawn from `generator` by `init`. The README
  //      derives each formula; with fan_in = in_features and fan_out = out_features:
  //        kaiming_uniform  U(-b, b), b = 1 / sqrt(fan_in)        (PyTorch's default)
  //        kaiming_normal   N(0, std^2), std = sqrt(2 / fan_in)
  //        xavier_uniform   U(-b, b), b = sqrt(6 / (fan_in + fan_out))
  //        xavier_normal    N(0, std^2), std = sqrt(2 / (fan_in + fan_out))
  //      generator.uniform() is U[0, 1): scale and shift it onto [-b, b). generator.normal() is
  //      N(0, 1): multiply by std. Fill the tensor's data() in one loop.
  //   2. If `bias`: bias, shape (out_features), U(-1/sqrt(fan_in), 1/sqrt(fan_in)) whatever the
  //   init.
  //      Draw it after the weight, so that one seed always gives one layer.
  //   3. register_parameter("weight", ...) and ("bias", ...), and keep the handles in the members
  //      `weight` and `bias` too (a Tensor is a handle: both refer to the same numbers).
  //   - Sizes that are not positive throw std::invalid_argument.
  (void)bias;
  (void)init;
  (void)generator;
  throw NotImplemented("04_layers", "Linear::Linear");
}

Tensor Linear::forward(const Tensor& input) {
  // TODO: y = x W^T + b, for input (..., in_features) -> (..., out_features).
  //   - Check first: an input whose last dim is not in_features throws std::invalid_argument whose
  //     message names the input's shape (shape_to_string) and the expected in_features.
  //   - input.matmul(weight.transpose(0, 1)) handles any leading (batch) dimensions; the bias then
  //     broadcasts over them with +. transpose is a view, and matmul reads it without a copy.
  //   - matmul needs 2 dimensions: a single sample (in_features) can be unsqueeze(0)d to (1, in)
  //     and squeeze(0)d back afterwards.
  //   - Skip the bias when it is undefined (bias = false).
  (void)input;
  throw NotImplemented("04_layers", "Linear::forward");
}

// ---- Sequential ---------------------------------------------------------------------------------

void Sequential::push_back(std::shared_ptr<Module> module) {
  // TODO: Register module as a child named by its position: "0", "1", ... (std::to_string of the
  //   current number of children). The variadic constructor in the header calls this.
  (void)module;
  throw NotImplemented("04_layers", "Sequential::push_back");
}

Tensor Sequential::forward(const Tensor& input) {
  // TODO: Feed the input through every child in order; each output is the next input. No children:
  //   the input itself. Call each child as (*child)(x), not child->forward(x): a call is what the
  //   module hooks see (module 19's profiler times each layer through them).
  (void)input;
  throw NotImplemented("04_layers", "Sequential::forward");
}

std::shared_ptr<Module> Sequential::operator[](std::size_t index) const {
  // TODO: The child at index; past the end throws std::out_of_range naming index and size().
  (void)index;
  throw NotImplemented("04_layers", "Sequential::operator[]");
}

// ---- Dropout ------------------------------------------------------------------------------------

Dropout::Dropout(float p, Generator& generator) : p(p), generator_(&generator) {
  // TODO: Validate p: it must lie in [0, 1), else std::invalid_argument naming p.
  //   (p = 1 would drop everything and scale by 1/0.)
  throw NotImplemented("04_layers", "Dropout::Dropout");
}

Tensor Dropout::forward(const Tensor& input) {
  // TODO: Inverted dropout.
  //   - In eval mode (is_training() false), or when p is 0: return the input unchanged.
  //   - In training: build a mask tensor of input's shape whose elements are 0 with probability p
  //     (draw generator_->uniform() once per element, in order) and 1 / (1 - p) otherwise, then
  //     return input * mask. The scale keeps E[output] = input, so eval needs no correction.
  //   - Why a mask tensor and *? Multiplication is recorded, so in module 07 the gradient flows
  //     through exactly the elements that were kept. Writing zeros into a copy would not be.
  (void)input;
  throw NotImplemented("04_layers", "Dropout::forward");
}

// ---- Flatten and activation modules -----------------------------------------------------------

Tensor Flatten::forward(const Tensor& input) {
  // TODO: (N, d1, d2, ...) -> (N, d1 * d2 * ...): Tensor::flatten with start_dim 1. An input with
  //   fewer than 2 dimensions has no batch to keep: throw std::invalid_argument naming its shape.
  (void)input;
  throw NotImplemented("04_layers", "Flatten::forward");
}

// TODO: Each activation module is one line: call module 03's differentiable function
//   (tinytorch::relu, not ops::relu, which autograd would not see).
Tensor ReLU::forward(const Tensor& input) {
  (void)input;
  throw NotImplemented("04_layers", "ReLU::forward");
}
Tensor Sigmoid::forward(const Tensor& input) {
  (void)input;
  throw NotImplemented("04_layers", "Sigmoid::forward");
}
Tensor Tanh::forward(const Tensor& input) {
  (void)input;
  throw NotImplemented("04_layers", "Tanh::forward");
}
Tensor GELU::forward(const Tensor& input) {
  (void)input;
  throw NotImplemented("04_layers", "GELU::forward");
}

}  // namespace tinytorch::nn
