"""The skin round the lips kept outside them: a lip that the driver's motion moves further than the
still's skin beside it allows pushes that skin ahead of it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import align
from ..landmarks import mediapipe_topology as mpt


@dataclass(frozen=True)
class LipSurround:
    """Skin round the lips, each point placed against its nearest segment of the outer lip loop: the
    segment's index and place along it, the point's distance from there and its direction in the segment's
    own frame (along, across)."""

    indices: np.ndarray  # (S,) dense rows
    segment: np.ndarray  # (S,) index into OUTER_LIP_LOOP of the segment's first point
    along: np.ndarray  # (S,) 0..1 along the segment
    distance: np.ndarray  # (S,) on the still
    direction: np.ndarray  # (S, 2) unit, in the segment's (along, across) frame


OUTER_LIP_LOOP = np.array(mpt.OUTER_LIP_UPPER + mpt.OUTER_LIP_LOWER[-2:0:-1])
_FACE_OUTLINE = np.array(mpt.FACE_OVAL)
LIP_SURROUND_REACH = 0.8  # of the mouth's width: the skin round the lips that they push
LIP_SKIN_KEPT = 0.25  # share of its distance from the lips a skin point keeps however far the lips move
PUSH_REACH = 2.0  # a push is at most this many times the skin's shortfall from the lips' nearest point
OUTLINE_PUSH_SPREAD = (0.1, 0.2, 0.4, 0.2, 0.1)  # how a push spreads to the outline's neighbours, -2..2


def lip_surround(points: np.ndarray) -> LipSurround:
    """The skin points within ``LIP_SURROUND_REACH`` mouth widths outside the outer lips (``outside_lips``)."""
    loop = points[OUTER_LIP_LOOP]
    edge = np.roll(loop, -1, axis=0) - loop
    width = float(np.linalg.norm(points[mpt.OUTER_LIP_UPPER[-1]] - points[mpt.OUTER_LIP_UPPER[0]])) or 1.0
    candidates = np.setdiff1d(np.arange(mpt.FACE_MESH_COUNT), np.array(mpt.LIP_POINTS))
    candidates = candidates[~align.inside_polygon(points[candidates], loop)]
    t, offsets, distance = _onto_loop_segments(points[candidates], loop)
    nearest = np.argmin(distance, axis=1)
    rows = np.arange(len(candidates))
    d0 = distance[rows, nearest]
    keep = (d0 < LIP_SURROUND_REACH * width) & (d0 > 1e-6)
    rows, nearest = rows[keep], nearest[keep]
    axis, normal = _segment_frame(edge[nearest])
    offset = offsets[rows, nearest] / d0[keep][:, None]
    direction = np.stack([(offset * axis).sum(axis=1), (offset * normal).sum(axis=1)], axis=1)
    return LipSurround(candidates[keep], nearest, t[rows, nearest], d0[keep], direction)


def outside_lips(shape: np.ndarray, surround: LipSurround) -> np.ndarray:
    """``shape`` with the skin round the lips kept outside them: a lip that the driver's motion moves
    further than the still's skin beside it allows (the driver's lips and chin differ from the still's)
    pushes that skin ahead of it, so each point keeps at least ``LIP_SKIN_KEPT`` of its distance from the
    lip. Left alone, on the Mona Lisa driven wide open by ``lp_d10`` (frame 99) the lower lip moved 44 px,
    the skin under it 22 and the chin 14: the lip passed over the skin, and the warp tore a flap under it.

    A point moves straight out from its nearest lip segment on the still, in that segment's frame as it
    turns, which keeps the skin round a lip in order as the lip moves; but never more than ``PUSH_REACH``
    times what it lacks of its kept distance from the lips as they now are. Without that bound, a pout
    that turns the mouth's corners upright turned their frames with them and pushed skin far from any
    lip: the cheek 50-70 px across the face and the face's outline into a zigzag (the Mona Lisa crop
    driven by ``lp_d12``, frame 80). Twice, not once: a push of just what is lacking, straight from the
    nearest point, left skin beside the lips that folded over them more often (``bench/mesh_folds.py``).
    The face's outline is pushed as a curve: each outline point's push is shared with its neighbours
    along the outline (``OUTLINE_PUSH_SPREAD``)."""
    loop = shape[OUTER_LIP_LOOP]
    starts = loop[surround.segment]
    edge = np.roll(loop, -1, axis=0)[surround.segment] - starts
    axis, normal = _segment_frame(edge)
    direction = surround.direction[:, :1] * axis + surround.direction[:, 1:] * normal
    anchor = starts + surround.along[:, None] * edge
    points = shape[surround.indices]
    kept = LIP_SKIN_KEPT * surround.distance
    short = kept - ((points - anchor) * direction).sum(axis=1)
    close = short > 0.0
    if not close.any():
        return shape
    short[close] = np.minimum(short[close], PUSH_REACH * (kept[close] - _signed_distance(points[close], loop)))
    push = np.zeros_like(shape)
    push[surround.indices] = np.maximum(short, 0.0)[:, None] * direction
    # A push of one outline point alone cut a notch into the cheek where a three-quarter face's far mouth
    # corner reaches the outline (the Girl with a Pearl Earring under lp_d6: on most frames).
    along = push[_FACE_OUTLINE]
    push[_FACE_OUTLINE] = sum(w * np.roll(along, k, axis=0) for k, w in zip(range(-2, 3), OUTLINE_PUSH_SPREAD))
    return shape + push


def _onto_loop_segments(points: np.ndarray, loop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point against each segment of the closed polygon ``loop`` (segment k from point k to k + 1):
    (P, S) place of its foot along the segment (0..1), (P, S, 2) offset from the foot, (P, S) distance."""
    edge = np.roll(loop, -1, axis=0) - loop
    rel = points[:, None, :] - loop[None]
    t = np.clip((rel * edge[None]).sum(axis=2) / np.maximum((edge ** 2).sum(axis=1), 1e-12)[None], 0.0, 1.0)
    offsets = rel - t[..., None] * edge[None]
    return t, offsets, np.linalg.norm(offsets, axis=2)


def _signed_distance(points: np.ndarray, loop: np.ndarray) -> np.ndarray:
    """Each point's distance from the closed polygon ``loop``, negative inside it."""
    distance = _onto_loop_segments(points, loop)[2].min(axis=1)
    return np.where(align.inside_polygon(points, loop), -distance, distance)


def _segment_frame(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit along, unit across) of each segment of the lip loop: the frame a skin point is placed in."""
    axis = edges / np.maximum(np.linalg.norm(edges, axis=1), 1e-9)[:, None]
    return axis, np.stack([-axis[:, 1], axis[:, 0]], axis=1)
