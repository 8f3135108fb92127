"""Loads the compiled operators (``portrait_animator._C``) and registers their fake and autograd rules.

The C++ side (``cuda_ext/csrc/ops.cpp``) defines the schemas under the ``portrait_animator`` namespace and the
CPU/CUDA kernels; here, as in PyTorch's extension-cpp example, each operator gets a fake implementation
(shapes only, for ``torch.compile`` and ``torch.library.opcheck``) and its backward formula. Nothing is
registered when the extension is missing: the dispatch in ``portrait_animator.ops`` then uses the references.
"""

from __future__ import annotations

import importlib

import torch

NAMESPACE = "portrait_animator"
OPS = ("adain", "adain_out", "adain_backward", "mesh_warp", "mesh_warp_out", "mesh_warp_backward",
       "mesh_warp_grid", "mesh_warp_grid_backward")


def _load_extension():
    try:
        return importlib.import_module("portrait_animator._C"), None
    except ImportError as error:  # not built, or built against another torch
        return None, f"{type(error).__name__}: {error}"


EXTENSION, LOAD_ERROR = _load_extension()


def _kernel_table() -> dict[tuple[str, str], bool]:
    """(op, device type) -> whether the loaded extension registered a kernel, asked once from the dispatcher
    (the answer cannot change, and a plain dict lookup is traceable by torch.compile)."""
    if EXTENSION is None:
        return {}
    return {(op, device): torch._C._dispatch_has_kernel_for_dispatch_key(f"{NAMESPACE}::{op}", key)
            for op in OPS for device, key in (("cpu", "CPU"), ("cuda", "CUDA"))}


KERNELS = _kernel_table()


def has_kernel(op: str, device_type: str) -> bool:
    """Whether operator ``op`` has a compiled kernel for ``device_type`` ("cpu", "cuda")."""
    return KERNELS.get((op, device_type), False)


def _op(name: str):
    return getattr(getattr(torch.ops, NAMESPACE), name).default


def _empty_unless(wanted: bool, like: torch.Tensor, shape) -> torch.Tensor:
    return like.new_empty(shape if wanted else (0,))


def _register_fakes() -> None:
    @torch.library.register_fake(f"{NAMESPACE}::adain")
    def _adain_fake(x, scale, bias, eps):
        return x.new_empty(x.shape), scale.new_empty(scale.shape), scale.new_empty(scale.shape)

    @torch.library.register_fake(f"{NAMESPACE}::adain_out")
    def _adain_out_fake(x, scale, bias, eps, out):
        torch._check(out.shape == x.shape, lambda: "adain: out must match x")

    @torch.library.register_fake(f"{NAMESPACE}::adain_backward")
    def _adain_backward_fake(grad_out, x, scale, mean, rstd, output_mask):
        return (_empty_unless(output_mask[0], x, x.shape), _empty_unless(output_mask[1], scale, scale.shape),
                _empty_unless(output_mask[2], scale, scale.shape))

    @torch.library.register_fake(f"{NAMESPACE}::mesh_warp")
    def _mesh_warp_fake(image, src_points, dst_points, triangles, out_height, out_width, padding_mode,
                        return_grid, return_index):
        batch, channels = image.shape[0], image.shape[1]
        return (image.new_empty((batch, channels, out_height, out_width)),
                _empty_unless(return_grid, src_points, (batch, out_height, out_width, 2)),
                _empty_unless(return_index, triangles, (batch, out_height, out_width)))

    @torch.library.register_fake(f"{NAMESPACE}::mesh_warp_out")
    def _mesh_warp_out_fake(image, src_points, dst_points, triangles, padding_mode, out):
        torch._check(out.shape[:2] == image.shape[:2], lambda: "mesh_warp_out: out must match the image's N, C")

    @torch.library.register_fake(f"{NAMESPACE}::mesh_warp_backward")
    def _mesh_warp_backward_fake(grad_out, grad_grid, image, src_points, dst_points, triangles, triangle_index,
                                 padding_mode, output_mask):
        return (_empty_unless(output_mask[0], image, image.shape),
                _empty_unless(output_mask[1], src_points, src_points.shape),
                _empty_unless(output_mask[2], dst_points, dst_points.shape))

    @torch.library.register_fake(f"{NAMESPACE}::mesh_warp_grid")
    def _mesh_warp_grid_fake(src_points, dst_points, triangles, out_height, out_width):
        batch = src_points.shape[0]
        return (src_points.new_empty((batch, out_height, out_width, 2)),
                triangles.new_empty((batch, out_height, out_width)))

    @torch.library.register_fake(f"{NAMESPACE}::mesh_warp_grid_backward")
    def _mesh_warp_grid_backward_fake(grad_grid, src_points, dst_points, triangles, triangle_index):
        return src_points.new_empty(src_points.shape), dst_points.new_empty(dst_points.shape)


