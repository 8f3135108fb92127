// AdaIN on the CPU: one task per (n, c) plane, everything for a plane done while it is in cache.
//
// Forward reads a plane twice (mean, then squared deviations: the two-pass variance stays accurate when the
// mean is large against the spread) and writes it once; backward reads grad_out and x once for its two
// reductions and once more to write grad_x. The float32 loops are compiled for AVX-512, AVX2 and baseline x86
// (GCC target_clones picks one at load time), so the wheel runs anywhere and still uses wide vectors.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>

#include "adain/adain_checks.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define PA_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PA_SIMD_CLONES
#endif
#define PA_ALWAYS_INLINE inline __attribute__((always_inline))

namespace portrait_animator {
namespace {

// Lane-parallel float sums over chunks of this many elements, chunk sums added in double: accurate on planes
// of millions of pixels without giving up SIMD.
constexpr int64_t kChunk = 4096;

template <typename acc_t>
struct PlaneMoments {
  acc_t mean;
  acc_t var;  // biased, as instance_norm
};

// The mean is summed relative to the plane's first value: with a large offset (values near 1e4) the lane sums
// would otherwise round at the offset's scale, not the spread's.
template <typename scalar_t, typename acc_t>
PA_ALWAYS_INLINE PlaneMoments<acc_t> plane_moments(const scalar_t* x, int64_t n) {
  const acc_t shift = static_cast<acc_t>(x[0]);
  double total = 0;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t len = std::min(kChunk, n - start);
    const scalar_t* chunk = x + start;
    acc_t sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < len; ++i) sum += static_cast<acc_t>(chunk[i]) - shift;
    total += sum;
  }
  const acc_t mean = static_cast<acc_t>(static_cast<double>(shift) + total / n);
  double squares = 0;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t len = std::min(kChunk, n - start);
    const scalar_t* chunk = x + start;
    acc_t sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < len; ++i) {
      const acc_t d = static_cast<acc_t>(chunk[i]) - mean;
      sum += d * d;
    }
    squares += sum;
  }
  return {mean, static_cast<acc_t>(squares / n)};
}

// y = (x - mean) * a + bias: subtracting the mean first keeps precision when it is large.
template <typename scalar_t, typename acc_t>
PA_ALWAYS_INLINE void plane_affine(const scalar_t* x, scalar_t* y, int64_t n, acc_t mean, acc_t a, acc_t bias) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<scalar_t>((static_cast<acc_t>(x[i]) - mean) * a + bias);
}

template <typename acc_t>
struct GradSums {
  acc_t sum_g;      // sum of grad_out
  acc_t sum_g_dev;  // sum of grad_out * (x - mean)
};

template <typename scalar_t, typename acc_t>
PA_ALWAYS_INLINE GradSums<acc_t> plane_grad_sums(const scalar_t* g, const scalar_t* x, int64_t n, acc_t mean) {
  double total_g = 0, total_gd = 0;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t len = std::min(kChunk, n - start);
    acc_t sg = 0, sgd = 0;
#pragma omp simd reduction(+ : sg, sgd)
    for (int64_t i = 0; i < len; ++i) {
      const acc_t gi = static_cast<acc_t>(g[start + i]);
      sg += gi;
      sgd += gi * (static_cast<acc_t>(x[start + i]) - mean);
    }
    total_g += sg;
    total_gd += sgd;
  }
  return {static_cast<acc_t>(total_g), static_cast<acc_t>(total_gd)};
}

// grad_x = k * g + c1 * (x - mean) + c0, the instance-norm backward folded into three per-plane constants.
template <typename scalar_t, typename acc_t>
PA_ALWAYS_INLINE void plane_grad_x(const scalar_t* g, const scalar_t* x, scalar_t* gx, int64_t n, acc_t mean,
                                   acc_t k, acc_t c1, acc_t c0) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    gx[i] = static_cast<scalar_t>(k * static_cast<acc_t>(g[i]) + c1 * (static_cast<acc_t>(x[i]) - mean) + c0);
  }
}

