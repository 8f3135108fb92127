// AdaIN on CUDA, the ATen side: argument checks, outputs and workspaces, dtype dispatch and registration.
// The kernels are in adain_kernel.cu (compiled by nvcc without ATen headers, see adain_launch.h).
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
#include "adain/cuda/adain_launch.h"

namespace portrait_animator {
namespace {

using adain_cuda::kThreads;
using adain_cuda::Split;

// A plane that fits in one block's registers gets one block (the one-pass kernels) while there is at least a
// block per SM; otherwise planes are split across blocks only when there are too few planes to occupy every
// SM a few times over. A plane left in one chunk that fits in registers also runs one pass.
Split plan_split(int64_t planes, int64_t plane_size, int device) {
  int sms = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  TORCH_CHECK(planes < (int64_t(1) << 31), "adain: too many planes for one launch: ", planes);
  const bool fits = plane_size <= int64_t(kThreads) * adain_cuda::kMaxPerThread;
  if (fits && planes >= sms) {
    return {planes, plane_size, plane_size, 1, true};
  }
  const int64_t want_blocks = 4 * static_cast<int64_t>(sms);
  const int64_t min_chunk = 8 * kThreads;  // keep every thread busy for a few iterations
  int64_t splits = planes >= want_blocks ? 1 : (want_blocks + planes - 1) / std::max<int64_t>(planes, 1);
  splits = std::max<int64_t>(1, std::min<int64_t>({splits, (plane_size + min_chunk - 1) / min_chunk, 1024}));
  return {planes, plane_size, (plane_size + splits - 1) / splits, static_cast<int>(splits), fits && splits == 1};
}

void adain_forward_into_cuda(const at::Tensor& x_in, const at::Tensor& scale_in, const at::Tensor& bias_in,
                             double eps, at::Tensor& out, at::Tensor* mean_out, at::Tensor* rstd_out) {
  const at::Tensor x = x_in.contiguous(), scale = scale_in.contiguous(), bias = bias_in.contiguous();
  const int64_t planes = x.size(0) * x.size(1), plane_size = x.size(2) * x.size(3);
  if (planes == 0) return;
  const c10::cuda::CUDAGuard guard(x.device());
  const Split split = plan_split(planes, plane_size, x.get_device());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "adain_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    at::Tensor partial = at::empty({planes * split.splits * static_cast<int64_t>(sizeof(adain_cuda::Welford<acc_t>))},
                                   x.options().dtype(at::kByte));
    C10_CUDA_CHECK((adain_cuda::forward<scalar_t, acc_t>(
        x.const_data_ptr<scalar_t>(), scale.const_data_ptr<acc_t>(), bias.const_data_ptr<acc_t>(),
        static_cast<acc_t>(eps), split, reinterpret_cast<adain_cuda::Welford<acc_t>*>(partial.mutable_data_ptr()),
        out.mutable_data_ptr<scalar_t>(), mean_out ? mean_out->mutable_data_ptr<acc_t>() : nullptr,
        rstd_out ? rstd_out->mutable_data_ptr<acc_t>() : nullptr, c10::cuda::getCurrentCUDAStream())));
  });
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> adain_cuda_op(const at::Tensor& x, const at::Tensor& scale,
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
  // Outputs not asked for come back empty (0 elements), as the schema returns plain Tensors.
  at::Tensor grad_x = at::empty(output_mask[0] ? x.sizes() : at::IntArrayRef{0},
                                x.options().memory_format(at::MemoryFormat::Contiguous));
  at::Tensor grad_scale = at::empty(output_mask[1] ? scale.sizes() : at::IntArrayRef{0}, scale.options());
  at::Tensor grad_bias = at::empty(output_mask[2] ? scale.sizes() : at::IntArrayRef{0}, scale.options());
  const int64_t planes = x.size(0) * x.size(1), plane_size = x.size(2) * x.size(3);
  if (planes == 0) return {grad_x, grad_scale, grad_bias};
  const c10::cuda::CUDAGuard guard(x.device());
  const Split split = plan_split(planes, plane_size, x.get_device());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "adain_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    at::Tensor partial = at::empty({planes * split.splits * 2}, scale.options());
    C10_CUDA_CHECK((adain_cuda::backward<scalar_t, acc_t>(
        grad_out.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(), scale.const_data_ptr<acc_t>(),
        mean.const_data_ptr<acc_t>(), rstd.const_data_ptr<acc_t>(), split, partial.mutable_data_ptr<acc_t>(),
        output_mask[0] ? grad_x.mutable_data_ptr<scalar_t>() : nullptr,
        output_mask[1] ? grad_scale.mutable_data_ptr<acc_t>() : nullptr,
        output_mask[2] ? grad_bias.mutable_data_ptr<acc_t>() : nullptr, c10::cuda::getCurrentCUDAStream())));
  });
  return {grad_x, grad_scale, grad_bias};
}

}  // namespace

TORCH_LIBRARY_IMPL(portrait_animator, CUDA, m) {
  m.impl("adain", &adain_cuda_op);
  m.impl("adain_out", &adain_out_cuda);
  m.impl("adain_backward", &adain_backward_cuda);
}

}  // namespace portrait_animator
