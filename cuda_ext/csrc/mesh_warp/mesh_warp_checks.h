// Argument checks shared by the CPU and CUDA mesh-warp kernels.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

namespace portrait_animator {

// The dtype of points and grids for an image dtype: float64 for float64 images, float32 otherwise (half
// precision cannot address a 1024-pixel image to better than half a pixel).
inline at::ScalarType mesh_coord_dtype(at::ScalarType image_dtype) {
  return image_dtype == at::kDouble ? at::kDouble : at::kFloat;
}

inline void check_mesh(const char* op, const at::Tensor& src_points, const at::Tensor& dst_points,
                       const at::Tensor& triangles, at::ScalarType coord, at::Device device) {
  for (const at::Tensor* pts : {&src_points, &dst_points}) {
    const char* name = pts == &src_points ? "src_points" : "dst_points";
    TORCH_CHECK(pts->dim() == 3 && pts->size(2) == 2, op, ": ", name, " must be (N, P, 2), got shape ",
                pts->sizes());
    TORCH_CHECK(pts->scalar_type() == coord, op, ": ", name, " must be ", coord, ", got ", pts->scalar_type());
    TORCH_CHECK(pts->device() == device, op, ": ", name, " is on ", pts->device(), ", expected ", device);
  }
  TORCH_CHECK(src_points.sizes() == dst_points.sizes(), op, ": src_points ", src_points.sizes(),
              " and dst_points ", dst_points.sizes(), " must have the same shape");
  TORCH_CHECK(triangles.dim() == 2 && triangles.size(1) == 3 && triangles.scalar_type() == at::kInt, op,
              ": triangles must be (T, 3) int32, got ", triangles.sizes(), " ", triangles.scalar_type());
  TORCH_CHECK(triangles.device() == device, op, ": triangles are on ", triangles.device(), ", expected ", device);
  TORCH_CHECK(src_points.size(1) < (int64_t(1) << 31) && triangles.size(0) < (int64_t(1) << 31), op,
              ": too many points or triangles");
}

inline void check_image(const char* op, const at::Tensor& image, int64_t padding_mode) {
  TORCH_CHECK(image.dim() == 4, op, ": image must be (N, C, H, W), got shape ", image.sizes());
  const auto dtype = image.scalar_type();
  TORCH_CHECK(dtype == at::kDouble || dtype == at::kFloat || dtype == at::kHalf || dtype == at::kBFloat16, op,
              ": image must be float64, float32, float16 or bfloat16, got ", dtype);
  TORCH_CHECK(image.size(2) > 0 && image.size(3) > 0, op, ": image has an empty side: ", image.sizes());
  TORCH_CHECK(image.size(2) * image.size(3) < (int64_t(1) << 31), op, ": image planes of 2^31 pixels or more are not "
              "supported, got ", image.sizes());
  TORCH_CHECK(padding_mode == 0 || padding_mode == 1, op, ": padding_mode must be 0 (zeros) or 1 (border), got ",
              padding_mode);
}

inline void check_mesh_warp_inputs(const char* op, const at::Tensor& image, const at::Tensor& src_points,
                                   const at::Tensor& dst_points, const at::Tensor& triangles, int64_t padding_mode) {
  check_image(op, image, padding_mode);
  check_mesh(op, src_points, dst_points, triangles, mesh_coord_dtype(image.scalar_type()), image.device());
  TORCH_CHECK(src_points.size(0) == image.size(0), op, ": ", src_points.size(0), " meshes for ", image.size(0),
              " images");
}

inline void check_out_size(const char* op, int64_t out_height, int64_t out_width) {
  TORCH_CHECK(out_height >= 0 && out_width >= 0 && out_height < (int64_t(1) << 31) &&
                  out_width < (int64_t(1) << 31),
              op, ": bad output size ", out_height, " x ", out_width);
}

inline void check_triangle_index(const char* op, const at::Tensor& index, int64_t batch, at::Device device) {
  TORCH_CHECK(index.dim() == 3 && index.size(0) == batch && index.scalar_type() == at::kInt &&
                  index.device() == device,
              op, ": triangle_index must be (N, H, W) int32 on ", device, ", got ", index.sizes(), " ",
              index.scalar_type(), " on ", index.device());
}

// The grid-only ops take no image: their points are float32 or float64.
inline void check_grid_mesh(const char* op, const at::Tensor& src_points, const at::Tensor& dst_points,
                            const at::Tensor& triangles) {
  TORCH_CHECK(src_points.scalar_type() == at::kFloat || src_points.scalar_type() == at::kDouble, op,
              ": points must be float32 or float64, got ", src_points.scalar_type());
  check_mesh(op, src_points, dst_points, triangles, src_points.scalar_type(), src_points.device());
}

inline void check_out_tensor(const char* op, const at::Tensor& out, const at::Tensor& image) {
  TORCH_CHECK(out.dim() == 4 && out.size(0) == image.size(0) && out.size(1) == image.size(1) &&
                  out.scalar_type() == image.scalar_type() && out.device() == image.device() &&
                  out.is_contiguous(),
              op, ": out must be a contiguous (N, C, H_out, W_out) ", image.scalar_type(),
              " tensor matching the image's N and C, got ", out.sizes(), " ", out.scalar_type());
}

inline void check_grad_out(const char* op, const at::Tensor& grad_out, const at::Tensor& image, int64_t out_height,
                           int64_t out_width) {
  TORCH_CHECK(grad_out.sizes() == at::IntArrayRef({image.size(0), image.size(1), out_height, out_width}) &&
                  grad_out.scalar_type() == image.scalar_type(),
              op, ": grad_out must be (N, C, H_out, W_out) in the image dtype");
}

inline void check_grad_grid(const char* op, const at::Tensor& grad_grid, const at::Tensor& src_points,
                            int64_t out_height, int64_t out_width) {
  TORCH_CHECK(grad_grid.sizes() == at::IntArrayRef({src_points.size(0), out_height, out_width, 2}) &&
                  grad_grid.scalar_type() == src_points.scalar_type(),
              op, ": grad_grid must be (N, H_out, W_out, 2) in the points dtype");
}

}  // namespace portrait_animator