// The float32 entry points, cloned per instruction set; other dtypes use the templates directly.
PA_SIMD_CLONES PlaneMoments<float> plane_moments_f32(const float* x, int64_t n) {
  return plane_moments<float, float>(x, n);
}
PA_SIMD_CLONES void plane_affine_f32(const float* x, float* y, int64_t n, float mean, float a, float bias) {
  plane_affine<float, float>(x, y, n, mean, a, bias);
}
PA_SIMD_CLONES GradSums<float> plane_grad_sums_f32(const float* g, const float* x, int64_t n, float mean) {
  return plane_grad_sums<float, float>(g, x, n, mean);
}
PA_SIMD_CLONES void plane_grad_x_f32(const float* g, const float* x, float* gx, int64_t n, float mean, float k,
                                     float c1, float c0) {
  plane_grad_x<float, float>(g, x, gx, n, mean, k, c1, c0);
}

template <typename scalar_t, typename acc_t>
struct Plane {
  static PlaneMoments<acc_t> moments(const scalar_t* x, int64_t n) { return plane_moments<scalar_t, acc_t>(x, n); }
  static void affine(const scalar_t* x, scalar_t* y, int64_t n, acc_t mean, acc_t a, acc_t bias) {
    plane_affine<scalar_t, acc_t>(x, y, n, mean, a, bias);
  }
  static GradSums<acc_t> grad_sums(const scalar_t* g, const scalar_t* x, int64_t n, acc_t mean) {
    return plane_grad_sums<scalar_t, acc_t>(g, x, n, mean);
  }
  static void grad_x(const scalar_t* g, const scalar_t* x, scalar_t* gx, int64_t n, acc_t mean, acc_t k, acc_t c1,
                     acc_t c0) {
    plane_grad_x<scalar_t, acc_t>(g, x, gx, n, mean, k, c1, c0);
  }
};

template <>
struct Plane<float, float> {
  static PlaneMoments<float> moments(const float* x, int64_t n) { return plane_moments_f32(x, n); }
  static void affine(const float* x, float* y, int64_t n, float mean, float a, float bias) {
    plane_affine_f32(x, y, n, mean, a, bias);
  }
  static GradSums<float> grad_sums(const float* g, const float* x, int64_t n, float mean) {
    return plane_grad_sums_f32(g, x, n, mean);
  }
  static void grad_x(const float* g, const float* x, float* gx, int64_t n, float mean, float k, float c1, float c0) {
    plane_grad_x_f32(g, x, gx, n, mean, k, c1, c0);
  }
};

// Planes per parallel task: enough elements that a task is worth a thread hand-off.
int64_t plane_grain(int64_t plane_size) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(plane_size, 1)); }

// Writes out (contiguous, x's shape) and, when given, the per-plane mean and rstd.
void adain_forward_into(const at::Tensor& x_in, const at::Tensor& scale_in, const at::Tensor& bias_in, double eps,
                        at::Tensor& out, at::Tensor* mean_out, at::Tensor* rstd_out) {
  const at::Tensor x = x_in.contiguous();
  const at::Tensor scale = scale_in.contiguous();
  const at::Tensor bias = bias_in.contiguous();
  const int64_t planes = x.size(0) * x.size(1);
  const int64_t plane_size = x.size(2) * x.size(3);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "adain_cpu", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const scalar_t* x_data = x.const_data_ptr<scalar_t>();
    scalar_t* out_data = out.mutable_data_ptr<scalar_t>();
    const acc_t* scale_data = scale.const_data_ptr<acc_t>();
    const acc_t* bias_data = bias.const_data_ptr<acc_t>();
    acc_t* mean_data = mean_out ? mean_out->mutable_data_ptr<acc_t>() : nullptr;
    acc_t* rstd_data = rstd_out ? rstd_out->mutable_data_ptr<acc_t>() : nullptr;
    at::parallel_for(0, planes, plane_grain(plane_size), [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const scalar_t* xp = x_data + p * plane_size;
        const auto m = Plane<scalar_t, acc_t>::moments(xp, plane_size);
        const acc_t rstd = acc_t(1) / std::sqrt(m.var + static_cast<acc_t>(eps));
        Plane<scalar_t, acc_t>::affine(xp, out_data + p * plane_size, plane_size, m.mean, rstd * scale_data[p],
                                       bias_data[p]);
        if (mean_data) mean_data[p] = m.mean;
        if (rstd_data) rstd_data[p] = rstd;
      }
    });
  });
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> adain_cpu(const at::Tensor& x, const at::Tensor& scale,
                                                         const at::Tensor& bias, double eps) {
  const auto acc = check_adain_inputs(x, scale, bias);
  at::Tensor out = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
  at::Tensor mean = at::empty(scale.sizes(), x.options().dtype(acc));
  at::Tensor rstd = at::empty(scale.sizes(), x.options().dtype(acc));
  adain_forward_into(x, scale, bias, eps, out, &mean, &rstd);
  return {out, mean, rstd};
}

