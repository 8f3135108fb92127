// Mesh-warp geometry shared by the CPU and CUDA kernels (host and device): triangle set-up, the coverage test,
// barycentric mapping, bilinear taps, and the backward of each. Keeping one copy is what makes the CPU and CUDA
// kernels decide coverage identically; the PyTorch reference (portrait_animator/ops/reference.py) repeats the
// same float operations in the same order.
//
// Conventions: points are pixel coordinates, x right, y down, pixel centres at integer + 0.5. Output pixel
// (x, y) is covered by triangle t when its centre lies inside or on the boundary of t in the destination mesh;
// the lowest-indexed covering triangle wins, which makes overlapping (folded) meshes deterministic.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define PA_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define PA_HOST_DEVICE inline
#endif

namespace portrait_animator {
namespace mesh {

enum PaddingMode : int64_t { kZeros = 0, kBorder = 1 };

// A product never fused into an FMA. The coverage test must round exactly like the reference's separate
// multiply and subtract; the CPU build passes -ffp-contract=off, CUDA needs the _rn intrinsics.
PA_HOST_DEVICE float exact_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
PA_HOST_DEVICE double exact_mul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

template <typename T>
PA_HOST_DEVICE bool is_finite(T v) {
  return v - v == T(0);  // false for inf and NaN, without depending on host/device std::isfinite overloads
}

// One triangle of one mesh, ready for per-pixel tests. Edge k is the edge opposite vertex k, evaluated in a
// canonical direction (from the lower to the higher vertex index) so that two triangles sharing an edge compute
// bit-identical values, then signed so that inside is >= 0: a pixel centre on a shared edge is never missed by
// both neighbours, so a watertight mesh leaves no holes.
template <typename T>
struct TriangleSetup {
  T ux[3], uy[3];  // canonical start point of edge k
  T dx[3], dy[3];  // signed canonical direction of edge k
  T orient;        // +1 when the destination triangle is counter-clockwise in (x right, y up) terms, else -1
  int32_t vertex[3];
  int32_t x0, x1, y0, y1;  // inclusive pixel bounding box; x0 > x1 when the triangle covers nothing
};

// Signed, canonically evaluated edge function of edge k at pixel centre (px, py).
template <typename T>
PA_HOST_DEVICE T edge_value(const TriangleSetup<T>& s, int k, T px, T py) {
  return exact_mul(s.dx[k], py - s.uy[k]) - exact_mul(s.dy[k], px - s.ux[k]);
}

// Inside test on precomputed edge values; the strictly positive sum rejects pixels that only touch a
// zero-area sliver, so the barycentric weights e / sum are always finite and in [0, 1].
template <typename T>
PA_HOST_DEVICE bool covers(T e0, T e1, T e2) {
  return e0 >= T(0) && e1 >= T(0) && e2 >= T(0) && (e0 + e1) + e2 > T(0);
}

template <typename T>
PA_HOST_DEVICE T floor_value(T v) {
  return floor(v);
}
template <typename T>
PA_HOST_DEVICE T ceil_value(T v) {
  return ceil(v);
}

template <typename T>
PA_HOST_DEVICE T min3(T a, T b, T c) {
  T m = a < b ? a : b;
  return m < c ? m : c;
}
template <typename T>
PA_HOST_DEVICE T max3(T a, T b, T c) {
  T m = a > b ? a : b;
  return m > c ? m : c;
}

// Builds the set-up of triangle `tri` over destination points `dst` (P x 2) for an H x W output.
// Triangles with an out-of-range vertex index, a non-finite vertex or zero area cover nothing.
template <typename T>
PA_HOST_DEVICE void setup_triangle(const T* dst, int64_t num_points, const int32_t* tri, int64_t height,
                                   int64_t width, TriangleSetup<T>& s) {
  s.x0 = 0;
  s.x1 = -1;
  s.y0 = 0;
  s.y1 = -1;
  s.orient = T(1);
  for (int k = 0; k < 3; ++k) {
    s.vertex[k] = tri[k];
    s.ux[k] = s.uy[k] = s.dx[k] = s.dy[k] = T(0);
  }
  for (int k = 0; k < 3; ++k) {
    if (tri[k] < 0 || tri[k] >= num_points) return;
  }
  const T ax = dst[2 * tri[0]], ay = dst[2 * tri[0] + 1];
  const T bx = dst[2 * tri[1]], by = dst[2 * tri[1] + 1];
  const T cx = dst[2 * tri[2]], cy = dst[2 * tri[2] + 1];
  if (!(is_finite(ax) && is_finite(ay) && is_finite(bx) && is_finite(by) && is_finite(cx) && is_finite(cy))) return;
  const T area2 = exact_mul(bx - ax, cy - ay) - exact_mul(by - ay, cx - ax);
  if (!(area2 != T(0)) || !is_finite(area2)) return;
  s.orient = area2 > T(0) ? T(1) : T(-1);
  for (int k = 0; k < 3; ++k) {
    const int32_t i = tri[(k + 1) % 3], j = tri[(k + 2) % 3];
    const int32_t lo = i < j ? i : j, hi = i < j ? j : i;
    const T sign = i < j ? s.orient : -s.orient;
    s.ux[k] = dst[2 * lo];
    s.uy[k] = dst[2 * lo + 1];
    s.dx[k] = sign * (dst[2 * hi] - dst[2 * lo]);
    s.dy[k] = sign * (dst[2 * hi + 1] - dst[2 * lo + 1]);
  }
  // Conservative box (one pixel of slack against rounding); the edge tests make the exact decision.
  T fx0 = floor_value(min3(ax, bx, cx) - T(0.5)), fx1 = ceil_value(max3(ax, bx, cx) - T(0.5));
  T fy0 = floor_value(min3(ay, by, cy) - T(0.5)), fy1 = ceil_value(max3(ay, by, cy) - T(0.5));
  if (fx1 < T(0) || fy1 < T(0) || fx0 > T(width - 1) || fy0 > T(height - 1)) return;
  s.x0 = static_cast<int32_t>(fx0 > T(0) ? fx0 : T(0));
  s.y0 = static_cast<int32_t>(fy0 > T(0) ? fy0 : T(0));
  s.x1 = static_cast<int32_t>(fx1 < T(width - 1) ? fx1 : T(width - 1));
  s.y1 = static_cast<int32_t>(fy1 < T(height - 1) ? fy1 : T(height - 1));
}

template <typename T>
struct Vec2 {
  T x, y;
};

// Source position of a covered pixel: the barycentric weights (edge values over their sum) applied to the
// triangle's source vertices `src` (P x 2).
template <typename T>
PA_HOST_DEVICE Vec2<T> map_to_source(const TriangleSetup<T>& s, const T* src, const T e[3]) {
  const T sum = (e[0] + e[1]) + e[2];
  Vec2<T> p{T(0), T(0)};
  for (int k = 0; k < 3; ++k) {
    const T w = e[k] / sum;
    p.x += w * src[2 * s.vertex[k]];
    p.y += w * src[2 * s.vertex[k] + 1];
  }
  return p;
}

// Backward of the barycentric map, summed over the pixels of one triangle. Inside a triangle the map is
// affine, s = S0 + M q with q = p - D0 and M = A B^-1 (A, B the edge matrices [S1 - S0, S2 - S0] and
// [D1 - D0, D2 - D0]), so the vertex gradients need only the first moments of g = dL/ds over its pixels:
// sum(g) and sum(g q^T). Per pixel that is six multiply-adds; the 2x2 algebra runs once per triangle run.
// The triangle assignment itself is piecewise constant and has no gradient.
template <typename acc_t>
struct MapGradMoments {
  acc_t g[2] = {0, 0};                // sum of g
  acc_t gq[2][2] = {{0, 0}, {0, 0}};  // sum of g_i * q_j

