"""The band between the face and the frame that carries the head's rigid motion, and how far it may.

Why a limit on the head's motion: the warp can only stretch the band between the face and the frame; a
head that moves further than the band can carry (a hand-held camera, a driver walking across its frame)
tore the face from its hair and folded the background over the cheek. ``limit_head`` lets the head's
rigid motion through unchanged while the band's worst stretch stays under ``HEAD_KNEE`` and compresses
what goes beyond, smoothly, so the stretch never passes ``HEAD_LIMIT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from .. import align

if TYPE_CHECKING:
    from .mesh import WarpMesh

HEAD_KNEE = np.log(1.6)  # the band's stretch (``band_stretch``) up to which a head goes through as it is
HEAD_LIMIT = np.log(2.2)  # ... and the most it may reach however far the driver's head moves
SQUEEZE_PER_STRETCH = 0.5  # a squeeze counts as a stretch of its square root: pressed texture stays sharp
HEAD_SEARCH_STEPS = 16  # the search's measures of the band at most, when the head is held back
HEAD_SEARCH_TOLERANCE = 1e-3  # the held-back stretch ends this close below the limit's (a log)


@dataclass
class HeadBand:
    """The triangles with a point that follows the head's rigid motion only partly (the rest move with it as
    one piece): their points, each point's share of the motion, and the triangles' edges inverted."""

    points: np.ndarray  # (B, 2) on the still
    groups: list[tuple[float, np.ndarray]]  # (share, rows of points) for each share above zero
    give: FrameGive  # rows into points
    triangles: np.ndarray  # (T, 3) into points
    inverse_edges: np.ndarray  # (T, 2, 2): maps a triangle's edges on the still to the unit ones


@dataclass
class FrameGive:
    """The frame's points on the still's own edges, and the ring points beyond them, move with the head
    outwards and along the edge, never inwards: each such point adds ``weights`` times the motion of its
    place on the frame (``places``, followed by the share of the head's motion a point there would have
    in a band spanning the whole crop) without its part into the picture. A frame point is its own place,
    with weight 1; a ring point has its ray's place, with the share of the motion it does not follow
    itself. At a corner of the still's the motion must leave both edges' lines outwards or along them."""

    rows: np.ndarray  # (G,) points that give
    places: np.ndarray  # (G,) complex: their places on the frame, from the face's centre (x + iy)
    shares: np.ndarray  # (G,) the share of the head's motion each place follows, before the outward part
    outward: np.ndarray  # (G, 2) complex: the outward unit normal of the place's edge, and the other's at a
    # corner (else 0)
    weights: np.ndarray  # (G,)

    def subset(self, rows: np.ndarray) -> FrameGive:
        """The entries of the points ``rows`` (sorted mesh rows), renumbered to their places in ``rows``."""
        keep = np.isin(self.rows, rows)
        return FrameGive(np.searchsorted(rows, self.rows[keep]), self.places[keep], self.shares[keep],
                         self.outward[keep], self.weights[keep])


def limit_head(mesh: WarpMesh, head: np.ndarray) -> np.ndarray:
    """``head``, or the same motion held back so that the band between the face and the frame
    stretches no more than the soft limit of ``HEAD_KNEE`` and ``HEAD_LIMIT`` allows.

    The head's travel across the frame goes first (on a hand-held driver most of it is the camera's), its
    turn and scale, the expression's frame, only where the head turning in place is already too much."""
    full = band_stretch(mesh, head)
    if full <= HEAD_KNEE:
        return head
    wanted = soft_limit(full)
    in_place = _travelling(head, 0.0, mesh.centre)
    in_place_stretch = band_stretch(mesh, in_place)
    if in_place_stretch <= wanted:
        held = partial(_travelling, head, centre=mesh.centre)
        ends = (in_place_stretch - wanted, full - wanted)
    else:
        held = partial(align.scale_motion, in_place, centre=mesh.centre)
        ends = (-wanted, in_place_stretch - wanted)  # no motion at all stretches nothing
    return held(kept_share(lambda share: band_stretch(mesh, held(share)) - wanted, *ends))


def soft_limit(stretch: float) -> float:
    """The stretch a head motion that would stretch the band by ``stretch`` is held back to: itself up to
    ``HEAD_KNEE``, beyond it compressed smoothly (tanh) towards ``HEAD_LIMIT``."""
    if stretch <= HEAD_KNEE:
        return stretch
    span = HEAD_LIMIT - HEAD_KNEE
    return HEAD_KNEE + span * float(np.tanh((stretch - HEAD_KNEE) / span))


def kept_share(excess, at_none: float, at_all: float) -> float:
    """The largest share in 0..1 whose ``excess`` is at most 0, to within ``HEAD_SEARCH_TOLERANCE`` below
    it; ``excess`` rises with the share, ``at_none`` (share 0) is at most 0 and ``at_all`` (share 1) above.

    Regula falsi, with the Illinois step against a side that stays put: the stretch is smooth in the share
    but for kinks where its worst triangle changes. Over the held-back frames of three hand-held drivers it
    measured the band about five times a frame, where halving the interval took ten, and ended closer below
    the limit's stretch."""
    if at_none > -HEAD_SEARCH_TOLERANCE:
        return _largest_within(excess)
    low, high = 0.0, 1.0
    low_excess = at_none  # as measured, for the stopping test
    low_weight, high_weight = at_none, at_all  # as the Illinois step scales them
    kept = None
    for _ in range(HEAD_SEARCH_STEPS):
        if low_excess > -HEAD_SEARCH_TOLERANCE or high - low < 2.0 ** -HEAD_SEARCH_STEPS:
            break
        share = high - high_weight * (high - low) / (high_weight - low_weight)
        value = excess(share)
        if value <= 0.0:
            low, low_excess, low_weight = share, value, value
            high_weight *= 0.5 if kept == "low" else 1.0
            kept = "low"
        else:
            high, high_weight = share, value
            low_weight *= 0.5 if kept == "high" else 1.0
            kept = "high"
    return low


