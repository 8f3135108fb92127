// Mesh warp on the CPU.
//
// Forward works on blocks of kRowBlock output rows (one parallel task each): it rasterises every triangle whose
// box meets the block into a small triangle-index buffer (edge functions, lowest index wins), then, span by
// span of a row, maps the pixels barycentrically into the source mesh and samples all channels bilinearly while
// the block is in cache. Backward runs in two phases without atomics: phase A goes over output rows and sums,
// per thread and triangle, the moments of dL/d(source position) that the vertex gradients need; phase B gives
// every task a band of *input* rows to own, so the image gradient is scattered by exactly one thread per row.
// The float32 inner loops are compiled for AVX-512, AVX2 and baseline x86 (GCC target_clones picks at load
// time). Bilinear reads are plain scalar loads: on the x86 cores measured, hardware or emulated gathers were
// slower.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <optional>
#include <tuple>
#include <vector>

#include "mesh_warp/mesh_geometry.h"
#include "mesh_warp/mesh_warp_checks.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define PA_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PA_SIMD_CLONES
#endif
#define PA_ALWAYS_INLINE inline __attribute__((always_inline))

namespace portrait_animator {
namespace {

using mesh::TriangleSetup;

constexpr int64_t kRowBlock = 16;     // output rows per forward / phase-A task
constexpr int64_t kInputBand = 32;    // input rows owned by one phase-B task
constexpr int64_t kSpan = 128;        // pixels per vectorised sampling span

template <typename T>
std::vector<TriangleSetup<T>> build_setups(const T* dst, const int32_t* tris, int64_t batch, int64_t num_points,
                                           int64_t num_tris, int64_t height, int64_t width) {
  std::vector<TriangleSetup<T>> setups(batch * num_tris);
  at::parallel_for(0, batch * num_tris, 512, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t n = i / num_tris, t = i % num_tris;
      mesh::setup_triangle(dst + n * num_points * 2, num_points, tris + 3 * t, height, width, setups[i]);
    }
  });
  return setups;
}

// Marks the pixels of one row span covered by triangle t (unless a lower-indexed triangle got there first).
// Branch-free so that it vectorises; the arithmetic is exactly edge_value()'s.
template <typename T>
PA_ALWAYS_INLINE void raster_span(const TriangleSetup<T>& s, int32_t t, T py, int32_t x0, int32_t x1,
                                  int32_t* row) {
  const T r0 = mesh::exact_mul(s.dx[0], py - s.uy[0]);
  const T r1 = mesh::exact_mul(s.dx[1], py - s.uy[1]);
  const T r2 = mesh::exact_mul(s.dx[2], py - s.uy[2]);
  const T ux0 = s.ux[0], ux1 = s.ux[1], ux2 = s.ux[2];
  const T dy0 = s.dy[0], dy1 = s.dy[1], dy2 = s.dy[2];
#pragma omp simd
  for (int32_t x = x0; x <= x1; ++x) {
    const T px = static_cast<T>(x) + T(0.5);
    const T e0 = r0 - dy0 * (px - ux0);
    const T e1 = r1 - dy1 * (px - ux1);
    const T e2 = r2 - dy2 * (px - ux2);
    const bool inside = (e0 >= T(0)) & (e1 >= T(0)) & (e2 >= T(0)) & ((e0 + e1) + e2 > T(0));
    const int32_t current = row[x];
    row[x] = (inside & (current < 0)) ? t : current;
  }
}

PA_SIMD_CLONES void raster_span_f32(const TriangleSetup<float>& s, int32_t t, float py, int32_t x0, int32_t x1,
                                    int32_t* row) {
  raster_span<float>(s, t, py, x0, x1, row);
}

template <typename T>
void raster(const TriangleSetup<T>& s, int32_t t, T py, int32_t x0, int32_t x1, int32_t* row) {
  if constexpr (std::is_same_v<T, float>) {
    raster_span_f32(s, t, py, x0, x1, row);
  } else {
    raster_span<T>(s, t, py, x0, x1, row);
  }
}

// Triangle index of output rows [y0, y1) of one image; index points at row y0, width W.
template <typename T>
void rasterize_rows(const TriangleSetup<T>* setups, int64_t num_tris, int64_t width, int64_t y0, int64_t y1,
                    int32_t* index) {
  std::fill(index, index + (y1 - y0) * width, -1);
  for (int64_t t = 0; t < num_tris; ++t) {
    const TriangleSetup<T>& s = setups[t];
    const int64_t ya = std::max<int64_t>(s.y0, y0), yb = std::min<int64_t>(s.y1, y1 - 1);
    if (s.x0 > s.x1 || ya > yb) continue;
    for (int64_t y = ya; y <= yb; ++y) {
      raster(s, static_cast<int32_t>(t), static_cast<T>(y) + T(0.5), s.x0, s.x1, index + (y - y0) * width);
    }
  }
}

// Bilinear taps of a span of up to kSpan positions, laid out for SIMD: 32-bit offsets, 0/1 factors instead of
// branches. The arithmetic is mesh::bilinear_taps' (the scalar version the CUDA kernels use).
template <typename coord_t>
struct SpanTaps {
  int32_t row0[kSpan];         // row of the first two taps (the others are on row0 + 1), before validity
  int32_t off[4][kSpan];       // (x0, y0), (x1, y0), (x0, y1), (x1, y1); 0 for taps outside the image
  coord_t weight[4][kSpan];    // bilinear weights, 0 for taps outside
  coord_t valid[4][kSpan];     // 1 for taps inside the image (only with gradients)
  coord_t fx[kSpan], fy[kSpan];
  coord_t clamp_x[kSpan], clamp_y[kSpan];  // d(clamped coordinate)/d(coordinate): 0 where border clamps
};

