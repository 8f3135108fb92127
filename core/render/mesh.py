"""The warp mesh: the face's landmarks plus head-following rings and a fixed frame, triangulated once.

Why rings: landmarks stop at the face outline (MediaPipe: the upper forehead), but hair, ears and the
neck must follow the head or they tear away from it. Two rings around the face follow the head's rigid
motion (fully, then partly), and points on the crop border never move, so the warp fades to identity at the
crop edge and paste-back leaves no seam. Where the still's picture ends inside the crop, the mesh ends with
it, on a frame of the still's own edges that give way outwards only (``crop_frame``). The rings sit at
fixed shares of the way from the face outline to the frame, so the band that absorbs the head's motion is
as wide as the crop and the picture allow on every side (rings at fixed multiples of the face's size ran
into the crop edge beside a wide face, and a head moving a few percent of the crop folded the hair between
them and the border). The rings follow the face outline's
own motion too, beyond the head's rigid motion (a cheek that widens as the head turns towards the camera,
a chin that drops), by the same shares: each ring point follows the outline point on its ray from the
face's centre. The hair beside a turning cheek turns with it, as it does on the head; following the head's rigid
motion alone, the rings left the band between the outline and the first ring to take all of the cheek's
motion, and on a fast turn the hair beside the cheek was crushed into a streaked strip with a notch at the
jaw. A head that moves further than that band can carry is held back (``head_band``).

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
motion and the head's rigid motion until none is left (frame points stay where the head carries them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse
from scipy.spatial import ConvexHull, Delaunay

from .. import align, ops
from . import crop_frame
from .head_band import FrameGive, HeadBand, carry, frame_give, head_band, share_groups

RING_STEPS = (0.3, 0.65)  # ring positions: shares of the way from the face outline to the frame
# How much of the head's rigid motion, and of the face outline's own, each ring follows: all of it next to
# the face, then falling evenly to none at the frame, so the band between squeezes or stretches evenly (the
# rest of each ring's motion is the frame's own where it gives way: ``FrameGive``).
RING_FOLLOW = tuple((1.0 - step) / (1.0 - RING_STEPS[0]) for step in RING_STEPS)
RING_POINTS = 28
BORDER_STEPS = 8  # frame points per crop side's length
FRAME_INSET = 0.03  # share of the crop's side: ring points nearer the frame are dropped
UNTANGLE_ITERATIONS = 30
UNTANGLE_TOLERANCE = 0.02  # a triangle may shrink to nothing (a closing lid), not invert past 2 % of its area
SMOOTHING_ITERATIONS = 3  # each moves a landmark's motion half-way to its neighbours' mean
SMOOTHED_EDGES = 3  # landmarks this many mesh edges or fewer from the outline are smoothed


@dataclass
class WarpMesh:
    """Source-side geometry of the warp, in crop pixels."""

    points: np.ndarray  # (P, 2) float64: control points first, then rings and frame
    control_count: int  # the first control_count points are the face's landmarks
    movable: np.ndarray  # (P,) bool: points untangling may move (not the frame, not the lips and eyes)
    triangles: np.ndarray  # (T, 3) int32
    watched: np.ndarray  # (T,) bool: triangles untangling unfolds (those without a lip or eye point)
    centre: np.ndarray  # (2,) face centre the rings scale about
    areas: np.ndarray  # (T,) signed area of each triangle on the still
    neighbours: sparse.csr_matrix  # (P, P) row-normalised: the mean over each point's edge neighbours
    landmark_neighbours: sparse.csr_matrix  # (C, C) the same among the landmarks alone
    smoothed: np.ndarray  # (C,) bool: landmarks near the outline whose motion is smoothed
    head_groups: list[tuple[float, np.ndarray]]  # (share of the head's rigid motion, the points following it)
    give: FrameGive  # how the still's own edges give way, and the rings with them
    band: HeadBand  # the triangles the head's rigid motion stretches
    rings: RingAnchors  # how the rings follow the face outline's own motion


@dataclass
class RingAnchors:
    """Each ring point's place on the face outline: the two landmarks of the outline segment its ray from
    the face's centre crosses, and their weights, already scaled by the ring's share of the motion."""

    rows: np.ndarray  # (R,) ring points in the mesh
    landmarks: np.ndarray  # (R, 2) control indices
    weights: np.ndarray  # (R, 2)


def build_mesh(control: np.ndarray, crop_size: int, features: np.ndarray | None = None,
               face_outline: np.ndarray | None = None, contours: np.ndarray | None = None,
               lips: list[tuple[np.ndarray, np.ndarray]] | None = None,
               irises: list[tuple[np.ndarray, np.ndarray, int]] | None = None,
               frame: crop_frame.MeshFrame | None = None, laid_out: np.ndarray | None = None) -> WarpMesh:
    """Rings and a frame around ``control`` (the face landmarks used by the warp) and a triangulation.

    ``features``: control indices whose motion untangling must keep, and whose triangles it leaves as they
    are (lips and eyes: their openings close and fold by design, and the mouth and lid painting covers them).
    ``face_outline``: control indices of the face outline, near which the motion is smoothed;
    ``contours``: control indices that smoothing leaves exact besides the features (the brows), and whose own
    motion the rings do not follow (a 68-point outline runs along the brows: a brow raise is not the head's);
    ``lips``: the lips' rings of control indices from the opening out (the inner lips first, the outer
    last), each as its upper and lower halves, corner to corner (``_lip_triangles``); ``irises``: for each
    eye whose iris centre is a control point, its upper and lower lid halves (corner to corner) and the
    centre's index (``_iris_fan``). ``frame``: the polygon the mesh spans, with every control point inside
    it, and how its edges give way (``crop_frame``; default: the whole crop, never moving). ``laid_out``:
    where the control points are triangulated, when not where they are (a shut eye's lids parted: on its
    closed lid line, Delaunay joined lower-lid points to the skin above the upper lid, and every opening
    turned those triangles over).
    """
    control = np.asarray(control, dtype=np.float64)
    square = crop_frame.crop_square(crop_size)
    spanned = frame if frame is not None else crop_frame.whole_crop(crop_size)
    frame, edge_give = spanned.polygon, spanned.give
    hull = ConvexHull(control).vertices
    centre = control.mean(0)
    anchors, anchor_weights = _resample_closed(control, hull, RING_POINTS)
    outline = (control[anchors] * anchor_weights[..., None]).sum(axis=1)
    if contours is not None:
        anchor_weights = np.where(np.isin(anchors, contours), 0.0, anchor_weights)
    inset = FRAME_INSET * crop_size
    reach, reach_edge = crop_frame.ray_exit(centre, outline, frame)
    reach_share = _crop_share(reach, centre, outline, crop_frame.ray_exit(centre, outline, square)[0])
    extra, follow, ring_anchors, ring_weights = [], [], [], []
    give_anchors, give_shares, give_outward, give_weights = [], [], [], []
    for step, share in zip(RING_STEPS, RING_FOLLOW):
        ring = outline + step * (reach - outline)
        inside = crop_frame.inside(ring, frame, inset)
        extra.append(ring[inside])
        follow.append(np.full(int(inside.sum()), share))
        ring_anchors.append(anchors[inside])
        ring_weights.append(anchor_weights[inside] * share)
        give_anchors.append(reach[inside])
        give_shares.append(reach_share[inside])
        give_outward.append(np.stack([edge_give[reach_edge[inside]], np.zeros((int(inside.sum()), 2))], axis=1))
        give_weights.append(np.full(int(inside.sum()), 1.0 - share))
    border, border_edge, corner = crop_frame.frame_points(frame, crop_size / BORDER_STEPS)
    before = edge_give[(border_edge - 1) % len(frame)]  # the edge ending at a corner
    on_crop = corner & ~(np.any(edge_give[border_edge] != 0.0, axis=1) & np.any(before != 0.0, axis=1))
    border_outward = np.stack([edge_give[border_edge], np.where(corner[:, None], before, 0.0)], axis=1)
    border_outward[on_crop] = 0.0  # a corner on the crop's edge never moves
    border_share = _crop_share(border, centre, _outline_towards(border, centre, outline),
                               crop_frame.ray_exit(centre, border, square)[0])
    extra.append(border)
    follow.append(np.zeros(len(border)))
    give_anchors.append(border)
    give_shares.append(border_share)
    give_outward.append(border_outward)
    give_weights.append(np.ones(len(border)))
    points = np.concatenate([control, *extra])
    follow = np.concatenate([np.full(len(control), np.nan), *follow])
    keep = _distinct(points, len(control))
    give = frame_give(keep, len(control), centre, give_anchors, give_shares, give_outward, give_weights)
    ring_rows = len(control) + np.arange(sum(len(a) for a in ring_anchors))
    on_ring = keep[ring_rows]
    rings = RingAnchors((np.cumsum(keep) - 1)[ring_rows[on_ring]], np.concatenate(ring_anchors)[on_ring],
                        np.concatenate(ring_weights)[on_ring])
    points, follow = points[keep], follow[keep]
    layout = points.copy()
    if laid_out is not None:
        layout[: len(control)] = laid_out
    triangles = _lip_triangles(layout, lips) if lips else Delaunay(layout).simplices.astype(np.int32)
    for upper, lower, centre_index in irises or ():
        triangles = _iris_fan(points, triangles, upper, lower, centre_index)
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
    head_groups = share_groups(shares)
    band = head_band(points, triangles, shares, give)
    return WarpMesh(points, len(control), movable, triangles, watched, centre,
                    signed_areas(points, triangles), _neighbour_mean(triangles, len(points)),
                    landmark_neighbours, smoothed, head_groups, give, band, rings)


def target_points(mesh: WarpMesh, control_target: np.ndarray, head: np.ndarray,
                  rigid_parts: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Target positions of every mesh point: landmarks as given, the rest following ``head`` partly.
    ``rigid_parts`` moves the landmarks of rigid objects on the face (glasses) after the outline's
    smoothing, which would bend them."""
    rigid = carry(mesh.points, mesh.head_groups, mesh.give, head, mesh.centre)  # carried by the head alone
    out = rigid.copy()
    out[: mesh.control_count] = smooth_motion(mesh, control_target, rigid[: mesh.control_count])
    if rigid_parts is not None:
        out[: mesh.control_count] = rigid_parts(out[: mesh.control_count])
    outline_motion = out[: mesh.control_count] - rigid[: mesh.control_count]  # the face's own, beyond the head's
    rings = mesh.rings
    out[rings.rows] += (outline_motion[rings.landmarks] * rings.weights[..., None]).sum(axis=1)
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
        # The whole product, then its rows: slicing the sparse matrix's rows first cost more than it saved.
        settled = 0.5 * (mesh.neighbours @ motion)[rows] + 0.5 * rigid_motion[rows]
        motion[rows] = 0.5 * motion[rows] + 0.5 * settled
    return mesh.points + motion


