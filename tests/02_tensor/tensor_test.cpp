// Hidden grading suite for module 02 (tensor). Never shipped to students.
//
// Every test calls the student's code (creation, ops, printing), so each one fails against the
// stubs (whose NotImplemented derives from std::exception only, never from the
// std::invalid_argument or std::out_of_range expected here) and passes against solutions/02_tensor.
// Oracles: small cases are worked out in the comments; bigger ones are recomputed by naive loops on
// plain std::vector (matmul, sums); printed strings come from PyTorch (print_cases.hpp, generated
// by gen_print_cases.py); random draws are checked against the Generator itself.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "print_cases.hpp"
#include "tinytorch/tensor.hpp"

namespace tt = tinytorch;
using tt::Shape;
using tt::Tensor;

namespace {

// Checks shape and values (exactly equal up to float rounding: 4 ulps).
void expect_tensor(const Tensor& t, const Shape& shape, const std::vector<float>& values) {
  ASSERT_EQ(t.shape(), shape) << "wrong shape";
  const auto got = t.to_vector();
  ASSERT_EQ(got.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_FLOAT_EQ(got[i], values[i]) << "element " << i << " (row-major) differs";
  }
}

// The message of the exception of type E thrown by f (a test failure if none is thrown; any other
// exception type escapes and fails the test).
template <class E, class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception, none was thrown";
  return "";
}

void expect_contains(const std::string& message, const std::string& part) {
  EXPECT_NE(message.find(part), std::string::npos)
      << "message \"" << message << "\" should mention \"" << part << "\"";
}

// (n, k) @ (k, m) by the definition out[i][j] = sum_p a[i][p] * b[p][j], in double.
std::vector<float> naive_matmul(const std::vector<float>& a, const std::vector<float>& b,
                                std::int64_t n, std::int64_t k, std::int64_t m) {
  std::vector<float> out(static_cast<std::size_t>(n * m));
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < m; ++j) {
      double acc = 0.0;
      for (std::int64_t p = 0; p < k; ++p) acc += double(a[i * k + p]) * b[p * m + j];
      out[i * m + j] = static_cast<float>(acc);
    }
  }
  return out;
}

std::vector<float> iota(std::size_t n, float start = 0.0f) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

// The tensor a print case describes (built with from_vector, so only to_string is under test
// beyond creation).
Tensor make_case_tensor(const print_cases::Case& c) {
  const auto n = static_cast<std::size_t>(tt::shape_numel(c.shape));
  Tensor t = tt::from_vector(c.iota ? iota(n) : c.values, c.shape);
  if (c.transpose) t = t.transpose(-2, -1);
  if (c.requires_grad) t.requires_grad_(true);
  return t;
}

void expect_prints_like_pytorch(const std::string& name) {
  for (const auto& c : print_cases::all()) {
    if (name == c.name) {
      EXPECT_EQ(make_case_tensor(c).to_string(), std::string(c.expected)) << "case " << name;
      return;
    }
  }
  FAIL() << "no print case named " << name;
}

}  // namespace

// ---- shapes -------------------------------------------------------------------------------------

TEST(Shapes, ContiguousStridesAreProductsOfLaterSizes) {
  EXPECT_EQ(tt::contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}));  // 3*4, 4, 1
  EXPECT_EQ(tt::contiguous_strides({5}), (Shape{1}));
  EXPECT_EQ(tt::contiguous_strides({}), (Shape{}));
}

// A size-0 dimension counts as 1 in the strides (as in PyTorch: torch.empty(2, 0, 3).stride() is
// (3, 3, 1)), so the dimensions before it keep nonzero strides.
TEST(Shapes, ContiguousStridesCountASizeZeroDimensionAsOne) {
  EXPECT_EQ(tt::contiguous_strides({2, 0, 3}), (Shape{3, 3, 1}));
  EXPECT_EQ(tt::zeros({4, 0}).strides(), (Shape{1, 1}));
}

TEST(Shapes, ShapeNumelAndToString) {
  EXPECT_EQ(tt::shape_numel({2, 3, 4}), 24);
  EXPECT_EQ(tt::shape_numel({}), 1);  // the empty product
  EXPECT_EQ(tt::shape_numel({2, 0, 3}), 0);
  EXPECT_THROW((void)tt::shape_numel({2, -1}), std::invalid_argument);
  EXPECT_EQ(tt::shape_to_string({2, 3}), "[2, 3]");
  EXPECT_EQ(tt::shape_to_string({}), "[]");
}

TEST(Shapes, BroadcastShapesAlignsRight) {
  EXPECT_EQ(tt::broadcast_shapes({4, 1}, {1, 5}), (Shape{4, 5}));
  EXPECT_EQ(tt::broadcast_shapes({3}, {2, 3}), (Shape{2, 3}));
  EXPECT_EQ(tt::broadcast_shapes({}, {2, 3}), (Shape{2, 3}));
  EXPECT_EQ(tt::broadcast_shapes({2, 0}, {1}), (Shape{2, 0}));  // 1 stretches to 0
  EXPECT_THROW((void)tt::broadcast_shapes({2, 3}, {2}), std::invalid_argument);
}

// ---- creation -----------------------------------------------------------------------------------

TEST(Creation, ZerosHasShapeStridesAndZeros) {
  const Tensor t = tt::zeros({2, 3});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.strides(), (Shape{3, 1}));
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.dim(), 2);
  EXPECT_TRUE(t.is_contiguous());
  expect_tensor(t, {2, 3}, std::vector<float>(6, 0.0f));
}

TEST(Creation, OnesFullAndLikeFunctions) {
  expect_tensor(tt::ones({3}), {3}, {1, 1, 1});
  expect_tensor(tt::full({2, 2}, 2.5f), {2, 2}, {2.5f, 2.5f, 2.5f, 2.5f});
  const Tensor base = tt::full({2, 1}, 7.0f);
  expect_tensor(tt::zeros_like(base), {2, 1}, {0, 0});
  expect_tensor(tt::ones_like(base), {2, 1}, {1, 1});
  EXPECT_FALSE(tt::ones_like(base).shares_storage(base));
}

