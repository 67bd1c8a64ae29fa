#pragma once
// Comparing a tensor with the values a test expects. One check gives at most one failure, reported
// at the line of the test that called it (not a line in this file), with the values shown
// compactly:
//
//   tensor_test.cpp:120: Failure
//   values differ at 2 of 6 positions; the first at index [1, 0]: got 5, expected 4
//     got      {0, 1, 2, 5, 6, 5}
//     expected {0, 1, 2, 4, 4, 5}
//
// Used by the visible tests (GoogleTest); the library itself does not include it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <source_location>
#include <sstream>
#include <string>
#include <vector>

#include "tinytorch/tensor.hpp"

namespace tinytorch::testing {

/// "{0, 0.5, 1}"; long lists keep their first and last values: "{0, 1, 2, ... (94 more), 99}".
inline std::string show(const std::vector<float>& v, std::size_t head = 12) {
  std::ostringstream out;  // the stream's default precision: 0.5, 1e-07, 3.14159
  out << '{';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v.size() > head + 1 && i == head) {
      out << ", ... (" << v.size() - head - 1 << " more)";
      i = v.size() - 1;
    }
    out << (i ? ", " : "") << v[i];
  }
  return out.str() + '}';
}

/// "[2, 3]".
inline std::string show(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// The multi-index of row-major position `flat` in `shape`: "[1, 0]".
inline std::string index_of(std::size_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    const auto size = static_cast<std::size_t>(shape[d] > 0 ? shape[d] : 1);
    index[d] = static_cast<std::int64_t>(flat % size);
    flat /= size;
  }
  return show(index);
}

/// Equal within `tol`, relative for values larger than 1: |got - want| <= tol * max(1, |want|).
inline bool close(float got, float want, float tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= tol * std::fmax(1.0f, std::fabs(want));
}

/// The values of `t` (row-major) against `want`; `shape` names the index of the first difference.
inline void expect_values_in(const Tensor& t, const Shape& shape, const std::vector<float>& want,
                             float tol, std::source_location where) {
  const std::vector<float> got = t.to_vector();
  if (got.size() != want.size()) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "to_vector() returned " << got.size() << " values, expected " << want.size()
        << "\n  got      " << show(got) << "\n  expected " << show(want);
    return;
  }
  std::size_t differ = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (close(got[i], want[i], tol)) continue;
    if (differ++ == 0) first = i;
  }
  if (differ == 0) return;
  ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
      << "values differ at " << differ << " of " << got.size() << " positions; the first at index "
      << index_of(first, shape) << ": got " << got[first] << ", expected " << want[first]
      << "\n  got      " << show(got) << "\n  expected " << show(want);
}

/// `t` has shape `shape` and, in row-major order, `values` (each within `tol`).
inline void expect_tensor(const Tensor& t, const Shape& shape, const std::vector<float>& values,
                          float tol = 1e-6f,
                          std::source_location where = std::source_location::current()) {
  if (!t.defined()) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "the tensor is undefined (no storage), expected shape " << show(shape);
    return;
  }
  if (t.shape() != shape) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "the result has shape " << show(t.shape()) << ", expected " << show(shape);
    return;
  }
  expect_values_in(t, shape, values, tol, where);
}

/// `t`'s values in row-major order, whatever its shape, each within `tol`.
inline void expect_values(const Tensor& t, const std::vector<float>& values, float tol = 1e-6f,
                          std::source_location where = std::source_location::current()) {
  if (!t.defined()) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "the tensor is undefined (no storage; a gradient that was never set?)";
    return;
  }
  expect_values_in(t, t.shape(), values, tol, where);
}

}  // namespace tinytorch::testing
