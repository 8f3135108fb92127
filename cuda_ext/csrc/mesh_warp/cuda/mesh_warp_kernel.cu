// Mesh-warp CUDA kernels (launched from mesh_warp_cuda.cpp through mesh_warp_launch.h): a tiled rasteriser
// fused with the barycentric mapping and the bilinear sample.
//
// 1. setup: one thread per (image, triangle) builds its TriangleSetup (mesh_geometry.h, shared with the CPU).
// 2. bin: one block per 64x64-pixel bin lists, in index order, the triangles whose box meets the bin
//    (ballot + popcount compaction keeps the order, so "lowest index wins" survives).
// 3. forward: one 32x8 block per output tile filters its bin's list against the tile into shared memory,
//    each thread takes the first candidate covering its pixel, maps it into the source mesh, and samples
//    every channel; reads of the image are gathers, writes are coalesced rows.
// Backward runs one thread per output pixel: the image gradient goes out with atomicAdd (four taps per
// channel, as grid_sample's backward); the vertex gradients need only six moments per triangle
// (mesh::MapGradMoments), summed over each run of same-triangle pixels inside a warp (segmented shuffle
// reduction) so one lane per run issues atomics; a small kernel then turns them into vertex gradients.
#include "mesh_warp/cuda/mesh_warp_launch.h"