TEST(Creation, ArangeStopsBeforeEnd) {
  expect_tensor(tt::arange(5.0f), {5}, {0, 1, 2, 3, 4});
  // ceil((2 - 1) / 0.25) = 4 values: 1, 1.25, 1.5, 1.75 (2 itself is excluded).
  expect_tensor(tt::arange(1.0f, 2.0f, 0.25f), {4}, {1.0f, 1.25f, 1.5f, 1.75f});
  expect_tensor(tt::arange(3.0f, 3.0f), {0}, {});
}

TEST(Creation, ArangeNegativeStepCountsDown) {
  // ceil((0 - 5) / -2) = ceil(2.5) = 3 values: 5, 3, 1.
  expect_tensor(tt::arange(5.0f, 0.0f, -2.0f), {3}, {5, 3, 1});
}

// A positive step that does not divide the range: ceil((1 - 0) / 0.3) = ceil(3.33) = 4 values
// (0, 0.3, 0.6, 0.9), and ceil((2 - 0.5) / 0.4) = ceil(3.75) = 4 values (0.5, 0.9, 1.3, 1.7): the
// last, partial step still gives a value below end (torch.arange agrees).
TEST(Creation, ArangeWithAFractionalPositiveStepKeepsThePartialLastStep) {
  expect_tensor(tt::arange(0.0f, 1.0f, 0.3f), {4}, {0.0f, 0.3f, 0.6f, 0.9f});
  expect_tensor(tt::arange(0.5f, 2.0f, 0.4f), {4}, {0.5f, 0.9f, 1.3f, 1.7f});
}

TEST(Creation, ArangeStepZeroThrowsInvalidArgument) {
  EXPECT_THROW((void)tt::arange(0.0f, 1.0f, 0.0f), std::invalid_argument);
}

TEST(Creation, NestedListsGiveShapeAndRowMajorValues) {
  expect_tensor(tt::tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}}), {2, 3}, {1, 2, 3, 4, 5, 6});
  expect_tensor(tt::tensor({{{1.f}, {2.f}}}), {1, 2, 1}, {1, 2});
  const Tensor s = tt::tensor(5.0f);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item(), 5.0f);
}

TEST(Creation, RaggedNestedListsThrowInvalidArgument) {
  EXPECT_THROW((void)tt::tensor({{1.f, 2.f}, {3.f}}), std::invalid_argument);
  EXPECT_THROW((void)tt::tensor({{1.f, 2.f}, 3.f}), std::invalid_argument);
  EXPECT_THROW((void)tt::tensor({1.f, {2.f, 3.f}}), std::invalid_argument);
}

TEST(Creation, FromVectorChecksSize) {
  expect_tensor(tt::from_vector({1, 2, 3, 4, 5, 6}, {3, 2}), {3, 2}, {1, 2, 3, 4, 5, 6});
  const auto message = message_of<std::invalid_argument>([] {
    (void)tt::from_vector({1, 2, 3, 4, 5}, {2, 3});
  });
  expect_contains(message, "[2, 3]");
}

TEST(Creation, ScalarTensorIsZeroDim) {
  const Tensor s = tt::scalar_tensor(-1.5f);
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), -1.5f);
}

TEST(Random, RandDrawsUniformsInRowMajorOrder) {
  tt::Generator g(42), reference(42);
  const Tensor t = tt::rand({3, 4}, g);
  ASSERT_EQ(t.shape(), (Shape{3, 4}));
  const auto v = t.to_vector();
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], reference.uniform()) << "draw " << i;
}

TEST(Random, RandIsReproducibleWithTheDefaultGenerator) {
  tt::manual_seed(7);
  const auto first = tt::rand({5}).to_vector();
  tt::manual_seed(7);
  EXPECT_EQ(tt::rand({5}).to_vector(), first);
}

TEST(Random, RandMomentsMatchUniformZeroOne) {
  // U[0,1): mean 1/2, variance 1/12. With n = 100000 the standard error of the mean is
  // sqrt(1/12/n) ~ 0.0009 and of the variance ~ 0.0003: tolerances are > 5 standard errors.
  tt::Generator g(1);
  const auto v = tt::rand({100000}, g).to_vector();
  double sum = 0.0, sq = 0.0, lo = 1.0, hi = 0.0;
  for (float x : v)
    sum += x, sq += double(x) * x, lo = std::min<double>(lo, x), hi = std::max<double>(hi, x);
  const double mean = sum / v.size(), var = sq / v.size() - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.005);
  EXPECT_NEAR(var, 1.0 / 12.0, 0.002);
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
}

TEST(Random, RandnDrawsNormalsInOrderWithUnitMoments) {
  tt::Generator g(3), reference(3);
  const auto v = tt::randn({100000}, g).to_vector();
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(v[i], reference.normal()) << "draw " << i;
  // N(0, 1): standard error of the mean 1/sqrt(n) ~ 0.0032, of the variance sqrt(2/n) ~ 0.0045.
  double sum = 0.0, sq = 0.0;
  for (float x : v) sum += x, sq += double(x) * x;
  const double mean = sum / v.size(), var = sq / v.size() - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(var, 1.0, 0.03);
}

// ---- element access -----------------------------------------------------------------------------

TEST(Access, AtReadsAndWritesByRowMajorIndex) {
  Tensor t = tt::arange(6.0f).reshape({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  EXPECT_EQ(t.at({1, 2}), 5.0f);                // 1*3 + 2
  t.at({0, 1}) = 10.0f;
  EXPECT_EQ(t.to_vector()[1], 10.0f);
}

TEST(Access, NegativeIndicesCountFromTheEnd) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});
  EXPECT_EQ(t.at({-1, -1}), 5.0f);
  EXPECT_EQ(t.at({-2, 0}), 0.0f);
  EXPECT_EQ(t.at({1, -3}), 3.0f);
}

