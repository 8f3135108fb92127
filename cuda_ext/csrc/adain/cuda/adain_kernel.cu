// AdaIN on CUDA.
//
// Forward: a statistics kernel (Welford per thread, merged per block) over (plane, split) chunks, then an
// apply kernel that merges the few split partials of its plane and normalises its chunk; the second read of
// x mostly hits L2. Planes are split across several blocks only when there are too few planes to fill the
// GPU (high-resolution layers: N*C of 64 planes of 256x256). Backward has the same shape: per-chunk sums of
// grad_out and grad_out * (x - mean), then one pass writing grad_x, with grad_scale/grad_bias written by the
// first chunk of each plane. No atomics: every block writes its own partial, merged in a fixed order.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <tuple>

#include "adain/adain_checks.h"

namespace portrait_animator {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

template <typename acc_t>
struct Welford {
  acc_t count, mean, m2;
};

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

template <typename acc_t>
__device__ void block_sum2(acc_t& a, acc_t& b) {
  __shared__ acc_t warp_a[kWarps], warp_b[kWarps];
  for (int offset = 16; offset > 0; offset >>= 1) {
    a += __shfl_down_sync(0xffffffffu, a, offset);
    b += __shfl_down_sync(0xffffffffu, b, offset);
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_a[warp] = a, warp_b[warp] = b;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int i = 1; i < kWarps; ++i) a += warp_a[i], b += warp_b[i];
  }
}

struct Split {
  int64_t plane_size, chunk;
  int splits;
};