template <typename coord_t, bool kWithGrad>
PA_ALWAYS_INLINE void span_taps(const coord_t* pos_x, const coord_t* pos_y, int64_t count, int64_t in_h,
                                int64_t in_w, int64_t padding_mode, SpanTaps<coord_t>& t) {
  const bool border = padding_mode == mesh::kBorder;
  const coord_t lo_x = border ? coord_t(0) : coord_t(-2), hi_x = border ? coord_t(in_w - 1) : coord_t(in_w + 1);
  const coord_t lo_y = border ? coord_t(0) : coord_t(-2), hi_y = border ? coord_t(in_h - 1) : coord_t(in_h + 1);
  const int32_t w = static_cast<int32_t>(in_w), h = static_cast<int32_t>(in_h);
  const int32_t unclamped = !border;  // zeros padding never clamps (within the image's reach)
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) {
    const coord_t u_raw = pos_x[i] - coord_t(0.5), v_raw = pos_y[i] - coord_t(0.5);
    coord_t u = u_raw > lo_x ? u_raw : lo_x;  // NaN -> lo
    u = u < hi_x ? u : hi_x;
    coord_t v = v_raw > lo_y ? v_raw : lo_y;
    v = v < hi_y ? v : hi_y;
    // floor() by truncation (u, v are clamped, so this is exact and vectorises where std::floor does not).
    const int32_t tx = static_cast<int32_t>(u), ty = static_cast<int32_t>(v);
    const int32_t x0 = tx - (static_cast<coord_t>(tx) > u), y0 = ty - (static_cast<coord_t>(ty) > v);
    const coord_t fx = u - static_cast<coord_t>(x0), fy = v - static_cast<coord_t>(y0);
    const int32_t vx0 = (x0 >= 0) & (x0 < w), vx1 = (x0 + 1 >= 0) & (x0 + 1 < w);
    const int32_t vy0 = (y0 >= 0) & (y0 < h), vy1 = (y0 + 1 >= 0) & (y0 + 1 < h);
    const coord_t wx0 = (coord_t(1) - fx) * static_cast<coord_t>(vx0), wx1 = fx * static_cast<coord_t>(vx1);
    const coord_t wy0 = (coord_t(1) - fy) * static_cast<coord_t>(vy0), wy1 = fy * static_cast<coord_t>(vy1);
    const int32_t cx0 = x0 * vx0, cx1 = (x0 + 1) * vx1, cy0 = y0 * vy0, cy1 = (y0 + 1) * vy1;
    t.row0[i] = y0;
    t.off[0][i] = cy0 * w + cx0;
    t.off[1][i] = cy0 * w + cx1;
    t.off[2][i] = cy1 * w + cx0;
    t.off[3][i] = cy1 * w + cx1;
    t.weight[0][i] = wx0 * wy0;
    t.weight[1][i] = wx1 * wy0;
    t.weight[2][i] = wx0 * wy1;
    t.weight[3][i] = wx1 * wy1;
    if constexpr (kWithGrad) {
      t.valid[0][i] = static_cast<coord_t>(vx0 * vy0);
      t.valid[1][i] = static_cast<coord_t>(vx1 * vy0);
      t.valid[2][i] = static_cast<coord_t>(vx0 * vy1);
      t.valid[3][i] = static_cast<coord_t>(vx1 * vy1);
      t.fx[i] = fx;
      t.fy[i] = fy;
      t.clamp_x[i] = static_cast<coord_t>(((u_raw > lo_x) & (u_raw < hi_x)) | unclamped);
      t.clamp_y[i] = static_cast<coord_t>(((v_raw > lo_y) & (v_raw < hi_y)) | unclamped);
    }
  }
}

// out[c * out_plane + i] = bilinear sample of channel c at position i, for every channel.
template <typename scalar_t, typename coord_t>
PA_ALWAYS_INLINE void sample_span(const coord_t* pos_x, const coord_t* pos_y, int64_t count, const scalar_t* image,
                                  int64_t channels, int64_t in_h, int64_t in_w, int64_t padding_mode, scalar_t* out,
                                  int64_t out_plane) {
  SpanTaps<coord_t> t;
  span_taps<coord_t, false>(pos_x, pos_y, count, in_h, in_w, padding_mode, t);
  const int64_t in_plane = in_h * in_w;
  // Pixel-major with scalar loads: x86 gathers (real or emulated) are slower than four plain loads here.
  for (int64_t i = 0; i < count; ++i) {
    const int32_t o0 = t.off[0][i], o1 = t.off[1][i], o2 = t.off[2][i], o3 = t.off[3][i];
    const coord_t w0 = t.weight[0][i], w1 = t.weight[1][i], w2 = t.weight[2][i], w3 = t.weight[3][i];
    const scalar_t* plane = image;
    scalar_t* out_c = out + i;
    for (int64_t c = 0; c < channels; ++c, plane += in_plane, out_c += out_plane) {
      *out_c = static_cast<scalar_t>(w0 * static_cast<coord_t>(plane[o0]) + w1 * static_cast<coord_t>(plane[o1]) +
                                     w2 * static_cast<coord_t>(plane[o2]) + w3 * static_cast<coord_t>(plane[o3]));
    }
  }
}

