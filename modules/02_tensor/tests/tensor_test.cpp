// Visible tests for module 02 (tensor): run them with `tito module test 02`.
// One behaviour per test; a failure message says what your code did and what was expected.
// The grading suite checks more than this (errors, empty tensors, printing rules...): passing these
// is the start, not the finish.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tinytorch/tensor.hpp"
#include "tinytorch/testing.hpp"

namespace tt = tinytorch;
using tt::Shape;
using tt::Tensor;

// expect_tensor(t, shape, values): one failure per check, at the test's line, values shown
// compactly (tinytorch/testing.hpp).
using tt::testing::expect_tensor;

TEST(Tensor, ContiguousStridesAreRowMajor) {
  // Stepping one along the last dim moves 1 float; along dim 1 moves 4; along dim 0 moves 3*4.
  EXPECT_EQ(tt::contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}))
      << "strides[d] is the product of the sizes after d";
}

TEST(Tensor, ZerosHasTheRequestedShape) {
  const Tensor t = tt::zeros({2, 3});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.numel(), 6) << "numel() is the product of the shape";
  EXPECT_TRUE(t.is_contiguous()) << "a new tensor must have contiguous strides";
  expect_tensor(t, {2, 3}, {0, 0, 0, 0, 0, 0});
}

TEST(Tensor, NestedListsGiveShapeAndValues) {
  expect_tensor(tt::tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}}), {2, 3}, {1, 2, 3, 4, 5, 6});
}

TEST(Tensor, ArangeExcludesTheEnd) {
  expect_tensor(tt::arange(0.0f, 2.0f, 0.5f), {4}, {0.0f, 0.5f, 1.0f, 1.5f});
}

TEST(Tensor, AtUsesStridesAndNegativeIndices) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  EXPECT_EQ(t.at({1, 0}), 3.0f) << "element (1, 0) is at offset 1*3 + 0";
  EXPECT_EQ(t.at({-1, -1}), 5.0f) << "-1 means the last index of a dimension";
}

TEST(Tensor, AtOutOfRangeThrowsOutOfRange) {
  const Tensor t = tt::zeros({2, 3});
  EXPECT_THROW((void)t.at({2, 0}), std::out_of_range) << "row 2 does not exist in shape [2, 3]";
}

TEST(Tensor, AddSameShape) {
  expect_tensor(tt::tensor({1.f, 2.f}) + tt::tensor({10.f, 20.f}), {2}, {11, 22});
}

TEST(Tensor, BroadcastAddsARowToEveryRow) {
  // (2, 3) + (3): the vector is aligned with the last dimension and reused for each row.
  const Tensor m = tt::arange(6.0f).reshape({2, 3});
  expect_tensor(m + tt::tensor({10.f, 20.f, 30.f}), {2, 3}, {10, 21, 32, 13, 24, 35});
}

TEST(Tensor, ScalarOnTheLeftKeepsItsOrder) {
  expect_tensor(1.0f - tt::tensor({1.f, 2.f}), {2}, {0, -1});
}

TEST(Tensor, IncompatibleShapesThrowInvalidArgument) {
  EXPECT_THROW((void)(tt::zeros({2, 3}) + tt::zeros({4})), std::invalid_argument)
      << "[2, 3] and [4] cannot broadcast: 3 != 4 and neither is 1";
}

TEST(Tensor, MatmulTwoByTwo) {
  // [[1, 2], [3, 4]] @ [[5, 6], [7, 8]] = [[1*5 + 2*7, 1*6 + 2*8], [3*5 + 4*7, 3*6 + 4*8]]
  const Tensor a = tt::tensor({{1.f, 2.f}, {3.f, 4.f}});
  const Tensor b = tt::tensor({{5.f, 6.f}, {7.f, 8.f}});
  expect_tensor(a.matmul(b), {2, 2}, {19, 22, 43, 50});
}

TEST(Tensor, TransposeIsAViewOfTheSameStorage) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});
  const Tensor v = t.transpose(0, 1);
  EXPECT_EQ(v.shape(), (Shape{3, 2}));
  EXPECT_TRUE(v.shares_storage(t)) << "transpose must not copy: only shape and strides change";
  v.at({2, 0}) = 100.0f;
  EXPECT_EQ(t.at({0, 2}), 100.0f) << "writing v[2][0] must change t[0][2]";
  expect_tensor(v, {3, 2}, {0, 3, 1, 4, 100, 5});
}

TEST(Tensor, ReshapeInfersMinusOne) {
  EXPECT_EQ(tt::arange(12.0f).reshape({3, -1}).shape(), (Shape{3, 4}))
      << "-1 is whatever makes the element count match: 12 / 3 = 4";
}

TEST(Tensor, SumAlongADimension) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  expect_tensor(t.sum(0), {3}, {3, 5, 7});            // down the columns
  expect_tensor(t.sum(1, /*keepdim=*/true), {2, 1}, {3, 12});
  EXPECT_EQ(t.sum().item(), 15.0f) << "sum() with no dim adds every element";
}

TEST(Tensor, MaxAndMean) {
  const Tensor t = tt::tensor({{1.f, -5.f, 3.f}, {4.f, 2.f, -6.f}});
  expect_tensor(t.max(1), {2}, {3, 4});
  expect_tensor(t.mean(0), {3}, {2.5f, -1.5f, -1.5f});
}

TEST(Tensor, PrintsLikePyTorch) {
  EXPECT_EQ(tt::tensor({{1.f, 2.f}, {3.f, 4.f}}).to_string(),
            "tensor([[1., 2.],\n        [3., 4.]])");
  EXPECT_EQ(tt::tensor({1.5f, 2.0f}).to_string(), "tensor([1.5000, 2.0000])")
      << "any non-integer value switches the whole tensor to 4 decimals";
}