TEST(Access, OutOfRangeIndexThrowsNamingIndexAndShape) {
  const Tensor t = tt::zeros({2, 3});
  const auto message = message_of<std::out_of_range>([&] { (void)t.at({0, 7}); });
  expect_contains(message, "7");
  expect_contains(message, "[2, 3]");
  EXPECT_THROW((void)t.at({-3, 0}), std::out_of_range);
  EXPECT_THROW((void)t.at({0}), std::out_of_range);  // one index for two dims
}

TEST(Access, SizeAcceptsNegativeDimsAndChecksRange) {
  const Tensor t = tt::zeros({2, 3, 4});
  EXPECT_EQ(t.size(0), 2);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.size(-3), 2);
  EXPECT_THROW((void)t.size(3), std::out_of_range);
  EXPECT_THROW((void)t.size(-4), std::out_of_range);
}

TEST(Access, ItemNeedsExactlyOneElement) {
  EXPECT_EQ(tt::full({1, 1}, 2.5f).item(), 2.5f);
  EXPECT_THROW((void)tt::ones({2}).item(), std::invalid_argument);
  EXPECT_THROW((void)tt::zeros({0}).item(), std::invalid_argument);
}

// The contract's layout is storage[offset + sum_d i_d * strides[d]]: a view that starts inside its
// storage (built here from a TensorImpl, as a framework op may) is read from its offset.
TEST(Access, ItemAtAndToVectorStartAtTheViewsOffset) {
  auto storage = std::make_shared<tt::Storage>();
  storage->data = {0, 1, 2, 3, 4, 5};
  auto single = std::make_shared<tt::TensorImpl>();
  single->storage = storage;
  single->offset = 4;  // shape {}, strides {}: the element storage[4]
  EXPECT_EQ(Tensor(single).item(), 4.0f);
  auto pair = std::make_shared<tt::TensorImpl>();
  pair->storage = storage;
  pair->shape = {2};
  pair->strides = {2};
  pair->offset = 1;  // storage[1], storage[3]
  const Tensor t(pair);
  EXPECT_EQ(t.at({1}), 3.0f);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{1, 3}));
}