namespace portrait_animator {
namespace mesh_warp_cuda {
namespace {

using mesh::TriangleSetup;
using mesh::Vec2;

constexpr int kTileW = 32, kTileH = 8, kTileThreads = kTileW * kTileH;  // kBin is a multiple of both sides
constexpr int kBinThreads = 256;

template <typename coord_t>
__global__ void setup_kernel(const coord_t* __restrict__ dst, const int32_t* __restrict__ tris, Geometry g,
                             TriangleSetup<coord_t>* __restrict__ setups) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.batch * g.num_tris) return;
  const int64_t n = i / g.num_tris, t = i % g.num_tris;
  mesh::setup_triangle(dst + n * g.num_points * 2, g.num_points, tris + 3 * t, g.out_h, g.out_w, setups[i]);
}

__device__ __forceinline__ bool box_meets(int32_t x0, int32_t x1, int32_t y0, int32_t y1, int32_t rx0, int32_t rx1,
                                          int32_t ry0, int32_t ry1) {
  return x0 <= x1 && x0 <= rx1 && x1 >= rx0 && y0 <= ry1 && y1 >= ry0;
}

// Appends, in order, the flagged items of this round to list[count...]; returns how many were flagged in
// the whole block. Every thread of the block must call it.
template <int kThreads>
__device__ int ordered_append(bool flagged, int32_t item, int32_t* list, int count) {
  __shared__ int warp_counts[kThreads / 32];
  const int tid = threadIdx.y * blockDim.x + threadIdx.x, lane = tid % 32, warp = tid / 32;
  const unsigned ballot = __ballot_sync(0xffffffffu, flagged);
  if (lane == 0) warp_counts[warp] = __popc(ballot);
  __syncthreads();
  int before = 0, total = 0;
  for (int w = 0; w < kThreads / 32; ++w) {
    before += w < warp ? warp_counts[w] : 0;
    total += warp_counts[w];
  }
  if (flagged) list[count + before + __popc(ballot & ((1u << lane) - 1u))] = item;
  __syncthreads();  // warp_counts is reused by the next call
  return total;
}

template <typename coord_t>
__global__ void __launch_bounds__(kBinThreads) bin_kernel(const TriangleSetup<coord_t>* __restrict__ setups,
                                                          Geometry g, int32_t* __restrict__ bin_lists,
                                                          int32_t* __restrict__ bin_counts) {
  const int64_t n = blockIdx.z;
  const int64_t bin = n * g.bins_x * g.bins_y + int64_t(blockIdx.y) * g.bins_x + blockIdx.x;
  const int32_t rx0 = blockIdx.x * kBin, ry0 = blockIdx.y * kBin;
  const int32_t rx1 = rx0 + kBin - 1, ry1 = ry0 + kBin - 1;
  int32_t* list = bin_lists + bin * g.num_tris;
  const TriangleSetup<coord_t>* img = setups + n * g.num_tris;
  int count = 0;
  for (int64_t base = 0; base < g.num_tris; base += kBinThreads) {
    const int64_t t = base + threadIdx.x;
    bool hit = false;
    if (t < g.num_tris) {
      const TriangleSetup<coord_t>& s = img[t];
      hit = box_meets(s.x0, s.x1, s.y0, s.y1, rx0, rx1, ry0, ry1);
    }
    count += ordered_append<kBinThreads>(hit, static_cast<int32_t>(t), list, count);
  }
  if (threadIdx.x == 0) bin_counts[bin] = count;
}

template <typename scalar_t, typename coord_t>
__global__ void __launch_bounds__(kTileThreads) forward_kernel(
    const scalar_t* __restrict__ image, const coord_t* __restrict__ src, const TriangleSetup<coord_t>* __restrict__ setups,
    const int32_t* __restrict__ bin_lists, const int32_t* __restrict__ bin_counts, Geometry g, int64_t padding_mode,
    scalar_t* __restrict__ out, coord_t* __restrict__ grid, int32_t* __restrict__ index_out) {
  __shared__ int32_t candidates[kTileThreads];
  const int64_t n = blockIdx.z;
  const int tid = threadIdx.y * kTileW + threadIdx.x;
  const int64_t x = int64_t(blockIdx.x) * kTileW + threadIdx.x, y = int64_t(blockIdx.y) * kTileH + threadIdx.y;
  const bool active = x < g.out_w && y < g.out_h;
  const int32_t tx0 = blockIdx.x * kTileW, ty0 = blockIdx.y * kTileH;
  const int32_t tx1 = tx0 + kTileW - 1, ty1 = ty0 + kTileH - 1;
  const int64_t bin = (n * g.bins_y + ty0 / kBin) * g.bins_x + tx0 / kBin;
  const int32_t* list = bin_lists + bin * g.num_tris;
  const int list_size = bin_counts[bin];
  const TriangleSetup<coord_t>* img = setups + n * g.num_tris;
  const coord_t px = static_cast<coord_t>(x) + coord_t(0.5), py = static_cast<coord_t>(y) + coord_t(0.5);
  int32_t mine = -1;
  coord_t e[3] = {0, 0, 0};
  for (int base = 0; base < list_size; base += kTileThreads) {
    bool hit = false;
    int32_t t = -1;
    if (base + tid < list_size) {
      t = list[base + tid];
      const TriangleSetup<coord_t>& s = img[t];
      hit = box_meets(s.x0, s.x1, s.y0, s.y1, tx0, tx1, ty0, ty1);
    }
    const int count = ordered_append<kTileThreads>(hit, t, candidates, 0);
    if (active && mine < 0) {
      for (int k = 0; k < count; ++k) {
        const int32_t c = candidates[k];
        const TriangleSetup<coord_t>& s = img[c];
        const coord_t e0 = mesh::edge_value(s, 0, px, py), e1 = mesh::edge_value(s, 1, px, py),
                      e2 = mesh::edge_value(s, 2, px, py);
        if (mesh::covers(e0, e1, e2)) {
          mine = c;
          e[0] = e0, e[1] = e1, e[2] = e2;
          break;
        }
      }
    }
    // Candidates are overwritten next round; stop once every pixel of the tile has its triangle.
    if (__syncthreads_and(!active || mine >= 0)) break;
  }
  if (!active) return;
  const Vec2<coord_t> p =
      mine >= 0 ? mesh::map_to_source(img[mine], src + n * g.num_points * 2, e) : Vec2<coord_t>{px, py};
  const int64_t pixel = y * g.out_w + x, out_plane = g.out_h * g.out_w;
  if (grid != nullptr) {
    grid[(n * out_plane + pixel) * 2] = p.x;
    grid[(n * out_plane + pixel) * 2 + 1] = p.y;
  }
  if (index_out != nullptr) index_out[n * out_plane + pixel] = mine;
  if (out == nullptr) return;
  const auto taps = mesh::bilinear_taps(p, g.in_h, g.in_w, padding_mode);
  const int64_t in_plane = g.in_h * g.in_w;
  const scalar_t* plane = image + n * g.channels * in_plane;
  scalar_t* dst_pixel = out + n * g.channels * out_plane + pixel;
  for (int64_t c = 0; c < g.channels; ++c, plane += in_plane, dst_pixel += out_plane) {
    coord_t v = 0;
#pragma unroll
    for (int k = 0; k < 4; ++k) v += taps.weight[k] * static_cast<coord_t>(plane[taps.offset[k]]);
    *dst_pixel = static_cast<scalar_t>(v);
  }
}

// Sums `value` over the lanes of this lane's run (consecutive lanes with the same run id) into the run's
// first lane. Hillis-Steele suffix scan limited to the run: correct because runs are contiguous.
template <typename T>
__device__ __forceinline__ T run_sum(T value, int run, int lane) {
#pragma unroll
  for (int offset = 1; offset < 32; offset <<= 1) {
    const T other = __shfl_down_sync(0xffffffffu, value, offset);
    const int other_run = __shfl_down_sync(0xffffffffu, run, offset);
    if (lane + offset < 32 && other_run == run) value += other;
  }
  return value;
}

// One thread per output pixel: the image gradient (atomics on four taps per channel, as grid_sample's
// backward) and the moments of dL/d(source position) per triangle (mesh::MapGradMoments): summed over each
// run of same-triangle pixels in the warp's row first, so one lane per run issues the six atomics.
template <typename scalar_t, typename coord_t>
__global__ void __launch_bounds__(kTileThreads) backward_kernel(
    const scalar_t* __restrict__ grad_out, const coord_t* __restrict__ grad_grid, const scalar_t* __restrict__ image,
    const coord_t* __restrict__ src, const coord_t* __restrict__ dst, const TriangleSetup<coord_t>* __restrict__ setups,
    const int32_t* __restrict__ index, Geometry g, int64_t padding_mode, coord_t* __restrict__ grad_image,
    coord_t* __restrict__ moments) {
  const int64_t n = blockIdx.z;
  const int lane = threadIdx.x;  // a warp is 32 consecutive pixels of one row
  const int64_t x = int64_t(blockIdx.x) * kTileW + threadIdx.x, y = int64_t(blockIdx.y) * kTileH + threadIdx.y;
  const bool active = x < g.out_w && y < g.out_h;
  const int64_t pixel = y * g.out_w + x, out_plane = g.out_h * g.out_w, in_plane = g.in_h * g.in_w;
  const TriangleSetup<coord_t>* img = setups + n * g.num_tris;
  const coord_t px = static_cast<coord_t>(x) + coord_t(0.5), py = static_cast<coord_t>(y) + coord_t(0.5);
  int32_t t = active ? index[n * out_plane + pixel] : -1;
  // An index not produced by forward (out of range, or a triangle that covers nothing, whose vertex indices
  // may be invalid) counts as uncovered: memory-safe whatever the caller passes.
  if (t >= g.num_tris || (t >= 0 && img[t].x0 > img[t].x1)) t = -1;
  Vec2<coord_t> p{px, py};
  if (t >= 0) {
    coord_t e[3];
    for (int k = 0; k < 3; ++k) e[k] = mesh::edge_value(img[t], k, px, py);
    p = mesh::map_to_source(img[t], src + n * g.num_points * 2, e);
  }
  Vec2<coord_t> gpos{0, 0};
  if (active && grad_out != nullptr) {
    const auto taps = mesh::bilinear_taps(p, g.in_h, g.in_w, padding_mode);
    const scalar_t* plane = image + n * g.channels * in_plane;
    const scalar_t* go = grad_out + n * g.channels * out_plane + pixel;
    coord_t* g_plane = grad_image != nullptr ? grad_image + n * g.channels * in_plane : nullptr;
    for (int64_t c = 0; c < g.channels; ++c, plane += in_plane, go += out_plane) {
      const coord_t gc = static_cast<coord_t>(*go);
      if (g_plane != nullptr) {
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          if (taps.weight[k] != coord_t(0)) atomicAdd(g_plane + taps.offset[k], taps.weight[k] * gc);
        }
        g_plane += in_plane;
      }
      if (moments != nullptr && t >= 0) {
        coord_t v[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) v[k] = static_cast<coord_t>(plane[taps.offset[k]]);
        const Vec2<coord_t> d = mesh::bilinear_position_grad(taps, v);
        gpos.x += gc * d.x;
        gpos.y += gc * d.y;
      }
    }
  }
  if (moments == nullptr) return;  // uniform across the grid: no lane skips the shuffles below
  if (grad_grid != nullptr && t >= 0) {
    gpos.x += grad_grid[(n * out_plane + pixel) * 2];
    gpos.y += grad_grid[(n * out_plane + pixel) * 2 + 1];
  }
  mesh::MapGradMoments<coord_t> m;
  if (t >= 0) {
    const int32_t v0 = img[t].vertex[0];
    const coord_t* d0 = dst + (n * g.num_points + v0) * 2;
    m.add(gpos.x, gpos.y, px - d0[0], py - d0[1]);
  }
  // Runs of equal triangle index along the warp's row; lanes without a triangle form runs that write nothing.
  const int32_t before = __shfl_up_sync(0xffffffffu, t, 1);
  const bool head = lane == 0 || before != t;
  const unsigned heads = __ballot_sync(0xffffffffu, head);
  const int run = __popc(heads & ((2u << lane) - 1u));
  const coord_t sums[6] = {run_sum(m.g[0], run, lane),     run_sum(m.g[1], run, lane),
                           run_sum(m.gq[0][0], run, lane), run_sum(m.gq[0][1], run, lane),
                           run_sum(m.gq[1][0], run, lane), run_sum(m.gq[1][1], run, lane)};
  if (!head || t < 0) return;
  coord_t* target = moments + (n * g.num_tris + t) * 6;
#pragma unroll
  for (int k = 0; k < 6; ++k) atomicAdd(target + k, sums[k]);
}

