"""The eye and lip contours as upper and lower halves, each from one corner to the other, in the 68
points and in the dense mesh."""

from __future__ import annotations

from dataclasses import dataclass

from ..landmarks import mediapipe_topology as mpt


@dataclass(frozen=True)
class LoopHalves:
    """The upper and lower halves of a lip or eye contour, each from one corner to the other."""

    upper: tuple[int, ...]
    lower: tuple[int, ...]


EYES_68_LIDS = (LoopHalves((36, 37, 38, 39), (36, 41, 40, 39)), LoopHalves((42, 43, 44, 45), (42, 47, 46, 45)))
INNER_LIPS_68 = LoopHalves((60, 61, 62, 63, 64), (60, 67, 66, 65, 64))
OUTER_LIPS_68 = LoopHalves((48, 49, 50, 51, 52, 53, 54), (48, 59, 58, 57, 56, 55, 54))
DENSE_LIDS = (LoopHalves(mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), LoopHalves(mpt.LEFT_EYE_UPPER, mpt.LEFT_EYE_LOWER))
DENSE_INNER_LIPS = LoopHalves(mpt.INNER_LIP_UPPER, mpt.INNER_LIP_LOWER)
DENSE_OUTER_LIPS = LoopHalves(mpt.OUTER_LIP_UPPER, mpt.OUTER_LIP_LOWER)
DENSE_LIP_RINGS = tuple(LoopHalves(upper, lower) for upper, lower in zip(mpt.UPPER_LIP_RINGS, mpt.LOWER_LIP_RINGS))