def _grad_or_none(wanted: bool, grad: torch.Tensor) -> torch.Tensor | None:
    return grad if wanted else None


def _register_autograd() -> None:
    def adain_setup(ctx, inputs, output):
        x, scale, _bias, _eps = inputs
        _out, mean, rstd = output
        ctx.mark_non_differentiable(mean, rstd)
        # No zero-filled gradients for mean and rstd: on a GPU, allocating and filling them cost more host time
        # per step than the backward kernel's own run.
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, scale, mean, rstd)

    def adain_backward(ctx, grad_out, _grad_mean, _grad_rstd):
        if grad_out is None:
            return None, None, None, None
        x, scale, mean, rstd = ctx.saved_tensors
        mask = list(ctx.needs_input_grad[:3])
        grad_x, grad_scale, grad_bias = _op("adain_backward")(grad_out.contiguous(), x, scale, mean, rstd, mask)
        return (_grad_or_none(mask[0], grad_x), _grad_or_none(mask[1], grad_scale),
                _grad_or_none(mask[2], grad_bias), None)

    torch.library.register_autograd(f"{NAMESPACE}::adain", adain_backward, setup_context=adain_setup)

    def mesh_warp_setup(ctx, inputs, output):
        image, src_points, dst_points, triangles, _h, _w, padding_mode, return_grid, return_index = inputs
        _warped, grid, index = output
        ctx.mark_non_differentiable(index)
        ctx.padding_mode, ctx.return_grid, ctx.return_index = padding_mode, return_grid, return_index
        ctx.save_for_backward(image, src_points, dst_points, triangles, index)

    def mesh_warp_backward(ctx, grad_out, grad_grid, _grad_index):
        image, src_points, dst_points, triangles, index = ctx.saved_tensors
        if not ctx.return_index:
            raise RuntimeError("portrait_animator::mesh_warp was called with return_index=False, but its backward "
                               "needs the triangle index; call it through portrait_animator.ops.mesh_warp")
        mask = list(ctx.needs_input_grad[:3])
        grads = _op("mesh_warp_backward")(grad_out.contiguous(), grad_grid if ctx.return_grid else None, image,
                                          src_points, dst_points, triangles, index, ctx.padding_mode, mask)
        return tuple(_grad_or_none(wanted, grad) for wanted, grad in zip(mask, grads)) + (None,) * 6

    torch.library.register_autograd(f"{NAMESPACE}::mesh_warp", mesh_warp_backward, setup_context=mesh_warp_setup)

    def mesh_warp_grid_setup(ctx, inputs, output):
        src_points, dst_points, triangles, _h, _w = inputs
        _grid, index = output
        ctx.mark_non_differentiable(index)
        ctx.save_for_backward(src_points, dst_points, triangles, index)

    def mesh_warp_grid_backward(ctx, grad_grid, _grad_index):
        src_points, dst_points, triangles, index = ctx.saved_tensors
        grad_src, grad_dst = _op("mesh_warp_grid_backward")(grad_grid.contiguous(), src_points, dst_points,
                                                            triangles, index)
        return (_grad_or_none(ctx.needs_input_grad[0], grad_src),
                _grad_or_none(ctx.needs_input_grad[1], grad_dst), None, None, None)

    torch.library.register_autograd(f"{NAMESPACE}::mesh_warp_grid", mesh_warp_grid_backward,
                                    setup_context=mesh_warp_grid_setup)


if EXTENSION is not None:
    _register_fakes()
    _register_autograd()