def _largest_within(excess) -> float:
    """The largest share whose ``excess`` is at most 0, to 1/64, by halving the interval. For when share 0
    is already within the search's tolerance of the limit (a turn in place that stretches the band by
    itself): the search stopped there at once, though the stretch may stay flat over most shares, and
    holding back all of the travel jumped the head back for a frame between frames that let it through."""
    low, high = 0.0, 1.0
    for _ in range(6):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if excess(middle) <= 0.0 else (low, middle)
    return low


def _travelling(head: np.ndarray, share: float, centre: np.ndarray) -> np.ndarray:
    """``head``'s turn and scale about ``centre``, with ``share`` of the distance it carries ``centre``."""
    linear = head[:, :2]
    moved = centre + share * (linear @ centre + head[:, 2] - centre)
    return np.hstack([linear, (moved - linear @ centre)[:, None]])


def band_stretch(mesh: WarpMesh, head: np.ndarray) -> float:
    """The worst stretch or squeeze of any triangle of the mesh carried by ``head`` alone: the log of its
    affine map's largest singular value, or ``SQUEEZE_PER_STRETCH`` times that of the inverse of its
    smallest; a triangle turned over counts as squeezed to a thousandth. The triangles the head carries
    whole only take its scale."""
    band = mesh.band
    corners = carry(band.points, band.groups, band.give, head, mesh.centre)[band.triangles]
    edges = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=-1)
    maps = edges @ band.inverse_edges
    # The singular values of 2x2 maps in closed form: the search calls this a dozen times a frame.
    det = maps[:, 0, 0] * maps[:, 1, 1] - maps[:, 0, 1] * maps[:, 1, 0]
    energy = 0.5 * (maps ** 2).sum(axis=(1, 2))
    spread = np.sqrt(np.maximum(energy ** 2 - det ** 2, 0.0))
    largest = np.sqrt(energy + spread)
    smallest = np.where(det > 0.0, det / np.maximum(largest, 1e-12), 0.0)
    whole = abs(np.log(align.similarity_params(head)[0]))
    squeezed = -np.log(max(float(smallest.min()), 1e-3)) * SQUEEZE_PER_STRETCH  # the most squeezed triangle's
    return float(max(whole, np.log(largest).max(), squeezed))


def head_band(points: np.ndarray, triangles: np.ndarray, shares: np.ndarray, give: FrameGive) -> HeadBand:
    gives = np.zeros(len(points), dtype=bool)
    gives[give.rows] = True
    rows = triangles[((shares[triangles] < 1.0) | gives[triangles]).any(axis=1)]
    corners = points[rows]
    edges = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=-1)
    flat = np.abs(np.linalg.det(edges)) < 1e-9  # no area to stretch, and no inverse
    rows, edges = rows[~flat], edges[~flat]
    used, local = np.unique(rows, return_inverse=True)
    local = local.reshape(rows.shape)
    return HeadBand(points[used], share_groups(shares[used]), give.subset(used),
                    local.astype(np.int32), np.linalg.inv(edges))


def share_groups(shares: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """(share, the rows with it) for each share of the head's motion above zero (zero: the points stay)."""
    return [(float(share), np.flatnonzero(shares == share)) for share in np.unique(shares) if share > 0.0]


def carry(points: np.ndarray, groups: list[tuple[float, np.ndarray]], give: FrameGive, head: np.ndarray,
           centre: np.ndarray) -> np.ndarray:
    """``points`` carried by the head's rigid motion alone, each group (``share_groups``) by its share of
    it, the rest staying, and then the frame's give (``FrameGive``) added. In float64: the band's stretch
    is measured on them."""
    carried = points.copy()
    for share, rows in groups:
        motion = align.scale_motion(head, share, centre)
        carried[rows] = points[rows] @ motion[:, :2].T + motion[:, 2]
    if len(give.rows):  # each place's own scale_motion at once, in complex numbers (a turn and scale is a product)
        scale, angle, _ = align.similarity_params(head)
        travel = complex(*(head[:, :2] @ centre + head[:, 2] - centre))
        motion = give.shares * travel + give.places * (np.exp(give.shares * complex(np.log(max(scale, 1e-6)), angle))
                                                       - 1.0)
        first, second = give.outward[:, 0], give.outward[:, 1]
        for normal in (first, second):  # the inward part taken out, edge by edge
            motion -= np.minimum((motion * normal.conjugate()).real, 0.0) * normal
        motion[(motion * first.conjugate()).real < -1e-9] = 0.0  # a corner moved into the picture stays
        motion *= give.weights
        carried[give.rows] += np.stack([motion.real, motion.imag], axis=1)  # one entry a point
    return carried


def frame_give(keep: np.ndarray, control_count: int, centre: np.ndarray, anchors, shares, outward,
                weights) -> FrameGive:
    """``FrameGive`` of the points added after the ``control_count`` landmarks (rings, then the frame, in the
    lists' order) that ``keep`` keeps, for those on or beyond a give-way edge."""
    rows = control_count + np.arange(sum(len(a) for a in anchors))
    outward = np.concatenate(outward)
    gives = keep[rows] & np.any(outward != 0.0, axis=(1, 2))
    renumbered = (np.cumsum(keep) - 1)[rows[gives]]
    places = np.concatenate(anchors)[gives] - centre
    normals = outward[gives]
    return FrameGive(renumbered.astype(np.int64), places[:, 0] + 1j * places[:, 1], np.concatenate(shares)[gives],
                     normals[..., 0] + 1j * normals[..., 1], np.concatenate(weights)[gives])