TEST(Access, ToVectorFollowsTheStridesOfAView) {
  // [[0, 1, 2], [3, 4, 5]] transposed is [[0, 3], [1, 4], [2, 5]].
  const Tensor t = tt::arange(6.0f).reshape({2, 3}).transpose(0, 1);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

// ---- elementwise arithmetic
// -----------------------------------------------------------------------

TEST(Arithmetic, SameShapeAddSubMulDiv) {
  const Tensor a = tt::tensor({1.f, 2.f, 3.f});
  const Tensor b = tt::tensor({4.f, 8.f, 16.f});
  expect_tensor(a + b, {3}, {5, 10, 19});
  expect_tensor(a - b, {3}, {-3, -6, -13});
  expect_tensor(a * b, {3}, {4, 16, 48});
  expect_tensor(b / a, {3}, {4, 4, 16.0f / 3.0f});
}

TEST(Arithmetic, RowVectorBroadcastsAcrossRows) {
  // [[0, 1, 2], [3, 4, 5]] + [10, 20, 30]: each row gets the vector added.
  const Tensor m = tt::arange(6.0f).reshape({2, 3});
  expect_tensor(m + tt::tensor({10.f, 20.f, 30.f}), {2, 3}, {10, 21, 32, 13, 24, 35});
  // ... and divided: [0/1, 1/2, 2/4, 3/1, 4/2, 5/4].
  expect_tensor(m / tt::tensor({1.f, 2.f, 4.f}), {2, 3}, {0, 0.5f, 0.5f, 3, 2, 1.25f});
}

TEST(Arithmetic, ColumnTimesRowIsAnOuterProduct) {
  // (2, 1) * (1, 3) -> (2, 3) with out[i][j] = a[i] * b[j].
  const Tensor a = tt::tensor({{2.f}, {3.f}});
  const Tensor b = tt::tensor({{1.f, 10.f, 100.f}});
  expect_tensor(a * b, {2, 3}, {2, 20, 200, 3, 30, 300});
  // (2, 3) - (2, 1) subtracts a per-row value: [[0-2, 1-2, 2-2], [3-3, 4-3, 5-3]].
  expect_tensor(tt::arange(6.0f).reshape({2, 3}) - a, {2, 3}, {-2, -1, 0, 0, 1, 2});
}

TEST(Arithmetic, ScalarsOnEitherSide) {
  const Tensor t = tt::tensor({1.f, 2.f, 4.f});
  expect_tensor(t + 1.0f, {3}, {2, 3, 5});
  expect_tensor(1.0f + t, {3}, {2, 3, 5});
  expect_tensor(t - 1.0f, {3}, {0, 1, 3});
  expect_tensor(1.0f - t, {3}, {0, -1, -3});  // order matters
  expect_tensor(t * 2.0f, {3}, {2, 4, 8});
  expect_tensor(2.0f * t, {3}, {2, 4, 8});
  expect_tensor(t / 2.0f, {3}, {0.5f, 1, 2});
  expect_tensor(2.0f / t, {3}, {2, 1, 0.5f});
  expect_tensor(-t, {3}, {-1, -2, -4});
}

TEST(Arithmetic, BroadcastErrorNamesBothShapes) {
  const auto message = message_of<std::invalid_argument>([] {
    (void)(tt::zeros({2, 3}) + tt::zeros({4}));
  });
  expect_contains(message, "[2, 3]");
  expect_contains(message, "[4]");
  EXPECT_THROW((void)(tt::zeros({2, 3}) * tt::zeros({3, 2})), std::invalid_argument);
}

TEST(Arithmetic, NonContiguousViewsAsOperands) {
  // a^T = [[0, 3], [1, 4], [2, 5]]; a^T + [[1, 1], [2, 2], [3, 3]].
  const Tensor at = tt::arange(6.0f).reshape({2, 3}).transpose(0, 1);
  const Tensor b = tt::tensor({{1.f, 1.f}, {2.f, 2.f}, {3.f, 3.f}});
  expect_tensor(at + b, {3, 2}, {1, 4, 3, 6, 5, 8});
  // A view broadcast against a view: a^T (3, 2) * row [10, 100] (a transposed (2, 1) column).
  const Tensor row = tt::tensor({{10.f}, {100.f}}).transpose(0, 1);
  expect_tensor(at * row, {3, 2}, {0, 300, 10, 400, 20, 500});
}

TEST(Arithmetic, LargeStridedBroadcastMatchesLoops) {
  // (64, 33) transposed view + a (33, 1) column, checked against the definition with loops.
  const std::int64_t r = 64, c = 33;
  const auto av = iota(r * c, -500.0f), bv = iota(c, 3.0f);
  const Tensor a = tt::from_vector(av, {r, c}).transpose(0, 1);  // (c, r)
  const Tensor b = tt::from_vector(bv, {c, 1});
  const auto out = (a * b).to_vector();
  ASSERT_EQ(out.size(), static_cast<std::size_t>(r * c));
  for (std::int64_t i = 0; i < c; ++i) {
    for (std::int64_t j = 0; j < r; ++j) EXPECT_EQ(out[i * r + j], av[j * c + i] * bv[i]);
  }
}

TEST(Arithmetic, ZeroDimOperands) {
  const Tensor p = tt::scalar_tensor(2.0f) * tt::scalar_tensor(3.0f);
  EXPECT_EQ(p.dim(), 0);
  EXPECT_EQ(p.item(), 6.0f);
  expect_tensor(tt::scalar_tensor(1.0f) + tt::ones({2, 2}), {2, 2}, {2, 2, 2, 2});
}

TEST(Arithmetic, EmptyDimensionsGiveEmptyResults) {
  const Tensor r = tt::zeros({0, 3}) + tt::ones({3});
  EXPECT_EQ(r.shape(), (Shape{0, 3}));
  EXPECT_EQ(r.numel(), 0);
}

// ---- matmul -------------------------------------------------------------------------------------

TEST(Matmul, TwoByTwo) {
  // [[1, 2], [3, 4]] @ [[5, 6], [7, 8]] = [[1*5+2*7, 1*6+2*8], [3*5+4*7, 3*6+4*8]].
  const Tensor a = tt::tensor({{1.f, 2.f}, {3.f, 4.f}});
  const Tensor b = tt::tensor({{5.f, 6.f}, {7.f, 8.f}});
  expect_tensor(a.matmul(b), {2, 2}, {19, 22, 43, 50});
  expect_tensor(tt::matmul(a, b), {2, 2}, {19, 22, 43, 50});
}

TEST(Matmul, RectangularMatchesTheDefinition) {
  const auto av = iota(2 * 3, 1.0f), bv = iota(3 * 4, -5.0f);
  const Tensor out = tt::from_vector(av, {2, 3}).matmul(tt::from_vector(bv, {3, 4}));
  expect_tensor(out, {2, 4}, naive_matmul(av, bv, 2, 3, 4));
}

TEST(Matmul, BatchedMultipliesEachPair) {
  // (2, 2, 3) @ (2, 3, 2): batch i is a[i] @ b[i].
  const auto av = iota(12, 1.0f), bv = iota(12, -6.0f);
  const Tensor out = tt::from_vector(av, {2, 2, 3}).matmul(tt::from_vector(bv, {2, 3, 2}));
  auto expected = naive_matmul({av.begin(), av.begin() + 6}, {bv.begin(), bv.begin() + 6}, 2, 3, 2);
  const auto second = naive_matmul({av.begin() + 6, av.end()}, {bv.begin() + 6, bv.end()}, 2, 3, 2);
  expected.insert(expected.end(), second.begin(), second.end());
  expect_tensor(out, {2, 2, 2}, expected);
}

TEST(Matmul, BatchDimensionsBroadcast) {
  // (4, 2, 3) @ (3, 5): the one matrix b multiplies every a[i].
  const auto av = iota(24, -7.0f), bv = iota(15, 1.0f);
  const Tensor out = tt::from_vector(av, {4, 2, 3}).matmul(tt::from_vector(bv, {3, 5}));
  // All four batches stacked are one (8, 3) @ (3, 5) product.
  expect_tensor(out, {4, 2, 5}, naive_matmul(av, bv, 8, 3, 5));

  // (2, 1, 2, 3) @ (3, 3, 2) -> batch (2, 3): entry (i, j) is a[i, 0] @ b[j].
  const auto cv = iota(12, 1.0f), dv = iota(18, -9.0f);
  const Tensor out2 = tt::from_vector(cv, {2, 1, 2, 3}).matmul(tt::from_vector(dv, {3, 3, 2}));
  std::vector<float> expected2;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      const auto block = naive_matmul({cv.begin() + 6 * i, cv.begin() + 6 * i + 6},
                                      {dv.begin() + 6 * j, dv.begin() + 6 * j + 6}, 2, 3, 2);
      expected2.insert(expected2.end(), block.begin(), block.end());
    }
  }
  expect_tensor(out2, {2, 3, 2, 2}, expected2);
}

TEST(Matmul, TransposedViewOperands) {
  // x is (3, 2); x^T (2, 3) is a non-contiguous view. x^T @ y must equal (its copy) @ y.
  const auto xv = iota(6, 1.0f), yv = iota(6, -2.0f);
  const Tensor x = tt::from_vector(xv, {3, 2});
  const Tensor y = tt::from_vector(yv, {3, 2});
  const std::vector<float> xt = {xv[0], xv[2], xv[4], xv[1], xv[3], xv[5]};  // x^T row-major
  expect_tensor(x.transpose(0, 1).matmul(y), {2, 2}, naive_matmul(xt, yv, 2, 3, 2));
  // x @ y^T: (3, 2) @ (2, 3).
  const std::vector<float> yt = {yv[0], yv[2], yv[4], yv[1], yv[3], yv[5]};
  expect_tensor(x.matmul(y.transpose(0, 1)), {3, 3}, naive_matmul(xv, yt, 3, 2, 3));
}

