// Module 07 — one backward per operation. The contract is autograd.hpp.
// Each backward receives dL/d(output) and returns dL/d(input i) for every input, in order.
#include "tinytorch/autograd.hpp"

namespace tinytorch::autograd {

// TODO: return the gradient for each input of AddBackward.
std::vector<Tensor> AddBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "AddBackward::backward");
}

// TODO: return the gradient for each input of SubBackward.
std::vector<Tensor> SubBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "SubBackward::backward");
}

// TODO: return the gradient for each input of MulBackward.
std::vector<Tensor> MulBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MulBackward::backward");
}

// TODO: return the gradient for each input of DivBackward.
std::vector<Tensor> DivBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "DivBackward::backward");
}

// TODO: return the gradient for each input of MatmulBackward.
std::vector<Tensor> MatmulBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MatmulBackward::backward");
}

// TODO: return the gradient for each input of ReshapeBackward.
std::vector<Tensor> ReshapeBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "ReshapeBackward::backward");
}

// TODO: return the gradient for each input of TransposeBackward.
std::vector<Tensor> TransposeBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "TransposeBackward::backward");
}

// TODO: return the gradient for each input of PermuteBackward.
std::vector<Tensor> PermuteBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "PermuteBackward::backward");
}

// TODO: return the gradient for each input of SumBackward.
std::vector<Tensor> SumBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "SumBackward::backward");
}

// TODO: return the gradient for each input of MeanBackward.
std::vector<Tensor> MeanBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MeanBackward::backward");
}

// TODO: return the gradient for each input of MaxBackward.
std::vector<Tensor> MaxBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MaxBackward::backward");
}

// TODO: return the gradient for each input of ReluBackward.
std::vector<Tensor> ReluBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "ReluBackward::backward");
}

// TODO: return the gradient for each input of SigmoidBackward.
std::vector<Tensor> SigmoidBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "SigmoidBackward::backward");
}

// TODO: return the gradient for each input of TanhBackward.
std::vector<Tensor> TanhBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "TanhBackward::backward");
}

// TODO: return the gradient for each input of GeluBackward.
std::vector<Tensor> GeluBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "GeluBackward::backward");
}

// TODO: return the gradient for each input of SoftmaxBackward.
std::vector<Tensor> SoftmaxBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "SoftmaxBackward::backward");
}

// TODO: return the gradient for each input of LogSoftmaxBackward.
std::vector<Tensor> LogSoftmaxBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "LogSoftmaxBackward::backward");
}

// TODO: return the gradient for each input of MseLossBackward.
std::vector<Tensor> MseLossBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "MseLossBackward::backward");
}

// TODO: return the gradient for each input of CrossEntropyBackward.
std::vector<Tensor> CrossEntropyBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "CrossEntropyBackward::backward");
}

// TODO: return the gradient for each input of BceWithLogitsBackward.
std::vector<Tensor> BceWithLogitsBackward::backward(const Tensor& /*grad_output*/) {
  throw NotImplemented("07_autograd", "BceWithLogitsBackward::backward");
}

}  // namespace tinytorch::autograd