def _lip_triangles(points: np.ndarray, lips: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The mesh's triangles, the lips cut along their rings: Delaunay's round the outer lips, bands
    stitched between each ring and the next, and strips across the opening.

    On a closed mouth the inner lips lie on each other, and Delaunay over every point joined two points of
    the upper lip's band to one of the lower inner lip (MediaPipe 12-13-14, 82-87-38): any opening turned
    those over along the inside of the upper lip, on nearly every frame of an open-mouthed driver. Cut
    along the rings, no triangle but the opening's joins the upper lip to the lower. Where the still's
    rings do not make bands (contours that cross on the still) or Delaunay round the outer lips misses one
    of their edges, Delaunay over every point is kept, its opening re-cut into strips.
    """
    rings = [(np.asarray(upper, np.int64), np.asarray(lower, np.int64)) for upper, lower in lips]
    opening = _stitch(points, *rings[0])
    outer = opening_loop(*rings[-1])
    within = np.setdiff1d(np.array([i for upper, lower in rings[:-1] for i in (*upper, *lower)], np.int64), outer)
    others = np.setdiff1d(np.arange(len(points)), within)  # the points outside the outer lips, and those lips
    around = others[Delaunay(points[others]).simplices]
    around = around[~_cut_across(points, around, outer)]
    bands = [_stitch(points, inner, outer_half) for ring, ring_out in zip(rings, rings[1:])
             for inner, outer_half in zip(ring, ring_out)]
    if _has_loop(around, outer) and all(_one_way(points, band) for band in bands):
        return np.concatenate([around, *bands, opening]).astype(np.int32)
    triangles = Delaunay(points).simplices
    return np.concatenate([triangles[~_cut_across(points, triangles, opening_loop(*rings[0]))],
                           opening]).astype(np.int32)


def _stitch(points: np.ndarray, near: np.ndarray, far: np.ndarray) -> np.ndarray:
    """(T, 3) triangles of the band between two polylines running the same way, corner to corner: each
    step advances along the one that is behind in its share of points, and where both are level, along the
    shorter diagonal. Triangles with a repeated point (shared corners) are left out.

    Strips between the columns of an opening shrink to nothing as it closes, where Delaunay's long
    triangles across a tall opening (a shout's U: a side of the lower lip to the far end of the upper) turn
    over."""
    i, j, last_i, last_j = 0, 0, len(near) - 1, len(far) - 1
    triangles = []
    while i < last_i or j < last_j:
        ahead = (i + 1) * last_j - (j + 1) * last_i  # near's next share against far's, both scaled
        if ahead == 0 and i < last_i and j < last_j:
            ahead = (np.linalg.norm(points[near[i + 1]] - points[far[j]])
                     - np.linalg.norm(points[near[i]] - points[far[j + 1]]))
        if j == last_j or (i < last_i and ahead < 0):
            triangles.append((near[i], near[i + 1], far[j]))
            i += 1
        else:
            triangles.append((near[i], far[j + 1], far[j]))
            j += 1
    triangles = np.array(triangles, np.int64).reshape(-1, 3)
    distinct = (triangles[:, 0] != triangles[:, 1]) & (triangles[:, 1] != triangles[:, 2]) & (
        triangles[:, 0] != triangles[:, 2])
    return triangles[distinct]


def _has_loop(triangles: np.ndarray, loop: np.ndarray) -> bool:
    """Whether every edge of the closed ``loop`` is an edge of ``triangles``."""
    edges = {frozenset(e) for t in triangles.tolist() for e in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))}
    return all(frozenset((a, b)) in edges for a, b in zip(loop.tolist(), np.roll(loop, -1).tolist()))


def _one_way(points: np.ndarray, band: np.ndarray) -> bool:
    """Whether a band's triangles all turn the same way on the still, none flat: it covers its ring
    without folding."""
    areas = signed_areas(points, band)
    return bool(np.all(areas > 1e-9) or np.all(areas < -1e-9))


def _iris_fan(points: np.ndarray, triangles: np.ndarray, upper: np.ndarray, lower: np.ndarray,
              centre: int) -> np.ndarray:
    """``triangles`` with an eye opening re-cut into a fan from its iris centre to every lid point.

    Delaunay joins the lids across the opening and leaves the iris centre a small polygon of its own (4 or
    5 of the 16 lid points). A glance moves the centre across those chords, and the triangles on either
    side fold over each other: the raster kept one of them, and the pupil was cut into a hard-edged dark
    square, or the dark of the iris spilled over the lower lid (Jobs driven by ``lp_d12``, frame 80:
    triangles of 37 px^2 turned over to -74). In a fan the centre may go anywhere in the opening that sees
    every lid point, and the iris stretches and squeezes without a fold. An eye whose centre does not see
    every lid point on the still (a kinked lid) keeps Delaunay's cut.
    """
    loop = opening_loop(np.asarray(upper, np.int64), np.asarray(lower, np.int64))
    fan = np.array([(centre, a, b) for a, b in zip(loop, np.roll(loop, -1))], np.int32)
    areas = signed_areas(points, fan)
    if not (np.all(areas > 0.0) or np.all(areas < 0.0)):
        return triangles
    return np.concatenate([triangles[~_cut_across(points, triangles, loop, centre)], fan])


def opening_loop(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The closed loop of an opening's points: along its upper half, back along its lower (corners once)."""
    return np.concatenate([upper, lower[-2:0:-1]])


def _cut_across(points: np.ndarray, triangles: np.ndarray, loop: np.ndarray, *inner: int) -> np.ndarray:
    """(T,) bool: Delaunay's triangles across an opening, made of its ``loop`` points (and ``inner``
    points inside it) and lying inside the loop."""
    on_loop = np.isin(triangles, np.append(loop, inner)).all(axis=1)
    return on_loop & align.inside_polygon(points[triangles].mean(axis=1), points[loop])


def _neighbour_mean(triangles: np.ndarray, count: int) -> sparse.csr_matrix:
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])
    adjacency = sparse.csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(count, count))
    adjacency.data[:] = 1.0  # an edge shared by two triangles counts once
    return sparse.diags(1.0 / np.maximum(adjacency.sum(axis=1).A1, 1.0)) @ adjacency