// One thread per (image, triangle): vertex gradients from the triangle's moments (mesh::map_to_source_backward).
template <typename coord_t>
__global__ void vertex_grad_kernel(const coord_t* __restrict__ moments, const coord_t* __restrict__ src,
                                   const coord_t* __restrict__ dst, const TriangleSetup<coord_t>* __restrict__ setups,
                                   Geometry g, coord_t* __restrict__ grad_src, coord_t* __restrict__ grad_dst) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.batch * g.num_tris) return;
  const coord_t* mi = moments + i * 6;
  mesh::MapGradMoments<double> m;
  m.g[0] = mi[0], m.g[1] = mi[1], m.gq[0][0] = mi[2], m.gq[0][1] = mi[3], m.gq[1][0] = mi[4], m.gq[1][1] = mi[5];
  if (m.g[0] == 0 && m.g[1] == 0 && m.gq[0][0] == 0 && m.gq[0][1] == 0 && m.gq[1][0] == 0 && m.gq[1][1] == 0) return;
  const int64_t n = i / g.num_tris;
  const int32_t* vertex = setups[i].vertex;
  double gs[3][2] = {}, gd[3][2] = {};
  mesh::map_to_source_backward(src + n * g.num_points * 2, dst + n * g.num_points * 2, vertex, m, gs, gd);
  for (int k = 0; k < 3; ++k) {
    for (int a = 0; a < 2; ++a) {
      atomicAdd(grad_src + (n * g.num_points + vertex[k]) * 2 + a, static_cast<coord_t>(gs[k][a]));
      atomicAdd(grad_dst + (n * g.num_points + vertex[k]) * 2 + a, static_cast<coord_t>(gd[k][a]));
    }
  }
}

