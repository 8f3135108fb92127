// Mesh warp on CUDA, the ATen side: argument checks, outputs and workspaces, dtype dispatch and registration.
// The kernels are in mesh_warp_kernel.cu (compiled by nvcc without ATen headers, see mesh_warp_launch.h).
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <optional>
#include <tuple>

#include "mesh_warp/cuda/mesh_warp_launch.h"
#include "mesh_warp/mesh_warp_checks.h"

namespace portrait_animator {
namespace {

using mesh_warp_cuda::Geometry;
using mesh_warp_cuda::kBin;

Geometry make_geometry(int64_t batch, const at::Tensor& image, const at::Tensor& points, const at::Tensor& tris,
                       int64_t out_h, int64_t out_w) {
  TORCH_CHECK(batch < 65536, "mesh_warp (CUDA): at most 65535 images per call, got ", batch);
  return {batch,
          image.defined() ? image.size(1) : 0,
          image.defined() ? image.size(2) : 0,
          image.defined() ? image.size(3) : 0,
          out_h,
          out_w,
          points.size(1),
          tris.size(0),
          (out_w + kBin - 1) / kBin,
          (out_h + kBin - 1) / kBin};
}

// Device workspaces (kept alive by the returned tensors until the kernels that use them are queued; the
// caching allocator makes reuse by later work on the same stream safe).
template <typename coord_t>
struct WorkspaceTensors {
  at::Tensor setups, bin_lists, bin_counts, moments;
  mesh_warp_cuda::Workspace<coord_t> view{};

  WorkspaceTensors(const Geometry& g, const at::TensorOptions& options, bool binning, bool moments_wanted) {
    const int64_t tris = std::max<int64_t>(1, g.batch * g.num_tris);
    setups = at::empty({tris * static_cast<int64_t>(sizeof(mesh::TriangleSetup<coord_t>))}, options.dtype(at::kByte));
    view.setups = reinterpret_cast<mesh::TriangleSetup<coord_t>*>(setups.mutable_data_ptr());
    if (binning) {
      const int64_t bins = g.batch * g.bins_x * g.bins_y;
      bin_lists = at::empty({std::max<int64_t>(1, bins * g.num_tris)}, options.dtype(at::kInt));
      bin_counts = at::empty({std::max<int64_t>(1, bins)}, options.dtype(at::kInt));
      view.bin_lists = bin_lists.mutable_data_ptr<int32_t>();
      view.bin_counts = bin_counts.mutable_data_ptr<int32_t>();
    }
    if (moments_wanted) {
      moments = at::zeros({tris * 6}, options.dtype(c10::CppTypeToScalarType<coord_t>::value));
      view.moments = moments.mutable_data_ptr<coord_t>();
    }
  }
};

template <typename scalar_t>
void run_forward(const Geometry& g, const at::Tensor& image, const at::Tensor& src, const at::Tensor& dst,
                 const at::Tensor& tris, int64_t padding_mode, scalar_t* out,
                 typename mesh_warp_cuda::Coord<scalar_t>::type* grid, int32_t* index) {
  using coord_t = typename mesh_warp_cuda::Coord<scalar_t>::type;
  const WorkspaceTensors<coord_t> work(g, src.options(), true, false);
  C10_CUDA_CHECK(mesh_warp_cuda::forward<scalar_t>(
      g, image.defined() ? image.const_data_ptr<scalar_t>() : nullptr, src.const_data_ptr<coord_t>(),
      dst.const_data_ptr<coord_t>(), tris.const_data_ptr<int32_t>(), padding_mode, work.view, out, grid, index,
      c10::cuda::getCurrentCUDAStream()));
}

template <typename scalar_t>
void run_backward(const Geometry& g, const scalar_t* grad_out, const typename mesh_warp_cuda::Coord<scalar_t>::type* grad_grid,
                  const at::Tensor& image, const at::Tensor& src, const at::Tensor& dst, const at::Tensor& tris,
                  const at::Tensor& index, int64_t padding_mode, typename mesh_warp_cuda::Coord<scalar_t>::type* grad_image,
                  typename mesh_warp_cuda::Coord<scalar_t>::type* grad_src,
                  typename mesh_warp_cuda::Coord<scalar_t>::type* grad_dst) {
  using coord_t = typename mesh_warp_cuda::Coord<scalar_t>::type;
  const WorkspaceTensors<coord_t> work(g, src.options(), false, grad_src != nullptr);
  C10_CUDA_CHECK(mesh_warp_cuda::backward<scalar_t>(
      g, grad_out, grad_grid, image.defined() ? image.const_data_ptr<scalar_t>() : nullptr,
      src.const_data_ptr<coord_t>(), dst.const_data_ptr<coord_t>(), tris.const_data_ptr<int32_t>(),
      index.const_data_ptr<int32_t>(), padding_mode, work.view, grad_image, grad_src, grad_dst,
      c10::cuda::getCurrentCUDAStream()));
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> mesh_warp_cuda_op(const at::Tensor& image_in, const at::Tensor& src_in,
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
    using coord_t = mesh_warp_cuda::Coord<scalar_t>::type;
    run_forward<scalar_t>(g, image, src, dst, tris, padding_mode, out.mutable_data_ptr<scalar_t>(),
                           return_grid ? grid.mutable_data_ptr<coord_t>() : nullptr,
                           return_index ? index.mutable_data_ptr<int32_t>() : nullptr);
  });
  return {out, grid, index};
}

void mesh_warp_out_cuda(const at::Tensor& image_in, const at::Tensor& src_in, const at::Tensor& dst_in,
                        const at::Tensor& tris_in, int64_t padding_mode, at::Tensor& out) {
  check_mesh_warp_inputs("mesh_warp_out", image_in, src_in, dst_in, tris_in, padding_mode);
  check_out_tensor("mesh_warp_out", out, image_in);
  const c10::cuda::CUDAGuard guard(image_in.device());
  const at::Tensor image = image_in.contiguous(), src = src_in.contiguous(), dst = dst_in.contiguous(),
                   tris = tris_in.contiguous();
  const Geometry g = make_geometry(image.size(0), image, src, tris, out.size(2), out.size(3));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, image.scalar_type(), "mesh_warp_out_cuda", [&] {
    run_forward<scalar_t>(g, image, src, dst, tris, padding_mode, out.mutable_data_ptr<scalar_t>(), nullptr,
                           nullptr);
  });
}