def sampling_map(src_points: np.ndarray, dst_points: np.ndarray, triangles: np.ndarray,
                 size: int | tuple[int, int]) -> np.ndarray:
    """(height, width, 2) float32 for ``size`` = side or (height, width): for each output pixel centre, its
    source position (our pixel convention); (N, height, width, 2) for N meshes of one triangulation,
    (N, P, 2) points each, in one call of the operator.

    Piecewise-affine: the output pixel's triangle in the target mesh, mapped barycentrically into the source
    mesh; pixels no triangle covers map to themselves. Runs the compiled ``mesh_warp_grid`` operator
    (``core.ops``; its PyTorch reference where the extension is not built).
    """
    src = torch.from_numpy(np.ascontiguousarray(src_points, np.float32))
    dst = torch.from_numpy(np.ascontiguousarray(dst_points, np.float32))
    batched = src.dim() == 3
    grid = ops.mesh_warp_grid(src if batched else src[None], dst if batched else dst[None],
                              torch.from_numpy(np.ascontiguousarray(triangles, np.int64)),
                              (size, size) if isinstance(size, int) else size)
    return grid.numpy() if batched else grid[0].numpy()


def _crop_share(positions: np.ndarray, centre: np.ndarray, outline: np.ndarray, crop_exit: np.ndarray) -> np.ndarray:
    """The share of the head's motion a point of a band spanning the whole crop would follow at each of
    ``positions``: all of it up to the first ring's place, then falling evenly to none at the crop's edge
    (``outline`` and ``crop_exit``: where the ray from ``centre`` through each position crosses the face's
    outline and leaves the crop)."""
    inner = np.linalg.norm(outline - centre, axis=1)
    way = np.linalg.norm(crop_exit - centre, axis=1) - inner
    done = (np.linalg.norm(positions - centre, axis=1) - inner) / np.maximum(way, 1e-9)
    return np.clip((1.0 - done) / (1.0 - RING_STEPS[0]), 0.0, 1.0)