TEST(Matmul, GenerallyStridedViewOperand) {
  // z (2, 3, 4) transposed (0, 2) is (4, 3, 2) with strides (1, 4, 12): neither of its last two
  // dims has stride 1. Batch b of the view, element (i, j), is z[j][i][b].
  const auto zv = iota(24, -10.0f);
  const Tensor v = tt::from_vector(zv, {2, 3, 4}).transpose(0, 2);
  const auto wv = iota(6, 1.0f);
  const Tensor out = v.matmul(tt::from_vector(wv, {2, 3}));  // (4, 3, 2) @ (2, 3)
  std::vector<float> expected;
  for (int b = 0; b < 4; ++b) {
    std::vector<float> vb;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 2; ++j) vb.push_back(zv[j * 12 + i * 4 + b]);
    }
    const auto block = naive_matmul(vb, wv, 3, 2, 3);
    expected.insert(expected.end(), block.begin(), block.end());
  }
  expect_tensor(out, {4, 3, 3}, expected);
}

TEST(Matmul, LargeProductMatchesTheDefinition) {
  tt::Generator g(5);
  const Tensor a = tt::randn({37, 129}, g), b = tt::randn({129, 61}, g);
  const auto expected = naive_matmul(a.to_vector(), b.to_vector(), 37, 129, 61);
  const auto got = a.matmul(b).to_vector();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-3f) << i;
}

TEST(Matmul, InnerDimensionMismatchNamesBothShapes) {
  const auto message = message_of<std::invalid_argument>([] {
    (void)tt::zeros({2, 3}).matmul(tt::zeros({4, 5}));
  });
  expect_contains(message, "[2, 3]");
  expect_contains(message, "[4, 5]");
  EXPECT_THROW((void)tt::zeros({3}).matmul(tt::zeros({3, 2})), std::invalid_argument);
  EXPECT_THROW((void)tt::zeros({2, 2, 3}).matmul(tt::zeros({3, 3, 2})), std::invalid_argument);
}

TEST(Matmul, EmptyInnerDimensionGivesZeros) {
  // Each entry is a sum over k = 0 terms: 0.
  expect_tensor(tt::ones({2, 0}).matmul(tt::ones({0, 3})), {2, 3}, std::vector<float>(6, 0.0f));
  EXPECT_EQ(tt::ones({0, 4}).matmul(tt::ones({4, 3})).shape(), (Shape{0, 3}));
}

// ---- views --------------------------------------------------------------------------------------

TEST(Views, ReshapeInfersMinusOneAndSharesStorage) {
  const Tensor t = tt::arange(12.0f);
  const Tensor r = t.reshape({3, -1});  // 12 / 3 = 4
  EXPECT_EQ(r.shape(), (Shape{3, 4}));
  EXPECT_TRUE(r.shares_storage(t));
  EXPECT_EQ(t.reshape({-1, 2, 3}).shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(tt::scalar_tensor(1.0f).reshape({-1}).shape(), (Shape{1}));
}

TEST(Views, BadShapeThrowsNamingShapeAndCount) {
  const Tensor t = tt::arange(5.0f);
  const auto message = message_of<std::invalid_argument>([&] { (void)t.view({2, 3}); });
  expect_contains(message, "[2, 3]");
  expect_contains(message, "5");
  EXPECT_THROW((void)tt::arange(12.0f).reshape({5, -1}), std::invalid_argument);
  EXPECT_THROW((void)tt::arange(12.0f).reshape({-1, -1}), std::invalid_argument);
}

TEST(Views, ViewNeedsContiguityReshapeCopies) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});
  const Tensor tt_ = t.transpose(0, 1);
  EXPECT_THROW((void)tt_.view({6}), std::invalid_argument);
  const Tensor r = tt_.reshape({6});  // a copy in the transposed order
  EXPECT_FALSE(r.shares_storage(t));
  expect_tensor(r, {6}, {0, 3, 1, 4, 2, 5});
}

TEST(Views, TransposeSwapsStridesAndWritesThrough) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});
  const Tensor v = t.transpose(0, 1);
  EXPECT_EQ(v.shape(), (Shape{3, 2}));
  EXPECT_EQ(v.strides(), (Shape{1, 3}));
  EXPECT_FALSE(v.is_contiguous());
  EXPECT_TRUE(v.shares_storage(t));
  v.at({2, 0}) = 100.0f;  // element (0, 2) of t
  EXPECT_EQ(t.at({0, 2}), 100.0f);
  EXPECT_EQ(t.transpose(-1, -2).shape(), (Shape{3, 2}));
}

TEST(Views, PermuteReordersDimensions) {
  const Tensor t = tt::arange(24.0f).reshape({2, 3, 4});
  const Tensor p = t.permute({2, 0, 1});  // p[k][i][j] = t[i][j][k]
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
  EXPECT_EQ(p.at({3, 1, 2}), t.at({1, 2, 3}));  // 1*12 + 2*4 + 3 = 23
  p.at({0, 0, 1}) = -1.0f;
  EXPECT_EQ(t.at({0, 1, 0}), -1.0f);
  EXPECT_THROW((void)t.permute({0, 0, 1}), std::invalid_argument);
  EXPECT_THROW((void)t.permute({0, 1}), std::invalid_argument);
  EXPECT_THROW((void)t.permute({0, 1, 3}), std::out_of_range);
}