std::tuple<at::Tensor, at::Tensor> mesh_warp_grid_cuda(const at::Tensor& src_in, const at::Tensor& dst_in,
                                                       const at::Tensor& tris_in, int64_t out_h, int64_t out_w) {
  check_grid_mesh("mesh_warp_grid", src_in, dst_in, tris_in);
  check_out_size("mesh_warp_grid", out_h, out_w);
  const c10::cuda::CUDAGuard guard(src_in.device());
  const at::Tensor src = src_in.contiguous(), dst = dst_in.contiguous(), tris = tris_in.contiguous();
  const Geometry g = make_geometry(src.size(0), at::Tensor(), src, tris, out_h, out_w);
  at::Tensor grid = at::empty({g.batch, out_h, out_w, 2}, src.options());
  at::Tensor index = at::empty({g.batch, out_h, out_w}, tris.options());
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "mesh_warp_grid_cuda", [&] {
    run_forward<scalar_t>(g, at::Tensor(), src, dst, tris, mesh::kZeros, nullptr, grid.mutable_data_ptr<scalar_t>(),
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
  check_grad_out("mesh_warp_backward", grad_out_in, image_in, out_h, out_w);
  const c10::cuda::CUDAGuard guard(image_in.device());
  const at::Tensor image = image_in.contiguous(), src = src_in.contiguous(), dst = dst_in.contiguous(),
                   tris = tris_in.contiguous(), index = index_in.contiguous(), grad_out = grad_out_in.contiguous();
  at::Tensor grad_grid;
  if (grad_grid_in.has_value() && grad_grid_in->defined()) {
    check_grad_grid("mesh_warp_backward", *grad_grid_in, src, out_h, out_w);
    grad_grid = grad_grid_in->contiguous();
  }
  const Geometry g = make_geometry(image.size(0), image, src, tris, out_h, out_w);
  const bool need_points = output_mask[1] || output_mask[2];
  // Accumulators: atomics need zeroed memory in the accumulation type (float for half/bfloat16 images).
  at::Tensor grad_image_acc = output_mask[0] ? at::zeros(image.sizes(), src.options()) : at::Tensor();
  at::Tensor grad_src = need_points ? at::zeros(src.sizes(), src.options()) : at::Tensor();
  at::Tensor grad_dst = need_points ? at::zeros(dst.sizes(), dst.options()) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, image.scalar_type(), "mesh_warp_backward_cuda", [&] {
    using coord_t = mesh_warp_cuda::Coord<scalar_t>::type;
    run_backward<scalar_t>(g, grad_out.const_data_ptr<scalar_t>(),
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
  check_grid_mesh("mesh_warp_grid_backward", src_in, dst_in, tris_in);
  check_triangle_index("mesh_warp_grid_backward", index_in, src_in.size(0), src_in.device());
  const int64_t out_h = index_in.size(1), out_w = index_in.size(2);
  check_grad_grid("mesh_warp_grid_backward", grad_grid_in, src_in, out_h, out_w);
  const c10::cuda::CUDAGuard guard(src_in.device());
  const at::Tensor src = src_in.contiguous(), dst = dst_in.contiguous(), tris = tris_in.contiguous(),
                   index = index_in.contiguous(), grad_grid = grad_grid_in.contiguous();
  const Geometry g = make_geometry(src.size(0), at::Tensor(), src, tris, out_h, out_w);
  at::Tensor grad_src = at::zeros(src.sizes(), src.options());
  at::Tensor grad_dst = at::zeros(dst.sizes(), dst.options());
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "mesh_warp_grid_backward_cuda", [&] {
    run_backward<scalar_t>(g, nullptr, grad_grid.const_data_ptr<scalar_t>(), at::Tensor(), src, dst, tris, index,
                            mesh::kZeros, nullptr, grad_src.mutable_data_ptr<scalar_t>(),
                            grad_dst.mutable_data_ptr<scalar_t>());
  });
  return {grad_src, grad_dst};
}

}  // namespace

TORCH_LIBRARY_IMPL(portrait_animator, CUDA, m) {
  m.impl("mesh_warp", &mesh_warp_cuda_op);
  m.impl("mesh_warp_out", &mesh_warp_out_cuda);
  m.impl("mesh_warp_backward", &mesh_warp_backward_cuda);
  m.impl("mesh_warp_grid", &mesh_warp_grid_cuda);
  m.impl("mesh_warp_grid_backward", &mesh_warp_grid_backward_cuda);
}

}  // namespace portrait_animator
