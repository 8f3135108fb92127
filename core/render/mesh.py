"""The warp mesh: the face's landmarks plus head-following rings and a fixed frame, triangulated once.

Why rings: landmarks stop at the face outline (MediaPipe: the upper forehead), but hair, ears and the
neck must follow the head or they tear away from it. Two rings around the face follow the head's rigid
motion (fully, then half), and points on the crop border never move, so the warp fades to identity at the
crop edge and paste-back leaves no seam.

Why smoothing near the outline: a tracker's dense points wobble against each other, most near the face
outline, where no edge pins them; the driver's wobble, carried point by point onto the still, gave
neighbouring triangles there different stretches, and the still's shading broke into facets, a saw-tooth
of light and shadow along the cheek. The motion of the landmarks within a few edges of the outline is
therefore smoothed over the mesh (each point towards its neighbours', a few times) before the warp. Only
the motion beyond the head's rigid motion is smoothed, so the head's is kept exactly, as is motion that is
smooth already (the jaw's drop). The inner face and the brows are left exact: a blink slides the lid skin
as a band and the lips and brows move as contours, which smoothing would blur (smoothing the brows' outer
ends cost the brow-height correlation a quarter of its value over the shared media).

Why untangling: target landmarks come from another face's motion, and a turning head slides the outline
points of a 2-D landmark mesh over their neighbours, so some triangles turn over. A folded mesh maps two
places of the still onto one output pixel and the raster keeps one of them: a torn, stair-stepped edge
along the jaw. Before each warp, the points of turned-over triangles are eased towards their neighbours'
motion and the head's rigid motion until none is left (border points never move).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse
from scipy.spatial import ConvexHull, Delaunay

from .. import align, ops

RING_SCALES = (1.3, 1.75)  # ring radii relative to the face outline, about the face centre
RING_FOLLOW = (1.0, 0.5)  # how much of the head's rigid motion each ring follows
RING_POINTS = 28
BORDER_STEPS = 8  # points per crop side
UNTANGLE_ITERATIONS = 30
UNTANGLE_TOLERANCE = 0.02  # a triangle may shrink to nothing (a closing lid), not invert past 2 % of its area
SMOOTHING_ITERATIONS = 3  # each moves a landmark's motion half-way to its neighbours' mean
SMOOTHED_EDGES = 3  # landmarks this many mesh edges or fewer from the outline are smoothed


@dataclass
class WarpMesh:
    """Source-side geometry of the warp, in crop pixels."""

    points: np.ndarray  # (P, 2) float64: control points first, then rings and border
    control_count: int  # the first control_count points are the face's landmarks
    movable: np.ndarray  # (P,) bool: points untangling may move (not the border, not the lips and eyes)
    triangles: np.ndarray  # (T, 3) int32
    watched: np.ndarray  # (T,) bool: triangles untangling unfolds (those without a lip or eye point)
    centre: np.ndarray  # (2,) face centre the rings scale about
    areas: np.ndarray  # (T,) signed area of each triangle on the still
    neighbours: sparse.csr_matrix  # (P, P) row-normalised: the mean over each point's edge neighbours
    landmark_neighbours: sparse.csr_matrix  # (C, C) the same among the landmarks alone
    smoothed: np.ndarray  # (C,) bool: landmarks near the outline whose motion is smoothed
    head_groups: list[tuple[float, np.ndarray]]  # (share of the head's rigid motion, the points following it)


def build_mesh(control: np.ndarray, crop_size: int, features: np.ndarray | None = None,
               face_outline: np.ndarray | None = None, contours: np.ndarray | None = None,
               mouth: tuple[np.ndarray, np.ndarray] | None = None) -> WarpMesh:
    """Rings and border around ``control`` (the face landmarks used by the warp) and a triangulation.

    ``features``: control indices whose motion untangling must keep, and whose triangles it leaves as they
    are (lips and eyes: their openings close and fold by design, and the mouth and lid painting covers them).
    ``face_outline``: control indices of the face outline, near which the motion is smoothed;
    ``contours``: control indices that smoothing leaves exact besides the features (the brows);
    ``mouth``: control indices of the inner lips' upper and lower halves, corner to corner and in step
    (``_mouth_strips``).
    """
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
    if mouth is not None:
        triangles = _mouth_strips(points, triangles, *mouth)
    # Where a fold survives, the lowest-indexed triangle covers the pixel: face over rings over the frame.
    triangles = triangles[np.argsort((triangles >= len(control)).sum(axis=1), kind="stable")]
    movable = follow != 0.0  # NaN for landmarks: movable
    if features is not None:
        movable[np.asarray(features, dtype=np.int64)] = False
    watched = ~np.any(~movable[triangles] & np.isnan(follow)[triangles], axis=1)  # no lip or eye point
    landmark_neighbours = _neighbour_mean(triangles[np.all(triangles < len(control), axis=1)], len(control))
    smoothed = np.zeros(len(control), dtype=bool)
    if face_outline is not None:
        smoothed[np.asarray(face_outline, dtype=np.int64)] = True
        for _ in range(SMOOTHED_EDGES):
            smoothed |= (landmark_neighbours @ smoothed.astype(np.float64)) > 0
        smoothed &= movable[: len(control)] & (landmark_neighbours.getnnz(axis=1) > 0)
        if contours is not None:
            smoothed[np.asarray(contours, dtype=np.int64)] = False
    shares = np.where(np.isnan(follow), 1.0, follow)  # landmarks: wholly, before their own motion
    head_groups = [(float(share), np.flatnonzero(shares == share)) for share in np.unique(shares) if share > 0.0]
    return WarpMesh(points, len(control), movable, triangles, watched, centre,
                    signed_areas(points, triangles), _neighbour_mean(triangles, len(points)),
                    landmark_neighbours, smoothed, head_groups)


def target_points(mesh: WarpMesh, control_target: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Target positions of every mesh point: landmarks as given, the rest following ``head`` partly."""
    rigid = mesh.points.copy()  # the whole mesh carried by the head alone: nothing in it is folded
    for share, rows in mesh.head_groups:
        rigid[rows] = align.apply(align.scale_motion(head, share, mesh.centre), mesh.points[rows])
    out = rigid.copy()
    out[: mesh.control_count] = smooth_motion(mesh, control_target, rigid[: mesh.control_count])
    return untangle(mesh, out, rigid)


