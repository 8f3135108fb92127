"""A still's open mouth closed to the driver's rest before the driver's expression is added (relative
motion), so that it closes and opens with the driver's instead of holding open all shot."""

from __future__ import annotations

import numpy as np

from ..landmarks import mediapipe_topology as mpt
from .contours import DENSE_INNER_LIPS, DENSE_LIP_RINGS, DENSE_OUTER_LIPS, INNER_LIPS_68, OUTER_LIPS_68, LoopHalves
from .dense import fading_weights
from .lips import along_columns, resampling_weights
from .openness import mouth_openness

# A still's open mouth closes to the driver's neutral opening when it is open wider than that by this
# much (mouth_openness: the inner-lips' gap over the mouth's width; a closed mouth reads about 0.01, a
# smile with teeth or a spoken vowel 0.15-0.3). Lips parted at rest (0.05-0.08) are the sitter's own look.
MOUTH_REST_MARGIN = 0.08
# Wider than this (a shout, a yawn) the still keeps its opening: folded shut, so tall a mouth reopens under
# a lopsided driver in long thin strips, spikes of tongue below the lip (a shouting woman, 0.70).
MOUTH_REST_WIDEST = 0.45
# The share of a closing mouth's gap that the upper lip takes; the jaw lifts the lower lip the rest.
UPPER_LIP_SHARE = 0.3
# iBUG jaw points that rise with the closing lower lip, and the share of its rise each takes.
_CHIN_RISE = {4: 0.15, 5: 0.4, 6: 0.7, 7: 0.9, 8: 0.9, 9: 0.9, 10: 0.7, 11: 0.4, 12: 0.15}


def mouth_at_rest(src68: np.ndarray, src_dense: np.ndarray | None,
                  rest_openness: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The still's shapes (68, dense) with an open mouth closed to ``rest_openness``.

    Relative motion adds the driver's opening to the still's own; a still with an open mouth (a smile
    with teeth, a vowel) would then never close, and open wider than the driver whenever it speaks.
    Closing it first to the driver's neutral opening makes it follow the driver's mouth; the warp
    folds the still's open mouth shut and reopens it, teeth and all, as the driver opens.
    """
    still_openness = float(mouth_openness(src68))
    if not rest_openness + MOUTH_REST_MARGIN < still_openness <= MOUTH_REST_WIDEST:
        return src68, src_dense
    close = 1.0 - rest_openness / still_openness
    down = src68[8] - src68[27]  # nose bridge to chin
    down = down / (np.linalg.norm(down) + 1e-9)
    offset68 = _closing_offsets(src68, INNER_LIPS_68, OUTER_LIPS_68, close, down)
    lower_rise = offset68[list(INNER_LIPS_68.lower[1:-1])].mean(axis=0)
    for point, share in _CHIN_RISE.items():
        offset68[point] = share * lower_rise
    if src_dense is None:
        return src68 + offset68, None
    lips = list(mpt.LIP_RING_POINTS)
    chin = list(_CHIN_RISE)
    anchors = np.vstack([src_dense[lips], src68[chin]])
    lip_offsets = _closing_offsets(src_dense, DENSE_INNER_LIPS, DENSE_OUTER_LIPS, close, down,
                                   DENSE_LIP_RINGS)[lips]
    anchor_offsets = np.vstack([lip_offsets, offset68[chin]])
    eye_span = float(np.linalg.norm(src68[36] - src68[45]))
    offset = fading_weights(src_dense, anchors, eye_span) @ anchor_offsets
    offset[lips] = lip_offsets
    return src68 + offset68, src_dense + offset


def _closing_offsets(points: np.ndarray, inner: LoopHalves, outer: LoopHalves, close: float,
                     down: np.ndarray, rings: tuple[LoopHalves, ...] = ()) -> np.ndarray:
    """Offsets of every point (zero but the lips) that close the inner-lip gap by the fraction ``close``.

    Each inner-lip point closes on the opposite lip's point of the same column (the halves run corner to
    corner in step); the lower lip, carried by the jaw, takes most of the way. Each outer-lip point ends up
    as far from its column's inner point as on the still, but along the face's ``down`` (``up`` for the
    upper lip), blended there by ``close``: the sides of a shout's U-shaped lower lip lie beside the
    opening, and carried up as they are they would leave the closed lip on its side. The ``rings`` of
    points between the contours (inner ring first, each in step with the contours) move in proportion.
    Corners stay.
    """
    offsets = np.zeros_like(points)
    gap = points[list(inner.upper[1:-1])] - points[list(inner.lower[1:-1])]  # lower lip to upper lip
    offsets[list(inner.upper[1:-1])] = -UPPER_LIP_SHARE * close * gap
    offsets[list(inner.lower[1:-1])] = (1.0 - UPPER_LIP_SHARE) * close * gap
    for outer_half, inner_half, sign in ((outer.upper, inner.upper, -1.0), (outer.lower, inner.lower, 1.0)):
        across = resampling_weights(len(inner_half), len(outer_half))[1:-1]  # the inner lip at each outer point
        inner_now = points[list(inner_half)]
        at = [across @ inner_now, across @ (inner_now + offsets[list(inner_half)])]
        own = points[list(outer_half[1:-1])]
        thickness = np.linalg.norm(own - at[0], axis=1)
        upright = at[1] + sign * thickness[:, None] * down
        offsets[list(outer_half[1:-1])] = (1.0 - close) * (own + (at[1] - at[0])) + close * upright - own
    return along_columns(offsets, inner, outer, rings)  # the corners' offsets are zero: theirs stay zero