// g[i] = sum over channels of grad_out * d(sample)/d(position), as mesh::bilinear_position_grad.
template <typename scalar_t, typename coord_t>
PA_ALWAYS_INLINE void position_grad_span(const coord_t* pos_x, const coord_t* pos_y, int64_t count,
                                         const scalar_t* image, const scalar_t* grad_out, int64_t channels,
                                         int64_t in_h, int64_t in_w, int64_t padding_mode, int64_t out_plane,
                                         coord_t* g_x, coord_t* g_y) {
  SpanTaps<coord_t> t;
  span_taps<coord_t, true>(pos_x, pos_y, count, in_h, in_w, padding_mode, t);
  const int64_t in_plane = in_h * in_w;
  for (int64_t i = 0; i < count; ++i) {  // pixel-major, scalar loads (see sample_span)
    const int32_t o0 = t.off[0][i], o1 = t.off[1][i], o2 = t.off[2][i], o3 = t.off[3][i];
    const coord_t m0 = t.valid[0][i], m1 = t.valid[1][i], m2 = t.valid[2][i], m3 = t.valid[3][i];
    const coord_t fx = t.fx[i], fy = t.fy[i];
    const scalar_t* plane = image;
    const scalar_t* go = grad_out + i;
    coord_t gx = 0, gy = 0;
    for (int64_t c = 0; c < channels; ++c, plane += in_plane, go += out_plane) {
      const coord_t g = static_cast<coord_t>(*go);
      const coord_t v00 = static_cast<coord_t>(plane[o0]) * m0, v10 = static_cast<coord_t>(plane[o1]) * m1;
      const coord_t v01 = static_cast<coord_t>(plane[o2]) * m2, v11 = static_cast<coord_t>(plane[o3]) * m3;
      gx += g * ((coord_t(1) - fy) * (v10 - v00) + fy * (v11 - v01));
      gy += g * ((coord_t(1) - fx) * (v01 - v00) + fx * (v11 - v10));
    }
    g_x[i] = gx * t.clamp_x[i];
    g_y[i] = gy * t.clamp_y[i];
  }
}

// The float32 span kernels, cloned per instruction set; other dtypes use the templates directly.
PA_SIMD_CLONES void sample_span_f32(const float* pos_x, const float* pos_y, int64_t count, const float* image,
                                    int64_t channels, int64_t in_h, int64_t in_w, int64_t padding_mode, float* out,
                                    int64_t out_plane) {
  sample_span<float, float>(pos_x, pos_y, count, image, channels, in_h, in_w, padding_mode, out, out_plane);
}
PA_SIMD_CLONES void position_grad_span_f32(const float* pos_x, const float* pos_y, int64_t count, const float* image,
                                           const float* grad_out, int64_t channels, int64_t in_h, int64_t in_w,
                                           int64_t padding_mode, int64_t out_plane, float* g_x, float* g_y) {
  position_grad_span<float, float>(pos_x, pos_y, count, image, grad_out, channels, in_h, in_w, padding_mode,
                                   out_plane, g_x, g_y);
}

PA_SIMD_CLONES void span_taps_f32(const float* pos_x, const float* pos_y, int64_t count, int64_t in_h, int64_t in_w,
                                  int64_t padding_mode, SpanTaps<float>& taps) {
  span_taps<float, false>(pos_x, pos_y, count, in_h, in_w, padding_mode, taps);
}

template <typename coord_t>
void taps_of_span(const coord_t* pos_x, const coord_t* pos_y, int64_t count, int64_t in_h, int64_t in_w,
                  int64_t padding_mode, SpanTaps<coord_t>& taps) {
  if constexpr (std::is_same_v<coord_t, float>) {
    span_taps_f32(pos_x, pos_y, count, in_h, in_w, padding_mode, taps);
  } else {
    span_taps<coord_t, false>(pos_x, pos_y, count, in_h, in_w, padding_mode, taps);
  }
}

// Conservative range [lo, hi] of input rows that the bilinear taps of a span of positions can touch.
template <typename coord_t>
void tap_row_range(const coord_t* pos_y, int64_t count, int64_t in_h, int64_t padding_mode, int32_t& lo,
                   int32_t& hi) {
  const bool border = padding_mode == mesh::kBorder;
  const coord_t lo_y = border ? coord_t(0) : coord_t(-2), hi_y = border ? coord_t(in_h - 1) : coord_t(in_h + 1);
  int32_t row_lo = static_cast<int32_t>(in_h) + 2, row_hi = -3;
#pragma omp simd reduction(min : row_lo) reduction(max : row_hi)
  for (int64_t i = 0; i < count; ++i) {
    coord_t v = pos_y[i] - coord_t(0.5);
    v = v > lo_y ? v : lo_y;
    v = v < hi_y ? v : hi_y;
    const int32_t ty = static_cast<int32_t>(v);
    const int32_t y0 = ty - (static_cast<coord_t>(ty) > v);
    row_lo = std::min(row_lo, y0);
    row_hi = std::max(row_hi, y0 + 1);
  }
  lo = row_lo;
  hi = row_hi;
}

template <typename scalar_t, typename coord_t>
void span_sample(const coord_t* pos_x, const coord_t* pos_y, int64_t count, const scalar_t* image, int64_t channels,
                 int64_t in_h, int64_t in_w, int64_t padding_mode, scalar_t* out, int64_t out_plane) {
  if constexpr (std::is_same_v<scalar_t, float>) {
    sample_span_f32(pos_x, pos_y, count, image, channels, in_h, in_w, padding_mode, out, out_plane);
  } else {
    sample_span<scalar_t, coord_t>(pos_x, pos_y, count, image, channels, in_h, in_w, padding_mode, out, out_plane);
  }
}

template <typename scalar_t, typename coord_t>
void span_position_grad(const coord_t* pos_x, const coord_t* pos_y, int64_t count, const scalar_t* image,
                        const scalar_t* grad_out, int64_t channels, int64_t in_h, int64_t in_w, int64_t padding_mode,
                        int64_t out_plane, coord_t* g_x, coord_t* g_y) {
  if constexpr (std::is_same_v<scalar_t, float>) {
    position_grad_span_f32(pos_x, pos_y, count, image, grad_out, channels, in_h, in_w, padding_mode, out_plane, g_x,
                           g_y);
  } else {
    position_grad_span<scalar_t, coord_t>(pos_x, pos_y, count, image, grad_out, channels, in_h, in_w, padding_mode,
                                          out_plane, g_x, g_y);
  }
}

// Per-thread scratch reused across calls: fresh multi-megabyte buffers would cost a page fault per 4 KiB on
// every call, which on a busy CPU costs as much as the warp itself.
template <typename T>
T* scratch(int64_t size) {
  thread_local std::vector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < size) buffer.resize(size);
  return buffer.data();
}