void adain_out_cpu(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& bias, double eps,
                   at::Tensor& out) {
  check_adain_inputs(x, scale, bias);
  check_adain_out(x, out);
  adain_forward_into(x, scale, bias, eps, out, nullptr, nullptr);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> adain_backward_cpu(const at::Tensor& grad_out_in,
                                                                  const at::Tensor& x_in,
                                                                  const at::Tensor& scale_in,
                                                                  const at::Tensor& mean_in,
                                                                  const at::Tensor& rstd_in,
                                                                  std::array<bool, 3> output_mask) {
  check_adain_backward_inputs(grad_out_in, x_in, scale_in, mean_in, rstd_in);
  const at::Tensor grad_out = grad_out_in.contiguous();
  const at::Tensor x = x_in.contiguous();
  const at::Tensor scale = scale_in.contiguous();
  const at::Tensor mean = mean_in.contiguous();
  const at::Tensor rstd = rstd_in.contiguous();
  const int64_t planes = x.size(0) * x.size(1);
  const int64_t plane_size = x.size(2) * x.size(3);
  // Outputs not asked for come back empty (0 elements), as the schema returns plain Tensors.
  at::Tensor grad_x = at::empty(output_mask[0] ? x.sizes() : at::IntArrayRef{0},
                                x.options().memory_format(at::MemoryFormat::Contiguous));
  at::Tensor grad_scale = at::empty(output_mask[1] ? scale.sizes() : at::IntArrayRef{0}, scale.options());
  at::Tensor grad_bias = at::empty(output_mask[2] ? scale.sizes() : at::IntArrayRef{0}, scale.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "adain_backward_cpu", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const scalar_t* g_data = grad_out.const_data_ptr<scalar_t>();
    const scalar_t* x_data = x.const_data_ptr<scalar_t>();
    const acc_t* scale_data = scale.const_data_ptr<acc_t>();
    const acc_t* mean_data = mean.const_data_ptr<acc_t>();
    const acc_t* rstd_data = rstd.const_data_ptr<acc_t>();
    scalar_t* gx_data = output_mask[0] ? grad_x.mutable_data_ptr<scalar_t>() : nullptr;
    acc_t* gs_data = output_mask[1] ? grad_scale.mutable_data_ptr<acc_t>() : nullptr;
    acc_t* gb_data = output_mask[2] ? grad_bias.mutable_data_ptr<acc_t>() : nullptr;
    const acc_t inv_n = acc_t(1) / static_cast<acc_t>(plane_size);
    at::parallel_for(0, planes, plane_grain(plane_size), [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const scalar_t* gp = g_data + p * plane_size;
        const scalar_t* xp = x_data + p * plane_size;
        const acc_t mu = mean_data[p], rstd = rstd_data[p];
        const auto sums = Plane<scalar_t, acc_t>::grad_sums(gp, xp, plane_size, mu);
        if (gb_data) gb_data[p] = sums.sum_g;
        if (gs_data) gs_data[p] = sums.sum_g_dev * rstd;
        if (gx_data) {
          // d/dx of (x - mean) * rstd * scale: k * (g - mean(g) - xhat * mean(g * xhat)).
          const acc_t k = rstd * scale_data[p];
          const acc_t c1 = -k * rstd * rstd * sums.sum_g_dev * inv_n;
          const acc_t c0 = -k * sums.sum_g * inv_n;
          Plane<scalar_t, acc_t>::grad_x(gp, xp, gx_data + p * plane_size, plane_size, mu, k, c1, c0);
        }
      }
    });
  });
  return {grad_x, grad_scale, grad_bias};
}

}  // namespace

TORCH_LIBRARY_IMPL(portrait_animator, CPU, m) {
  m.impl("adain", &adain_cpu);
  m.impl("adain_out", &adain_out_cpu);
  m.impl("adain_backward", &adain_backward_cpu);
}

}  // namespace portrait_animator
