// Argument checks shared by the CPU and CUDA AdaIN kernels, so both reject the same inputs with the same words.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

namespace portrait_animator {

// x is (N, C, H, W) in float64/32/16 or bfloat16; scale and bias are (N, C) in x's accumulation type
// (float64 for float64 x, float32 otherwise): the Python wrapper converts them, so autograd sees that cast.
inline at::ScalarType check_adain_inputs(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& bias) {
  TORCH_CHECK(x.dim() == 4, "adain: x must be (N, C, H, W), got shape ", x.sizes());
  const auto dtype = x.scalar_type();
  TORCH_CHECK(dtype == at::kDouble || dtype == at::kFloat || dtype == at::kHalf || dtype == at::kBFloat16,
              "adain: x must be float64, float32, float16 or bfloat16, got ", dtype);
  TORCH_CHECK(x.size(2) * x.size(3) > 0 || x.size(0) * x.size(1) == 0, "adain: x has empty planes: ", x.sizes());
  const auto acc = dtype == at::kDouble ? at::kDouble : at::kFloat;
  for (const at::Tensor* param : {&scale, &bias}) {
    const char* name = param == &scale ? "scale" : "bias";
    TORCH_CHECK(param->dim() == 2 && param->size(0) == x.size(0) && param->size(1) == x.size(1), "adain: ",
                name, " must be (N, C) = (", x.size(0), ", ", x.size(1), "), got shape ", param->sizes());
    TORCH_CHECK(param->scalar_type() == acc, "adain: ", name, " must be ", acc, " for ", dtype, " x, got ",
                param->scalar_type());
    TORCH_CHECK(param->device() == x.device(), "adain: ", name, " is on ", param->device(), " but x is on ",
                x.device());
  }
  return acc;
}

inline void check_adain_out(const at::Tensor& x, const at::Tensor& out) {
  TORCH_CHECK(out.sizes() == x.sizes() && out.scalar_type() == x.scalar_type() && out.device() == x.device(),
              "adain: out must match x (", x.sizes(), ", ", x.scalar_type(), ", ", x.device(), "), got (",
              out.sizes(), ", ", out.scalar_type(), ", ", out.device(), ")");
  TORCH_CHECK(out.is_contiguous(), "adain: out must be contiguous");
}

inline void check_adain_backward_inputs(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& scale,
                                        const at::Tensor& mean, const at::Tensor& rstd) {
  check_adain_inputs(x, scale, scale);
  TORCH_CHECK(grad_out.sizes() == x.sizes() && grad_out.scalar_type() == x.scalar_type(),
              "adain_backward: grad_out must match x in shape and dtype");
  for (const at::Tensor* stat : {&mean, &rstd}) {
    TORCH_CHECK(stat->sizes() == scale.sizes() && stat->scalar_type() == scale.scalar_type() &&
                    stat->device() == x.device(),
                "adain_backward: mean and rstd must be (N, C) in ", scale.scalar_type(), " on ", x.device());
  }
}

}  // namespace portrait_animator
