// The one registration file: every operator schema of the portrait_animator namespace.
//
// Kernels register themselves beside their code (adain/cpu, adain/cuda, mesh_warp/cpu, mesh_warp/cuda) with
// TORCH_LIBRARY_IMPL; fake (meta) implementations and autograd are registered in Python
// (portrait_animator/ops/registration.py), as in PyTorch's extension-cpp example. Only torch/library.h is
// included (not torch/extension.h), which keeps the build fast and the module free of pybind11.
#include <Python.h>

#include <torch/library.h>

extern "C" {
// Importing portrait_animator._C loads this shared library, which runs the static TORCH_LIBRARY initialisers
// below. The module itself is empty, so it needs no pybind11 and is valid under Python's limited API.
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT,
      "_C",  // name
      "Compiled Portrait Animator operators; use them through portrait_animator.ops.",  // doc
      -1,    // per-interpreter state: none
      nullptr,
  };
  return PyModule_Create(&module_def);
}
}

TORCH_LIBRARY(portrait_animator, m) {
  // AdaIN: per (n, c) instance normalisation over H*W (biased variance) and the affine scale[n, c], bias[n, c].
  // Returns the output and the float statistics mean and rstd = 1/sqrt(var + eps) that backward needs.
  m.def("adain(Tensor x, Tensor scale, Tensor bias, float eps) -> (Tensor, Tensor, Tensor)");
  m.def("adain_out(Tensor x, Tensor scale, Tensor bias, float eps, Tensor(a!) out) -> ()");
  m.def(
      "adain_backward(Tensor grad_out, Tensor x, Tensor scale, Tensor mean, Tensor rstd, bool[3] output_mask)"
      " -> (Tensor, Tensor, Tensor)");

  // Landmark-driven triangle-mesh warp. padding_mode: 0 zeros, 1 border. Returns the warped image, the
  // sampling grid (empty unless return_grid) and the per-pixel triangle index (empty unless return_index).
  m.def(
      "mesh_warp(Tensor image, Tensor src_points, Tensor dst_points, Tensor triangles, SymInt out_height, "
      "SymInt out_width, int padding_mode, bool return_grid, bool return_index) -> (Tensor, Tensor, Tensor)");
  m.def(
      "mesh_warp_out(Tensor image, Tensor src_points, Tensor dst_points, Tensor triangles, int padding_mode, "
      "Tensor(a!) out) -> ()");
  m.def(
      "mesh_warp_backward(Tensor grad_out, Tensor? grad_grid, Tensor image, Tensor src_points, "
      "Tensor dst_points, Tensor triangles, Tensor triangle_index, int padding_mode, bool[3] output_mask) "
      "-> (Tensor, Tensor, Tensor)");
  m.def(
      "mesh_warp_grid(Tensor src_points, Tensor dst_points, Tensor triangles, SymInt out_height, "
      "SymInt out_width) -> (Tensor, Tensor)");
  m.def(
      "mesh_warp_grid_backward(Tensor grad_grid, Tensor src_points, Tensor dst_points, Tensor triangles, "
      "Tensor triangle_index) -> (Tensor, Tensor)");
}