  template <typename T>
  PA_HOST_DEVICE void add(T gx, T gy, T qx, T qy) {
    g[0] += static_cast<acc_t>(gx);
    g[1] += static_cast<acc_t>(gy);
    gq[0][0] += static_cast<acc_t>(gx * qx);
    gq[0][1] += static_cast<acc_t>(gx * qy);
    gq[1][0] += static_cast<acc_t>(gy * qx);
    gq[1][1] += static_cast<acc_t>(gy * qy);
  }
};

// Adds dL/d(src vertex k) to g_src[k] and dL/d(dst vertex k) to g_dst[k] (k = 0, 1, 2 in triangle order).
template <typename T>
PA_HOST_DEVICE void map_to_source_backward(const T* src, const T* dst, const int32_t vertex[3],
                                           const MapGradMoments<double>& m, double g_src[3][2], double g_dst[3][2]) {
  double S[3][2], D[3][2];
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < 2; ++i) {
      S[k][i] = static_cast<double>(src[2 * vertex[k] + i]);
      D[k][i] = static_cast<double>(dst[2 * vertex[k] + i]);
    }
  }
  const double b00 = D[1][0] - D[0][0], b01 = D[2][0] - D[0][0], b10 = D[1][1] - D[0][1], b11 = D[2][1] - D[0][1];
  const double det = b00 * b11 - b01 * b10;
  if (det == 0.0) return;  // cannot happen for a triangle that covered a pixel; guards the division
  const double inv[2][2] = {{b11 / det, -b01 / det}, {-b10 / det, b00 / det}};  // B^-1
  const double a[2][2] = {{S[1][0] - S[0][0], S[2][0] - S[0][0]}, {S[1][1] - S[0][1], S[2][1] - S[0][1]}};
  double M[2][2], dA[2][2], dB[2][2];
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      M[i][j] = a[i][0] * inv[0][j] + a[i][1] * inv[1][j];
      dA[i][j] = m.gq[i][0] * inv[j][0] + m.gq[i][1] * inv[j][1];  // G B^-T
    }
  }
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) dB[i][j] = -(M[0][i] * dA[0][j] + M[1][i] * dA[1][j]);  // -M^T G B^-T
  }
  for (int i = 0; i < 2; ++i) {
    g_src[1][i] += dA[i][0];
    g_src[2][i] += dA[i][1];
    g_src[0][i] += m.g[i] - dA[i][0] - dA[i][1];
    g_dst[1][i] += dB[i][0];
    g_dst[2][i] += dB[i][1];
    g_dst[0][i] += -(M[0][i] * m.g[0] + M[1][i] * m.g[1]) - dB[i][0] - dB[i][1];
  }
}

