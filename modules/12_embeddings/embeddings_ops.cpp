// Framework-owned: the differentiable embedding lookup, recorded for autograd around your
// ops::embedding. The gradient flows to the weight only; ids are data.
#include "tinytorch/autograd.hpp"
#include "tinytorch/embeddings.hpp"

namespace tinytorch {

using autograd::attach;
using autograd::needs_grad;

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  Tensor out = ops::embedding(weight, ids);
  if (needs_grad({&weight})) {
    attach(out, std::make_shared<autograd::EmbeddingBackward>(ids.detach(), weight.size(0)),
           {weight});
  }
  return out;
}

}  // namespace tinytorch