dim3 tile_blocks(const Geometry& g) {
  return dim3(static_cast<unsigned>((g.out_w + kTileW - 1) / kTileW),
              static_cast<unsigned>((g.out_h + kTileH - 1) / kTileH), static_cast<unsigned>(g.batch));
}

template <typename coord_t>
cudaError_t setup(const Geometry& g, const coord_t* dst, const int32_t* triangles, TriangleSetup<coord_t>* setups,
                  cudaStream_t stream) {
  const int64_t count = g.batch * g.num_tris;
  if (count > 0) {
    setup_kernel<coord_t><<<static_cast<unsigned>((count + 255) / 256), 256, 0, stream>>>(dst, triangles, g, setups);
  }
  return cudaGetLastError();
}

}  // namespace

template <typename scalar_t>
cudaError_t forward(const Geometry& g, const scalar_t* image, const typename Coord<scalar_t>::type* src,
                    const typename Coord<scalar_t>::type* dst, const int32_t* triangles, int64_t padding_mode,
                    const Workspace<typename Coord<scalar_t>::type>& work, scalar_t* out,
                    typename Coord<scalar_t>::type* grid, int32_t* index, cudaStream_t stream) {
  using coord_t = typename Coord<scalar_t>::type;
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) return cudaSuccess;
  cudaError_t status = setup<coord_t>(g, dst, triangles, work.setups, stream);
  if (status != cudaSuccess) return status;
  const dim3 bins(static_cast<unsigned>(g.bins_x), static_cast<unsigned>(g.bins_y), static_cast<unsigned>(g.batch));
  bin_kernel<coord_t><<<bins, kBinThreads, 0, stream>>>(work.setups, g, work.bin_lists, work.bin_counts);
  status = cudaGetLastError();
  if (status != cudaSuccess) return status;
  forward_kernel<scalar_t, coord_t><<<tile_blocks(g), dim3(kTileW, kTileH), 0, stream>>>(
      image, src, work.setups, work.bin_lists, work.bin_counts, g, padding_mode, out, grid, index);
  return cudaGetLastError();
}

