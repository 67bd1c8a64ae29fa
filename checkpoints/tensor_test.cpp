// Checkpoint "tensor": Can I store and compute with N-d arrays of numbers?
//
// Answered end to end with your module 02 Tensor, the way a model uses it: a small batch goes
// through a linear map X @ W + b with the bias broadcast over the batch, is reduced to a mean,
// reshaped and transposed as views, and multiplied batch by batch. Every expected number is
// derived by hand in a comment; the inputs are small integers and halves, so float32 holds each
// intermediate exactly and the comparisons can be exact.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/tensor.hpp"

namespace {

using namespace tinytorch;
using Values = std::vector<float>;

// A batch of 3 samples with 2 features, a (2 -> 2) weight and a bias.
Tensor batch() {
  return tensor({{1, 2}, {3, 4}, {5, 6}});
}  // X: (3, 2)
Tensor weight() {
  return tensor({{1, 0}, {-1, 2}});
}  // W: (2, 2)
Tensor bias() {
  return tensor({0.5f, -1});
}  // b: (2,)

TEST(TensorCheckpoint, ALinearMapOfABatchBroadcastsTheBias) {
  // X @ W:  (1, 2) -> (1*1 + 2*-1, 1*0 + 2*2) = (-1,  4)
  //         (3, 4) -> (3*1 + 4*-1, 3*0 + 4*2) = (-1,  8)
  //         (5, 6) -> (5*1 + 6*-1, 5*0 + 6*2) = (-1, 12)
  // + b (added to every row):                  (-0.5, 3), (-0.5, 7), (-0.5, 11)
  const Tensor y = batch().matmul(weight()) + bias();
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(y.to_vector(), (Values{-0.5f, 3, -0.5f, 7, -0.5f, 11}));
}

TEST(TensorCheckpoint, ABatchOfOutputsReducesToOneMean) {
  // mean of (-0.5, 3, -0.5, 7, -0.5, 11) = (-1.5 + 21) / 6 = 19.5 / 6 = 3.25
  const Tensor loss = (batch().matmul(weight()) + bias()).mean();
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_EQ(loss.item(), 3.25f);
}

TEST(TensorCheckpoint, ReductionsAlongADimensionGivePerFeatureAndPerSampleResults) {
  // Per feature (over the batch, dim 0): mean((1, 3, 5)) = 3, mean((2, 4, 6)) = 4.
  // Centring subtracts (3, 4) from every row: (-2, -2), (0, 0), (2, 2).
  // Per sample (dim 1): 1 + 2 = 3, 3 + 4 = 7, 5 + 6 = 11.
  const Tensor x = batch();
  const Tensor centred = x - x.mean(0, /*keepdim=*/true);
  EXPECT_EQ(x.mean(0).to_vector(), (Values{3, 4}));
  EXPECT_EQ(centred.to_vector(), (Values{-2, -2, 0, 0, 2, 2}));
  EXPECT_EQ(x.sum(1).to_vector(), (Values{3, 7, 11}));
}

TEST(TensorCheckpoint, ReshapeAndTransposeAreViewsOfTheSameNumbers) {
  // arange(6) viewed as (2, 3): [[0, 1, 2], [3, 4, 5]]; its transpose (3, 2): [[0, 3], [1, 4], [2,
  // 5]].
  const Tensor m = arange(6).reshape({2, 3});
  const Tensor t = m.transpose(0, 1);
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.to_vector(), (Values{0, 3, 1, 4, 2, 5}));
  EXPECT_TRUE(t.shares_storage(m));
  m.at({0, 2}) = 20;  // written through one view, read through the other
  EXPECT_EQ(t.at({2, 0}), 20);
}

TEST(TensorCheckpoint, OneWeightMultipliesEveryMatrixOfABatch) {
  // (2, 3, 2) @ (2, 2) -> (2, 3, 2): the first matrix is X, the second 2 * X, so the second
  // product is 2 * (X @ W) = (-2, 8), (-2, 16), (-2, 24).
  const Tensor stacked =
      from_vector({1, 2, 3, 4, 5, 6, /* 2 * X: */ 2, 4, 6, 8, 10, 12}, {2, 3, 2});
  const Tensor y = stacked.matmul(weight());
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(y.to_vector(), (Values{-1, 4, -1, 8, -1, 12, -2, 8, -2, 16, -2, 24}));
}

TEST(TensorCheckpoint, ShapesThatCannotBroadcastAreRejectedNamingBothShapes) {
  // (3, 2) + (3,): aligned from the right, 2 and 3 are neither equal nor 1.
  try {
    (void)(batch() + tensor({1, 2, 3}));
    FAIL() << "adding shapes [3, 2] and [3] should throw std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("[3, 2]"), std::string::npos) << message;
    EXPECT_NE(message.find("[3]"), std::string::npos) << message;
  }
}

}  // namespace
