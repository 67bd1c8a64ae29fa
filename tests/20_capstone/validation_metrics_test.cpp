// Hidden grading suite for module 20: request validation and metrics. Expected values come from
// the definitions (nearest-rank percentiles worked out in comments), never from a run.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tinytorch/serving.hpp"

using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;

namespace {

const serve::InputSpec kSpec{.sample_shape = {2, 3}, .max_batch = 4, .max_body_bytes = 4096};

// The message of the InvalidRequest that parse_request throws, or a failure when it throws none.
std::string refusal(const std::string& body, const serve::InputSpec& spec = kSpec) {
  try {
    (void)serve::parse_request(body, spec);
  } catch (const serve::InvalidRequest& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << body;
  return "";
}

bool mentions(const std::string& message, const std::string& part) {
  return message.find(part) != std::string::npos;
}

const std::string kSample = "[[1, 2, 3], [4, 5, 6]]";

}  // namespace

// ---- parse_request -----------------------------------------------------------------------------

TEST(ParseRequest, ReadsSamplesIntoABatchInRowMajorOrder) {
  const Tensor t = serve::parse_request(
      R"({"inputs": [[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12.5]]]})", kSpec);
  EXPECT_EQ(t.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(t.to_vector(), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5f}));
}

TEST(ParseRequest, AcceptsAnExplicitFloat32Dtype) {
  EXPECT_EQ(
      serve::parse_request(R"({"dtype": "float32", "inputs": [)" + kSample + "]}", kSpec).shape(),
      (Shape{1, 2, 3}));
}

TEST(ParseRequest, RefusesTextThatIsNotJson) {
  EXPECT_TRUE(mentions(refusal(R"({"inputs": [)"), "JSON"));
}

TEST(ParseRequest, RefusesABodyWithoutInputs) {
  EXPECT_TRUE(mentions(refusal(R"({"images": []})"), "inputs"));
}

TEST(ParseRequest, RefusesAnotherDtype) {
  const std::string m = refusal(R"({"dtype": "int8", "inputs": [)" + kSample + "]}");
  EXPECT_TRUE(mentions(m, "int8")) << m;
}

TEST(ParseRequest, RefusesAnEmptyBatch) {
  const std::string m = refusal(R"({"inputs": []})");
  EXPECT_TRUE(mentions(m, "0 samples")) << m;
}

TEST(ParseRequest, RefusesMoreSamplesThanMaxBatch) {
  std::string body = R"({"inputs": [)";
  for (int i = 0; i < 5; ++i) body += (i ? ", " : "") + kSample;
  const std::string m = refusal(body + "]}");
  EXPECT_TRUE(mentions(m, "5 samples") && mentions(m, "4")) << m;
}

TEST(ParseRequest, AcceptsExactlyMaxBatchSamples) {
  std::string body = R"({"inputs": [)";
  for (int i = 0; i < 4; ++i) body += (i ? ", " : "") + kSample;
  EXPECT_EQ(serve::parse_request(body + "]}", kSpec).shape(), (Shape{4, 2, 3}));
}

TEST(ParseRequest, RefusesAnOversizedBodyBeforeParsingIt) {
  // Not JSON at all, and too big: the size is what must be reported (it is checked first).
  const std::string m = refusal(std::string(4097, '['));
  EXPECT_TRUE(mentions(m, "4097") && mentions(m, "4096")) << m;
}

TEST(ParseRequest, NamesThePathOfARowOfTheWrongLength) {
  const std::string m = refusal(R"({"inputs": [)" + kSample + R"(, [[1, 2, 3], [4, 5]]]})");
  EXPECT_TRUE(mentions(m, "inputs[1][1]") && mentions(m, "2 elements")) << m;
}

TEST(ParseRequest, RefusesASampleWithTooFewDimensions) {
  const std::string m = refusal(R"({"inputs": [[1, 2]]})");
  EXPECT_TRUE(mentions(m, "inputs[0]")) << m;
}