template <typename scalar_t>
cudaError_t backward(const Geometry& g, const scalar_t* grad_out, const typename Coord<scalar_t>::type* grad_grid,
                     const scalar_t* image, const typename Coord<scalar_t>::type* src,
                     const typename Coord<scalar_t>::type* dst, const int32_t* triangles, const int32_t* index,
                     int64_t padding_mode, const Workspace<typename Coord<scalar_t>::type>& work,
                     typename Coord<scalar_t>::type* grad_image, typename Coord<scalar_t>::type* grad_src,
                     typename Coord<scalar_t>::type* grad_dst, cudaStream_t stream) {
  using coord_t = typename Coord<scalar_t>::type;
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) return cudaSuccess;
  cudaError_t status = setup<coord_t>(g, dst, triangles, work.setups, stream);
  if (status != cudaSuccess) return status;
  const bool need_points = grad_src != nullptr;
  backward_kernel<scalar_t, coord_t><<<tile_blocks(g), dim3(kTileW, kTileH), 0, stream>>>(
      grad_out, grad_grid, image, src, dst, work.setups, index, g, padding_mode, grad_image,
      need_points ? work.moments : nullptr);
  status = cudaGetLastError();
  const int64_t count = g.batch * g.num_tris;
  if (status != cudaSuccess || !need_points || count == 0) return status;
  vertex_grad_kernel<coord_t><<<static_cast<unsigned>((count + 255) / 256), 256, 0, stream>>>(
      work.moments, src, dst, work.setups, g, grad_src, grad_dst);
  return cudaGetLastError();
}

#define PA_INSTANTIATE(scalar_t)                                                                                  \
  template cudaError_t forward<scalar_t>(const Geometry&, const scalar_t*, const Coord<scalar_t>::type*,          \
                                         const Coord<scalar_t>::type*, const int32_t*, int64_t,                   \
                                         const Workspace<Coord<scalar_t>::type>&, scalar_t*,                       \
                                         Coord<scalar_t>::type*, int32_t*, cudaStream_t);                         \
  template cudaError_t backward<scalar_t>(const Geometry&, const scalar_t*, const Coord<scalar_t>::type*,         \
                                          const scalar_t*, const Coord<scalar_t>::type*,                          \
                                          const Coord<scalar_t>::type*, const int32_t*, const int32_t*, int64_t,  \
                                          const Workspace<Coord<scalar_t>::type>&, Coord<scalar_t>::type*,        \
                                          Coord<scalar_t>::type*, Coord<scalar_t>::type*, cudaStream_t);
PA_INSTANTIATE(double)
PA_INSTANTIATE(float)
PA_INSTANTIATE(c10::Half)
PA_INSTANTIATE(c10::BFloat16)
#undef PA_INSTANTIATE

}  // namespace mesh_warp_cuda
}  // namespace portrait_animator