struct WarpShape {
  int64_t batch, channels, in_h, in_w, out_h, out_w, num_points, num_tris;
};

// The triangle set-ups of every image as structure-of-arrays (field k of triangle t at [field][t]), so the
// per-pixel barycentric mapping can gather them in SIMD lanes.
template <typename T>
struct TriangleTable {
  enum Field { kUx, kUy = 3, kDx = 6, kDy = 9, kSx = 12, kSy = 15, kFields = 18 };
  int64_t num_tris;
  std::vector<T> data;  // [image][field][triangle]

  TriangleTable(const std::vector<TriangleSetup<T>>& setups, const T* src, int64_t batch, int64_t num_points,
                int64_t num_tris)
      : num_tris(num_tris), data(batch * kFields * std::max<int64_t>(num_tris, 1)) {
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t t = 0; t < num_tris; ++t) {
        const TriangleSetup<T>& s = setups[n * num_tris + t];
        T* f = data.data() + n * kFields * num_tris + t;
        for (int k = 0; k < 3; ++k) {
          f[(kUx + k) * num_tris] = s.ux[k];
          f[(kUy + k) * num_tris] = s.uy[k];
          f[(kDx + k) * num_tris] = s.dx[k];
          f[(kDy + k) * num_tris] = s.dy[k];
          const int64_t v = s.x0 <= s.x1 ? s.vertex[k] : 0;  // triangles that cover nothing are never read
          f[(kSx + k) * num_tris] = src[(n * num_points + v) * 2];
          f[(kSy + k) * num_tris] = src[(n * num_points + v) * 2 + 1];
        }
      }
    }
  }
  const T* image(int64_t n) const { return data.data() + n * kFields * num_tris; }
};

// Source positions of output pixels x0 .. x0 + count - 1 of row y from their triangle indices: the barycentric
// weights (edge values, computed exactly as the coverage test does, over their sum) applied to the source
// vertices, as mesh::map_to_source; pixels without a valid triangle map to themselves. A row crosses each
// triangle in one run of pixels: the triangle's fields are read once per run and broadcast, and the pixels of
// the run counted in 32 bits (x86 converts 64-bit integers to float one at a time before AVX-512DQ, which
// kept the loop that gathered the fields per pixel scalar). The arithmetic is the reference's, unchanged.
template <typename T>
PA_ALWAYS_INLINE void span_positions(const T* table, int64_t num_tris, const int32_t* index, int64_t x0,
                                     int64_t count, int64_t y, T* pos_x, T* pos_y) {
  using F = typename TriangleTable<T>::Field;
  const T py = static_cast<T>(y) + T(0.5);
  const int32_t last = static_cast<int32_t>(num_tris) - 1;
  int64_t end = 0;
  for (int64_t begin = 0; begin < count; begin = end) {
    const int32_t t = index[begin];
    end = begin + 1;
    while (end < count && index[end] == t) ++end;
    if (t < 0 || t > last) {
      for (int64_t i = begin; i < end; ++i) pos_x[i] = static_cast<T>(x0 + i) + T(0.5), pos_y[i] = py;
      continue;
    }
    const T ux0 = table[F::kUx * num_tris + t], ux1 = table[(F::kUx + 1) * num_tris + t],
            ux2 = table[(F::kUx + 2) * num_tris + t];
    const T dy0 = table[F::kDy * num_tris + t], dy1 = table[(F::kDy + 1) * num_tris + t],
            dy2 = table[(F::kDy + 2) * num_tris + t];
    const T sx0 = table[F::kSx * num_tris + t], sx1 = table[(F::kSx + 1) * num_tris + t],
            sx2 = table[(F::kSx + 2) * num_tris + t];
    const T sy0 = table[F::kSy * num_tris + t], sy1 = table[(F::kSy + 1) * num_tris + t],
            sy2 = table[(F::kSy + 2) * num_tris + t];
    const T r0 = table[F::kDx * num_tris + t] * (py - table[F::kUy * num_tris + t]);
    const T r1 = table[(F::kDx + 1) * num_tris + t] * (py - table[(F::kUy + 1) * num_tris + t]);
    const T r2 = table[(F::kDx + 2) * num_tris + t] * (py - table[(F::kUy + 2) * num_tris + t]);
    T* __restrict out_x = pos_x;
    T* __restrict out_y = pos_y;
    const int32_t first = static_cast<int32_t>(begin), stop = static_cast<int32_t>(end);
    const int32_t left = static_cast<int32_t>(x0);
#pragma omp simd
    for (int32_t i = first; i < stop; ++i) {
      const T px = static_cast<T>(left + i) + T(0.5);
      const T e0 = r0 - dy0 * (px - ux0);
      const T e1 = r1 - dy1 * (px - ux1);
      const T e2 = r2 - dy2 * (px - ux2);
      const T sum = (e0 + e1) + e2;
      const T w0 = e0 / sum, w1 = e1 / sum, w2 = e2 / sum;
      out_x[i] = ((T(0) + w0 * sx0) + w1 * sx1) + w2 * sx2;
      out_y[i] = ((T(0) + w0 * sy0) + w1 * sy1) + w2 * sy2;
    }
  }
}

PA_SIMD_CLONES void span_positions_f32(const float* table, int64_t num_tris, const int32_t* index, int64_t x0,
                                       int64_t count, int64_t y, float* pos_x, float* pos_y) {
  span_positions<float>(table, num_tris, index, x0, count, y, pos_x, pos_y);
}

template <typename T>
void map_span(const T* table, int64_t num_tris, const int32_t* index, int64_t x0, int64_t count, int64_t y,
               T* pos_x, T* pos_y) {
  if (num_tris == 0) {  // nothing covers anything: identity (and no table to read)
    for (int64_t i = 0; i < count; ++i) pos_x[i] = static_cast<T>(x0 + i) + T(0.5), pos_y[i] = y + T(0.5);
  } else if constexpr (std::is_same_v<T, float>) {
    span_positions_f32(table, num_tris, index, x0, count, y, pos_x, pos_y);
  } else {
    span_positions<T>(table, num_tris, index, x0, count, y, pos_x, pos_y);
  }
}

