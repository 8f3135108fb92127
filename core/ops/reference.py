"""Pure-PyTorch references of the compiled operators.

They define what the kernels compute (the tests compare against them) and they are the fallback wherever the
extension is not built, so each is the fastest plain-PyTorch formulation we found, not a naive one.

Conventions shared with the kernels (``cuda_ext/csrc``):

- Points are pixel coordinates: x right, y down, pixel centres at integer + 0.5 (``/work/shared/DESIGN.md``).
- ``mesh_warp``: output pixel (x, y) is *covered* by triangle t when its centre lies inside or on the border
  of t in the destination mesh; the lowest-indexed covering triangle wins (deterministic for folded meshes).
  Edge functions are evaluated in a canonical direction (from the lower to the higher vertex index) so two
  triangles sharing an edge compute bit-identical values: a watertight mesh leaves no holes. Triangles with
  zero area or a non-finite vertex cover nothing; a pixel on a zero-area sliver is not covered, so barycentric
  weights are always finite and in [0, 1]. A covered pixel samples the source image at the barycentric
  image of its centre in the source mesh; an uncovered pixel samples its own position (identity), so the
  image passes through where the mesh does not reach.
- Sampling is bilinear, as ``grid_sample(align_corners=False)``: ``padding="zeros"`` reads 0 outside the
  image, ``padding="border"`` clamps the position to the outermost pixel centres (no gradient there).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PADDING_MODES = {"zeros": 0, "border": 1}
CANDIDATE_CHUNK = 1 << 17  # (triangle, pixel) candidates per rasterisation chunk of the reference


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """Accumulation (and point/grid) dtype for a tensor dtype: float64 stays, everything else uses float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def adain_reference(x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN: ``(x - mean) / sqrt(var + eps) * scale[n, c] + bias[n, c]``.

    ``x`` is (N, C, H, W); mean and the biased variance are taken per (n, c) over H*W, as ``instance_norm``;
    ``scale`` and ``bias`` are (N, C). Computed in float32 for half-precision inputs, returned in x's dtype.
    ``group_norm`` with one group per (n, c) plane of the (1, N*C, H, W) view is one fused op forward and
    backward, several times faster than mean/var arithmetic.
    """
    n, c, h, w = x.shape
    acc = accumulation_dtype(x.dtype)
    planes = x.to(acc).reshape(1, n * c, h, w)
    # torch.group_norm, not F.group_norm: the latter refuses 1x1 planes, whose AdaIN is simply the bias.
    y = torch.group_norm(planes, n * c, scale.to(acc).reshape(n * c), bias.to(acc).reshape(n * c), eps)
    return y.reshape(n, c, h, w).to(x.dtype)


def rasterize_reference(dst_points: torch.Tensor, triangles: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Triangle index (N, H, W) int32 of every output pixel (-1 where none covers it); no gradient.

    Vectorised bounding-box rasterisation: one candidate per (triangle, pixel of its box), edge tests on all
    candidates at once, and a scatter-min keeps the lowest covering triangle. The float operations are those
    of the kernels' ``edge_value`` in the same order, so coverage decisions agree bit for bit.
    """
    out_h, out_w = out_size
    batch, num_tris = dst_points.shape[0], triangles.shape[0]
    dst = dst_points.detach()
    setup = _triangle_setup(dst, triangles.long())
    vx, vy = dst[:, triangles.long(), 0], dst[:, triangles.long(), 1]  # (N, T, 3)
    x0 = torch.floor(vx.amin(-1) - 0.5).clamp(min=0)
    x1 = torch.ceil(vx.amax(-1) - 0.5).clamp(max=out_w - 1)
    y0 = torch.floor(vy.amin(-1) - 0.5).clamp(min=0)
    y1 = torch.ceil(vy.amax(-1) - 0.5).clamp(max=out_h - 1)
    valid = setup["valid"] & (x0 <= x1) & (y0 <= y1)
    box_w = torch.where(valid, x1 - x0 + 1, 0).long().flatten()
    box_h = torch.where(valid, y1 - y0 + 1, 0).long().flatten()
    counts = box_w * box_h
    index = torch.full((batch * out_h * out_w,), num_tris, dtype=torch.long, device=dst.device)
    # One candidate per (triangle, pixel of its box), in chunks of triangles of about CANDIDATE_CHUNK
    # candidates: the intermediates stay in cache (and below the allocator's fresh-mmap size).
    ends = torch.cumsum(counts, 0)
    total = int(ends[-1]) if len(ends) else 0
    steps = torch.arange(CANDIDATE_CHUNK, max(total, CANDIDATE_CHUNK), CANDIDATE_CHUNK, device=dst.device)
    bounds = [0, *torch.searchsorted(ends, steps, right=True).tolist(), batch * num_tris]
    for first, last in zip(bounds[:-1], bounds[1:]):
        if last > first:
            _rasterize_chunk(setup["edges"][first:last], counts[first:last], box_w[first:last],
                             x0.long().flatten()[first:last], y0.long().flatten()[first:last],
                             torch.arange(first, last, device=dst.device), num_tris, out_size, index)
    index[index == num_tris] = -1
    return index.view(batch, out_h, out_w).to(torch.int32)


def _rasterize_chunk(edges, counts, box_w, x0, y0, triangle_id, num_tris, out_size, index) -> None:
    """Edge tests for every pixel of these triangles' boxes; scatter-min of the covering triangle ids."""
    out_h, out_w = out_size

    def per_candidate(values: torch.Tensor) -> torch.Tensor:  # repeated per pixel of the box, not gathered
        return torch.repeat_interleave(values, counts, dim=0)

    local = torch.arange(int(counts.sum()), device=edges.device) - per_candidate(torch.cumsum(counts, 0) - counts)
    width = per_candidate(box_w)
    px_i = per_candidate(x0) + local % width
    py_i = per_candidate(y0) + local // width
    e = _edge_values(per_candidate(edges), px_i.to(edges.dtype) + 0.5, py_i.to(edges.dtype) + 0.5)
    inside = (e[:, 0] >= 0) & (e[:, 1] >= 0) & (e[:, 2] >= 0) & ((e[:, 0] + e[:, 1]) + e[:, 2] > 0)
    key = (per_candidate(triangle_id // num_tris) * out_h + py_i) * out_w + px_i
    index.scatter_reduce_(0, key[inside], per_candidate(triangle_id % num_tris)[inside], reduce="amin")


def mesh_warp_grid_reference(src_points: torch.Tensor, dst_points: torch.Tensor, triangles: torch.Tensor,
                             out_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sampling grid (N, H, W, 2) in source pixel coordinates and the triangle index (N, H, W) int32.

    Differentiable with respect to both point sets through the barycentric weights.
    """
    out_h, out_w = out_size
    index = rasterize_reference(dst_points, triangles, out_size)
    batch, dtype, device = dst_points.shape[0], dst_points.dtype, dst_points.device
    ys = torch.arange(out_h, device=device, dtype=dtype) + 0.5
    xs = torch.arange(out_w, device=device, dtype=dtype) + 0.5
    identity = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).expand(batch, out_h, out_w, 2)
    covered = index >= 0
    n_of, y_of, x_of = covered.nonzero(as_tuple=True)
    tri = index[covered].long()
    if tri.numel() == 0:
        return identity.clone(), index
    # Only covered pixels are computed: an uncovered one would divide by a degenerate triangle's zero sum and
    # its NaN would leak into the gradient through torch.where.
    setup = _triangle_setup(dst_points, triangles.long())
    flat = n_of * triangles.shape[0] + tri
    e = _edge_values(setup["edges"].index_select(0, flat), x_of.to(dtype) + 0.5, y_of.to(dtype) + 0.5)
    weights = e / ((e[:, 0] + e[:, 1]) + e[:, 2])[:, None]
    vertex_rows = (n_of[:, None] * src_points.shape[1] + triangles.long().index_select(0, tri)).flatten()
    src_vertices = src_points.reshape(-1, 2).index_select(0, vertex_rows).view(-1, 3, 2)  # (M, 3, 2)
    positions = (weights[..., None] * src_vertices).sum(dim=1)
    grid = identity.clone()
    grid = grid.index_put((n_of, y_of, x_of), positions)
    return grid, index


def normalize_grid(grid: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
    """A pixel-coordinate grid in ``grid_sample``'s normalised coordinates (align_corners=False).

    (OpenCV's ``remap`` wants ``grid - 0.5``: its pixel centres sit at integers.)
    """
    height, width = image_size
    scale = grid.new_tensor([2.0 / width, 2.0 / height])
    return grid * scale - 1.0


def sample_reference(image: torch.Tensor, grid: torch.Tensor, padding: str = "border") -> torch.Tensor:
    """Bilinear sample of ``image`` (N, C, H, W) at pixel-coordinate positions ``grid`` (N, H', W', 2)."""
    if padding not in PADDING_MODES:
        raise ValueError(f"padding must be one of {sorted(PADDING_MODES)}, got {padding!r}")
    acc = grid.dtype
    sampled = F.grid_sample(image.to(acc), normalize_grid(grid, image.shape[-2:]), mode="bilinear",
                            padding_mode=padding, align_corners=False)
    return sampled.to(image.dtype)


def mesh_warp_reference(image: torch.Tensor, src_points: torch.Tensor, dst_points: torch.Tensor,
                        triangles: torch.Tensor, out_size: tuple[int, int] | None = None,
                        padding: str = "border") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Warp ``image`` (N, C, H, W) from the ``src_points`` mesh to the ``dst_points`` mesh (both (N, P, 2)).

    ``triangles`` (T, 3) index the points. Returns the warped image (N, C, H', W'), the sampling grid and the
    triangle index (see the module docstring for the rules). Differentiable with respect to the image and
    both point sets.
    """
    out_size = tuple(out_size) if out_size is not None else tuple(image.shape[-2:])
    grid, index = mesh_warp_grid_reference(src_points, dst_points, triangles, out_size)
    return sample_reference(image, grid, padding), grid, index


def _triangle_setup(dst: torch.Tensor, triangles: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per (image, triangle): validity and the signed canonical edges, as ``setup_triangle`` in the kernels."""
    a, b, c = (dst[:, triangles[:, k]] for k in range(3))  # (N, T, 2) each
    area2 = (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0])
    finite = torch.isfinite(torch.stack([a, b, c], dim=-1)).flatten(-2).all(-1)
    valid = finite & (area2 != 0) & torch.isfinite(area2)
    orient = torch.where(area2 > 0, 1.0, -1.0).to(dst.dtype)
    start = triangles[:, [1, 2, 0]]  # edge k runs between the two vertices after vertex k
    end = triangles[:, [2, 0, 1]]
    lo, hi = torch.minimum(start, end), torch.maximum(start, end)
    sign = torch.where(start < end, orient[..., None], -orient[..., None])  # (N, T, 3)
    u, v = dst[:, lo], dst[:, hi]  # (N, T, 3, 2)
    edges = torch.stack([u[..., 0], u[..., 1], sign * (v[..., 0] - u[..., 0]), sign * (v[..., 1] - u[..., 1])], dim=2)
    return {"valid": valid, "edges": edges.flatten(0, 1)}  # edges: (N*T, 4, 3) = ux, uy, dx, dy per edge


def _edge_values(edges: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """(M, 3) edge values at pixel centres (px, py) of triangles whose set-up rows are ``edges`` (M, 4, 3),
    rounded as the kernels round them: dx * (py - uy) - dy * (px - ux)."""
    ux, uy, dx, dy = edges.unbind(1)
    return dx * (py[:, None] - uy) - dy * (px[:, None] - ux)