TEST(ParseRequest, RefusesASampleNestedTooDeep) {
  const std::string m = refusal(R"({"inputs": [[[[1], [2], [3]], [[4], [5], [6]]]]})");
  EXPECT_TRUE(mentions(m, "inputs[0][0][0]") && mentions(m, "number")) << m;
}

TEST(ParseRequest, NamesAStringWhereANumberBelongs) {
  const std::string m = refusal(R"({"inputs": [[[1, 2, 3], [4, "5", 6]]]})");
  EXPECT_TRUE(mentions(m, "inputs[0][1][1]") && mentions(m, "string")) << m;
}

TEST(ParseRequest, RefusesNullAndBooleans) {
  EXPECT_TRUE(mentions(refusal(R"({"inputs": [[[1, 2, null], [4, 5, 6]]]})"), "null"));
  EXPECT_TRUE(mentions(refusal(R"({"inputs": [[[1, 2, 3], [true, 5, 6]]]})"), "boolean"));
}

TEST(ParseRequest, RefusesANumberThatOverflowsFloat32) {
  // 1e39 is finite as a double but above FLT_MAX (3.4e38): it would reach the model as inf.
  const std::string m = refusal(R"({"inputs": [[[1, 2, 3], [4, 5, 1e39]]]})");
  EXPECT_TRUE(mentions(m, "inputs[0][1][2]")) << m;
}

TEST(ParseRequest, AcceptsTheLargestFloat32) {
  const Tensor t =
      serve::parse_request(R"({"inputs": [[[3.4e38, -3.4e38, 0], [0, 0, 0]]]})", kSpec);
  EXPECT_EQ(t.to_vector()[0], 3.4e38f);
}

// ---- validate_batch ----------------------------------------------------------------------------

TEST(ValidateBatch, AcceptsAWellFormedBatch) {
  EXPECT_NO_THROW(serve::validate_batch(zeros({3, 2, 3}), kSpec));
}

TEST(ValidateBatch, RefusesAMissingBatchDimension) {
  EXPECT_THROW(serve::validate_batch(zeros({2, 3}), kSpec), serve::InvalidRequest);
}

TEST(ValidateBatch, RefusesTheWrongSampleShapeNamingBoth) {
  try {
    serve::validate_batch(zeros({1, 3, 2}), kSpec);
    ADD_FAILURE() << "accepted (1, 3, 2) for samples of (2, 3)";
  } catch (const serve::InvalidRequest& e) {
    EXPECT_TRUE(mentions(e.what(), "(1, 3, 2)") || mentions(e.what(), "[1, 3, 2]")) << e.what();
  }
}

TEST(ValidateBatch, RefusesMoreThanMaxBatch) {
  EXPECT_THROW(serve::validate_batch(zeros({5, 2, 3}), kSpec), serve::InvalidRequest);
}

TEST(ValidateBatch, NamesTheIndexOfANan) {
  Tensor t = zeros({2, 2, 3});
  t.data()[7] = std::nanf("");
  try {
    serve::validate_batch(t, kSpec);
    ADD_FAILURE() << "accepted a NaN";
  } catch (const serve::InvalidRequest& e) {
    EXPECT_TRUE(mentions(e.what(), "7")) << e.what();
  }
}

TEST(ValidateBatch, RefusesInfinity) {
  Tensor t = zeros({1, 2, 3});
  t.data()[5] = -INFINITY;
  EXPECT_THROW(serve::validate_batch(t, kSpec), serve::InvalidRequest);
}

// ---- percentile --------------------------------------------------------------------------------

TEST(Percentile, NearestRankOfOneToTen) {
  // n = 10: p50 -> rank ceil(5) = 5 -> 5; p95 -> rank ceil(9.5) = 10 -> 10; p0 -> rank 1 -> 1.
  const std::vector<double> v{7, 3, 10, 1, 9, 2, 8, 4, 6, 5};
  EXPECT_EQ(serve::percentile(v, 50), 5.0);
  EXPECT_EQ(serve::percentile(v, 95), 10.0);
  EXPECT_EQ(serve::percentile(v, 0), 1.0);
  EXPECT_EQ(serve::percentile(v, 100), 10.0);
}

