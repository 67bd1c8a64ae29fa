// Winograd F(m x m, 3 x 3) convolution, forward and backward, for output tiles of m = 2 and m = 4
// (the header derives the formulas; the input tile is a x a with a = m + 2).
//
// Each thread takes a block of images and walks their tiles in chunks of whole tile rows, so that
// a chunk's transformed input V (a*a, C, n) and products M (a*a, O, n) stay in the core's caches
// between the transform, the a*a GEMMs and the inverse transform. Every transform works on a whole
// tile row at once: the row's entries are split by their position modulo m ("phases"), which
// makes each step a sum of unit-stride vectors (axpy), and the compiler vectorises those.
#include "tinytorch/kernels/winograd.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/kernels/threads.hpp"

namespace tinytorch::kernels {
namespace {

using std::int64_t;

// ---- the two variants: their matrices (Lavin and Gray, section 4) -------------------------------

// F(2x2, 3x3): interpolation points 0, 1, -1 and infinity. 16 multiplies per 4 outputs.
struct F2 {
  static constexpr int m = 2, a = 4;
  static constexpr float BT[a][a] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr float AT[m][a] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  static constexpr float G[a][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
};

// F(4x4, 3x3): points 0, 1, -1, 2, -2 and infinity. 36 multiplies per 16 outputs, 1.78x fewer
// than F(2x2, 3x3); the larger coefficients cost a little precision (about 1e-6 relative).
struct F4 {
  static constexpr int m = 4, a = 6;
  static constexpr float BT[a][a] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                     {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                     {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
  static constexpr float AT[m][a] = {
      {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
  static constexpr float G[a][3] = {{1.0f / 4, 0, 0},
                                    {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                    {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                                    {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                    {1.0f / 24, -1.0f / 12, 1.0f / 6},
                                    {0, 0, 1}};
};

// y[0 .. count) += alpha * x[0 .. count): every transform below is a sequence of these.
void axpy(float alpha, const float* __restrict x, int64_t count, float* __restrict y) {
  for (int64_t i = 0; i < count; ++i) y[i] += alpha * x[i];
}

// ---- weights: U = G g G^T and its adjoint dW = G^T dU G --------------------------------------

// u (a*a, O, C) = G g G^T for every kernel g of w (O, C, 3, 3).
template <class T>
void transform_weights(const float* w, int64_t o, int64_t c, float* u) {
  for (int64_t oc = 0; oc < o * c; ++oc) {
    const float* g = w + oc * 9;
    float gg[T::a][3] = {};  // G g
    for (int i = 0; i < T::a; ++i) {
      for (int j = 0; j < 3; ++j) {
        for (int k = 0; k < 3; ++k) gg[i][j] += T::G[i][k] * g[k * 3 + j];
      }
    }
    for (int i = 0; i < T::a; ++i) {
      for (int j = 0; j < T::a; ++j) {  // (G g) G^T
        float sum = 0.0f;
        for (int k = 0; k < 3; ++k) sum += gg[i][k] * T::G[j][k];
        u[(i * T::a + j) * o * c + oc] = sum;
      }
    }
  }
}

// dw (O, C, 3, 3) = G^T dU G for every (O, C) entry of du (a*a, O, C).
template <class T>
void transform_weight_gradients(const float* du, int64_t o, int64_t c, float* dw) {
  for (int64_t oc = 0; oc < o * c; ++oc) {
    float gd[3][T::a] = {};  // G^T dU
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < T::a; ++j) {
        for (int k = 0; k < T::a; ++k) gd[i][j] += T::G[k][i] * du[(k * T::a + j) * o * c + oc];
      }
    }
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {  // (G^T dU) G
        float sum = 0.0f;
        for (int k = 0; k < T::a; ++k) sum += gd[i][k] * T::G[k][j];
        dw[oc * 9 + i * 3 + j] = sum;
      }
    }
  }
}

// ---- tiles
// ---------------------------------------------------------------------------------------

// A chunk is a run of whole tile rows: row `ti` of image `image` holds tiles_w tiles, whose a x a
// patches read input rows y0 .. y0 + a - 1 (y0 = m ti - padding, possibly in the padding).
// Columns of a chunk's matrices are numbered row by row: column q * tiles_w + t is tile t of the
// chunk's row q.
struct TileRow {
  int64_t image, y0;
};

struct Chunk {
  std::vector<TileRow> rows;
  int64_t tiles_w = 0;
  [[nodiscard]] int64_t size() const { return static_cast<int64_t>(rows.size()) * tiles_w; }
};

struct Tiling {
  int64_t tiles_h, tiles_w, rows_per_chunk;
};

// About 96 tiles of F(2x2) or 48 of F(4x4) per chunk (the same number of output pixels, give or
// take): enough columns for the GEMMs to run at speed, few enough for V and M to stay in cache.
template <class T>
Tiling tiling(const ConvGeometry& g) {
  constexpr int64_t chunk_tiles = T::m == 2 ? 96 : 48;
  const int64_t tiles_w = (g.out_w() + T::m - 1) / T::m;
  return {(g.out_h() + T::m - 1) / T::m, tiles_w, std::max<int64_t>(1, chunk_tiles / tiles_w)};
}

// Tile rows [first, first + count) of the block's images, the block starting at image `lo`.
template <class T>
Chunk chunk_rows(int64_t first, int64_t count, int64_t lo, const Tiling& t, const ConvGeometry& g) {
  Chunk chunk;
  chunk.tiles_w = t.tiles_w;
  chunk.rows.reserve(static_cast<std::size_t>(count));
  for (int64_t r = first; r < first + count; ++r) {
    chunk.rows.push_back({lo + r / t.tiles_h, T::m * (r % t.tiles_h) - g.padding});
  }
  return chunk;
}

// A tile row's padded input row, split into m phases of `len` = tiles_w + 1 entries:
//   phases[phi * len + u] = row[m u + phi - padding]   (zero outside the row)
// Tile t reads entries m t .. m t + a - 1, i.e. entry s of its patch is phase s % m at u = t + s /
// m.
template <class T>
void load_phases(const float* row, const ConvGeometry& g, int64_t len, float* phases) {
  std::fill(phases, phases + T::m * len, 0.0f);
  if (row == nullptr) return;
  const int64_t first = std::min(g.padding, T::m * len);
  const int64_t last = std::min(T::m * len, g.width + g.padding);
  for (int64_t x = first; x < last; ++x) phases[(x % T::m) * len + x / T::m] = row[x - g.padding];
}

// The adjoint of load_phases: row[m u + phi - padding] += phases[phi * len + u] inside the row.
template <class T>
void add_phases(const float* phases, const ConvGeometry& g, int64_t len, float* row) {
  const int64_t first = std::min(g.padding, T::m * len);
  const int64_t last = std::min(T::m * len, g.width + g.padding);
  for (int64_t x = first; x < last; ++x) row[x - g.padding] += phases[(x % T::m) * len + x / T::m];
}

// ---- input: V = B^T d B, and its adjoint dX += B dV B^T ----------------------------------------

// v (a*a, C, n) for every channel and tile of the chunk: the a input rows of a tile row, in
// phases; B^T down them (row i of the result = sum_j BT[i][j] row j); then B^T along each result
// row (entry jj of tile t = sum_s BT[jj][s] entry s of its patch).
template <class T>
void transform_inputs(const float* x, const ConvGeometry& g, const Chunk& chunk, float* work,
                      float* v) {
  const int64_t h = g.height, w = g.width, tw = chunk.tiles_w, n = chunk.size();
  const int64_t len = tw + 1, row_size = T::m * len;
  float* in = work;                       // [a][m][len]
  float* mixed = work + T::a * row_size;  // [a][m][len]
  for (int64_t c = 0; c < g.channels; ++c) {
    for (std::size_t q = 0; q < chunk.rows.size(); ++q) {
      const TileRow& row = chunk.rows[q];
      const float* plane = x + (row.image * g.channels + c) * h * w;
      for (int j = 0; j < T::a; ++j) {
        const int64_t y = row.y0 + j;
        load_phases<T>(y >= 0 && y < h ? plane + y * w : nullptr, g, len, in + j * row_size);
      }
      std::fill(mixed, mixed + T::a * row_size, 0.0f);
      for (int i = 0; i < T::a; ++i) {
        for (int j = 0; j < T::a; ++j) {
          if (T::BT[i][j] != 0.0f) {
            axpy(T::BT[i][j], in + j * row_size, row_size, mixed + i * row_size);
          }
        }
      }
      for (int i = 0; i < T::a; ++i) {
        for (int jj = 0; jj < T::a; ++jj) {
          float* out = v + ((i * T::a + jj) * g.channels + c) * n + static_cast<int64_t>(q) * tw;
          std::fill(out, out + tw, 0.0f);
          for (int s = 0; s < T::a; ++s) {
            if (T::BT[jj][s] == 0.0f) continue;
            axpy(T::BT[jj][s], mixed + i * row_size + (s % T::m) * len + s / T::m, tw, out);
          }
        }
      }
    }
  }
}

// dx += B dV B^T, each patch added back where transform_inputs read it (padding dropped):
// transform_inputs' steps, each replaced by its adjoint, in reverse order.
template <class T>
void add_input_gradients(const float* dv, const ConvGeometry& g, const Chunk& chunk, float* work,
                         float* dx) {
  const int64_t h = g.height, w = g.width, tw = chunk.tiles_w, n = chunk.size();
  const int64_t len = tw + 1, row_size = T::m * len;
  float* mixed = work;                  // [a][m][len]
  float* out = work + T::a * row_size;  // [a][m][len]
  for (int64_t c = 0; c < g.channels; ++c) {
    for (std::size_t q = 0; q < chunk.rows.size(); ++q) {
      const TileRow& row = chunk.rows[q];
      std::fill(mixed, mixed + T::a * row_size, 0.0f);
      for (int i = 0; i < T::a; ++i) {
        for (int jj = 0; jj < T::a; ++jj) {
          const float* in =
              dv + ((i * T::a + jj) * g.channels + c) * n + static_cast<int64_t>(q) * tw;
          for (int s = 0; s < T::a; ++s) {
            if (T::BT[jj][s] == 0.0f) continue;
            axpy(T::BT[jj][s], in, tw, mixed + i * row_size + (s % T::m) * len + s / T::m);
          }
        }
      }
      std::fill(out, out + T::a * row_size, 0.0f);
      for (int j = 0; j < T::a; ++j) {
        for (int i = 0; i < T::a; ++i) {
          if (T::BT[i][j] != 0.0f) {
            axpy(T::BT[i][j], mixed + i * row_size, row_size, out + j * row_size);
          }
        }
      }
      float* plane = dx + (row.image * g.channels + c) * h * w;
      for (int j = 0; j < T::a; ++j) {
        const int64_t y = row.y0 + j;
        if (y >= 0 && y < h) add_phases<T>(out + j * row_size, g, len, plane + y * w);
      }
    }
  }
}

// ---- output: Y = A^T M A (+ bias), and its adjoint dM = A dY A^T --------------------------------

// y for every output channel and tile of the chunk: A^T down the a rows of M (output row r =
// sum_i AT[r][i] row i), then A^T along each (output entry e of tile t = sum_jj AT[e][jj] entry
// jj), interleaved into the image row; rows or columns past Ho, Wo are dropped.
template <class T>
void write_outputs(const float* m, const ConvGeometry& g, int64_t o, const float* bias,
                   const Chunk& chunk, float* work, float* y) {
  const int64_t ho = g.out_h(), wo = g.out_w(), tw = chunk.tiles_w, n = chunk.size();
  const int64_t step = o * n;
  float* rows = work;                       // [m][a][tw]: A^T down the rows
  float* phases = work + T::m * T::a * tw;  // [m][tw]: one output row, by phase
  float* line = phases + T::m * tw;         // [m tw]: the same, interleaved
  for (int64_t k = 0; k < o; ++k) {
    const float b = bias != nullptr ? bias[k] : 0.0f;
    for (std::size_t q = 0; q < chunk.rows.size(); ++q) {
      const TileRow& row = chunk.rows[q];
      const float* in = m + k * n + static_cast<int64_t>(q) * tw;
      const int64_t oy = row.y0 + g.padding;
      float* plane = y + (row.image * o + k) * ho * wo;
      std::fill(rows, rows + T::m * T::a * tw, 0.0f);
      for (int r = 0; r < T::m; ++r) {
        for (int jj = 0; jj < T::a; ++jj) {
          for (int i = 0; i < T::a; ++i) {
            if (T::AT[r][i] != 0.0f) {
              axpy(T::AT[r][i], in + (i * T::a + jj) * step, tw, rows + (r * T::a + jj) * tw);
            }
          }
        }
      }
      for (int r = 0; r < T::m && oy + r < ho; ++r) {
        std::fill(phases, phases + T::m * tw, b);
        for (int e = 0; e < T::m; ++e) {
          for (int jj = 0; jj < T::a; ++jj) {
            if (T::AT[e][jj] != 0.0f) {
              axpy(T::AT[e][jj], rows + (r * T::a + jj) * tw, tw, phases + e * tw);
            }
          }
        }
        for (int64_t t = 0; t < tw; ++t) {
          for (int e = 0; e < T::m; ++e) line[t * T::m + e] = phases[e * tw + t];
        }
        std::copy(line, line + wo, plane + (oy + r) * wo);
      }
    }
  }
}

// dm (a*a, O, n) = A dY A^T for every output channel and tile; dY past Ho, Wo counts as zero.
template <class T>
void transform_output_gradients(const float* dy, const ConvGeometry& g, int64_t o,
                                const Chunk& chunk, float* work, float* dm) {
  const int64_t ho = g.out_h(), wo = g.out_w(), tw = chunk.tiles_w, n = chunk.size();
  const int64_t step = o * n;
  float* in = work;                        // [m rows][m phases][tw]: the tile row's dY
  float* mixed = work + T::m * T::m * tw;  // [a][m][tw]: A down the rows
  for (int64_t k = 0; k < o; ++k) {
    for (std::size_t q = 0; q < chunk.rows.size(); ++q) {
      const TileRow& row = chunk.rows[q];
      const int64_t oy = row.y0 + g.padding;
      const float* plane = dy + (row.image * o + k) * ho * wo;
      std::fill(in, in + T::m * T::m * tw, 0.0f);
      for (int r = 0; r < T::m && oy + r < ho; ++r) {
        const float* src = plane + (oy + r) * wo;
        for (int64_t xx = 0; xx < wo; ++xx) in[(r * T::m + xx % T::m) * tw + xx / T::m] = src[xx];
      }
      std::fill(mixed, mixed + T::a * T::m * tw, 0.0f);
      for (int i = 0; i < T::a; ++i) {
        for (int r = 0; r < T::m; ++r) {
          if (T::AT[r][i] != 0.0f) {
            axpy(T::AT[r][i], in + r * T::m * tw, T::m * tw, mixed + i * T::m * tw);
          }
        }
      }
      float* out = dm + k * n + static_cast<int64_t>(q) * tw;
      for (int i = 0; i < T::a; ++i) {
        for (int jj = 0; jj < T::a; ++jj) {
          float* dst = out + (i * T::a + jj) * step;
          std::fill(dst, dst + tw, 0.0f);
          for (int e = 0; e < T::m; ++e) {
            if (T::AT[e][jj] != 0.0f) axpy(T::AT[e][jj], mixed + (i * T::m + e) * tw, tw, dst);
          }
        }
      }
    }
  }
}

// Scratch that lives as long as its thread, so a convolution allocates nothing after its first
// call on each thread.
float* scratch(int slot, std::size_t size) {
  thread_local std::array<std::vector<float>, 3> buffers;
  auto& buffer = buffers[static_cast<std::size_t>(slot)];
  if (buffer.size() < size) buffer.resize(size);
  return buffer.data();
}

// Floats of `work` the transforms of one chunk need: the largest of their layouts above.
template <class T>
std::size_t work_size(const Tiling& t) {
  return static_cast<std::size_t>(2 * T::a * T::m * (t.tiles_w + 1) + T::m * T::a * t.tiles_w);
}

template <class T>
void forward(const float* x, int64_t count, const ConvGeometry& g, const float* w, int64_t o,
             const float* bias, float* y) {
  constexpr int64_t positions = T::a * T::a;
  const int64_t c = g.channels;
  std::vector<float> u(static_cast<std::size_t>(positions * o * c));
  transform_weights<T>(w, o, c, u.data());
  const Tiling t = tiling<T>(g);
  const int64_t chunk_cols = t.rows_per_chunk * t.tiles_w;
  parallel_for(0, count, 1, [&](int64_t lo, int64_t hi) {
    float* v = scratch(0, static_cast<std::size_t>(positions * c * chunk_cols));
    float* m = scratch(1, static_cast<std::size_t>(positions * o * chunk_cols));
    float* work = scratch(2, work_size<T>(t));
    const int64_t total = (hi - lo) * t.tiles_h;
    for (int64_t first = 0; first < total; first += t.rows_per_chunk) {
      const Chunk chunk = chunk_rows<T>(first, std::min(t.rows_per_chunk, total - first), lo, t, g);
      const int64_t n = chunk.size();
      transform_inputs<T>(x, g, chunk, work, v);
      for (int64_t xi = 0; xi < positions; ++xi) {
        sgemm(false, false, o, n, c, 1.0f, u.data() + xi * o * c, c, v + xi * c * n, n, 0.0f,
              m + xi * o * n, n);
      }
      write_outputs<T>(m, g, o, bias, chunk, work, y);
    }
  });
}

template <class T>
void backward(const float* x, const float* w, const float* dy, int64_t count, const ConvGeometry& g,
              int64_t o, float* dx, float* dw) {
  constexpr int64_t positions = T::a * T::a;
  const int64_t c = g.channels;
  std::vector<float> u(static_cast<std::size_t>(positions * o * c));
  transform_weights<T>(w, o, c, u.data());
  const Tiling t = tiling<T>(g);
  const int64_t chunk_cols = t.rows_per_chunk * t.tiles_w;
  const int64_t blocks = std::clamp<int64_t>(num_threads(), 1, std::max<int64_t>(count, 1));
  // Each block sums its own dU (a*a, O, C); the blocks' sums are added at the end.
  std::vector<float> du(dw != nullptr ? static_cast<std::size_t>(blocks * positions * o * c) : 0,
                        0.0f);
  parallel_for(0, blocks, 1, [&](int64_t first_block, int64_t last_block) {
    float* v = scratch(0, static_cast<std::size_t>(positions * c * chunk_cols));
    float* dm = scratch(1, static_cast<std::size_t>(positions * o * chunk_cols));
    float* work = scratch(2, work_size<T>(t));
    for (int64_t block = first_block; block < last_block; ++block) {
      const int64_t lo = block * count / blocks, hi = (block + 1) * count / blocks;
      if (dx != nullptr) std::fill(dx + lo * g.image_size(), dx + hi * g.image_size(), 0.0f);
      float* du_block = dw != nullptr ? du.data() + block * positions * o * c : nullptr;
      const int64_t total = (hi - lo) * t.tiles_h;
      for (int64_t first = 0; first < total; first += t.rows_per_chunk) {
        const Chunk chunk =
            chunk_rows<T>(first, std::min(t.rows_per_chunk, total - first), lo, t, g);
        const int64_t n = chunk.size();
        transform_output_gradients<T>(dy, g, o, chunk, work, dm);
        if (du_block != nullptr) {
          transform_inputs<T>(x, g, chunk, work, v);
          for (int64_t xi = 0; xi < positions; ++xi) {
            sgemm(false, true, o, c, n, 1.0f, dm + xi * o * n, n, v + xi * c * n, n, 1.0f,
                  du_block + xi * o * c, c);
          }
        }
        if (dx != nullptr) {  // V is no longer needed: dV takes its place
          for (int64_t xi = 0; xi < positions; ++xi) {
            sgemm(true, false, c, n, o, 1.0f, u.data() + xi * o * c, c, dm + xi * o * n, n, 0.0f,
                  v + xi * c * n, n);
          }
          add_input_gradients<T>(v, g, chunk, work, dx);
        }
      }
    }
  });
  if (dw == nullptr) return;
  for (int64_t block = 1; block < blocks; ++block) {
    const float* part = du.data() + block * positions * o * c;
    for (int64_t i = 0; i < positions * o * c; ++i) du[static_cast<std::size_t>(i)] += part[i];
  }
  transform_weight_gradients<T>(du.data(), o, c, dw);
}

// F(4x4) wherever the output is at least 8 pixels on each side: smaller outputs would waste too
// much of its 4x4 tiles on padding.
WinogradTile pick(const ConvGeometry& g, WinogradTile tile) {
  if (tile != WinogradTile::automatic) return tile;
  return g.out_h() >= 8 && g.out_w() >= 8 ? WinogradTile::f4x4 : WinogradTile::f2x2;
}

void check_applies(const char* op, const ConvGeometry& g) {
  if (!winograd_applies(g)) {
    throw std::invalid_argument(std::string(op) + ": a " + std::to_string(g.kernel_h) + "x" +
                                std::to_string(g.kernel_w) + " kernel with stride " +
                                std::to_string(g.stride) +
                                " is not a 3x3, stride-1 convolution; use im2col + sgemm");
  }
}

}  // namespace

bool winograd_applies(const ConvGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride == 1 && g.out_h() > 0 && g.out_w() > 0;
}

void winograd_conv2d(const float* x, int64_t count, const ConvGeometry& g, const float* w,
                     int64_t out_channels, const float* bias, float* y, WinogradTile tile) {
  check_applies("winograd_conv2d", g);
  if (pick(g, tile) == WinogradTile::f4x4) {
    forward<F4>(x, count, g, w, out_channels, bias, y);
  } else {
    forward<F2>(x, count, g, w, out_channels, bias, y);
  }
}

void winograd_conv2d_backward(const float* x, const float* w, const float* dy, int64_t count,
                              const ConvGeometry& g, int64_t out_channels, float* dx, float* dw,
                              WinogradTile tile) {
  check_applies("winograd_conv2d_backward", g);
  if (dx == nullptr && dw == nullptr) return;
  if (pick(g, tile) == WinogradTile::f4x4) {
    backward<F4>(x, w, dy, count, g, out_channels, dx, dw);
  } else {
    backward<F2>(x, w, dy, count, g, out_channels, dx, dw);
  }
}

}  // namespace tinytorch::kernels