// The forward pass shared by mesh_warp, mesh_warp_out and mesh_warp_grid; null outputs are skipped.
template <typename scalar_t>
void mesh_warp_forward_cpu(const WarpShape& sh, const scalar_t* image, const at::opmath_type<scalar_t>* src,
                           const at::opmath_type<scalar_t>* dst, const int32_t* tris, int64_t padding_mode,
                           scalar_t* out, at::opmath_type<scalar_t>* grid, int32_t* index_out) {
  using coord_t = at::opmath_type<scalar_t>;
  const auto setups = build_setups(dst, tris, sh.batch, sh.num_points, sh.num_tris, sh.out_h, sh.out_w);
  const TriangleTable<coord_t> table(setups, src, sh.batch, sh.num_points, sh.num_tris);
  const int64_t blocks = (sh.out_h + kRowBlock - 1) / kRowBlock;
  const int64_t in_plane = sh.in_h * sh.in_w, out_plane = sh.out_h * sh.out_w;
  at::parallel_for(0, sh.batch * blocks, 1, [&](int64_t begin, int64_t end) {
    coord_t pos_x[kSpan], pos_y[kSpan];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / blocks;
      const int64_t y0 = (task % blocks) * kRowBlock, y1 = std::min(y0 + kRowBlock, sh.out_h);
      const TriangleSetup<coord_t>* img_setups = setups.data() + n * sh.num_tris;
      int32_t* index = index_out ? index_out + n * out_plane + y0 * sh.out_w : scratch<int32_t>(kRowBlock * sh.out_w);
      rasterize_rows(img_setups, sh.num_tris, sh.out_w, y0, y1, index);
      for (int64_t y = y0; y < y1; ++y) {
        for (int64_t x0 = 0; x0 < sh.out_w; x0 += kSpan) {
          const int64_t count = std::min(kSpan, sh.out_w - x0);
          map_span(table.image(n), sh.num_tris, index + (y - y0) * sh.out_w + x0, x0, count, y, pos_x, pos_y);
          if (grid) {
            coord_t* grid_span = grid + (n * out_plane + y * sh.out_w + x0) * 2;
            for (int64_t i = 0; i < count; ++i) grid_span[2 * i] = pos_x[i], grid_span[2 * i + 1] = pos_y[i];
          }
          if (out) {
            span_sample<scalar_t, coord_t>(pos_x, pos_y, count, image + n * sh.channels * in_plane, sh.channels,
                                           sh.in_h, sh.in_w, padding_mode,
                                           out + n * sh.channels * out_plane + y * sh.out_w + x0, out_plane);
          }
        }
      }
    }
  });
}

