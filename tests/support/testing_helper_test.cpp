// The visible tests' comparison helper (core/include/tinytorch/testing.hpp) as a student meets it:
// one failure per check, reported at the line of the test that called it, values shown compactly.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <string>

#include "tinytorch/tensor.hpp"
#include "tinytorch/testing.hpp"

namespace tt = tinytorch;

namespace {

/// Runs `check`, capturing the failures it reports into `results` instead of failing this test.
void capture(void (*check)(int& line), ::testing::TestPartResultArray& results) {
  const ::testing::ScopedFakeTestPartResultReporter reporter(
      ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
  int line = 0;
  check(line);
}

int last_line = 0;

void three_wrong_values(int& line) {
  // clang-format off
  line = __LINE__; tt::testing::expect_tensor(tt::arange(6.0f).reshape({2, 3}), {2, 3}, {0, 1, 2, 4, 5, 6});
  // clang-format on
  last_line = line;
}

void wrong_shape(int& line) {
  // clang-format off
  line = __LINE__; tt::testing::expect_tensor(tt::zeros({3, 2}), {2, 3}, {0, 0, 0, 0, 0, 0});
  // clang-format on
  last_line = line;
}

TEST(TestingHelper, ManyWrongValuesAreOneFailure) {
  ::testing::TestPartResultArray results;
  capture(three_wrong_values, results);
  ASSERT_EQ(results.size(), 1) << "one failure per check, not one per wrong element";
  const std::string message = results.GetTestPartResult(0).message();
  EXPECT_NE(message.find("values differ at 3 of 6 positions"), std::string::npos) << message;
  EXPECT_NE(message.find("the first at index [1, 0]: got 3, expected 4"), std::string::npos)
      << message;
  EXPECT_NE(message.find("got      {0, 1, 2, 3, 4, 5}"), std::string::npos) << message;
  EXPECT_NE(message.find("expected {0, 1, 2, 4, 5, 6}"), std::string::npos) << message;
}

TEST(TestingHelper, TheFailureIsAtTheTestsLineNotTheHelpers) {
  ::testing::TestPartResultArray results;
  capture(three_wrong_values, results);
  ASSERT_EQ(results.size(), 1);
  EXPECT_EQ(results.GetTestPartResult(0).line_number(), last_line);
  EXPECT_EQ(std::string(results.GetTestPartResult(0).file_name()), std::string(__FILE__));
}

TEST(TestingHelper, AWrongShapeIsOneFailureNamingBothShapes) {
  ::testing::TestPartResultArray results;
  capture(wrong_shape, results);
  ASSERT_EQ(results.size(), 1);
  const std::string message = results.GetTestPartResult(0).message();
  EXPECT_NE(message.find("shape [3, 2], expected [2, 3]"), std::string::npos) << message;
  EXPECT_EQ(results.GetTestPartResult(0).line_number(), last_line);
}

TEST(TestingHelper, LongListsAreShortened) {
  std::vector<float> v(100);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  EXPECT_EQ(tt::testing::show(v), "{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ... (87 more), 99}");
}

TEST(TestingHelper, EqualTensorsPass) {
  tt::testing::expect_tensor(tt::arange(0.0f, 2.0f, 0.5f), {4}, {0.0f, 0.5f, 1.0f, 1.5f});
}

}  // namespace