// Bilinear footprint of a source position along one axis of length `size`, as grid_sample with
// align_corners=False: zeros padding reads 0 outside, border padding clamps the coordinate (and then has no
// gradient, like grid_sample). Coordinates far outside or NaN are clamped to stay memory-safe.
template <typename T>
struct AxisTaps {
  int64_t i0;     // first tap; the second is i0 + 1
  T frac;         // weight of the second tap
  bool valid0, valid1;
  T grad_scale;   // d(clamped coordinate) / d(coordinate)
};

template <typename T>
PA_HOST_DEVICE AxisTaps<T> axis_taps(T coord, int64_t size, int64_t padding_mode) {
  T u = coord - T(0.5);
  AxisTaps<T> a;
  a.grad_scale = T(1);
  const T hi = padding_mode == kBorder ? T(size - 1) : T(size + 1);
  const T lo = padding_mode == kBorder ? T(0) : T(-2);
  if (padding_mode == kBorder && !(u > lo && u < hi)) a.grad_scale = T(0);
  u = u > lo ? u : lo;  // NaN -> lo
  u = u < hi ? u : hi;
  const T f = floor_value(u);
  a.i0 = static_cast<int64_t>(f);
  a.frac = u - f;
  a.valid0 = a.i0 >= 0 && a.i0 < size;
  a.valid1 = a.i0 + 1 >= 0 && a.i0 + 1 < size;
  return a;
}

// The four taps of a bilinear sample in a row-major H x W plane: offsets (clamped into the plane so reads
// stay in bounds) and weights (0 for taps outside the plane).
template <typename T>
struct BilinearTaps {
  int64_t offset[4];  // (x0, y0), (x1, y0), (x0, y1), (x1, y1)
  T weight[4];
  AxisTaps<T> ax, ay;
};

template <typename T>
PA_HOST_DEVICE BilinearTaps<T> bilinear_taps(Vec2<T> p, int64_t height, int64_t width, int64_t padding_mode) {
  BilinearTaps<T> t;
  t.ax = axis_taps(p.x, width, padding_mode);
  t.ay = axis_taps(p.y, height, padding_mode);
  const int64_t xs[2] = {t.ax.valid0 ? t.ax.i0 : 0, t.ax.valid1 ? t.ax.i0 + 1 : 0};
  const int64_t ys[2] = {t.ay.valid0 ? t.ay.i0 : 0, t.ay.valid1 ? t.ay.i0 + 1 : 0};
  const T wx[2] = {t.ax.valid0 ? T(1) - t.ax.frac : T(0), t.ax.valid1 ? t.ax.frac : T(0)};
  const T wy[2] = {t.ay.valid0 ? T(1) - t.ay.frac : T(0), t.ay.valid1 ? t.ay.frac : T(0)};
  for (int j = 0; j < 2; ++j) {
    for (int i = 0; i < 2; ++i) {
      t.offset[2 * j + i] = ys[j] * width + xs[i];
      t.weight[2 * j + i] = wx[i] * wy[j];
    }
  }
  return t;
}

// d(sample)/d(source position) for one channel, given the four tap values (0 outside the plane).
template <typename T>
PA_HOST_DEVICE Vec2<T> bilinear_position_grad(const BilinearTaps<T>& t, const T v[4]) {
  const T v00 = t.ax.valid0 && t.ay.valid0 ? v[0] : T(0);
  const T v10 = t.ax.valid1 && t.ay.valid0 ? v[1] : T(0);
  const T v01 = t.ax.valid0 && t.ay.valid1 ? v[2] : T(0);
  const T v11 = t.ax.valid1 && t.ay.valid1 ? v[3] : T(0);
  const T fx = t.ax.frac, fy = t.ay.frac;
  Vec2<T> g;
  g.x = ((T(1) - fy) * (v10 - v00) + fy * (v11 - v01)) * t.ax.grad_scale;
  g.y = ((T(1) - fx) * (v01 - v00) + fx * (v11 - v10)) * t.ay.grad_scale;
  return g;
}

}  // namespace mesh
}  // namespace portrait_animator
