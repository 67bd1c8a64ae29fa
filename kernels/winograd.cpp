// Winograd F(2x2, 3x3) convolution, forward and backward (the header derives the formulas).
//
// Each thread takes a block of images and walks their tiles in chunks of kChunk columns, so that a
// chunk's transformed input V (16, C, chunk) and products M (16, O, chunk) stay in the core's cache
// between the transform, the 16 GEMMs and the inverse transform.
#include "tinytorch/kernels/winograd.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

#include "tinytorch/kernels/dispatch.hpp"
#include "tinytorch/kernels/gemm.hpp"
#include "tinytorch/kernels/parallel.hpp"
#include "tinytorch/kernels/threads.hpp"

namespace tinytorch::kernels {
namespace {

using std::int64_t;

constexpr int64_t kPositions = 16;  // xi = 4*r + s, the 4x4 transformed tile
constexpr int64_t kChunk = 96;      // tiles per chunk: a multiple of both micro-kernel widths

// Each 2-d transform X -> L X R applies one 1-d rule down the columns (the rows' stage), then
// along the rows. The rules, and their adjoints for backward:
//   B^T d = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
//   B v   = (v0, v1 - v2 + v3, v1 + v2 - v0, -v3)
//   A^T m = (m0 + m1 + m2, m1 - m2 - m3)
//   A y   = (y0, y0 + y1, y0 - y1, -y1)
//   G g   = (g0, (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2)
//   G^T u = (u0 + (u1 + u2)/2, (u1 - u2)/2, (u1 + u2)/2 + u3)

// G g: (g0, (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2)
void weight_rule(float g0, float g1, float g2, float* out) {
  out[0] = g0;
  out[1] = 0.5f * (g0 + g1 + g2);
  out[2] = 0.5f * (g0 - g1 + g2);
  out[3] = g2;
}

// G^T u, the adjoint of weight_rule: (u0 + (u1 + u2)/2, (u1 - u2)/2, (u1 + u2)/2 + u3)
void weight_adjoint_rule(float u0, float u1, float u2, float u3, float* out) {
  out[0] = u0 + 0.5f * (u1 + u2);
  out[1] = 0.5f * (u1 - u2);
  out[2] = 0.5f * (u1 + u2) + u3;
}

// u (16, O, C) = G g G^T for every kernel g of w (O, C, 3, 3).
void transform_weights(const float* w, int64_t o, int64_t c, float* u) {
  for (int64_t oc = 0; oc < o * c; ++oc) {
    const float* g = w + oc * 9;
    float rows[4][3];  // G g: 4 rows of 3
    for (int col = 0; col < 3; ++col) {
      float out[4];
      weight_rule(g[col], g[3 + col], g[6 + col], out);
      for (int r = 0; r < 4; ++r) rows[r][col] = out[r];
    }
    for (int r = 0; r < 4; ++r) {
      float out[4];
      weight_rule(rows[r][0], rows[r][1], rows[r][2], out);
      for (int s = 0; s < 4; ++s) u[(r * 4 + s) * o * c + oc] = out[s];
    }
  }
}

// dw (O, C, 3, 3) = G^T dU G for every (O, C) entry of du (16, O, C).
void transform_weight_gradients(const float* du, int64_t o, int64_t c, float* dw) {
  for (int64_t oc = 0; oc < o * c; ++oc) {
    float rows[3][4];  // G^T dU: 3 rows of 4
    for (int s = 0; s < 4; ++s) {
      float out[3];
      weight_adjoint_rule(du[s * o * c + oc], du[(4 + s) * o * c + oc], du[(8 + s) * o * c + oc],
                          du[(12 + s) * o * c + oc], out);
      for (int r = 0; r < 3; ++r) rows[r][s] = out[r];
    }
    for (int r = 0; r < 3; ++r) {
      float out[3];
      weight_adjoint_rule(rows[r][0], rows[r][1], rows[r][2], rows[r][3], out);
      for (int s = 0; s < 3; ++s) dw[oc * 9 + int64_t{r} * 3 + s] = out[s];
    }
  }
}

// A chunk is a run of whole tile rows: row `ti` of image `image` holds tiles_w tiles, whose 4x4
// patches read input rows y0 .. y0+3 (y0 = 2 ti - padding, possibly in the padding). Columns of a
// chunk's matrices are numbered row by row: column q * tiles_w + t is tile t of the chunk's row q.
// Working a whole tile row at a time makes every transform below a loop over t with unit stride,
// which the compiler vectorises.
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

Tiling tiling(const ConvGeometry& g) {
  const int64_t tiles_w = (g.out_w() + 1) / 2;
  return {(g.out_h() + 1) / 2, tiles_w, std::max<int64_t>(1, kChunk / tiles_w)};
}

// Fills `chunk` with tile rows [first, first + count) of the block's images, the block starting
// at image `lo`. Each block reuses one Chunk, so its rows are allocated once, not per chunk.
void chunk_rows(int64_t first, int64_t count, int64_t lo, const Tiling& t, const ConvGeometry& g,
                Chunk& chunk) {
  chunk.tiles_w = t.tiles_w;
  chunk.rows.clear();
  for (int64_t r = first; r < first + count; ++r) {
    chunk.rows.push_back({lo + r / t.tiles_h, 2 * (r % t.tiles_h) - g.padding});
  }
}

// padded[i] = row[i - padding] for i = 0 .. 2 * tiles_w + 1, zero outside the row (a null row is
// all padding): the 2 * tiles_w + 2 columns that one tile row's patches read.
void pad_row(const float* row, int64_t width, int64_t padding, int64_t tiles_w, float* padded) {
  const int64_t len = 2 * tiles_w + 2;
  std::fill(padded, padded + len, 0.0f);
  if (row == nullptr) return;
  const int64_t first = std::min(padding, len), last = std::min(len, width + padding);
  if (last > first) std::copy(row + (first - padding), row + (last - padding), padded + first);
}

// The adjoint of pad_row: row[i - padding] += padded[i] where that lies in the row.
void unpad_row(const float* padded, int64_t width, int64_t padding, int64_t tiles_w, float* row) {
  const int64_t len = 2 * tiles_w + 2;
  const int64_t first = std::min(padding, len), last = std::min(len, width + padding);
  for (int64_t i = first; i < last; ++i) row[i - padding] += padded[i];
}

// B^T down four rows of `len` entries (rows `len` apart), in place: the row stage of B^T d B.
void input_rows(float* __restrict d, int64_t len) {
  for (int64_t i = 0; i < len; ++i) {
    const float d0 = d[i], d1 = d[len + i], d2 = d[2 * len + i], d3 = d[3 * len + i];
    d[i] = d0 - d2;
    d[len + i] = d1 + d2;
    d[2 * len + i] = d2 - d1;
    d[3 * len + i] = d1 - d3;
  }
}

// B^T along one row: tile t reads p[2t .. 2t+3] = (a0, a1, a2, a3) and gives
// (a0 - a2, a1 + a2, a2 - a1, a1 - a3) to out0..out3 at t.
void input_columns(const float* __restrict p, int64_t tiles_w, float* __restrict out0,
                   float* __restrict out1, float* __restrict out2, float* __restrict out3) {
  for (int64_t t = 0; t < tiles_w; ++t) {
    const float a0 = p[2 * t], a1 = p[2 * t + 1], a2 = p[2 * t + 2], a3 = p[2 * t + 3];
    out0[t] = a0 - a2;
    out1[t] = a1 + a2;
    out2[t] = a2 - a1;
    out3[t] = a1 - a3;
  }
}

// B down four rows, in place: the adjoint of input_rows.
void input_adjoint_rows(float* __restrict d, int64_t len) {
  for (int64_t i = 0; i < len; ++i) {
    const float v0 = d[i], v1 = d[len + i], v2 = d[2 * len + i], v3 = d[3 * len + i];
    d[i] = v0;
    d[len + i] = v1 - v2 + v3;
    d[2 * len + i] = v1 + v2 - v0;
    d[3 * len + i] = -v3;
  }
}

// The adjoint of input_columns: p[2t .. 2t+3] += (v0, v1 - v2 + v3, v1 + v2 - v0, -v3), tiles
// overlapping by two entries. Even and odd tiles are done in two passes so that no pass adds to
// an entry twice.
void input_adjoint_columns(const float* __restrict in0, const float* __restrict in1,
                           const float* __restrict in2, const float* __restrict in3,
                           int64_t tiles_w, float* __restrict p) {
  std::fill(p, p + 2 * tiles_w + 2, 0.0f);
  for (int64_t t = 0; t < tiles_w; ++t) {
    p[2 * t] += in0[t];
    p[2 * t + 1] += in1[t] - in2[t] + in3[t];
  }
  for (int64_t t = 0; t < tiles_w; ++t) {
    p[2 * t + 2] += in1[t] + in2[t] - in0[t];
    p[2 * t + 3] -= in3[t];
  }
}

// v (16, C, n) = B^T d B for every channel and tile of the chunk: the four input rows a tile row
// reads, padded, then B^T down them (vectorised over the row), then B^T along each of them.
void transform_inputs(const float* x, const ConvGeometry& g, const Chunk& chunk, float* work,
                      float* v) {
  const int64_t h = g.height, w = g.width, tw = chunk.tiles_w, n = chunk.size();
  const int64_t len = 2 * tw + 2, step = g.channels * n;  // step: from xi to xi + 1
  for (int64_t c = 0; c < g.channels; ++c) {
    for (std::size_t q = 0; q < chunk.rows.size(); ++q) {
      const TileRow& row = chunk.rows[q];
      const float* plane = x + (row.image * g.channels + c) * h * w;
      for (int64_t r = 0; r < 4; ++r) {
        const int64_t y = row.y0 + r;
        pad_row(y >= 0 && y < h ? plane + y * w : nullptr, w, g.padding, tw, work + r * len);
      }
      input_rows(work, len);
      for (int64_t r = 0; r < 4; ++r) {
        float* out = v + (4 * r * g.channels + c) * n + static_cast<int64_t>(q) * tw;
        input_columns(work + r * len, tw, out, out + step, out + 2 * step, out + 3 * step);
      }
    }
  }
}

// dx += B dV B^T, each 4x4 patch added back where transform_inputs read it (padding dropped):
// transform_inputs' steps, each replaced by its adjoint, in reverse order.
void add_input_gradients(const float* dv, const ConvGeometry& g, const Chunk& chunk, float* work,
                         float* dx) {
  const int64_t h = g.height, w = g.width, tw = chunk.tiles_w, n = chunk.size();
  const int64_t len = 2 * tw + 2, step = g.channels * n;
  for (int64_t c = 0; c < g.channels; ++c) {
    for (std::size_t q = 0; q < chunk.rows.size(); ++q) {
      const TileRow& row = chunk.rows[q];
      for (int64_t r = 0; r < 4; ++r) {
        const float* in = dv + (4 * r * g.channels + c) * n + static_cast<int64_t>(q) * tw;
        input_adjoint_columns(in, in + step, in + 2 * step, in + 3 * step, tw, work + r * len);
      }
      input_adjoint_rows(work, len);
      float* plane = dx + (row.image * g.channels + c) * h * w;
      for (int64_t r = 0; r < 4; ++r) {
        const int64_t y = row.y0 + r;
        if (y >= 0 && y < h) unpad_row(work + r * len, w, g.padding, tw, plane + y * w);
      }
    }
  }
}

// One output row of a tile row, a = 0 or 1, from M (16 rows of tiles_w, `step` apart, xi = 4r + s):
// A^T down the rows gives u_s = m[s] + m[4+s] + m[8+s] (a = 0) or m[4+s] - m[8+s] - m[12+s]
// (a = 1); A^T along the row gives out[2t] = u0 + u1 + u2, out[2t+1] = u1 - u2 - u3.
void output_row(const float* __restrict m, int64_t step, int64_t a, int64_t tiles_w, float bias,
                float* __restrict out) {
  const float* m0 = m + (a == 0 ? 0 : 4) * step;
  const float* m1 = m + (a == 0 ? 4 : 8) * step;
  const float* m2 = m + (a == 0 ? 8 : 12) * step;
  const float sign = a == 0 ? 1.0f : -1.0f;
  for (int64_t t = 0; t < tiles_w; ++t) {
    const float u0 = m0[t] + sign * (m1[t] + m2[t]);
    const float u1 = m0[step + t] + sign * (m1[step + t] + m2[step + t]);
    const float u2 = m0[2 * step + t] + sign * (m1[2 * step + t] + m2[2 * step + t]);
    const float u3 = m0[3 * step + t] + sign * (m1[3 * step + t] + m2[3 * step + t]);
    out[2 * t] = u0 + u1 + u2 + bias;
    out[2 * t + 1] = u1 - u2 - u3 + bias;
  }
}

// y = A^T M A (+ bias) for every output channel and tile; rows or columns past Ho, Wo are dropped
// (a tile row is computed whole into `work`, then its first Wo entries copied out).
void write_outputs(const float* m, const ConvGeometry& g, int64_t o, const float* bias,
                   const Chunk& chunk, float* work, float* y) {
  const int64_t ho = g.out_h(), wo = g.out_w(), tw = chunk.tiles_w, n = chunk.size();
  for (int64_t k = 0; k < o; ++k) {
    const float b = bias != nullptr ? bias[k] : 0.0f;
    for (std::size_t q = 0; q < chunk.rows.size(); ++q) {
      const TileRow& row = chunk.rows[q];
      const float* in = m + k * n + static_cast<int64_t>(q) * tw;
      const int64_t oy = row.y0 + g.padding;
      float* plane = y + (row.image * o + k) * ho * wo;
      for (int64_t a = 0; a < 2 && oy + a < ho; ++a) {
        float* out = plane + (oy + a) * wo;
        if (wo == 2 * tw) {
          output_row(in, o * n, a, tw, b, out);
        } else {
          output_row(in, o * n, a, tw, b, work);
          std::copy(work, work + wo, out);
        }
      }
    }
  }
}

// A along one row of A dY: (e, o) = (dy[2t], dy[2t+1]) of that row gives the tile's four entries
// (e, e + o, e - o, -o).
void output_gradient_columns(const float* __restrict e, const float* __restrict o, int64_t tiles_w,
                             float* __restrict m0, float* __restrict m1, float* __restrict m2,
                             float* __restrict m3) {
  for (int64_t t = 0; t < tiles_w; ++t) {
    m0[t] = e[t];
    m1[t] = e[t] + o[t];
    m2[t] = e[t] - o[t];
    m3[t] = -o[t];
  }
}

// The adjoint of output_row for both rows at once: dm (16 rows of tiles_w, `step` apart) =
// A dY A^T, dY's two rows being d0 and d1 (2 tiles_w entries each). A down the rows gives
// (y0, y0 + y1, y0 - y1, -y1), kept in `work` as even and odd columns; then A along each row.
void output_gradient_rows(const float* __restrict d0, const float* __restrict d1, int64_t tiles_w,
                          int64_t step, float* __restrict work, float* dm) {
  float* even = work;  // [4][tiles_w]
  float* odd = work + 4 * tiles_w;
  for (int64_t t = 0; t < tiles_w; ++t) {
    const float e0 = d0[2 * t], o0 = d0[2 * t + 1], e1 = d1[2 * t], o1 = d1[2 * t + 1];
    even[t] = e0;
    even[tiles_w + t] = e0 + e1;
    even[2 * tiles_w + t] = e0 - e1;
    even[3 * tiles_w + t] = -e1;
    odd[t] = o0;
    odd[tiles_w + t] = o0 + o1;
    odd[2 * tiles_w + t] = o0 - o1;
    odd[3 * tiles_w + t] = -o1;
  }
  for (int64_t r = 0; r < 4; ++r) {
    float* m = dm + 4 * r * step;
    output_gradient_columns(even + r * tiles_w, odd + r * tiles_w, tiles_w, m, m + step,
                            m + 2 * step, m + 3 * step);
  }
}

// dm (16, O, n) = A dY A^T for every output channel and tile; dY past Ho, Wo counts as zero
// (such rows are copied into `work`, zero-padded to 2 tiles_w, first).
void transform_output_gradients(const float* dy, const ConvGeometry& g, int64_t o,
                                const Chunk& chunk, float* work, float* dm) {
  const int64_t ho = g.out_h(), wo = g.out_w(), tw = chunk.tiles_w, n = chunk.size();
  float* rows[2] = {work, work + 2 * tw};  // then 8 tw for output_gradient_rows
  for (int64_t k = 0; k < o; ++k) {
    for (std::size_t q = 0; q < chunk.rows.size(); ++q) {
      const TileRow& row = chunk.rows[q];
      const int64_t oy = row.y0 + g.padding;
      const float* plane = dy + (row.image * o + k) * ho * wo;
      const float* d[2];
      for (int64_t a = 0; a < 2; ++a) {
        if (oy + a < ho && wo == 2 * tw) {
          d[a] = plane + (oy + a) * wo;
          continue;
        }
        std::fill(rows[a], rows[a] + 2 * tw, 0.0f);
        if (oy + a < ho) std::copy(plane + (oy + a) * wo, plane + (oy + a + 1) * wo, rows[a]);
        d[a] = rows[a];
      }
      output_gradient_rows(d[0], d[1], tw, o * n, work + 4 * tw,
                           dm + k * n + static_cast<int64_t>(q) * tw);
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

}  // namespace

bool winograd_applies(const ConvGeometry& g) {
  // Module 15's kernels have no Winograd rung: with them selected (student or naive), every
  // convolution is im2col + module 15's GEMM.
  if (kernel_source() != KernelSource::framework) return false;
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride == 1 && g.out_h() > 0 && g.out_w() > 0;
}

void winograd_conv2d(const float* x, int64_t count, const ConvGeometry& g, const float* w,
                     int64_t out_channels, const float* bias, float* y) {
  const int64_t c = g.channels, o = out_channels;
  std::vector<float> u(static_cast<std::size_t>(kPositions * o * c));
  transform_weights(w, o, c, u.data());
  const Tiling t = tiling(g);
  const int64_t chunk_cols = t.rows_per_chunk * t.tiles_w;
  parallel_for(0, count, 1, [&](int64_t lo, int64_t hi) {
    float* v = scratch(0, static_cast<std::size_t>(kPositions * c * chunk_cols));
    float* m = scratch(1, static_cast<std::size_t>(kPositions * o * chunk_cols));
    float* work = scratch(2, static_cast<std::size_t>(12 * (t.tiles_w + 1)));
    Chunk chunk;
    const int64_t total = (hi - lo) * t.tiles_h;
    for (int64_t first = 0; first < total; first += t.rows_per_chunk) {
      chunk_rows(first, std::min(t.rows_per_chunk, total - first), lo, t, g, chunk);
      const int64_t n = chunk.size();
      transform_inputs(x, g, chunk, work, v);
      for (int64_t xi = 0; xi < kPositions; ++xi) {
        sgemm(false, false, o, n, c, 1.0f, u.data() + xi * o * c, c, v + xi * c * n, n, 0.0f,
              m + xi * o * n, n);
      }
      write_outputs(m, g, o, bias, chunk, work, y);
    }
  });
}

void winograd_conv2d_backward(const float* x, const float* w, const float* dy, int64_t count,
                              const ConvGeometry& g, int64_t out_channels, float* dx, float* dw) {
  if (dx == nullptr && dw == nullptr) return;
  const int64_t c = g.channels, o = out_channels;
  std::vector<float> u(static_cast<std::size_t>(kPositions * o * c));
  transform_weights(w, o, c, u.data());
  const Tiling t = tiling(g);
  const int64_t chunk_cols = t.rows_per_chunk * t.tiles_w;
  const int64_t blocks = std::clamp<int64_t>(num_threads(), 1, std::max<int64_t>(count, 1));
  // Each block sums its own dU (16, O, C); the blocks' sums are added at the end.
  std::vector<float> du(dw != nullptr ? static_cast<std::size_t>(blocks * kPositions * o * c) : 0,
                        0.0f);
  parallel_for(0, blocks, 1, [&](int64_t first_block, int64_t last_block) {
    float* v = scratch(0, static_cast<std::size_t>(kPositions * c * chunk_cols));
    float* dm = scratch(1, static_cast<std::size_t>(kPositions * o * chunk_cols));
    float* work = scratch(2, static_cast<std::size_t>(12 * (t.tiles_w + 1)));
    Chunk chunk;
    for (int64_t block = first_block; block < last_block; ++block) {
      const int64_t lo = block * count / blocks, hi = (block + 1) * count / blocks;
      if (dx != nullptr) std::fill(dx + lo * g.image_size(), dx + hi * g.image_size(), 0.0f);
      float* du_block = dw != nullptr ? du.data() + block * kPositions * o * c : nullptr;
      const int64_t total = (hi - lo) * t.tiles_h;
      for (int64_t first = 0; first < total; first += t.rows_per_chunk) {
        chunk_rows(first, std::min(t.rows_per_chunk, total - first), lo, t, g, chunk);
        const int64_t n = chunk.size();
        transform_output_gradients(dy, g, o, chunk, work, dm);
        if (du_block != nullptr) {
          transform_inputs(x, g, chunk, work, v);
          for (int64_t xi = 0; xi < kPositions; ++xi) {
            sgemm(false, true, o, c, n, 1.0f, dm + xi * o * n, n, v + xi * c * n, n, 1.0f,
                  du_block + xi * o * c, c);
          }
        }
        if (dx != nullptr) {  // V is no longer needed: dV takes its place
          for (int64_t xi = 0; xi < kPositions; ++xi) {
            sgemm(true, false, c, n, o, 1.0f, u.data() + xi * o * c, c, dm + xi * o * n, n, 0.0f,
                  v + xi * c * n, n);
          }
          add_input_gradients(v, g, chunk, work, dx);
        }
      }
    }
  });
  if (dw == nullptr) return;
  for (int64_t block = 1; block < blocks; ++block) {
    const float* part = du.data() + block * kPositions * o * c;
    for (int64_t i = 0; i < kPositions * o * c; ++i) du[static_cast<std::size_t>(i)] += part[i];
  }
  transform_weight_gradients(du.data(), o, c, dw);
}

}  // namespace tinytorch::kernels