TEST(Views, UnsqueezeAndSqueezeShareStorage) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});
  EXPECT_EQ(t.unsqueeze(0).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(t.unsqueeze(1).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(t.unsqueeze(-1).shape(), (Shape{2, 3, 1}));
  EXPECT_TRUE(t.unsqueeze(1).is_contiguous());
  const Tensor u = t.unsqueeze(0);
  const Tensor s = u.squeeze(0);
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.squeeze(1).shape(), (Shape{2, 3}));  // size 3: no-op
  s.at({1, 1}) = 42.0f;
  EXPECT_EQ(t.at({1, 1}), 42.0f);
  EXPECT_TRUE(u.shares_storage(t));
  EXPECT_THROW((void)t.unsqueeze(3), std::out_of_range);
}

TEST(Views, FlattenSharesStorageOfContiguousTensor) {
  const Tensor t = tt::arange(24.0f).reshape({2, 3, 4});
  const Tensor f = t.flatten();
  EXPECT_EQ(f.shape(), (Shape{24}));
  EXPECT_EQ(t.flatten(1).shape(), (Shape{2, 12}));
  EXPECT_EQ(t.flatten(0, 1).shape(), (Shape{6, 4}));
  f.at({23}) = -5.0f;
  EXPECT_EQ(t.at({1, 2, 3}), -5.0f);
}

TEST(Views, ContiguousAndCloneNeverShareWithAView) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});
  const Tensor c = t.transpose(0, 1).contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage(t));
  expect_tensor(c, {3, 2}, {0, 3, 1, 4, 2, 5});
  Tensor k = t.clone();
  EXPECT_FALSE(k.shares_storage(t));
  k.at({0, 0}) = 9.0f;
  EXPECT_EQ(t.at({0, 0}), 0.0f);
  EXPECT_TRUE(t.contiguous().shares_storage(t));  // already contiguous: no copy
}

TEST(Views, SizeOneDimensionsDoNotBreakContiguity) {
  // (3, 1) transposed is (1, 3) with strides (1, 1): the size-1 dim's stride never matters.
  EXPECT_TRUE(tt::zeros({3, 1}).transpose(0, 1).is_contiguous());
  EXPECT_FALSE(tt::zeros({2, 3}).transpose(0, 1).is_contiguous());
}

TEST(Views, DetachSharesStorageWithoutGradFlag) {
  Tensor t = tt::ones({2});
  t.requires_grad_(true);
  const Tensor d = t.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.shares_storage(t));
  d.at({0}) = 3.0f;
  EXPECT_EQ(t.at({0}), 3.0f);
}

// ---- reductions ---------------------------------------------------------------------------------

TEST(Reductions, SumOverAllAndAlongEachDim) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});  // [[0, 1, 2], [3, 4, 5]]
  const Tensor all = t.sum();
  EXPECT_EQ(all.dim(), 0);
  EXPECT_EQ(all.item(), 15.0f);             // 0 + 1 + ... + 5
  expect_tensor(t.sum(0), {3}, {3, 5, 7});  // column sums
  expect_tensor(t.sum(1), {2}, {3, 12});    // row sums
  expect_tensor(t.sum(-1), {2}, {3, 12});   // -1 is dim 1
  expect_tensor(t.sum(-2), {3}, {3, 5, 7});
}

TEST(Reductions, KeepdimKeepsASizeOneDimension) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});
  expect_tensor(t.sum(1, true), {2, 1}, {3, 12});
  expect_tensor(t.sum(0, true), {1, 3}, {3, 5, 7});
  // keepdim makes the result broadcast back: row means are 1 and 4.
  expect_tensor(t - t.mean(1, true), {2, 3}, {-1, 0, 1, -1, 0, 1});
}

TEST(Reductions, MeanOverAllAndAlongDims) {
  const Tensor t = tt::arange(6.0f).reshape({2, 3});
  EXPECT_FLOAT_EQ(t.mean().item(), 2.5f);             // 15 / 6
  expect_tensor(t.mean(0), {3}, {1.5f, 2.5f, 3.5f});  // column sums / 2
  expect_tensor(t.mean(-1), {2}, {1.0f, 4.0f});       // row sums / 3
}

TEST(Reductions, MaxOverAllAndAlongDims) {
  const Tensor t = tt::tensor({{1.f, -5.f, 3.f}, {4.f, 2.f, -6.f}});
  EXPECT_EQ(t.max().item(), 4.0f);
  EXPECT_EQ(t.max().dim(), 0);
  expect_tensor(t.max(0), {3}, {4, 2, 3});
  expect_tensor(t.max(1), {2}, {3, 4});
  expect_tensor(t.max(-1, true), {2, 1}, {3, 4});
  expect_tensor(tt::full({3}, -2.0f).max(0), {}, {-2});
}

TEST(Reductions, WorkOnNonContiguousViews) {
  const Tensor v = tt::arange(6.0f).reshape({2, 3}).transpose(0, 1);  // [[0, 3], [1, 4], [2, 5]]
  expect_tensor(v.sum(0), {2}, {3, 12});
  expect_tensor(v.max(1), {3}, {3, 4, 5});
  EXPECT_EQ(v.sum().item(), 15.0f);
  // The middle dim of a permuted 3-d tensor: p = t.permute(1, 0, 2), p.sum(1) = t.sum(0).
  const Tensor t = tt::arange(24.0f).reshape({2, 3, 4});
  EXPECT_EQ(t.permute({1, 0, 2}).sum(1).to_vector(), t.sum(0).to_vector());
}

TEST(Reductions, SumAlongDimsMatchesLoopsOnALargeTensor) {
  tt::Generator g(11);
  const Tensor t = tt::rand({17, 300}, g);
  const auto v = t.to_vector();
  std::vector<float> rows(17, 0.0f), cols(300, 0.0f);
  std::vector<double> racc(17, 0.0), cacc(300, 0.0);
  for (int i = 0; i < 17; ++i) {
    for (int j = 0; j < 300; ++j) racc[i] += v[i * 300 + j], cacc[j] += v[i * 300 + j];
  }
  for (int i = 0; i < 17; ++i) rows[i] = static_cast<float>(racc[i]);
  for (int j = 0; j < 300; ++j) cols[j] = static_cast<float>(cacc[j]);
  EXPECT_TRUE(tt::allclose(t.sum(1), tt::from_vector(rows, {17}), 1e-5f, 1e-5f));
  EXPECT_TRUE(tt::allclose(t.sum(0), tt::from_vector(cols, {300}), 1e-5f, 1e-5f));
}