def _outline_towards(positions: np.ndarray, centre: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """Where the ray from ``centre`` towards each of ``positions`` crosses ``outline`` (a closed loop round
    it), interpolated between the loop's points by angle."""
    offset = outline - centre
    angles = np.arctan2(offset[:, 1], offset[:, 0])
    order = np.argsort(angles)
    angles, radii = angles[order], np.linalg.norm(offset, axis=1)[order]
    angles = np.concatenate([angles[-1:] - 2 * np.pi, angles, angles[:1] + 2 * np.pi])
    radii = np.concatenate([radii[-1:], radii, radii[:1]])
    towards = positions - centre
    radius = np.interp(np.arctan2(towards[:, 1], towards[:, 0]), angles, radii)
    return centre + towards * (radius / np.maximum(np.linalg.norm(towards, axis=1), 1e-9))[:, None]


def _resample_closed(points: np.ndarray, loop: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` places evenly spaced along the closed polygon ``points[loop]``, each as the two points of its
    segment (indices into ``points``) and their weights."""
    closed = np.append(loop, loop[0])
    seg = np.linalg.norm(np.diff(points[closed], axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    wanted = np.linspace(0.0, arc[-1], count, endpoint=False)
    segment = np.clip(np.searchsorted(arc, wanted, side="right") - 1, 0, len(loop) - 1)
    along = (wanted - arc[segment]) / np.maximum(seg[segment], 1e-12)
    return np.stack([closed[segment], closed[segment + 1]], axis=1), np.stack([1.0 - along, along], axis=1)


def _distinct(points: np.ndarray, protected: int, tolerance: float = 1.0) -> np.ndarray:
    """Mask dropping added points that fall on an earlier point (Delaunay needs distinct points)."""
    keep = np.ones(len(points), dtype=bool)
    for i in range(protected, len(points)):
        if np.min(np.linalg.norm(points[:i][keep[:i]] - points[i], axis=1)) < tolerance:
            keep[i] = False
    return keep
