"""The lips' own shape under motion: a lip thins and swells in proportion to its own thickness, the
inner lips never cross, and the rings of points between the lip contours move with their columns."""

from __future__ import annotations

import numpy as np

from .contours import LoopHalves

# A lip's thickness follows the driver's in proportion (the still's over the driver's at neutral, within
# these bounds): added as it is, the change of a full-lipped driver's lips swelled a thin-lipped still's
# into a red band that read as an open mouth, and thinned them to nothing at the widest openings.
LIP_THICKNESS_SCALE = (0.25, 2.0)


class LipThickness:
    """Scales the part of each lip point's motion that changes the lip's thickness (its motion less that of
    the inner lip across from it) by the still's thickness over the driver's at neutral, so that a lip thins
    and swells in proportion to its own thickness. ``driver`` is the driver's neutral shape in the still's
    scale; the ``rings`` between the contours (same columns as the inner lips) follow their columns."""

    def __init__(self, still: np.ndarray, driver: np.ndarray, inner: LoopHalves, outer: LoopHalves,
                 rings: tuple[LoopHalves, ...] = ()):
        self.columns = []  # (lip points, the inner half, weights onto it, thickness scales)
        for side in ("upper", "lower"):
            inner_half = list(getattr(inner, side))
            for half in [list(getattr(outer, side))] + [list(getattr(ring, side)) for ring in rings]:
                points = half[1:-1]  # the corners: no thickness
                weights = resampling_weights(len(inner_half), len(half))[1:-1]
                thickness = [np.linalg.norm(shape[points] - weights @ shape[inner_half], axis=1)
                             for shape in (still, driver)]
                scales = np.clip(thickness[0] / np.maximum(thickness[1], 1e-6), *LIP_THICKNESS_SCALE)
                self.columns.append((points, inner_half, weights, scales))

    def scale(self, delta: np.ndarray) -> np.ndarray:
        """``delta`` (driver motion in the still's scale, per point) with the lips' thickness change scaled."""
        delta = delta.copy()
        for points, inner_half, weights, scales in self.columns:
            across = weights @ delta[inner_half]
            delta[points] = across + scales[:, None] * (delta[points] - across)
        return delta


def resampling_weights(count_from: int, count_to: int) -> np.ndarray:
    """(count_to, count_from) linear interpolation weights between two polylines' points spaced evenly by
    index, ends matched (a lip contour of 7 points over one of 5)."""
    at = np.linspace(0.0, count_from - 1.0, count_to)
    low = np.minimum(np.floor(at).astype(int), count_from - 2)
    frac = at - low
    weights = np.zeros((count_to, count_from))
    weights[np.arange(count_to), low] = 1.0 - frac
    weights[np.arange(count_to), low + 1] = frac
    return weights


def along_columns(rows: np.ndarray, inner: LoopHalves, outer: LoopHalves,
                   rings: tuple[LoopHalves, ...]) -> np.ndarray:
    """``rows`` (one per point: an offset, a row of weights) with each lip ring point's set in proportion
    between its column's inner and outer lip points' (ring k of n at (k + 1) / (n + 1) of the way out, inner
    ring first, corners included), in place: the rings between the lip contours move with their columns."""
    for ring_pair, share in zip(rings, np.arange(1, len(rings) + 1) / (len(rings) + 1)):
        for ring, inner_half, outer_half in ((ring_pair.upper, inner.upper, outer.upper),
                                             (ring_pair.lower, inner.lower, outer.lower)):
            rows[list(ring)] = (1.0 - share) * rows[list(inner_half)] + share * rows[list(outer_half)]
    return rows


def uncross(shape: np.ndarray, lips: LoopHalves) -> np.ndarray:
    """Inner lips may touch but not pass through each other (y grows downwards on an upright face)."""
    shape = shape.copy()
    upper, lower = list(lips.upper[1:-1]), list(lips.lower[1:-1])
    t_upper = shape[upper, 0]
    lower_y = np.interp(t_upper, *_sorted_xy(shape[lower]))
    crossed = shape[upper, 1] > lower_y
    if crossed.any():
        mid = (shape[upper, 1] + lower_y) / 2.0
        shape[np.array(upper)[crossed], 1] = mid[crossed]
        upper_y = np.interp(shape[lower, 0], *_sorted_xy(shape[upper]))
        below = shape[lower, 1] < upper_y
        shape[np.array(lower)[below], 1] = upper_y[below]
    return shape


def _sorted_xy(points: np.ndarray):
    order = np.argsort(points[:, 0])
    return points[order, 0], points[order, 1]
