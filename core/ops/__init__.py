"""The Python face of ``cuda_ext``: fused AdaIN and the landmark-driven mesh warp.

Each operator runs the compiled kernel (``portrait_animator._C``, CPU and, where it was built, CUDA) when one
exists for the tensor's device, and its pure-PyTorch reference (``portrait_animator.ops.reference``)
otherwise. Choose explicitly with ``backend=`` on a call or ``PORTRAIT_ANIMATOR_OPS`` in the environment:
``auto`` (default), ``compiled`` (error if no kernel), ``reference``. All of them work with autograd,
``torch.compile`` and ``torch.library.opcheck``.

Coordinates and the warp's rules are documented in ``reference``'s module docstring.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Sequence

import numpy as np
import torch

from . import registration
from .reference import (PADDING_MODES, accumulation_dtype, adain_reference, mesh_warp_grid_reference,
                        mesh_warp_reference, normalize_grid, rasterize_reference, sample_reference)

__all__ = ["BACKEND_ENV", "BACKENDS", "MeshWarpResult", "adain", "adain_reference", "mesh_warp",
           "mesh_warp_grid", "mesh_warp_grid_reference", "mesh_warp_reference", "normalize_grid",
           "rasterize_reference", "sample_reference", "status"]

BACKEND_ENV = "PORTRAIT_ANIMATOR_OPS"
BACKENDS = ("auto", "compiled", "reference")


class MeshWarpResult(NamedTuple):
    """What ``mesh_warp`` returns when asked for more than the image (unrequested fields are None)."""

    image: torch.Tensor  # (N, C, H', W')
    grid: torch.Tensor | None  # (N, H', W', 2) source pixel coordinates of every output pixel centre
    triangle_index: torch.Tensor | None  # (N, H', W') int32, -1 where no triangle covers the pixel


def adain(x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5, *,
          out: torch.Tensor | None = None, backend: str | None = None) -> torch.Tensor:
    """Adaptive instance normalisation of ``x`` (N, C, H, W) with per-sample ``scale`` and ``bias`` (N, C).

    ``(x - mean) / sqrt(var + eps) * scale + bias`` with the mean and biased variance of each (n, c) plane,
    accumulated in float32 (float64 for float64 x); ``scale``/``bias`` may also be (C,) or (1, C). ``out``
    (contiguous, x's shape and dtype, not overlapping x) is written instead of a new tensor: for inference
    loops, it does not support autograd.
    """
    if x.dim() != 4:
        raise ValueError(f"adain: x must be (N, C, H, W), got shape {tuple(x.shape)}")
    acc = accumulation_dtype(x.dtype)
    scale = _per_instance("scale", scale, x).to(acc)
    bias = _per_instance("bias", bias, x).to(acc)
    if out is not None:
        _refuse_out_with_grad("adain", x, scale, bias)
    if not _use_kernel(backend, "adain", x.device):
        result = adain_reference(x, scale, bias, eps)
        return result if out is None else out.copy_(result)
    if out is not None:
        torch.ops.portrait_animator.adain_out(x, scale, bias, float(eps), out)
        return out
    return torch.ops.portrait_animator.adain(x, scale, bias, float(eps))[0]


def mesh_warp(image: torch.Tensor, src_points: torch.Tensor, dst_points: torch.Tensor,
              triangles: torch.Tensor | np.ndarray, *, out_size: Sequence[int] | None = None,
              padding: str = "border", return_grid: bool = False, return_index: bool = False,
              out: torch.Tensor | None = None, backend: str | None = None) -> torch.Tensor | MeshWarpResult:
    """Warp ``image`` (N, C, H, W) so that the mesh ``src_points`` lands on ``dst_points`` (both (N, P, 2)).

    ``triangles`` (T, 3) index the points (one topology for the batch). Every output pixel inside a
    destination triangle samples the image bilinearly at the same barycentric position in the source
    triangle; pixels no triangle covers sample their own position. ``out_size`` (H', W') defaults to the
    image's; ``padding`` is "border" (clamp to the edge pixels) or "zeros". Points are float32 (float64 for a
    float64 image) in pixel coordinates. Differentiable with respect to the image and both point sets.

    Returns the warped image, or a ``MeshWarpResult`` with the sampling grid and/or triangle index when asked.
    ``out`` (contiguous (N, C, H', W'), image dtype) receives the image in place of a new tensor (no autograd,
    and not with ``return_grid``/``return_index``).
    """
    _check_image(image)
    coord = accumulation_dtype(image.dtype)
    src, dst, tris = _mesh_arguments(src_points, dst_points, triangles, coord, image.device, image.shape[0])
    if padding not in PADDING_MODES:
        raise ValueError(f"mesh_warp: padding must be one of {sorted(PADDING_MODES)}, got {padding!r}")
    if out is not None:
        if return_grid or return_index:
            raise ValueError("mesh_warp: out= returns the image only; drop return_grid/return_index")
        _refuse_out_with_grad("mesh_warp", image, src, dst)
        out_size = out.shape[-2:]
    out_h, out_w = (int(v) for v in (out_size if out_size is not None else image.shape[-2:]))
    if not _use_kernel(backend, "mesh_warp", image.device):
        warped, grid, index = mesh_warp_reference(image, src, dst, tris, (out_h, out_w), padding)
        if out is not None:
            return out.copy_(warped)
    elif out is not None:
        torch.ops.portrait_animator.mesh_warp_out(image, src, dst, tris, PADDING_MODES[padding], out)
        return out
    else:
        needs_index = return_index or (torch.is_grad_enabled() and any(
            t.requires_grad for t in (image, src, dst)))
        warped, grid, index = torch.ops.portrait_animator.mesh_warp(
            image, src, dst, tris, out_h, out_w, PADDING_MODES[padding], return_grid, needs_index)
    if not (return_grid or return_index):
        return warped
    return MeshWarpResult(warped, grid if return_grid else None, index if return_index else None)


def mesh_warp_grid(src_points: torch.Tensor, dst_points: torch.Tensor, triangles: torch.Tensor | np.ndarray,
                   out_size: Sequence[int], *, return_index: bool = False,
                   backend: str | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The sampling grid of ``mesh_warp`` alone: (N, H', W', 2) source pixel coordinates per output pixel.

    For callers that sample themselves (``sample_reference``/``grid_sample`` via ``normalize_grid``, or
    OpenCV ``remap`` with ``grid - 0.5``). Differentiable with respect to both point sets. With
    ``return_index`` also returns the (N, H', W') int32 triangle index.
    """
    dtype = src_points.dtype if src_points.dtype == torch.float64 else torch.float32
    src, dst, tris = _mesh_arguments(src_points, dst_points, triangles, dtype, src_points.device, None)
    out_h, out_w = (int(v) for v in out_size)
    if _use_kernel(backend, "mesh_warp_grid", src.device):
        grid, index = torch.ops.portrait_animator.mesh_warp_grid(src, dst, tris, out_h, out_w)
    else:
        grid, index = mesh_warp_grid_reference(src, dst, tris, (out_h, out_w))
    return (grid, index) if return_index else grid


