// Mesh warp on CUDA: a tiled rasteriser fused with the barycentric mapping and the bilinear sample.
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
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <array>
#include <optional>
#include <tuple>

#include "mesh_warp/mesh_geometry.h"
#include "mesh_warp/mesh_warp_checks.h"

namespace portrait_animator {
namespace {

using mesh::TriangleSetup;
using mesh::Vec2;

constexpr int kTileW = 32, kTileH = 8, kTileThreads = kTileW * kTileH;
constexpr int kBin = 64;  // bin side in pixels; a multiple of both tile sides
constexpr int kBinThreads = 256;

struct Geometry {
  int64_t batch, channels, in_h, in_w, out_h, out_w, num_points, num_tris, bins_x, bins_y;
};

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
  if (t >= g.num_tris) t = -1;
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

Geometry make_geometry(int64_t batch, const at::Tensor& image, const at::Tensor& points, const at::Tensor& tris,
                       int64_t out_h, int64_t out_w) {
  Geometry g{batch,
             image.defined() ? image.size(1) : 0,
             image.defined() ? image.size(2) : 0,
             image.defined() ? image.size(3) : 0,
             out_h,
             out_w,
             points.size(1),
             tris.size(0),
             (out_w + kBin - 1) / kBin,
             (out_h + kBin - 1) / kBin};
  TORCH_CHECK(batch < 65536, "mesh_warp (CUDA): at most 65535 images per call, got ", batch);
  return g;
}

dim3 tile_blocks(const Geometry& g) {
  return dim3(static_cast<unsigned>((g.out_w + kTileW - 1) / kTileW),
              static_cast<unsigned>((g.out_h + kTileH - 1) / kTileH), static_cast<unsigned>(g.batch));
}

// Triangle set-ups for all images (a byte tensor holding TriangleSetup structs).
template <typename coord_t>
at::Tensor build_setups(const at::Tensor& dst, const at::Tensor& tris, const Geometry& g, cudaStream_t stream) {
  at::Tensor setups = at::empty({std::max<int64_t>(1, g.batch * g.num_tris) *
                                 static_cast<int64_t>(sizeof(TriangleSetup<coord_t>))},
                                dst.options().dtype(at::kByte));
  const int64_t count = g.batch * g.num_tris;
  if (count > 0) {
    setup_kernel<coord_t><<<static_cast<unsigned>((count + 255) / 256), 256, 0, stream>>>(
        dst.const_data_ptr<coord_t>(), tris.const_data_ptr<int32_t>(), g,
        reinterpret_cast<TriangleSetup<coord_t>*>(setups.mutable_data_ptr()));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  return setups;
}

template <typename scalar_t>
void forward_cuda(const Geometry& g, const at::Tensor& image, const at::Tensor& src, const at::Tensor& dst,
                  const at::Tensor& tris, int64_t padding_mode, scalar_t* out, at::opmath_type<scalar_t>* grid,
                  int32_t* index_out) {
  using coord_t = at::opmath_type<scalar_t>;
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) return;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const at::Tensor setups = build_setups<coord_t>(dst, tris, g, stream);
  const auto* setup_data = reinterpret_cast<const TriangleSetup<coord_t>*>(setups.const_data_ptr());
  const int64_t bins = g.batch * g.bins_x * g.bins_y;
  at::Tensor bin_lists = at::empty({std::max<int64_t>(1, bins * g.num_tris)}, tris.options());
  at::Tensor bin_counts = at::empty({bins}, tris.options());
  bin_kernel<coord_t><<<dim3(static_cast<unsigned>(g.bins_x), static_cast<unsigned>(g.bins_y),
                             static_cast<unsigned>(g.batch)),
                        kBinThreads, 0, stream>>>(setup_data, g, bin_lists.mutable_data_ptr<int32_t>(),
                                                  bin_counts.mutable_data_ptr<int32_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  forward_kernel<scalar_t, coord_t><<<tile_blocks(g), dim3(kTileW, kTileH), 0, stream>>>(
      image.defined() ? image.const_data_ptr<scalar_t>() : nullptr, src.const_data_ptr<coord_t>(), setup_data,
      bin_lists.const_data_ptr<int32_t>(), bin_counts.const_data_ptr<int32_t>(), g, padding_mode, out, grid,
      index_out);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename scalar_t>
void backward_cuda(const Geometry& g, const scalar_t* grad_out, const at::opmath_type<scalar_t>* grad_grid,
                   const at::Tensor& image, const at::Tensor& src, const at::Tensor& dst, const at::Tensor& tris,
                   const at::Tensor& index, int64_t padding_mode, at::opmath_type<scalar_t>* grad_image,
                   at::opmath_type<scalar_t>* grad_src, at::opmath_type<scalar_t>* grad_dst) {
  using coord_t = at::opmath_type<scalar_t>;
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) return;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const at::Tensor setups = build_setups<coord_t>(dst, tris, g, stream);
  const auto* setup_data = reinterpret_cast<const TriangleSetup<coord_t>*>(setups.const_data_ptr());
  const bool need_points = grad_src != nullptr;
  at::Tensor moments = need_points ? at::zeros({std::max<int64_t>(1, g.batch * g.num_tris) * 6}, src.options())
                                   : at::Tensor();
  backward_kernel<scalar_t, coord_t><<<tile_blocks(g), dim3(kTileW, kTileH), 0, stream>>>(
      grad_out, grad_grid, image.defined() ? image.const_data_ptr<scalar_t>() : nullptr,
      src.const_data_ptr<coord_t>(), dst.const_data_ptr<coord_t>(), setup_data, index.const_data_ptr<int32_t>(), g,
      padding_mode, grad_image, need_points ? moments.mutable_data_ptr<coord_t>() : nullptr);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const int64_t count = g.batch * g.num_tris;
  if (need_points && count > 0) {
    vertex_grad_kernel<coord_t><<<static_cast<unsigned>((count + 255) / 256), 256, 0, stream>>>(
        moments.const_data_ptr<coord_t>(), src.const_data_ptr<coord_t>(), dst.const_data_ptr<coord_t>(), setup_data, g,
        grad_src, grad_dst);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> mesh_warp_cuda(const at::Tensor& image_in, const at::Tensor& src_in,
                                                              const at::Tensor& dst_in, const at::Tensor& tris_in,
                                                              int64_t out_h, int64_t out_w, int64_t padding_mode,
                                                              bool return_grid, bool return_index) {
  check_mesh_warp_inputs("mesh_warp", image_in, src_in, dst_in, tris_in, padding_mode);
  check_out_size("mesh_warp", out_h, out_w);
  const c10::cuda::CUDAGuard guard(image_in.device());
  const at::Tensor image = image_in.contiguous(), src = src_in.contiguous(), dst = dst_in.contiguous(),
                   tris = tris_in.contiguous();
  const Geometry g = make_geometry(image.size(0), image, src, tris, out_h, out_w);
  at::Tensor out = at::empty({g.batch, g.channels, out_h, out_w}, image.options());
  at::Tensor grid = at::empty(return_grid ? at::IntArrayRef{g.batch, out_h, out_w, 2} : at::IntArrayRef{0},
                              src.options());
  at::Tensor index = at::empty(return_index ? at::IntArrayRef{g.batch, out_h, out_w} : at::IntArrayRef{0},
                               tris.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, image.scalar_type(), "mesh_warp_cuda", [&] {
    using coord_t = at::opmath_type<scalar_t>;
    forward_cuda<scalar_t>(g, image, src, dst, tris, padding_mode, out.mutable_data_ptr<scalar_t>(),
                           return_grid ? grid.mutable_data_ptr<coord_t>() : nullptr,
                           return_index ? index.mutable_data_ptr<int32_t>() : nullptr);
  });
  return {out, grid, index};
}

void mesh_warp_out_cuda(const at::Tensor& image_in, const at::Tensor& src_in, const at::Tensor& dst_in,
                        const at::Tensor& tris_in, int64_t padding_mode, at::Tensor& out) {
  check_mesh_warp_inputs("mesh_warp_out", image_in, src_in, dst_in, tris_in, padding_mode);
  TORCH_CHECK(out.dim() == 4 && out.size(0) == image_in.size(0) && out.size(1) == image_in.size(1) &&
                  out.scalar_type() == image_in.scalar_type() && out.device() == image_in.device() &&
                  out.is_contiguous(),
              "mesh_warp_out: out must be a contiguous (N, C, H_out, W_out) ", image_in.scalar_type(),
              " tensor matching the image's N and C, got ", out.sizes(), " ", out.scalar_type());
  const c10::cuda::CUDAGuard guard(image_in.device());
  const at::Tensor image = image_in.contiguous(), src = src_in.contiguous(), dst = dst_in.contiguous(),
                   tris = tris_in.contiguous();
  const Geometry g = make_geometry(image.size(0), image, src, tris, out.size(2), out.size(3));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, image.scalar_type(), "mesh_warp_out_cuda", [&] {
    forward_cuda<scalar_t>(g, image, src, dst, tris, padding_mode, out.mutable_data_ptr<scalar_t>(), nullptr,
                           nullptr);
  });
}

std::tuple<at::Tensor, at::Tensor> mesh_warp_grid_cuda(const at::Tensor& src_in, const at::Tensor& dst_in,
                                                       const at::Tensor& tris_in, int64_t out_h, int64_t out_w) {
  TORCH_CHECK(src_in.scalar_type() == at::kFloat || src_in.scalar_type() == at::kDouble,
              "mesh_warp_grid: points must be float32 or float64, got ", src_in.scalar_type());
  check_mesh("mesh_warp_grid", src_in, dst_in, tris_in, src_in.scalar_type(), src_in.device());
  check_out_size("mesh_warp_grid", out_h, out_w);
  const c10::cuda::CUDAGuard guard(src_in.device());
  const at::Tensor src = src_in.contiguous(), dst = dst_in.contiguous(), tris = tris_in.contiguous();
  const Geometry g = make_geometry(src.size(0), at::Tensor(), src, tris, out_h, out_w);
  at::Tensor grid = at::empty({g.batch, out_h, out_w, 2}, src.options());
  at::Tensor index = at::empty({g.batch, out_h, out_w}, tris.options());
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "mesh_warp_grid_cuda", [&] {
    forward_cuda<scalar_t>(g, at::Tensor(), src, dst, tris, mesh::kZeros, nullptr, grid.mutable_data_ptr<scalar_t>(),
                           index.mutable_data_ptr<int32_t>());
  });
  return {grid, index};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> mesh_warp_backward_cuda(
    const at::Tensor& grad_out_in, const std::optional<at::Tensor>& grad_grid_in, const at::Tensor& image_in,
    const at::Tensor& src_in, const at::Tensor& dst_in, const at::Tensor& tris_in, const at::Tensor& index_in,
    int64_t padding_mode, std::array<bool, 3> output_mask) {
  check_mesh_warp_inputs("mesh_warp_backward", image_in, src_in, dst_in, tris_in, padding_mode);
  check_triangle_index("mesh_warp_backward", index_in, image_in.size(0), image_in.device());
  const int64_t out_h = index_in.size(1), out_w = index_in.size(2);
  TORCH_CHECK(grad_out_in.sizes() == at::IntArrayRef({image_in.size(0), image_in.size(1), out_h, out_w}) &&
                  grad_out_in.scalar_type() == image_in.scalar_type(),
              "mesh_warp_backward: grad_out must be (N, C, H_out, W_out) in the image dtype");
  const c10::cuda::CUDAGuard guard(image_in.device());
  const at::Tensor image = image_in.contiguous(), src = src_in.contiguous(), dst = dst_in.contiguous(),
                   tris = tris_in.contiguous(), index = index_in.contiguous(), grad_out = grad_out_in.contiguous();
  at::Tensor grad_grid;
  if (grad_grid_in.has_value() && grad_grid_in->defined()) {
    TORCH_CHECK(grad_grid_in->sizes() == at::IntArrayRef({image.size(0), out_h, out_w, 2}) &&
                    grad_grid_in->scalar_type() == src.scalar_type(),
                "mesh_warp_backward: grad_grid must be (N, H_out, W_out, 2) in the points dtype");
    grad_grid = grad_grid_in->contiguous();
  }
  const Geometry g = make_geometry(image.size(0), image, src, tris, out_h, out_w);
  const bool need_points = output_mask[1] || output_mask[2];
  // Accumulators: atomics need zeroed memory in the accumulation type (float for half/bfloat16 images).
  at::Tensor grad_image_acc = output_mask[0] ? at::zeros(image.sizes(), src.options()) : at::Tensor();
  at::Tensor grad_src = need_points ? at::zeros(src.sizes(), src.options()) : at::Tensor();
  at::Tensor grad_dst = need_points ? at::zeros(dst.sizes(), dst.options()) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, image.scalar_type(), "mesh_warp_backward_cuda", [&] {
    using coord_t = at::opmath_type<scalar_t>;
    backward_cuda<scalar_t>(g, grad_out.const_data_ptr<scalar_t>(),
                            grad_grid.defined() ? grad_grid.const_data_ptr<coord_t>() : nullptr, image, src, dst, tris,
                            index, padding_mode,
                            output_mask[0] ? grad_image_acc.mutable_data_ptr<coord_t>() : nullptr,
                            need_points ? grad_src.mutable_data_ptr<coord_t>() : nullptr,
                            need_points ? grad_dst.mutable_data_ptr<coord_t>() : nullptr);
  });
  at::Tensor grad_image = output_mask[0] ? grad_image_acc.to(image.scalar_type()) : at::empty({0}, image.options());
  return {grad_image, output_mask[1] ? grad_src : at::empty({0}, src.options()),
          output_mask[2] ? grad_dst : at::empty({0}, dst.options())};
}

std::tuple<at::Tensor, at::Tensor> mesh_warp_grid_backward_cuda(const at::Tensor& grad_grid_in,
                                                                const at::Tensor& src_in, const at::Tensor& dst_in,
                                                                const at::Tensor& tris_in, const at::Tensor& index_in) {
  TORCH_CHECK(src_in.scalar_type() == at::kFloat || src_in.scalar_type() == at::kDouble,
              "mesh_warp_grid_backward: points must be float32 or float64, got ", src_in.scalar_type());
  check_mesh("mesh_warp_grid_backward", src_in, dst_in, tris_in, src_in.scalar_type(), src_in.device());
  check_triangle_index("mesh_warp_grid_backward", index_in, src_in.size(0), src_in.device());
  const int64_t out_h = index_in.size(1), out_w = index_in.size(2);
  TORCH_CHECK(grad_grid_in.sizes() == at::IntArrayRef({src_in.size(0), out_h, out_w, 2}) &&
                  grad_grid_in.scalar_type() == src_in.scalar_type(),
              "mesh_warp_grid_backward: grad_grid must be (N, H_out, W_out, 2) in the points dtype");
  const c10::cuda::CUDAGuard guard(src_in.device());
  const at::Tensor src = src_in.contiguous(), dst = dst_in.contiguous(), tris = tris_in.contiguous(),
                   index = index_in.contiguous(), grad_grid = grad_grid_in.contiguous();
  const Geometry g = make_geometry(src.size(0), at::Tensor(), src, tris, out_h, out_w);
  at::Tensor grad_src = at::zeros(src.sizes(), src.options());
  at::Tensor grad_dst = at::zeros(dst.sizes(), dst.options());
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "mesh_warp_grid_backward_cuda", [&] {
    backward_cuda<scalar_t>(g, nullptr, grad_grid.const_data_ptr<scalar_t>(), at::Tensor(), src, dst, tris, index,
                            mesh::kZeros, nullptr, grad_src.mutable_data_ptr<scalar_t>(),
                            grad_dst.mutable_data_ptr<scalar_t>());
  });
  return {grad_src, grad_dst};
}

}  // namespace

TORCH_LIBRARY_IMPL(portrait_animator, CUDA, m) {
  m.impl("mesh_warp", &mesh_warp_cuda);
  m.impl("mesh_warp_out", &mesh_warp_out_cuda);
  m.impl("mesh_warp_backward", &mesh_warp_backward_cuda);
  m.impl("mesh_warp_grid", &mesh_warp_grid_cuda);
  m.impl("mesh_warp_grid_backward", &mesh_warp_grid_backward_cuda);
}

}  // namespace portrait_animator