template <typename scalar_t, typename acc_t>
__global__ void __launch_bounds__(kThreads) adain_stats_kernel(const scalar_t* __restrict__ x, Split sp,
                                                               Welford<acc_t>* __restrict__ partial) {
  const int64_t plane = blockIdx.x, split = blockIdx.y;
  const int64_t begin = split * sp.chunk, end = min(begin + sp.chunk, sp.plane_size);
  const scalar_t* xp = x + plane * sp.plane_size;
  Welford<acc_t> w{0, 0, 0};
#pragma unroll 4
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    const acc_t v = static_cast<acc_t>(xp[i]);
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
  __shared__ acc_t s_mean, s_a, s_b;
  const int64_t plane = blockIdx.x, split = blockIdx.y;
  if (threadIdx.x == 0) {
    Welford<acc_t> w = partial[plane * sp.splits];
    for (int i = 1; i < sp.splits; ++i) w = merge(w, partial[plane * sp.splits + i]);
    const acc_t var = w.m2 / w.count;
    const acc_t rstd = acc_t(1) / sqrt(var + eps);
    if (split == 0 && mean_out != nullptr) mean_out[plane] = w.mean, rstd_out[plane] = rstd;
    s_mean = w.mean;
    s_a = rstd * scale[plane];
    s_b = bias[plane];
  }
  __syncthreads();
  const acc_t mean = s_mean, a = s_a, b = s_b;
  const int64_t begin = split * sp.chunk, end = min(begin + sp.chunk, sp.plane_size);
  const scalar_t* xp = x + plane * sp.plane_size;
  scalar_t* op = out + plane * sp.plane_size;
#pragma unroll 4
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    op[i] = static_cast<scalar_t>((static_cast<acc_t>(xp[i]) - mean) * a + b);
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
  block_sum2(sum_g, sum_g_dev);
  if (threadIdx.x == 0) {
    partial[2 * (plane * sp.splits + split)] = sum_g;
    partial[2 * (plane * sp.splits + split) + 1] = sum_g_dev;
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

// Splits planes across blocks only when there are too few planes to occupy every SM a few times over.
Split plan_split(int64_t planes, int64_t plane_size, int device) {
  int sms = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int64_t want_blocks = 4 * static_cast<int64_t>(sms);
  const int64_t min_chunk = 8 * kThreads;  // keep every thread busy for a few iterations
  int64_t splits = planes >= want_blocks ? 1 : (want_blocks + planes - 1) / std::max<int64_t>(planes, 1);
  splits = std::max<int64_t>(1, std::min<int64_t>({splits, (plane_size + min_chunk - 1) / min_chunk, 1024}));
  const int64_t chunk = (plane_size + splits - 1) / splits;
  return {plane_size, chunk, static_cast<int>(splits)};
}

void check_grid(int64_t planes, const Split& sp) {
  TORCH_CHECK(planes < (int64_t(1) << 31) && sp.splits < 65536, "adain: too many planes for one launch");
}

void adain_forward_into_cuda(const at::Tensor& x_in, const at::Tensor& scale_in, const at::Tensor& bias_in,
                             double eps, at::Tensor& out, at::Tensor* mean_out, at::Tensor* rstd_out) {
  const at::Tensor x = x_in.contiguous(), scale = scale_in.contiguous(), bias = bias_in.contiguous();
  const int64_t planes = x.size(0) * x.size(1), plane_size = x.size(2) * x.size(3);
  if (planes == 0) return;
  const c10::cuda::CUDAGuard guard(x.device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const Split sp = plan_split(planes, plane_size, x.get_device());
  check_grid(planes, sp);
  const dim3 blocks(static_cast<unsigned>(planes), static_cast<unsigned>(sp.splits));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "adain_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    at::Tensor partial = at::empty({planes * sp.splits * static_cast<int64_t>(sizeof(Welford<acc_t>))},
                                   x.options().dtype(at::kByte));
    auto* partial_data = reinterpret_cast<Welford<acc_t>*>(partial.mutable_data_ptr());
    adain_stats_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(x.const_data_ptr<scalar_t>(), sp, partial_data);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    adain_apply_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(
        x.const_data_ptr<scalar_t>(), sp, partial_data, scale.const_data_ptr<acc_t>(), bias.const_data_ptr<acc_t>(),
        static_cast<acc_t>(eps), out.mutable_data_ptr<scalar_t>(),
        mean_out ? mean_out->mutable_data_ptr<acc_t>() : nullptr, rstd_out ? rstd_out->mutable_data_ptr<acc_t>() : nullptr);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> adain_cuda(const at::Tensor& x, const at::Tensor& scale,
                                                          const at::Tensor& bias, double eps) {
  const auto acc = check_adain_inputs(x, scale, bias);
  at::Tensor out = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
  at::Tensor mean = at::empty(scale.sizes(), x.options().dtype(acc));
  at::Tensor rstd = at::empty(scale.sizes(), x.options().dtype(acc));
  adain_forward_into_cuda(x, scale, bias, eps, out, &mean, &rstd);
  return {out, mean, rstd};
}

void adain_out_cuda(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& bias, double eps,
                    at::Tensor& out) {
  check_adain_inputs(x, scale, bias);
  check_adain_out(x, out);
  adain_forward_into_cuda(x, scale, bias, eps, out, nullptr, nullptr);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> adain_backward_cuda(const at::Tensor& grad_out_in,
                                                                   const at::Tensor& x_in,
                                                                   const at::Tensor& scale_in,
                                                                   const at::Tensor& mean_in,
                                                                   const at::Tensor& rstd_in,
                                                                   std::array<bool, 3> output_mask) {
  check_adain_backward_inputs(grad_out_in, x_in, scale_in, mean_in, rstd_in);
  const at::Tensor grad_out = grad_out_in.contiguous(), x = x_in.contiguous(), scale = scale_in.contiguous(),
                   mean = mean_in.contiguous(), rstd = rstd_in.contiguous();
  at::Tensor grad_x = at::empty(output_mask[0] ? x.sizes() : at::IntArrayRef{0},
                                x.options().memory_format(at::MemoryFormat::Contiguous));
  at::Tensor grad_scale = at::empty(output_mask[1] ? scale.sizes() : at::IntArrayRef{0}, scale.options());
  at::Tensor grad_bias = at::empty(output_mask[2] ? scale.sizes() : at::IntArrayRef{0}, scale.options());
  const int64_t planes = x.size(0) * x.size(1), plane_size = x.size(2) * x.size(3);
  if (planes == 0) return {grad_x, grad_scale, grad_bias};
  const c10::cuda::CUDAGuard guard(x.device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const Split sp = plan_split(planes, plane_size, x.get_device());
  check_grid(planes, sp);
  const dim3 blocks(static_cast<unsigned>(planes), static_cast<unsigned>(sp.splits));
  // Without grad_x the apply pass only writes grad_scale/grad_bias: one block per plane is enough.
  const dim3 apply_blocks(static_cast<unsigned>(planes), output_mask[0] ? static_cast<unsigned>(sp.splits) : 1u);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "adain_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    at::Tensor partial = at::empty({planes * sp.splits * 2}, scale.options());
    adain_grad_sums_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(
        grad_out.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(), sp, mean.const_data_ptr<acc_t>(),
        partial.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    adain_grad_apply_kernel<scalar_t, acc_t><<<apply_blocks, kThreads, 0, stream>>>(
        grad_out.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(), sp, partial.const_data_ptr<acc_t>(),
        scale.const_data_ptr<acc_t>(), mean.const_data_ptr<acc_t>(), rstd.const_data_ptr<acc_t>(),
        output_mask[0] ? grad_x.mutable_data_ptr<scalar_t>() : nullptr,
        output_mask[1] ? grad_scale.mutable_data_ptr<acc_t>() : nullptr,
        output_mask[2] ? grad_bias.mutable_data_ptr<acc_t>() : nullptr);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {grad_x, grad_scale, grad_bias};
}

}  // namespace

TORCH_LIBRARY_IMPL(portrait_animator, CUDA, m) {
  m.impl("adain", &adain_cuda);
  m.impl("adain_out", &adain_out_cuda);
  m.impl("adain_backward", &adain_backward_cuda);
}

}  // namespace portrait_animator
