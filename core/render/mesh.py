"""The warp mesh: the face's landmarks plus head-following rings and a fixed frame, triangulated once.

Why rings: landmarks stop at the face outline (MediaPipe: the upper forehead), but hair, ears and the
neck must follow the head or they tear away from it. Two rings around the face follow the head's rigid
motion (fully, then half), and points on the crop border never move, so the warp fades to identity at the
crop edge and paste-back leaves no seam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import ConvexHull, Delaunay

from .. import align, ops

RING_SCALES = (1.3, 1.75)  # ring radii relative to the face outline, about the face centre
RING_FOLLOW = (1.0, 0.5)  # how much of the head's rigid motion each ring follows
RING_POINTS = 28
BORDER_STEPS = 8  # points per crop side


@dataclass
class WarpMesh:
    """Source-side geometry of the warp, in crop pixels."""

    points: np.ndarray  # (P, 2) float64: control points first, then rings and border
    control_count: int  # the first control_count points are the face's landmarks
    follow: np.ndarray  # (P,) share of the head's rigid motion each non-control point follows
    triangles: np.ndarray  # (T, 3) int32
    centre: np.ndarray  # (2,) face centre the rings scale about


def build_mesh(control: np.ndarray, crop_size: int) -> WarpMesh:
    """Rings and border around ``control`` (the face landmarks used by the warp) and a triangulation."""
    control = np.asarray(control, dtype=np.float64)
    hull = control[ConvexHull(control).vertices]
    centre = control.mean(0)
    outline = _resample_closed(hull, RING_POINTS)
    inset = 0.03 * crop_size
    extra, follow = [], []
    for scale, share in zip(RING_SCALES, RING_FOLLOW):
        ring = centre + scale * (outline - centre)
        inside = np.all((ring > inset) & (ring < crop_size - inset), axis=1)
        extra.append(ring[inside])
        follow.append(np.full(int(inside.sum()), share))
    side = np.linspace(0.0, crop_size, BORDER_STEPS + 1)[:-1]
    far = np.full(BORDER_STEPS, float(crop_size))
    near = np.zeros(BORDER_STEPS)
    border = np.concatenate([np.stack([side, near], 1), np.stack([far, side], 1),
                             np.stack([crop_size - side, far], 1), np.stack([near, crop_size - side], 1)])
    extra.append(border)
    follow.append(np.zeros(len(border)))
    points = np.concatenate([control, *extra])
    follow = np.concatenate([np.full(len(control), np.nan), *follow])
    keep = _distinct(points, len(control))
    points, follow = points[keep], follow[keep]
    triangles = Delaunay(points).simplices.astype(np.int32)
    return WarpMesh(points, len(control), follow, triangles, centre)


def target_points(mesh: WarpMesh, control_target: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Target positions of every mesh point: landmarks as given, the rest following ``head`` partly."""
    out = mesh.points.copy()
    out[: mesh.control_count] = control_target
    for share in np.unique(mesh.follow[mesh.control_count:]):
        if share == 0.0:
            continue
        rows = np.flatnonzero(mesh.follow == share)
        out[rows] = align.apply(align.scale_motion(head, float(share), mesh.centre), mesh.points[rows])
    return out


def sampling_map(src_points: np.ndarray, dst_points: np.ndarray, triangles: np.ndarray,
                 size: int) -> np.ndarray:
    """(size, size, 2) float32: for each output pixel centre, its source position (our pixel convention).

    Piecewise-affine: the output pixel's triangle in the target mesh, mapped barycentrically into the source
    mesh; pixels no triangle covers map to themselves. Runs the compiled ``mesh_warp_grid`` operator
    (``core.ops``; its PyTorch reference where the extension is not built).
    """
    grid = ops.mesh_warp_grid(torch.from_numpy(np.ascontiguousarray(src_points, np.float32))[None],
                              torch.from_numpy(np.ascontiguousarray(dst_points, np.float32))[None],
                              torch.from_numpy(np.ascontiguousarray(triangles, np.int64)), (size, size))
    return grid[0].numpy()


def _resample_closed(polygon: np.ndarray, count: int) -> np.ndarray:
    closed = np.vstack([polygon, polygon[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    wanted = np.linspace(0.0, arc[-1], count, endpoint=False)
    return np.stack([np.interp(wanted, arc, closed[:, k]) for k in (0, 1)], axis=1)


def _distinct(points: np.ndarray, protected: int, tolerance: float = 1.0) -> np.ndarray:
    """Mask dropping added points that fall on an earlier point (Delaunay needs distinct points)."""
    keep = np.ones(len(points), dtype=bool)
    for i in range(protected, len(points)):
        if np.min(np.linalg.norm(points[:i][keep[:i]] - points[i], axis=1)) < tolerance:
            keep[i] = False
    return keep
