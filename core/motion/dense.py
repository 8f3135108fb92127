"""A 68-point driver's motion carried to the still's dense mesh: each dense point a fixed, region-aware
blend of the 68 points' displacements."""

from __future__ import annotations

import numpy as np

from ..landmarks import ibug68
from ..landmarks import mediapipe_topology as mpt
from .contours import DENSE_INNER_LIPS, DENSE_LIDS, DENSE_LIP_RINGS, DENSE_OUTER_LIPS
from .lips import along_columns


def interpolation_from_68(src68: np.ndarray, src_dense: np.ndarray) -> np.ndarray:
    """(D, 68) weights: a dense point's displacement as a blend of the 68 points' displacements.

    Inverse-distance weights (``fading_weights``), region-aware: points of an upper lip or lid never take
    motion from the opposite lip or lid (on a closed mouth they lie on top of each other). The rings of
    points between the inner and outer lips move with their columns, in proportion, as in
    ``_closing_offsets``: weighted on their own, they took some of the opposite lip's motion, dropped with
    an opening mouth while the outer edge stayed, and turned the lip inside out at its corners.
    """
    forbidden = np.zeros((len(src_dense), len(src68)), dtype=bool)
    upper_lip, lower_lip = set(mpt.UPPER_LIP_POINTS), set(mpt.LOWER_LIP_POINTS)
    groups = [(upper_lip, (*range(55, 60), *range(65, 68))), (lower_lip, (*range(49, 54), *range(61, 64)))]
    for halves, (upper_68, lower_68) in zip(DENSE_LIDS, (((37, 38), (40, 41)), ((43, 44), (46, 47)))):
        groups += [(set(halves.upper[1:-1]), lower_68), (set(halves.lower[1:-1]), upper_68)]
    for dense_points, opposite in groups:
        forbidden[np.ix_(sorted(dense_points), list(opposite))] = True
    not_lips = np.setdiff1d(np.arange(len(src_dense)), sorted(upper_lip | lower_lip))
    forbidden[np.ix_(not_lips, list(ibug68.INNER_LIPS))] = True
    weights = fading_weights(src_dense, src68, float(np.linalg.norm(src68[36] - src68[45])), forbidden)
    return along_columns(weights, DENSE_INNER_LIPS, DENSE_OUTER_LIPS, DENSE_LIP_RINGS)


def fading_weights(points: np.ndarray, anchors: np.ndarray, scale: float,
                    forbidden: np.ndarray | None = None) -> np.ndarray:
    """(P, A) weights blending the anchors' displacements at each point: inverse cube of the distance
    (``scale`` apart counts as 1), normalised, and fading out with the distance to the nearest anchor, so
    far points (the hairline) are not dragged by the mouth. ``forbidden`` (P, A): pairs that weigh nothing.
    """
    dist = np.linalg.norm(points[:, None, :] - anchors[None, :, :], axis=-1)
    weights = 1.0 / np.maximum(dist / scale, 1e-3) ** 3
    if forbidden is not None:
        weights[forbidden] = 0.0
    weights /= weights.sum(axis=1, keepdims=True)
    fade = np.exp(-(dist.min(axis=1) / (0.6 * scale)) ** 2)
    return weights * fade[:, None]
