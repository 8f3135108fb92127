// AdaIN CUDA kernels (launched from adain_cuda.cpp through adain_launch.h).
//
// Planes that fit in one block's registers (up to kThreads * kMaxPerThread elements, e.g. 64x64) take the
// one-pass path: a block loads its plane once into registers, reduces the statistics there and writes the
// output, so the forward reads x once and writes once, and the backward reads grad_out and x once and writes
// grad_x once: the memory-bandwidth floor. Larger planes take the split path: a statistics kernel (Welford per
// thread, merged per block) over (plane, split) chunks, then an apply kernel that merges the few partials of
// its plane and normalises its chunk (planes are split across blocks only when there are too few planes to
// fill the GPU). Every sum is taken relative to the plane's first value, as on the CPU: with a large offset
// (values near 1e4) float32 sums would otherwise round at the offset's scale, not the spread's. No atomics:
// every block writes its own partial, merged in a fixed order.
#include <type_traits>

#include "adain/cuda/adain_launch.h"

namespace portrait_animator {
namespace adain_cuda {
namespace {

constexpr int kWarps = kThreads / 32;

template <typename acc_t>
__device__ __forceinline__ Welford<acc_t> merge(Welford<acc_t> a, Welford<acc_t> b) {
  if (b.count == acc_t(0)) return a;
  if (a.count == acc_t(0)) return b;
  const acc_t count = a.count + b.count;
  const acc_t delta = b.mean - a.mean;
  const acc_t share = b.count / count;
  return {count, a.mean + delta * share, a.m2 + b.m2 + delta * delta * a.count * share};
}

template <typename acc_t>
__device__ Welford<acc_t> block_welford(Welford<acc_t> w) {
  __shared__ Welford<acc_t> warp_partial[kWarps];
  for (int offset = 16; offset > 0; offset >>= 1) {
    Welford<acc_t> other{__shfl_down_sync(0xffffffffu, w.count, offset), __shfl_down_sync(0xffffffffu, w.mean, offset),
                         __shfl_down_sync(0xffffffffu, w.m2, offset)};
    w = merge(w, other);
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_partial[warp] = w;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int i = 1; i < kWarps; ++i) w = merge(w, warp_partial[i]);
  }
  return w;  // valid in thread 0
}

// Sums each of `values` over the block; every thread gets the totals (added in the same order in all threads).
template <typename acc_t, int kValues>
__device__ __forceinline__ void block_allsum(acc_t (&values)[kValues]) {
  __shared__ acc_t warp_partial[kValues][kWarps];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
#pragma unroll
  for (int j = 0; j < kValues; ++j) {
    for (int offset = 16; offset > 0; offset >>= 1) values[j] += __shfl_down_sync(0xffffffffu, values[j], offset);
    if (lane == 0) warp_partial[j][warp] = values[j];
  }
  __syncthreads();
#pragma unroll
  for (int j = 0; j < kValues; ++j) {
    acc_t total = 0;
#pragma unroll
    for (int i = 0; i < kWarps; ++i) total += warp_partial[j][i];
    values[j] = total;
  }
  __syncthreads();  // warp_partial is reused by the next call
}

// One block per plane of at most kThreads * kPer elements, held in registers (element i of the plane is
// v[k] of thread i % kThreads, k = i / kThreads: coalesced loads and stores).
template <typename scalar_t, typename acc_t, int kPer>
__global__ void __launch_bounds__(kThreads) adain_plane_forward_kernel(
    const scalar_t* __restrict__ x, int64_t plane_size, const acc_t* __restrict__ scale,
    const acc_t* __restrict__ bias, acc_t eps, scalar_t* __restrict__ out, acc_t* __restrict__ mean_out,
    acc_t* __restrict__ rstd_out) {
  const int64_t plane = blockIdx.x;
  const scalar_t* xp = x + plane * plane_size;
  const acc_t shift = static_cast<acc_t>(xp[0]);
  acc_t v[kPer];
  acc_t sum[1] = {0};
#pragma unroll
  for (int k = 0; k < kPer; ++k) {
    const int64_t i = threadIdx.x + k * kThreads;
    v[k] = i < plane_size ? static_cast<acc_t>(xp[i]) - shift : acc_t(0);
    sum[0] += v[k];
  }
  block_allsum(sum);
  const acc_t inv_n = acc_t(1) / static_cast<acc_t>(plane_size);
  const acc_t centre = sum[0] * inv_n;  // mean - shift
  acc_t squares[1] = {0};
#pragma unroll
  for (int k = 0; k < kPer; ++k) {
    v[k] -= centre;
    if (threadIdx.x + k * kThreads < plane_size) squares[0] += v[k] * v[k];
  }
  block_allsum(squares);
  const acc_t rstd = acc_t(1) / sqrt(squares[0] * inv_n + eps);
  const acc_t a = rstd * scale[plane], b = bias[plane];
  scalar_t* op = out + plane * plane_size;
#pragma unroll
  for (int k = 0; k < kPer; ++k) {
    const int64_t i = threadIdx.x + k * kThreads;
    if (i < plane_size) op[i] = static_cast<scalar_t>(v[k] * a + b);
  }
  if (threadIdx.x == 0 && mean_out != nullptr) mean_out[plane] = shift + centre, rstd_out[plane] = rstd;
}

template <typename scalar_t, typename acc_t, int kPer>
__global__ void __launch_bounds__(kThreads) adain_plane_backward_kernel(
    const scalar_t* __restrict__ g, const scalar_t* __restrict__ x, int64_t plane_size,
    const acc_t* __restrict__ scale, const acc_t* __restrict__ mean, const acc_t* __restrict__ rstd_in,
    scalar_t* __restrict__ grad_x, acc_t* __restrict__ grad_scale, acc_t* __restrict__ grad_bias) {
  const int64_t plane = blockIdx.x;
  const scalar_t* gp = g + plane * plane_size;
  const scalar_t* xp = x + plane * plane_size;
  const acc_t mu = mean[plane], rstd = rstd_in[plane];
  acc_t gv[kPer], dev[kPer];
  acc_t sums[2] = {0, 0};  // sum of grad_out, sum of grad_out * (x - mean)
#pragma unroll
  for (int k = 0; k < kPer; ++k) {
    const int64_t i = threadIdx.x + k * kThreads;
    const bool inside = i < plane_size;
    gv[k] = inside ? static_cast<acc_t>(gp[i]) : acc_t(0);
    dev[k] = inside ? static_cast<acc_t>(xp[i]) - mu : acc_t(0);
    sums[0] += gv[k];
    sums[1] += gv[k] * dev[k];
  }
  block_allsum(sums);
  if (threadIdx.x == 0) {
    if (grad_bias != nullptr) grad_bias[plane] = sums[0];
    if (grad_scale != nullptr) grad_scale[plane] = sums[1] * rstd;
  }
  if (grad_x == nullptr) return;
  const acc_t inv_n = acc_t(1) / static_cast<acc_t>(plane_size);
  const acc_t kg = rstd * scale[plane];
  const acc_t c1 = -kg * rstd * rstd * sums[1] * inv_n, c0 = -kg * sums[0] * inv_n;
  scalar_t* gxp = grad_x + plane * plane_size;
#pragma unroll
  for (int k = 0; k < kPer; ++k) {
    const int64_t i = threadIdx.x + k * kThreads;
    if (i < plane_size) gxp[i] = static_cast<scalar_t>(kg * gv[k] + c1 * dev[k] + c0);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads) adain_stats_kernel(const scalar_t* __restrict__ x, Split sp,
                                                               Welford<acc_t>* __restrict__ partial) {
  const int64_t plane = blockIdx.x, split = blockIdx.y;
  const int64_t begin = split * sp.chunk, end = min(begin + sp.chunk, sp.plane_size);
  const scalar_t* xp = x + plane * sp.plane_size;
  const acc_t shift = static_cast<acc_t>(xp[0]);
  Welford<acc_t> w{0, 0, 0};
#pragma unroll 4
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    const acc_t v = static_cast<acc_t>(xp[i]) - shift;
    w.count += acc_t(1);
    const acc_t d = v - w.mean;
    w.mean += d / w.count;
    w.m2 += d * (v - w.mean);
  }
  w = block_welford(w);
  if (threadIdx.x == 0) partial[plane * sp.splits + split] = w;
}

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads) adain_apply_kernel(const scalar_t* __restrict__ x, Split sp,
                                                               const Welford<acc_t>* __restrict__ partial,
                                                               const acc_t* __restrict__ scale,
                                                               const acc_t* __restrict__ bias, acc_t eps,
                                                               scalar_t* __restrict__ out, acc_t* __restrict__ mean_out,
                                                               acc_t* __restrict__ rstd_out) {
  __shared__ acc_t s_centre, s_a, s_b;
  const int64_t plane = blockIdx.x, split = blockIdx.y;
  const scalar_t* xp = x + plane * sp.plane_size;
  const acc_t shift = static_cast<acc_t>(xp[0]);
  if (threadIdx.x == 0) {
    Welford<acc_t> w = partial[plane * sp.splits];
    for (int i = 1; i < sp.splits; ++i) w = merge(w, partial[plane * sp.splits + i]);
    const acc_t var = w.m2 / w.count;
    const acc_t rstd = acc_t(1) / sqrt(var + eps);
    if (split == 0 && mean_out != nullptr) mean_out[plane] = shift + w.mean, rstd_out[plane] = rstd;
    s_centre = w.mean;  // mean - shift
    s_a = rstd * scale[plane];
    s_b = bias[plane];
  }
  __syncthreads();
  const acc_t centre = s_centre, a = s_a, b = s_b;
  const int64_t begin = split * sp.chunk, end = min(begin + sp.chunk, sp.plane_size);
  scalar_t* op = out + plane * sp.plane_size;
#pragma unroll 4
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    op[i] = static_cast<scalar_t>((static_cast<acc_t>(xp[i]) - shift - centre) * a + b);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads) adain_grad_sums_kernel(const scalar_t* __restrict__ g,
                                                                   const scalar_t* __restrict__ x, Split sp,
                                                                   const acc_t* __restrict__ mean,
                                                                   acc_t* __restrict__ partial) {
  const int64_t plane = blockIdx.x, split = blockIdx.y;
  const int64_t begin = split * sp.chunk, end = min(begin + sp.chunk, sp.plane_size);
  const scalar_t* gp = g + plane * sp.plane_size;
  const scalar_t* xp = x + plane * sp.plane_size;
  const acc_t mu = mean[plane];
  acc_t sum_g = 0, sum_g_dev = 0;
#pragma unroll 4
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    const acc_t gi = static_cast<acc_t>(gp[i]);
    sum_g += gi;
    sum_g_dev += gi * (static_cast<acc_t>(xp[i]) - mu);
  }
  acc_t sums[2] = {sum_g, sum_g_dev};
  block_allsum(sums);
  if (threadIdx.x == 0) {
    partial[2 * (plane * sp.splits + split)] = sums[0];
    partial[2 * (plane * sp.splits + split) + 1] = sums[1];
  }
}

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads) adain_grad_apply_kernel(
    const scalar_t* __restrict__ g, const scalar_t* __restrict__ x, Split sp, const acc_t* __restrict__ partial,
    const acc_t* __restrict__ scale, const acc_t* __restrict__ mean, const acc_t* __restrict__ rstd_in,
    scalar_t* __restrict__ grad_x, acc_t* __restrict__ grad_scale, acc_t* __restrict__ grad_bias) {
  __shared__ acc_t s_k, s_c1, s_c0;
  const int64_t plane = blockIdx.x, split = blockIdx.y;
  if (threadIdx.x == 0) {
    acc_t sum_g = 0, sum_g_dev = 0;
    for (int i = 0; i < sp.splits; ++i) {
      sum_g += partial[2 * (plane * sp.splits + i)];
      sum_g_dev += partial[2 * (plane * sp.splits + i) + 1];
    }
    const acc_t rstd = rstd_in[plane];
    if (split == 0) {
      if (grad_bias != nullptr) grad_bias[plane] = sum_g;
      if (grad_scale != nullptr) grad_scale[plane] = sum_g_dev * rstd;
    }
    const acc_t inv_n = acc_t(1) / static_cast<acc_t>(sp.plane_size);
    const acc_t k = rstd * scale[plane];
    s_k = k;
    s_c1 = -k * rstd * rstd * sum_g_dev * inv_n;
    s_c0 = -k * sum_g * inv_n;
  }
  __syncthreads();
  if (grad_x == nullptr) return;
  const acc_t k = s_k, c1 = s_c1, c0 = s_c0, mu = mean[plane];
  const int64_t begin = split * sp.chunk, end = min(begin + sp.chunk, sp.plane_size);
  const scalar_t* gp = g + plane * sp.plane_size;
  const scalar_t* xp = x + plane * sp.plane_size;
  scalar_t* gxp = grad_x + plane * sp.plane_size;
#pragma unroll 4
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    gxp[i] = static_cast<scalar_t>(k * static_cast<acc_t>(gp[i]) + c1 * (static_cast<acc_t>(xp[i]) - mu) + c0);
  }
}