// Phase A of backward, over blocks of output rows: the gradient with respect to both point sets, from grad_out
// through the bilinear sample (needs image) and/or from grad_grid. Each thread sums, per triangle, the moments
// of dL/d(source position) (see mesh::MapGradMoments); they are reduced over threads in a fixed order and
// turned into vertex gradients once per triangle. When the image gradient is wanted it also stores every
// pixel's source position and, per output row, the range of input rows its taps touch, for phase B.
template <typename scalar_t>
void point_gradients_cpu(const WarpShape& sh, const scalar_t* grad_out, const at::opmath_type<scalar_t>* grad_grid,
                         const scalar_t* image, const at::opmath_type<scalar_t>* src,
                         const at::opmath_type<scalar_t>* dst,
                         const std::vector<TriangleSetup<at::opmath_type<scalar_t>>>& setups, const int32_t* index,
                         int64_t padding_mode, bool need_points, at::opmath_type<scalar_t>* g_src,
                         at::opmath_type<scalar_t>* g_dst, at::opmath_type<scalar_t>* stored_positions,
                         int32_t* span_row_lo, int32_t* span_row_hi) {
  using coord_t = at::opmath_type<scalar_t>;
  using Moments = mesh::MapGradMoments<double>;
  const int64_t blocks = (sh.out_h + kRowBlock - 1) / kRowBlock;
  const int64_t in_plane = sh.in_h * sh.in_w, out_plane = sh.out_h * sh.out_w;
  const int64_t slot_size = sh.batch * sh.num_tris;
  const int64_t slots = need_points ? at::get_num_threads() : 0;
  const int64_t spans_per_row = (sh.out_w + kSpan - 1) / kSpan;
  std::vector<Moments> moments(slots * slot_size);
  const TriangleTable<coord_t> table(setups, src, sh.batch, sh.num_points, sh.num_tris);
  at::parallel_for(0, sh.batch * blocks, 1, [&](int64_t begin, int64_t end) {
    Moments* thread_moments = need_points ? moments.data() + at::get_thread_num() * slot_size : nullptr;
    coord_t pos_x[kSpan], pos_y[kSpan], g_x[kSpan], g_y[kSpan];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / blocks;
      const int64_t y0 = (task % blocks) * kRowBlock, y1 = std::min(y0 + kRowBlock, sh.out_h);
      const TriangleSetup<coord_t>* img_setups = setups.data() + n * sh.num_tris;
      const coord_t* img_dst = dst + n * sh.num_points * 2;
      for (int64_t y = y0; y < y1; ++y) {
        for (int64_t x0 = 0; x0 < sh.out_w; x0 += kSpan) {
          const int64_t count = std::min(kSpan, sh.out_w - x0);
          const int64_t pixel0 = y * sh.out_w + x0;
          const int32_t* span_index = index + n * out_plane + pixel0;
          map_span(table.image(n), sh.num_tris, span_index, x0, count, y, pos_x, pos_y);
          if (stored_positions) {  // planar (N, 2, H, W), and the rows each span's taps reach
            std::copy(pos_x, pos_x + count, stored_positions + n * 2 * out_plane + pixel0);
            std::copy(pos_y, pos_y + count, stored_positions + (n * 2 + 1) * out_plane + pixel0);
            const int64_t span = (n * sh.out_h + y) * spans_per_row + x0 / kSpan;
            tap_row_range(pos_y, count, sh.in_h, padding_mode, span_row_lo[span], span_row_hi[span]);
          }
          if (!need_points) continue;
          if (grad_out) {
            span_position_grad<scalar_t, coord_t>(pos_x, pos_y, count, image + n * sh.channels * in_plane,
                                                  grad_out + n * sh.channels * out_plane + pixel0, sh.channels,
                                                  sh.in_h, sh.in_w, padding_mode, out_plane, g_x, g_y);
          } else {
            std::fill(g_x, g_x + count, coord_t(0));
            std::fill(g_y, g_y + count, coord_t(0));
          }
          const coord_t py = static_cast<coord_t>(y) + coord_t(0.5);
          for (int64_t i = 0; i < count; ++i) {
            const int32_t t = span_index[i];
            // Indices forward cannot produce (out of range, or a triangle that covers nothing and may have
            // invalid vertex indices) count as uncovered, so a bad triangle_index never reads out of bounds.
            if (t < 0 || t >= sh.num_tris || img_setups[t].x0 > img_setups[t].x1) continue;
            coord_t gx = g_x[i], gy = g_y[i];
            if (grad_grid) {
              gx += grad_grid[(n * out_plane + pixel0 + i) * 2];
              gy += grad_grid[(n * out_plane + pixel0 + i) * 2 + 1];
            }
            const int32_t v0 = img_setups[t].vertex[0];
            const coord_t px = static_cast<coord_t>(x0 + i) + coord_t(0.5);
            thread_moments[n * sh.num_tris + t].add(gx, gy, px - img_dst[2 * v0], py - img_dst[2 * v0 + 1]);
          }
        }
      }
    }
  });
  if (!need_points) return;
  // Reduce over threads in a fixed order (deterministic for a given thread count), then per triangle.
  std::vector<double> src_sums(sh.batch * sh.num_points * 2, 0.0), dst_sums(src_sums.size(), 0.0);
  for (int64_t i = 0; i < slot_size; ++i) {
    Moments total = moments[i];
    for (int64_t k = 1; k < slots; ++k) {
      const Moments& m = moments[k * slot_size + i];
      for (int a = 0; a < 2; ++a) {
        total.g[a] += m.g[a];
        for (int b = 0; b < 2; ++b) total.gq[a][b] += m.gq[a][b];
      }
    }
    if (total.g[0] == 0 && total.g[1] == 0 && total.gq[0][0] == 0 && total.gq[0][1] == 0 && total.gq[1][0] == 0 &&
        total.gq[1][1] == 0) {
      continue;  // covers no pixel (or no gradient reached it)
    }
    const int64_t n = i / sh.num_tris;
    const int32_t* vertex = setups[i].vertex;
    double gs[3][2] = {}, gd[3][2] = {};
    mesh::map_to_source_backward(src + n * sh.num_points * 2, dst + n * sh.num_points * 2, vertex, total, gs, gd);
    for (int k = 0; k < 3; ++k) {
      for (int a = 0; a < 2; ++a) {
        src_sums[(n * sh.num_points + vertex[k]) * 2 + a] += gs[k][a];
        dst_sums[(n * sh.num_points + vertex[k]) * 2 + a] += gd[k][a];
      }
    }
  }
  for (size_t i = 0; i < src_sums.size(); ++i) {
    if (g_src) g_src[i] = static_cast<coord_t>(src_sums[i]);
    if (g_dst) g_dst[i] = static_cast<coord_t>(dst_sums[i]);
  }
}

// Phase B of backward: scatters grad_out through the bilinear weights into the image gradient (accumulator
// type, zero-initialised), from the positions phase A stored. Each task owns a band of input rows, so no two
// threads write the same row and no atomics are needed; spans whose taps miss the band are skipped.
template <typename scalar_t>
void image_gradient_cpu(const WarpShape& sh, const scalar_t* grad_out, const at::opmath_type<scalar_t>* positions,
                        int64_t padding_mode, const int32_t* span_row_lo, const int32_t* span_row_hi,
                        at::opmath_type<scalar_t>* grad_image) {
  using coord_t = at::opmath_type<scalar_t>;
  const int64_t bands = (sh.in_h + kInputBand - 1) / kInputBand;
  const int64_t in_plane = sh.in_h * sh.in_w, out_plane = sh.out_h * sh.out_w;
  const int64_t spans_per_row = (sh.out_w + kSpan - 1) / kSpan;
  at::parallel_for(0, sh.batch * bands, 1, [&](int64_t begin, int64_t end) {
    SpanTaps<coord_t> taps;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / bands;
      const int32_t r0 = static_cast<int32_t>((task % bands) * kInputBand);
      const int32_t r1 = static_cast<int32_t>(std::min<int64_t>(r0 + kInputBand, sh.in_h));
      coord_t* g_image = grad_image + n * sh.channels * in_plane;
      for (int64_t y = 0; y < sh.out_h; ++y) {
        for (int64_t x0 = 0; x0 < sh.out_w; x0 += kSpan) {
          const int64_t span = (n * sh.out_h + y) * spans_per_row + x0 / kSpan;
          if (span_row_hi[span] < r0 || span_row_lo[span] >= r1) continue;
          const int64_t count = std::min(kSpan, sh.out_w - x0);
          const int64_t pixel0 = y * sh.out_w + x0;
          taps_of_span(positions + n * 2 * out_plane + pixel0, positions + (n * 2 + 1) * out_plane + pixel0, count,
                       sh.in_h, sh.in_w, padding_mode, taps);
          for (int64_t i = 0; i < count; ++i) {
            const int32_t row = taps.row0[i];
            const bool own0 = row >= r0 && row < r1, own1 = row + 1 >= r0 && row + 1 < r1;
            if (!own0 && !own1) continue;
            const scalar_t* go = grad_out + n * sh.channels * out_plane + pixel0 + i;
            coord_t* g_plane = g_image;
            for (int64_t c = 0; c < sh.channels; ++c, go += out_plane, g_plane += in_plane) {
              const coord_t g = static_cast<coord_t>(*go);
              if (own0) {
                g_plane[taps.off[0][i]] += taps.weight[0][i] * g;
                g_plane[taps.off[1][i]] += taps.weight[1][i] * g;
              }
              if (own1) {
                g_plane[taps.off[2][i]] += taps.weight[2][i] * g;
                g_plane[taps.off[3][i]] += taps.weight[3][i] * g;
              }
            }
          }
        }
      }
    }
  });
}

