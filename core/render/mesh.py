"""The warp mesh: the face's landmarks plus head-following rings and a fixed frame, triangulated once.

Why rings: landmarks stop at the face outline (MediaPipe: the upper forehead), but hair, ears and the
neck must follow the head or they tear away from it. Two rings around the face follow the head's rigid
motion (fully, then half), and points on the crop border never move, so the warp fades to identity at the
crop edge and paste-back leaves no seam.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import ConvexHull, Delaunay

from .. import align

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
    mesh. Pixels no triangle covers map to themselves.
    """
    tri_index = np.full((size, size), -1, dtype=np.int32)
    dst_fixed = np.round((dst_points - 0.5) * 16.0).astype(np.int32)  # OpenCV: pixel centres at integers
    for t, tri in enumerate(triangles):
        cv2.fillConvexPoly(tri_index, dst_fixed[tri], int(t), lineType=cv2.LINE_8, shift=4)
    coeffs = _triangle_affines(src_points, dst_points, triangles)  # (T, 2, 3) dst -> src
    coeffs = np.concatenate([coeffs, align.identity()[None]], axis=0)  # index -1 -> identity
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    c = coeffs[tri_index].astype(np.float32)  # (S, S, 2, 3)
    out = np.empty((size, size, 2), dtype=np.float32)
    out[..., 0] = c[..., 0, 0] * xs + c[..., 0, 1] * ys + c[..., 0, 2]
    out[..., 1] = c[..., 1, 0] * xs + c[..., 1, 1] * ys + c[..., 1, 2]
    return out


def _triangle_affines(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T, 2, 3) affine maps taking each target triangle onto its source triangle (closed form).

    With edge matrices D = [d1-d0, d2-d0] and S = [s1-s0, s2-s0], the linear part is S D^-1 and the
    translation s0 - S D^-1 d0. Degenerate (zero-area) target triangles map as the identity.
    """
    d = dst[triangles].astype(np.float64)  # (T, 3, 2)
    s = src[triangles].astype(np.float64)
    de = np.stack([d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]], axis=2)  # (T, 2, 2), columns are edges
    se = np.stack([s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]], axis=2)
    det = de[:, 0, 0] * de[:, 1, 1] - de[:, 0, 1] * de[:, 1, 0]
    degenerate = np.abs(det) < 1e-9
    det = np.where(degenerate, 1.0, det)
    inverse = np.stack([np.stack([de[:, 1, 1], -de[:, 0, 1]], 1), np.stack([-de[:, 1, 0], de[:, 0, 0]], 1)],
                       1) / det[:, None, None]
    linear = se @ inverse
    shift = s[:, 0] - np.einsum("tij,tj->ti", linear, d[:, 0])
    m = np.concatenate([linear, shift[:, :, None]], axis=2)
    m[degenerate] = align.identity()
    return m


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