// Calls launch(std::integral_constant<int, kPer>) with the fewest registers per thread that hold a plane.
template <typename Launch>
cudaError_t with_per_thread(int64_t plane_size, Launch&& launch) {
  if (plane_size <= kThreads * 4) {
    launch(std::integral_constant<int, 4>());
  } else if (plane_size <= kThreads * 8) {
    launch(std::integral_constant<int, 8>());
  } else {
    launch(std::integral_constant<int, kMaxPerThread>());
  }
  return cudaGetLastError();
}

}  // namespace

template <typename scalar_t, typename acc_t>
cudaError_t forward(const scalar_t* x, const acc_t* scale, const acc_t* bias, acc_t eps, const Split& split,
                    Welford<acc_t>* partial, scalar_t* out, acc_t* mean, acc_t* rstd, cudaStream_t stream) {
  if (split.one_pass) {
    return with_per_thread(split.plane_size, [&](auto per) {
      adain_plane_forward_kernel<scalar_t, acc_t, decltype(per)::value>
          <<<static_cast<unsigned>(split.planes), kThreads, 0, stream>>>(x, split.plane_size, scale, bias, eps, out,
                                                                         mean, rstd);
    });
  }
  const dim3 blocks(static_cast<unsigned>(split.planes), static_cast<unsigned>(split.splits));
  adain_stats_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(x, split, partial);
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) return status;
  adain_apply_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(x, split, partial, scale, bias, eps, out, mean,
                                                                       rstd);
  return cudaGetLastError();
}