WarpShape warp_shape(const at::Tensor& image, const at::Tensor& points, const at::Tensor& triangles,
                     int64_t out_h, int64_t out_w) {
  return {points.size(0), image.defined() ? image.size(1) : 0, image.defined() ? image.size(2) : 0,
          image.defined() ? image.size(3) : 0, out_h, out_w, points.size(1), triangles.size(0)};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> mesh_warp_cpu(const at::Tensor& image_in, const at::Tensor& src_in,
                                                             const at::Tensor& dst_in, const at::Tensor& tris_in,
                                                             int64_t out_h, int64_t out_w, int64_t padding_mode,
                                                             bool return_grid, bool return_index) {
  check_mesh_warp_inputs("mesh_warp", image_in, src_in, dst_in, tris_in, padding_mode);
  check_out_size("mesh_warp", out_h, out_w);
  const at::Tensor image = image_in.contiguous(), src = src_in.contiguous(), dst = dst_in.contiguous(),
                   tris = tris_in.contiguous();
  const WarpShape sh = warp_shape(image, src, tris, out_h, out_w);
  at::Tensor out = at::empty({sh.batch, sh.channels, out_h, out_w}, image.options());
  at::Tensor grid = at::empty(return_grid ? at::IntArrayRef{sh.batch, out_h, out_w, 2} : at::IntArrayRef{0},
                              src.options());
  at::Tensor index = at::empty(return_index ? at::IntArrayRef{sh.batch, out_h, out_w} : at::IntArrayRef{0},
                               tris.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, image.scalar_type(), "mesh_warp_cpu", [&] {
    using coord_t = at::opmath_type<scalar_t>;
    mesh_warp_forward_cpu<scalar_t>(sh, image.const_data_ptr<scalar_t>(), src.const_data_ptr<coord_t>(),
                                    dst.const_data_ptr<coord_t>(), tris.const_data_ptr<int32_t>(), padding_mode,
                                    out.mutable_data_ptr<scalar_t>(),
                                    return_grid ? grid.mutable_data_ptr<coord_t>() : nullptr,
                                    return_index ? index.mutable_data_ptr<int32_t>() : nullptr);
  });
  return {out, grid, index};
}

void mesh_warp_out_cpu(const at::Tensor& image_in, const at::Tensor& src_in, const at::Tensor& dst_in,
                       const at::Tensor& tris_in, int64_t padding_mode, at::Tensor& out) {
  check_mesh_warp_inputs("mesh_warp_out", image_in, src_in, dst_in, tris_in, padding_mode);
  check_out_tensor("mesh_warp_out", out, image_in);
  const at::Tensor image = image_in.contiguous(), src = src_in.contiguous(), dst = dst_in.contiguous(),
                   tris = tris_in.contiguous();
  const WarpShape sh = warp_shape(image, src, tris, out.size(2), out.size(3));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, image.scalar_type(), "mesh_warp_out_cpu", [&] {
    using coord_t = at::opmath_type<scalar_t>;
    mesh_warp_forward_cpu<scalar_t>(sh, image.const_data_ptr<scalar_t>(), src.const_data_ptr<coord_t>(),
                                    dst.const_data_ptr<coord_t>(), tris.const_data_ptr<int32_t>(), padding_mode,
                                    out.mutable_data_ptr<scalar_t>(), nullptr, nullptr);
  });
}