def smooth_motion(mesh: WarpMesh, control_target: np.ndarray, control_rigid: np.ndarray) -> np.ndarray:
    """``control_target`` with the motion beyond the head's (``control_rigid``: the landmarks carried by the
    head alone) of the ``smoothed`` landmarks smoothed over the mesh; the others keep theirs exactly."""
    motion = np.asarray(control_target, dtype=np.float64) - control_rigid
    free = mesh.smoothed
    for _ in range(SMOOTHING_ITERATIONS):
        motion[free] = 0.5 * motion[free] + 0.5 * (mesh.landmark_neighbours @ motion)[free]
    return control_rigid + motion


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def turned_over(mesh: WarpMesh, points: np.ndarray) -> np.ndarray:
    """(T,) bool: triangles whose orientation ``points`` reverses (beyond the tolerance)."""
    return signed_areas(points, mesh.triangles) * np.sign(mesh.areas) < -UNTANGLE_TOLERANCE * np.abs(mesh.areas)


def untangle(mesh: WarpMesh, points: np.ndarray, rigid: np.ndarray) -> np.ndarray:
    """``points`` with turned-over triangles unfolded; where nothing is folded, nothing moves.

    Each movable point of a folded triangle moves half-way towards a blend of its neighbours' mean motion
    and its motion in ``rigid`` (the mesh carried by the head alone, which has no fold), repeatedly. What
    the iterations leave folded (rare, small) is settled by the raster's order: face triangles come first.
    """
    motion, rigid_motion = points - mesh.points, rigid - mesh.points
    for _ in range(UNTANGLE_ITERATIONS):
        folded = turned_over(mesh, mesh.points + motion) & mesh.watched
        if not folded.any():
            break
        rows = np.unique(mesh.triangles[folded])
        rows = rows[mesh.movable[rows]]
        settled = 0.5 * (mesh.neighbours[rows] @ motion) + 0.5 * rigid_motion[rows]
        motion[rows] = 0.5 * motion[rows] + 0.5 * settled
    return mesh.points + motion


def _mouth_strips(points: np.ndarray, triangles: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """``triangles`` with the still's mouth opening re-cut into strips, one per pair of lip columns.

    Delaunay joins the points of an open mouth across the opening (a shout's tall U: the side of the lower
    lip to the far end of the upper lip). When the mouth closes, each lower-lip point rises towards the
    upper-lip point in step with it, and some of those long triangles turn over (a folded mesh shows two
    places of the still in one: the inside of the mouth over a lip). A strip between two columns shrinks
    to nothing instead.
    """
    upper, lower = np.asarray(upper, np.int64), np.asarray(lower, np.int64)
    loop = np.concatenate([upper, lower[-2:0:-1]])
    on_loop = np.isin(triangles, loop).all(axis=1)
    inside = on_loop & _inside_polygon(points[triangles].mean(axis=1), points[loop])
    strips = []
    for i in range(len(upper) - 1):
        a, b, c, d = upper[i], upper[i + 1], lower[i + 1], lower[i]
        strips += [(a, b, c), (a, c, d)]
    strips = np.array([t for t in strips if len(set(t)) == 3], np.int32)  # the corner strips are triangles
    return np.concatenate([triangles[~inside], strips])


def _inside_polygon(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) bool: even-odd test of each point of ``xy`` against a closed polygon."""
    x, y = xy[:, 0:1], xy[:, 1:2]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / np.where(y1 == y0, 1e-12, y1 - y0) + x0)
    return (crosses.sum(axis=1) % 2) == 1


def _neighbour_mean(triangles: np.ndarray, count: int) -> sparse.csr_matrix:
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])
    adjacency = sparse.csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(count, count))
    adjacency.data[:] = 1.0  # an edge shared by two triangles counts once
    return sparse.diags(1.0 / np.maximum(adjacency.sum(axis=1).A1, 1.0)) @ adjacency


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
