// Module 18, framework-owned: the singular value decomposition, by LAPACK (Debian's
// liblapacke-dev). Writing an SVD well is a course of its own; the module's work is what to do with
// one.
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/compression.hpp"

namespace tinytorch::compress {

SVD svd(const Tensor& a) {
  if (a.dim() != 2 || a.numel() == 0) {
    throw std::invalid_argument("svd: expected a non-empty 2-d tensor, got shape " +
                                shape_to_string(a.shape()));
  }
  const std::int64_t m = a.size(0);
  const std::int64_t n = a.size(1);
  const std::int64_t k = std::min(m, n);
  // In double: the small singular values, which decide the rank, keep their digits.
  std::vector<double> work;
  for (float v : a.to_vector()) {
    if (!std::isfinite(v)) {
      throw std::invalid_argument("svd: the tensor of shape " + shape_to_string(a.shape()) +
                                  " holds a value that is not finite");
    }
    work.push_back(v);
  }
  std::vector<double> s(static_cast<std::size_t>(k));
  std::vector<double> u(static_cast<std::size_t>(m * k));   // (m, k)
  std::vector<double> vt(static_cast<std::size_t>(k * n));  // (k, n)
  // Divide and conquer (gesdd), thin ('S'): the first k columns of U and rows of Vt.
  const lapack_int info =
      LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', static_cast<lapack_int>(m), static_cast<lapack_int>(n),
                     work.data(), static_cast<lapack_int>(n), s.data(), u.data(),
                     static_cast<lapack_int>(k), vt.data(), static_cast<lapack_int>(n));
  if (info != 0) {
    throw std::runtime_error("svd: LAPACK dgesdd failed on shape " + shape_to_string(a.shape()) +
                             " (info " + std::to_string(info) + ")");
  }
  auto to_tensor = [](const std::vector<double>& v, const Shape& shape) {
    return from_vector(std::vector<float>(v.begin(), v.end()), shape);
  };
  return {to_tensor(u, {m, k}), to_tensor(s, {k}), to_tensor(vt, {k, n})};
}

}  // namespace tinytorch::compress
