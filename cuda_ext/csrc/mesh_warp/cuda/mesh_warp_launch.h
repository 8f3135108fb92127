// The interface between the mesh-warp CUDA kernels (mesh_warp_kernel.cu) and their ATen wrapper
// (mesh_warp_cuda.cpp): plain pointers and sizes, so the .cu file needs no ATen headers.
#pragma once

#include <cuda_runtime_api.h>

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cstdint>

#include "mesh_warp/mesh_geometry.h"

namespace portrait_animator {
namespace mesh_warp_cuda {

constexpr int kBin = 64;  // side of the square pixel bins the forward pass sorts triangles into

struct Geometry {
  int64_t batch, channels, in_h, in_w, out_h, out_w, num_points, num_tris, bins_x, bins_y;
};

// Points and grids are float32 for every image dtype but float64.
template <typename scalar_t>
struct Coord {
  using type = float;
};
template <>
struct Coord<double> {
  using type = double;
};

// Workspaces the caller allocates (device memory, any contents unless stated).
template <typename coord_t>
struct Workspace {
  mesh::TriangleSetup<coord_t>* setups;  // batch * num_tris
  int32_t* bin_lists;                    // forward: batch * bins_x * bins_y * num_tris
  int32_t* bin_counts;                   // forward: batch * bins_x * bins_y
  coord_t* moments;                      // backward with point gradients: batch * num_tris * 6, zeroed
};

// image may be null (grid only); out, grid and index may each be null.
template <typename scalar_t>
cudaError_t forward(const Geometry& g, const scalar_t* image, const typename Coord<scalar_t>::type* src,
                    const typename Coord<scalar_t>::type* dst, const int32_t* triangles, int64_t padding_mode,
                    const Workspace<typename Coord<scalar_t>::type>& work, scalar_t* out,
                    typename Coord<scalar_t>::type* grid, int32_t* index, cudaStream_t stream);

// grad_out (with image) and/or grad_grid drive the gradients. grad_image (accumulation type), grad_src and
// grad_dst must be zeroed; grad_image null skips the image gradient, grad_src null the point gradients.
template <typename scalar_t>
cudaError_t backward(const Geometry& g, const scalar_t* grad_out, const typename Coord<scalar_t>::type* grad_grid,
                     const scalar_t* image, const typename Coord<scalar_t>::type* src,
                     const typename Coord<scalar_t>::type* dst, const int32_t* triangles, const int32_t* index,
                     int64_t padding_mode, const Workspace<typename Coord<scalar_t>::type>& work,
                     typename Coord<scalar_t>::type* grad_image, typename Coord<scalar_t>::type* grad_src,
                     typename Coord<scalar_t>::type* grad_dst, cudaStream_t stream);

}  // namespace mesh_warp_cuda
}  // namespace portrait_animator