template <typename scalar_t, typename acc_t>
cudaError_t backward(const scalar_t* grad_out, const scalar_t* x, const acc_t* scale, const acc_t* mean,
                     const acc_t* rstd, const Split& split, acc_t* partial, scalar_t* grad_x, acc_t* grad_scale,
                     acc_t* grad_bias, cudaStream_t stream) {
  if (split.one_pass) {
    return with_per_thread(split.plane_size, [&](auto per) {
      adain_plane_backward_kernel<scalar_t, acc_t, decltype(per)::value>
          <<<static_cast<unsigned>(split.planes), kThreads, 0, stream>>>(grad_out, x, split.plane_size, scale, mean,
                                                                         rstd, grad_x, grad_scale, grad_bias);
    });
  }
  const dim3 blocks(static_cast<unsigned>(split.planes), static_cast<unsigned>(split.splits));
  adain_grad_sums_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(grad_out, x, split, mean, partial);
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) return status;
  // Without grad_x the apply pass only writes grad_scale/grad_bias: one block per plane is enough.
  const dim3 apply_blocks(static_cast<unsigned>(split.planes), grad_x != nullptr ? static_cast<unsigned>(split.splits) : 1u);
  adain_grad_apply_kernel<scalar_t, acc_t><<<apply_blocks, kThreads, 0, stream>>>(
      grad_out, x, split, partial, scale, mean, rstd, grad_x, grad_scale, grad_bias);
  return cudaGetLastError();
}

#define PA_INSTANTIATE(scalar_t, acc_t)                                                                             \
  template cudaError_t forward<scalar_t, acc_t>(const scalar_t*, const acc_t*, const acc_t*, acc_t, const Split&,    \
                                                Welford<acc_t>*, scalar_t*, acc_t*, acc_t*, cudaStream_t);          \
  template cudaError_t backward<scalar_t, acc_t>(const scalar_t*, const scalar_t*, const acc_t*, const acc_t*,      \
                                                 const acc_t*, const Split&, acc_t*, scalar_t*, acc_t*, acc_t*,      \
                                                 cudaStream_t);
PA_INSTANTIATE(double, double)
PA_INSTANTIATE(float, float)
PA_INSTANTIATE(c10::Half, float)
PA_INSTANTIATE(c10::BFloat16, float)
#undef PA_INSTANTIATE

}  // namespace adain_cuda
}  // namespace portrait_animator