TEST(Reductions, EmptyDimensions) {
  expect_tensor(tt::zeros({0, 3}).sum(0), {3}, {0, 0, 0});  // sum of nothing is 0
  EXPECT_EQ(tt::zeros({0, 3}).sum(1).shape(), (Shape{0}));
  EXPECT_EQ(tt::zeros({0}).sum().item(), 0.0f);
  EXPECT_THROW((void)tt::zeros({0}).max(), std::invalid_argument);
  EXPECT_THROW((void)tt::zeros({0, 3}).max(0), std::invalid_argument);
  EXPECT_EQ(tt::zeros({0, 3}).max(1).shape(), (Shape{0}));  // nothing to reduce: no error
}

TEST(Reductions, ZeroDimTensor) {
  const Tensor s = tt::scalar_tensor(4.0f);
  EXPECT_EQ(s.sum().item(), 4.0f);
  EXPECT_EQ(s.mean().item(), 4.0f);
  EXPECT_EQ(s.max().item(), 4.0f);
  EXPECT_EQ(s.sum(0).dim(), 0);  // as in PyTorch, dim 0 of a 0-d tensor names the tensor
}

TEST(Reductions, BadDimThrowsOutOfRange) {
  const Tensor t = tt::zeros({2, 3});
  EXPECT_THROW((void)t.sum(2), std::out_of_range);
  EXPECT_THROW((void)t.mean(-3), std::out_of_range);
  EXPECT_THROW((void)t.max(5), std::out_of_range);
}

TEST(Reductions, ArgmaxTakesTheFirstOfTies) {
  const Tensor t = tt::tensor({{1.f, 3.f, 3.f}, {5.f, 0.f, 5.f}});
  expect_tensor(t.argmax(1), {2}, {1, 0});     // row 0: 3 at 1 and 2 -> 1; row 1: 5 at 0 and 2
  expect_tensor(t.argmax(0), {3}, {1, 0, 1});  // columns: 1 < 5, 3 > 0, 3 < 5
  expect_tensor(t.argmax(-1, true), {2, 1}, {1, 0});
  EXPECT_THROW((void)tt::zeros({2, 0}).argmax(1), std::invalid_argument);
}

// Ties along a middle dimension: (1, 3, 2) holds column 0 = (1, 4, 4) and column 1 = (5, 5, 2), so
// argmax(1) is (1, 0), the first of each tie; a constant tensor's argmax is 0 along every dim.
TEST(Reductions, ArgmaxAlongAMiddleDimensionTakesTheFirstOfTies) {
  const Tensor t = tt::tensor({{{1.f, 5.f}, {4.f, 5.f}, {4.f, 2.f}}});
  expect_tensor(t.argmax(1), {1, 2}, {1, 0});
  expect_tensor(tt::full({2, 3, 4}, 7.0f).argmax(1), {2, 4}, std::vector<float>(8, 0.0f));
  expect_tensor(tt::full({2, 3, 4}, 7.0f).argmax(2), {2, 3}, std::vector<float>(6, 0.0f));
}

// ---- allclose -----------------------------------------------------------------------------------

TEST(Allclose, ToleranceShapeAndNaN) {
  const Tensor a = tt::ones({3});
  EXPECT_TRUE(tt::allclose(a, a + 1e-6f));  // |diff| 1e-6 <= 1e-8 + 1e-5 * 1
  EXPECT_FALSE(tt::allclose(a, a + 1e-3f));
  EXPECT_TRUE(tt::allclose(a, a + 1e-3f, 1e-2f));
  EXPECT_FALSE(tt::allclose(a, tt::ones({1, 3})));  // shapes differ
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(tt::allclose(tt::full({1}, nan), tt::full({1}, nan)));
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(tt::allclose(tt::full({1}, inf), tt::full({1}, inf)));
  EXPECT_TRUE(tt::allclose(a.unsqueeze(0).transpose(0, 1), tt::ones({3, 1})));  // views compare
}

// ---- in place -----------------------------------------------------------------------------------

TEST(InPlace, FillAndZeroWriteThroughViews) {
  Tensor t = tt::zeros({2, 3});
  Tensor v = t.transpose(0, 1);
  Tensor& same = v.fill_(2.0f);
  EXPECT_EQ(&same, &v);  // returns *this for chaining
  expect_tensor(t, {2, 3}, std::vector<float>(6, 2.0f));
  t.zero_();
  expect_tensor(v, {3, 2}, std::vector<float>(6, 0.0f));
}

TEST(InPlace, CopyBroadcastsTheSourceIntoAView) {
  Tensor t = tt::zeros({2, 3});
  t.transpose(0, 1).copy_(tt::tensor({1.f, 2.f}));  // every row of t^T becomes [1, 2]
  expect_tensor(t, {2, 3}, {1, 1, 1, 2, 2, 2});
  EXPECT_THROW(t.copy_(tt::zeros({3, 2})), std::invalid_argument);
}

// copy_ from a view of the destination itself reads the source as it was before the copy: t =
// [[1, 2], [3, 4]] takes its own transpose and becomes [[1, 3], [2, 4]] (writing t[0][1] = 3 first
// and then reading it back for t[1][0] would give [[1, 3], [3, 4]]). add_ likewise.
TEST(InPlace, CopyAndAddFromAViewOfTheDestinationReadTheOldValues) {
  Tensor t = tt::tensor({{1.f, 2.f}, {3.f, 4.f}});
  t.copy_(t.transpose(0, 1));
  expect_tensor(t, {2, 2}, {1, 3, 2, 4});
  Tensor u = tt::tensor({{1.f, 2.f}, {3.f, 4.f}});
  u.add_(u.transpose(0, 1));
  expect_tensor(u, {2, 2}, {2, 5, 5, 8});
}

