// The interface between the AdaIN CUDA kernels (adain_kernel.cu) and their ATen wrapper (adain_cuda.cpp).
// Plain pointers and sizes only: the .cu file then needs no ATen headers, which keeps nvcc's per-architecture
// passes short.
#pragma once

#include <cuda_runtime_api.h>

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cstdint>

namespace portrait_animator {
namespace adain_cuda {

constexpr int kThreads = 256;
// Planes of up to kThreads * kMaxPerThread elements (64x64) are held in registers, one block each.
constexpr int kMaxPerThread = 16;

// Planes are cut into `splits` chunks of `chunk` elements, one block each. `one_pass`: one block holds a whole
// plane in registers (one split, at most kThreads * kMaxPerThread elements) and runs the one-pass kernels.
struct Split {
  int64_t planes, plane_size, chunk;
  int splits;
  bool one_pass;
};

template <typename acc_t>
struct Welford {
  acc_t count, mean, m2;
};

// partial: planes * splits Welford records (workspace). mean/rstd may be null.
template <typename scalar_t, typename acc_t>
cudaError_t forward(const scalar_t* x, const acc_t* scale, const acc_t* bias, acc_t eps, const Split& split,
                    Welford<acc_t>* partial, scalar_t* out, acc_t* mean, acc_t* rstd, cudaStream_t stream);

// partial: planes * splits * 2 values (workspace). Null outputs are not computed.
template <typename scalar_t, typename acc_t>
cudaError_t backward(const scalar_t* grad_out, const scalar_t* x, const acc_t* scale, const acc_t* mean,
                     const acc_t* rstd, const Split& split, acc_t* partial, scalar_t* grad_x, acc_t* grad_scale,
                     acc_t* grad_bias, cudaStream_t stream);

}  // namespace adain_cuda
}  // namespace portrait_animator
