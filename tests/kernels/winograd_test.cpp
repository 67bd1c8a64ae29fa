// kernels::winograd_conv2d and its backward against the convolution's definition, summed in
// double: y[n][o][i][j] = b[o] + sum_{c,a,b} x[n][c][i - p + a][j - p + b] w[o][c][a][b], and its
// exact gradients. The shapes cover what a tiled kernel gets wrong: odd output sizes (a half tile
// at the edge), padding 0, 1 and 2, images whose tiles straddle a chunk, one-tile images, and
// splits over threads.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tinytorch/kernels/threads.hpp"
#include "tinytorch/kernels/winograd.hpp"

namespace {

using std::int64_t;
using tinytorch::kernels::ConvGeometry;

struct Case {
  int64_t n, c, h, w, o, padding;
};

std::vector<float> random_values(int64_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

struct Direct {  // the definition, in double
  std::vector<double> y, dx, dw;
};

Direct direct(const Case& k, const ConvGeometry& g, const std::vector<float>& x,
              const std::vector<float>& w, const std::vector<float>& b,
              const std::vector<float>& dy) {
  const int64_t ho = g.out_h(), wo = g.out_w();
  Direct d{std::vector<double>(static_cast<std::size_t>(k.n * k.o * ho * wo)),
           std::vector<double>(x.size()), std::vector<double>(w.size())};
  for (int64_t n = 0; n < k.n; ++n) {
    for (int64_t o = 0; o < k.o; ++o) {
      for (int64_t i = 0; i < ho; ++i) {
        for (int64_t j = 0; j < wo; ++j) {
          const auto yi = static_cast<std::size_t>(((n * k.o + o) * ho + i) * wo + j);
          double sum = b[static_cast<std::size_t>(o)];
          for (int64_t c = 0; c < k.c; ++c) {
            for (int64_t a = 0; a < 3; ++a) {
              for (int64_t e = 0; e < 3; ++e) {
                const int64_t yy = i - k.padding + a, xx = j - k.padding + e;
                if (yy < 0 || yy >= k.h || xx < 0 || xx >= k.w) continue;
                const auto xi = static_cast<std::size_t>(((n * k.c + c) * k.h + yy) * k.w + xx);
                const auto wi = static_cast<std::size_t>(((o * k.c + c) * 3 + a) * 3 + e);
                sum += double{x[xi]} * w[wi];
                d.dx[xi] += double{dy[yi]} * w[wi];
                d.dw[wi] += double{dy[yi]} * x[xi];
              }
            }
          }
          d.y[yi] = sum;
        }
      }
    }
  }
  return d;
}

double max_difference(const std::vector<float>& got, const std::vector<double>& expected) {
  double worst = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double diff = std::abs(got[i] - expected[i]);
    worst = std::isnan(diff) ? INFINITY : std::max(worst, diff);
  }
  return worst;
}

// Forward, dX and dW of one case, each within 1e-5 per term summed (values are in [-1, 1]).
void check(const Case& k) {
  const ConvGeometry g{k.c, k.h, k.w, 3, 3, 1, k.padding};
  ASSERT_TRUE(tinytorch::kernels::winograd_applies(g));
  const int64_t ho = g.out_h(), wo = g.out_w();
  const auto x = random_values(k.n * k.c * k.h * k.w, 1);
  const auto w = random_values(k.o * k.c * 9, 2);
  const auto b = random_values(k.o, 3);
  const auto dy = random_values(k.n * k.o * ho * wo, 4);
  const Direct expected = direct(k, g, x, w, b, dy);

  std::vector<float> y(expected.y.size(), NAN), dx(x.size(), NAN), dw(w.size(), NAN);
  tinytorch::kernels::winograd_conv2d(x.data(), k.n, g, w.data(), k.o, b.data(), y.data());
  tinytorch::kernels::winograd_conv2d_backward(x.data(), w.data(), dy.data(), k.n, g, k.o,
                                               dx.data(), dw.data());
  const double terms = static_cast<double>(k.c * 9);
  EXPECT_LT(max_difference(y, expected.y), 1e-5 * terms) << "forward";
  EXPECT_LT(max_difference(dx, expected.dx), 1e-5 * static_cast<double>(k.o * 9)) << "dx";
  EXPECT_LT(max_difference(dw, expected.dw), 1e-5 * static_cast<double>(k.n * ho * wo)) << "dw";
}

TEST(Winograd, AppliesOnlyToThreeByThreeStrideOne) {
  using tinytorch::kernels::winograd_applies;
  EXPECT_TRUE(winograd_applies({8, 16, 16, 3, 3, 1, 1}));
  EXPECT_FALSE(winograd_applies({8, 16, 16, 3, 3, 2, 1}));  // stride 2
  EXPECT_FALSE(winograd_applies({8, 16, 16, 5, 5, 1, 2}));  // 5x5
  EXPECT_FALSE(winograd_applies({8, 16, 16, 1, 1, 1, 0}));  // pointwise
}

TEST(Winograd, MatchesDefinitionWithSamePadding) {
  check({2, 3, 8, 8, 4, 1});
}

TEST(Winograd, MatchesDefinitionWithOddOutputSizes) {
  check({2, 5, 7, 9, 3, 1});
}

TEST(Winograd, MatchesDefinitionWithoutPadding) {
  check({1, 4, 9, 6, 5, 0});
}

TEST(Winograd, MatchesDefinitionWithPaddingTwo) {
  check({2, 2, 5, 5, 3, 2});
}

TEST(Winograd, MatchesDefinitionOnASingleOutputPixel) {
  check({3, 6, 3, 3, 2, 0});
}

// 4 images of 16x16 tiles = 1024 tiles: chunks cross image boundaries, and the GEMMs are big
// enough to run the micro-kernel's full tiles.
TEST(Winograd, MatchesDefinitionAcrossChunksAndImages) {
  check({4, 32, 32, 32, 64, 1});
}

TEST(Winograd, MatchesDefinitionOnOneThread) {
  const int64_t before = tinytorch::kernels::num_threads();
  tinytorch::kernels::set_num_threads(1);
  check({3, 8, 11, 10, 7, 1});
  tinytorch::kernels::set_num_threads(before);
}

TEST(Winograd, SkipsTheGradientsThatAreNotWanted) {
  const ConvGeometry g{2, 6, 6, 3, 3, 1, 1};
  const auto x = random_values(int64_t{2} * 36, 1), w = random_values(int64_t{3} * 2 * 9, 2);
  const auto dy = random_values(int64_t{3} * 36, 3);
  std::vector<float> dx(x.size(), 7.0f), dw(w.size(), 7.0f);
  tinytorch::kernels::winograd_conv2d_backward(x.data(), w.data(), dy.data(), 1, g, 3, nullptr,
                                               dw.data());
  tinytorch::kernels::winograd_conv2d_backward(x.data(), w.data(), dy.data(), 1, g, 3, dx.data(),
                                               nullptr);
  std::vector<float> both_dx(x.size()), both_dw(w.size());
  tinytorch::kernels::winograd_conv2d_backward(x.data(), w.data(), dy.data(), 1, g, 3,
                                               both_dx.data(), both_dw.data());
  EXPECT_EQ(dx, both_dx);
  EXPECT_EQ(dw, both_dw);
}

}  // namespace