TEST(InPlace, AddScaledAndMul) {
  Tensor w = tt::ones({3});
  w.add_(tt::tensor({1.f, 2.f, 3.f}), -0.5f);  // 1 - 0.5 * [1, 2, 3]
  expect_tensor(w, {3}, {0.5f, 0.0f, -0.5f});
  w.mul_(2.0f);
  expect_tensor(w, {3}, {1.0f, 0.0f, -1.0f});
  Tensor m = tt::zeros({2, 2});
  m.add_(tt::tensor({10.f, 20.f}));  // broadcast over rows, alpha = 1
  expect_tensor(m, {2, 2}, {10, 20, 10, 20});
  m.transpose(0, 1).mul_(0.5f);
  expect_tensor(m, {2, 2}, {5, 10, 5, 10});
}

// ---- printing (expected strings: PyTorch's, see print_cases.hpp)
// ----------------------------------

TEST(Printing, IntegerMatrix) {
  expect_prints_like_pytorch("matrix_of_integers");
}

TEST(Printing, IntegersRightAlignedToTheWidest) {
  expect_prints_like_pytorch("integers_right_aligned");
}

TEST(Printing, DecimalsUseFourPlaces) {
  expect_prints_like_pytorch("vector_with_decimals");
  expect_prints_like_pytorch("negative_decimals_aligned");
}

TEST(Printing, ZeroDimTensors) {
  expect_prints_like_pytorch("zero_dim");
  expect_prints_like_pytorch("zero_dim_decimal");
}

TEST(Printing, EmptyTensors) {
  expect_prints_like_pytorch("empty_vector");
  expect_prints_like_pytorch("empty_matrix_shows_size");
}

TEST(Printing, ScientificForLargeTinyAndWideRanges) {
  expect_prints_like_pytorch("large_uses_scientific");
  expect_prints_like_pytorch("tiny_uses_scientific");
  expect_prints_like_pytorch("ratio_over_1000_uses_scientific");
}

TEST(Printing, NaNAndInfinity) {
  expect_prints_like_pytorch("nan_and_inf");
}

TEST(Printing, RequiresGradSuffix) {
  expect_prints_like_pytorch("requires_grad_suffix");
}

TEST(Printing, ThreeDimsSeparatedByABlankLine) {
  expect_prints_like_pytorch("three_dims_blank_line");
}

TEST(Printing, LongRowsWrapAtEightyColumns) {
  expect_prints_like_pytorch("long_row_wraps");
}

TEST(Printing, NonContiguousViewPrintsItsOwnOrder) {
  expect_prints_like_pytorch("transposed_view");
}

TEST(Printing, SummarisesAboveAThousandElements) {
  expect_prints_like_pytorch("summarised_vector");
  expect_prints_like_pytorch("summarised_matrix");
}

// PyTorch summarises when numel > threshold (1000): exactly 1000 elements print in full, 1001 are
// cut to their first and last three around "...".
TEST(Printing, AThousandElementsPrintInFullAndOneMoreIsSummarised) {
  const std::string full = tt::arange(1000.0f).to_string();
  EXPECT_EQ(full.find("..."), std::string::npos);
  EXPECT_NE(full.find(" 999.])"), std::string::npos);
  // print(torch.arange(1001.)): values right-aligned to the widest, "1000.".
  EXPECT_EQ(tt::arange(1001.0f).to_string(),
            "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])");
}

// The contract: sums accumulate in double. A million copies of 0.1f (= 0.100000001490116...) sum
// to 100000.0015, which is 100000 in float; a float running sum drifts to about 100958 (each add
// rounds to float's spacing, 2^-7 and more once past 2^16). Along the last dim, the middle one, and
// over everything.
TEST(Reductions, SumsOfAMillionValuesAccumulateInDouble) {
  const Tensor rows = tt::full({2, 1000000}, 0.1f);
  expect_tensor(rows.sum(1), {2}, {100000.0f, 100000.0f});
  expect_tensor(tt::full({1, 1000000, 2}, 0.1f).sum(1), {1, 2}, {100000.0f, 100000.0f});
  EXPECT_FLOAT_EQ(tt::full({1000000}, 0.1f).sum().item(), 100000.0f);
  EXPECT_NEAR(rows.mean(1).to_vector()[0], 0.1f, 1e-8f);
}

// The maximum of an all-negative row is negative: the running maximum starts at the first element.
TEST(Reductions, MaxOfNegativeValuesIsNegative) {
  const Tensor t = tt::tensor({{-3.f, -1.f, -2.f}, {-5.f, -6.f, -4.f}});
  expect_tensor(t.max(1), {2}, {-1, -4});
  expect_tensor(t.argmax(1), {2}, {1, 2});
  EXPECT_EQ(t.max().item(), -1.0f);
}

TEST(Printing, StreamOperatorWritesToString) {
  const Tensor t = tt::tensor({{1.f, 2.f}, {3.f, 4.f}});
  std::ostringstream out;
  out << t;
  EXPECT_EQ(out.str(), t.to_string());
  EXPECT_EQ(out.str(), "tensor([[1., 2.],\n        [3., 4.]])");
}

// ---- autograd flag
// --------------------------------------------------------------------------------

TEST(RequiresGrad, FlagIsSharedByCopiesOfTheHandle) {
  Tensor t = tt::zeros({2});
  EXPECT_FALSE(t.requires_grad());
  const Tensor copy = t;  // a handle copy: same TensorImpl
  t.requires_grad_(true);
  EXPECT_TRUE(copy.requires_grad());
  EXPECT_TRUE(copy.is_leaf());
  EXPECT_FALSE(t.clone().shares_storage(copy));
}