def status() -> dict:
    """What is built and what will run, for ``portrait-animator doctor``."""
    extension = registration.EXTENSION
    return {
        "extension": getattr(extension, "__file__", None),
        "load_error": registration.LOAD_ERROR,
        "cpu_kernels": all(registration.has_kernel(op, "cpu") for op in registration.OPS),
        "cuda_kernels": all(registration.has_kernel(op, "cuda") for op in registration.OPS),
        "cuda_device": torch.cuda.is_available(),
        "backend": os.environ.get(BACKEND_ENV, "auto"),
        "ops": [f"{registration.NAMESPACE}::{op}" for op in registration.OPS],
    }


def _use_kernel(backend: str | None, op: str, device: torch.device) -> bool:
    choice = backend or os.environ.get(BACKEND_ENV) or "auto"
    if choice not in BACKENDS:
        raise ValueError(f"ops backend must be one of {BACKENDS} (argument or ${BACKEND_ENV}), got {choice!r}")
    if choice == "reference":
        return False
    available = registration.has_kernel(op, device.type)
    if choice == "compiled" and not available:
        why = registration.LOAD_ERROR or "the extension was built without kernels for this device"
        raise RuntimeError(f"no compiled {registration.NAMESPACE}::{op} kernel for {device.type}: {why}")
    return available


def _per_instance(name: str, param: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(N, C), (1, C) or (C,) -> (N, C) contiguous."""
    batch, channels = x.shape[:2]
    if param.dim() not in (1, 2) or param.shape[-1] != channels or (param.dim() == 2 and param.shape[0] not in (1, batch)):
        raise ValueError(f"adain: {name} must be (N, C) = ({batch}, {channels}) or (C,), got {tuple(param.shape)}")
    return param.reshape(-1, channels).expand(batch, channels).contiguous()


def _refuse_out_with_grad(op: str, *tensors: torch.Tensor) -> None:
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        raise RuntimeError(f"{op}: out= does not support autograd; call it without out= or under torch.no_grad()")


def _check_image(image: torch.Tensor) -> None:
    if image.dim() != 4:
        raise ValueError(f"mesh_warp: image must be (N, C, H, W), got shape {tuple(image.shape)}")
    if not image.is_floating_point():
        raise ValueError(f"mesh_warp: image must be a floating-point tensor, got {image.dtype}")


def _mesh_arguments(src_points, dst_points, triangles, dtype, device, batch):
    """Points as ``dtype`` on ``device`` and triangles as int32, checked (index range checked on CPU data)."""
    src = _as_tensor(src_points).to(device=device, dtype=dtype)
    dst = _as_tensor(dst_points).to(device=device, dtype=dtype)
    for name, pts in (("src_points", src), ("dst_points", dst)):
        if pts.dim() != 3 or pts.shape[-1] != 2 or (batch is not None and pts.shape[0] != batch):
            expected = f"({batch}, P, 2)" if batch is not None else "(N, P, 2)"
            raise ValueError(f"mesh_warp: {name} must be {expected}, got shape {tuple(pts.shape)}")
    if src.shape != dst.shape:
        raise ValueError(f"mesh_warp: src_points {tuple(src.shape)} and dst_points {tuple(dst.shape)} differ")
    tris = _as_tensor(triangles)
    if tris.dim() != 2 or tris.shape[-1] != 3 or tris.is_floating_point() or tris.is_complex():
        raise ValueError(f"mesh_warp: triangles must be (T, 3) integers, got {tuple(tris.shape)} {tris.dtype}")
    if tris.device.type == "cpu" and tris.numel() and not torch.compiler.is_compiling():
        low, high = int(tris.min()), int(tris.max())
        if low < 0 or high >= src.shape[1]:
            raise ValueError(f"mesh_warp: triangles index points {low}..{high}, but there are {src.shape[1]} points")
    return src, dst, tris.to(device=device, dtype=torch.int32).contiguous()


def _as_tensor(value) -> torch.Tensor:
    """Tensors pass through; numpy arrays (any strides, e.g. a reversed view) become tensors."""
    return value if isinstance(value, torch.Tensor) else torch.as_tensor(np.ascontiguousarray(value))