TEST(Percentile, P99OfAHundredIsTheNinetyNinthValue) {
  // n = 100: rank ceil(99) = 99 -> the 99th smallest (99), not the maximum (100).
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  EXPECT_EQ(serve::percentile(v, 99), 99.0);
}

TEST(Percentile, NeverInterpolates) {
  // n = 2, p50 -> rank 1 -> 10 (an interpolating percentile would say 15).
  EXPECT_EQ(serve::percentile({20, 10}, 50), 10.0);
}

TEST(Percentile, RefusesNoValuesAndABadQ) {
  EXPECT_THROW((void)serve::percentile({}, 50), std::invalid_argument);
  EXPECT_THROW((void)serve::percentile({1}, 101), std::invalid_argument);
  EXPECT_THROW((void)serve::percentile({1}, -1), std::invalid_argument);
  EXPECT_THROW((void)serve::percentile({1}, std::nan("")), std::invalid_argument);
}

// ---- Metrics -----------------------------------------------------------------------------------

TEST(Metrics, CountsRequestsAndErrors) {
  serve::Metrics m;
  m.record(1ms, true);
  m.record(2ms, false);
  m.record(3ms, true);
  const auto s = m.snapshot();
  EXPECT_EQ(s.requests, 3);
  EXPECT_EQ(s.errors, 1);
  EXPECT_EQ(s.latency_samples, 2) << "a refused request's latency is not a served latency";
}

TEST(Metrics, ReportsPercentilesInMilliseconds) {
  serve::Metrics m;
  for (int i = 1; i <= 100; ++i) m.record(std::chrono::microseconds(i * 1000), true);
  const auto s = m.snapshot();
  // Latencies 1..100 ms: nearest rank gives p50 = 50, p95 = 95, p99 = 99.
  EXPECT_DOUBLE_EQ(s.p50_ms, 50.0);
  EXPECT_DOUBLE_EQ(s.p95_ms, 95.0);
  EXPECT_DOUBLE_EQ(s.p99_ms, 99.0);
}

TEST(Metrics, IsZeroBeforeAnyServedRequest) {
  serve::Metrics m;
  m.record(5ms, false);
  const auto s = m.snapshot();
  EXPECT_EQ(s.latency_samples, 0);
  EXPECT_EQ(s.p99_ms, 0.0);
}

TEST(Metrics, KeepsOnlyTheMostRecentWindow) {
  serve::Metrics m(3);
  for (int ms : {100, 100, 100, 1, 2, 3}) m.record(std::chrono::milliseconds(ms), true);
  const auto s = m.snapshot();
  EXPECT_EQ(s.latency_samples, 3);
  EXPECT_DOUBLE_EQ(s.p99_ms, 3.0) << "the three old 100 ms latencies left the window";
  EXPECT_EQ(s.requests, 6) << "counters are since the start, not per window";
}

TEST(Metrics, RefusesAWindowOfZeroAndANegativeLatency) {
  EXPECT_THROW(serve::Metrics(0), std::invalid_argument);
  serve::Metrics m;
  EXPECT_THROW(m.record(-1ms, true), std::invalid_argument);
}

TEST(Metrics, CountsEveryRecordFromManyThreads) {
  // Many records, and a window large enough that the latency store keeps growing while the
  // threads record: an unlocked counter loses increments, an unlocked store corrupts itself.
  constexpr int kThreads = 8;
  constexpr int kEach = 400000;  // each thread runs for milliseconds: longer than a time slice
  serve::Metrics m(std::size_t{1} << 22);
  std::latch start(
      kThreads);  // all record at once: on 2 cores a thread could otherwise finish alone
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, &start, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kEach; ++i) m.record(std::chrono::microseconds(i), (i + t) % 10 != 0);
    });
  }
  for (auto& th : threads) th.join();
  const auto s = m.snapshot();
  EXPECT_EQ(s.requests, kThreads * kEach);
  EXPECT_EQ(s.errors, kThreads * kEach / 10);  // (i + t) % 10 == 0 for a tenth of each thread's i
  EXPECT_EQ(s.latency_samples, kThreads * kEach * 9 / 10);
}