std::tuple<at::Tensor, at::Tensor> mesh_warp_grid_cpu(const at::Tensor& src_in, const at::Tensor& dst_in,
                                                      const at::Tensor& tris_in, int64_t out_h, int64_t out_w) {
  check_grid_mesh("mesh_warp_grid", src_in, dst_in, tris_in);
  check_out_size("mesh_warp_grid", out_h, out_w);
  const at::Tensor src = src_in.contiguous(), dst = dst_in.contiguous(), tris = tris_in.contiguous();
  const WarpShape sh = warp_shape(at::Tensor(), src, tris, out_h, out_w);
  at::Tensor grid = at::empty({sh.batch, out_h, out_w, 2}, src.options());
  at::Tensor index = at::empty({sh.batch, out_h, out_w}, tris.options());
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "mesh_warp_grid_cpu", [&] {
    mesh_warp_forward_cpu<scalar_t>(sh, nullptr, src.const_data_ptr<scalar_t>(), dst.const_data_ptr<scalar_t>(),
                                    tris.const_data_ptr<int32_t>(), mesh::kZeros, nullptr,
                                    grid.mutable_data_ptr<scalar_t>(), index.mutable_data_ptr<int32_t>());
  });
  return {grid, index};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> mesh_warp_backward_cpu(
    const at::Tensor& grad_out_in, const std::optional<at::Tensor>& grad_grid_in, const at::Tensor& image_in,
    const at::Tensor& src_in, const at::Tensor& dst_in, const at::Tensor& tris_in, const at::Tensor& index_in,
    int64_t padding_mode, std::array<bool, 3> output_mask) {
  check_mesh_warp_inputs("mesh_warp_backward", image_in, src_in, dst_in, tris_in, padding_mode);
  check_triangle_index("mesh_warp_backward", index_in, image_in.size(0), image_in.device());
  const int64_t out_h = index_in.size(1), out_w = index_in.size(2);
  check_grad_out("mesh_warp_backward", grad_out_in, image_in, out_h, out_w);
  const at::Tensor image = image_in.contiguous(), src = src_in.contiguous(), dst = dst_in.contiguous(),
                   tris = tris_in.contiguous(), index = index_in.contiguous(), grad_out = grad_out_in.contiguous();
  at::Tensor grad_grid;
  if (grad_grid_in.has_value() && grad_grid_in->defined()) {
    check_grad_grid("mesh_warp_backward", *grad_grid_in, src, out_h, out_w);
    grad_grid = grad_grid_in->contiguous();
  }
  const WarpShape sh = warp_shape(image, src, tris, out_h, out_w);
  const bool need_image = output_mask[0], need_points = output_mask[1] || output_mask[2];
  at::Tensor grad_image = at::empty(need_image ? image.sizes() : at::IntArrayRef{0}, image.options());
  at::Tensor grad_src = at::empty(output_mask[1] ? src.sizes() : at::IntArrayRef{0}, src.options());
  at::Tensor grad_dst = at::empty(output_mask[2] ? dst.sizes() : at::IntArrayRef{0}, dst.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, image.scalar_type(), "mesh_warp_backward_cpu", [&] {
    using coord_t = at::opmath_type<scalar_t>;
    const auto setups = build_setups(dst.const_data_ptr<coord_t>(), tris.const_data_ptr<int32_t>(), sh.batch,
                                     sh.num_points, sh.num_tris, out_h, out_w);
    const int64_t spans = need_image ? sh.batch * out_h * ((out_w + kSpan - 1) / kSpan) : 0;
    std::vector<int32_t> span_row_lo(spans), span_row_hi(spans);
    coord_t* positions = need_image ? scratch<coord_t>(sh.batch * out_h * out_w * 2) : nullptr;
    point_gradients_cpu<scalar_t>(sh, grad_out.const_data_ptr<scalar_t>(),
                                  grad_grid.defined() ? grad_grid.const_data_ptr<coord_t>() : nullptr,
                                  image.const_data_ptr<scalar_t>(), src.const_data_ptr<coord_t>(),
                                  dst.const_data_ptr<coord_t>(), setups, index.const_data_ptr<int32_t>(),
                                  padding_mode, need_points,
                                  output_mask[1] ? grad_src.mutable_data_ptr<coord_t>() : nullptr,
                                  output_mask[2] ? grad_dst.mutable_data_ptr<coord_t>() : nullptr, positions,
                                  span_row_lo.data(), span_row_hi.data());
    if (need_image) {
      // float and double accumulate in place; half and bfloat16 in a float buffer, rounded once at the end.
      at::Tensor acc = std::is_same_v<scalar_t, coord_t> ? grad_image.zero_()
                                                         : at::zeros(image.sizes(), src.options());
      image_gradient_cpu<scalar_t>(sh, grad_out.const_data_ptr<scalar_t>(), positions, padding_mode,
                                   span_row_lo.data(), span_row_hi.data(), acc.mutable_data_ptr<coord_t>());
      if (!std::is_same_v<scalar_t, coord_t>) grad_image.copy_(acc);
    }
  });
  return {grad_image, grad_src, grad_dst};
}

std::tuple<at::Tensor, at::Tensor> mesh_warp_grid_backward_cpu(const at::Tensor& grad_grid_in,
                                                               const at::Tensor& src_in, const at::Tensor& dst_in,
                                                               const at::Tensor& tris_in, const at::Tensor& index_in) {
  check_grid_mesh("mesh_warp_grid_backward", src_in, dst_in, tris_in);
  check_triangle_index("mesh_warp_grid_backward", index_in, src_in.size(0), src_in.device());
  const int64_t out_h = index_in.size(1), out_w = index_in.size(2);
  check_grad_grid("mesh_warp_grid_backward", grad_grid_in, src_in, out_h, out_w);
  const at::Tensor src = src_in.contiguous(), dst = dst_in.contiguous(), tris = tris_in.contiguous(),
                   index = index_in.contiguous(), grad_grid = grad_grid_in.contiguous();
  const WarpShape sh = warp_shape(at::Tensor(), src, tris, out_h, out_w);
  at::Tensor grad_src = at::empty(src.sizes(), src.options());
  at::Tensor grad_dst = at::empty(dst.sizes(), dst.options());
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "mesh_warp_grid_backward_cpu", [&] {
    const auto setups = build_setups(dst.const_data_ptr<scalar_t>(), tris.const_data_ptr<int32_t>(), sh.batch,
                                     sh.num_points, sh.num_tris, out_h, out_w);
    point_gradients_cpu<scalar_t>(sh, nullptr, grad_grid.const_data_ptr<scalar_t>(), nullptr,
                                  src.const_data_ptr<scalar_t>(), dst.const_data_ptr<scalar_t>(), setups,
                                  index.const_data_ptr<int32_t>(), mesh::kZeros, true,
                                  grad_src.mutable_data_ptr<scalar_t>(), grad_dst.mutable_data_ptr<scalar_t>(),
                                  nullptr, nullptr, nullptr);
  });
  return {grad_src, grad_dst};
}

}  // namespace

TORCH_LIBRARY_IMPL(portrait_animator, CPU, m) {
  m.impl("mesh_warp", &mesh_warp_cpu);
  m.impl("mesh_warp_out", &mesh_warp_out_cpu);
  m.impl("mesh_warp_backward", &mesh_warp_backward_cpu);
  m.impl("mesh_warp_grid", &mesh_warp_grid_cpu);
  m.impl("mesh_warp_grid_backward", &mesh_warp_grid_backward_cpu);
}

}  // namespace portrait_animator
