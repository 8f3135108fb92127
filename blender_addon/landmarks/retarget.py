"""Retargeting a driver's landmark track onto a still's face (plain Python + numpy, no bpy).

The motion is split the way an animator thinks about it: a head move per frame (a similarity transform
fitted to the rigid points: eye corners and nose) and the expression left over once the head move is
undone. Both are measured against the driver's neutral frame and carried over to the still's face, so at
the neutral frame the rig sits exactly on the still's own landmarks and the still keeps its own face
shape (relative motion, as the engine's default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Points that move with the head, not with the expression: nose and eye corners.
RIGID_POINTS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)
# Inner-lip pairs (upper, lower) that meet when the mouth closes and must not pass each other.
INNER_LIP_PAIRS = ((61, 67), (62, 66), (63, 65))
# Each inner-lip pair's outer-lip points (upper, lower), which move with it when the still's mouth closes.
OUTER_LIP_COLUMNS = (((49, 50), (59, 58)), ((51,), (57,)), ((52, 53), (56, 55)))
# As the engine's relative motion (``close_mouth``): a still whose mouth is open wider than the driver's
# neutral by MOUTH_REST_MARGIN (mean inner-lip gap over mouth width), and no wider than MOUTH_REST_WIDEST,
# rests with it closed to the neutral's opening; the lower lip takes all but UPPER_LIP_SHARE of the gap,
# and the chin rises with it.
MOUTH_REST_MARGIN = 0.08
MOUTH_REST_WIDEST = 0.45
UPPER_LIP_SHARE = 0.3
# As the engine's ``auto`` neutral frame: a nose tip up to TURN_FREE eye distances off its usual place along the
# eye line (a turn of about 8°) costs nothing; past it, each further TURN_SCALE weighs as much as 0.1 rad of roll.
TURN_FREE = 0.05
TURN_SCALE = 0.05
CHIN_RISE = {4: 0.15, 5: 0.4, 6: 0.7, 7: 0.9, 8: 0.9, 9: 0.9, 10: 0.7, 11: 0.4, 12: 0.15}


@dataclass(frozen=True)
class Similarity:
    """``p -> scale * R(angle) @ p + translation`` in image pixels (x right, y down; a positive angle
    turns +x toward +y, i.e. clockwise on screen)."""

    scale: float = 1.0
    angle: float = 0.0
    translation: tuple[float, float] = (0.0, 0.0)

    @property
    def linear(self) -> np.ndarray:
        c, s = math.cos(self.angle), math.sin(self.angle)
        return self.scale * np.array([[c, -s], [s, c]])

    def apply(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=np.float64) @ self.linear.T + np.asarray(self.translation)

    def inverse(self) -> "Similarity":
        inverse_linear = np.linalg.inv(self.linear)
        return Similarity(1.0 / self.scale, -self.angle, tuple(-(inverse_linear @ np.asarray(self.translation))))

    def then(self, other: "Similarity") -> "Similarity":
        """``other`` applied after ``self``."""
        translation = other.linear @ np.asarray(self.translation) + np.asarray(other.translation)
        return Similarity(self.scale * other.scale, _wrap(self.angle + other.angle), tuple(translation))

    @classmethod
    def fit(cls, source: np.ndarray, target: np.ndarray) -> "Similarity":
        """The least-squares similarity taking ``source`` points onto ``target`` (Umeyama, no reflection)."""
        src = np.asarray(source, dtype=np.float64)
        dst = np.asarray(target, dtype=np.float64)
        src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
        src_c, dst_c = src - src_mean, dst - dst_mean
        variance = float((src_c ** 2).sum())
        if variance <= 1e-12:
            raise ValueError("cannot fit a similarity to coincident points")
        # For 2-D points the optimal rotation and scale come from two sums (complex-number form).
        dot = float((src_c * dst_c).sum())
        cross = float((src_c[:, 0] * dst_c[:, 1] - src_c[:, 1] * dst_c[:, 0]).sum())
        angle = math.atan2(cross, dot)
        scale = math.hypot(dot, cross) / variance
        result = cls(scale, angle, (0.0, 0.0))
        return cls(scale, angle, tuple(dst_mean - result.apply(src_mean[None])[0]))


@dataclass
class Performance:
    """A driver's motion on the still: per frame, the head move and the resulting landmarks."""

    frame_numbers: np.ndarray  # (F,) int, the driver's frame numbers
    heads: list[Similarity | None]  # per frame, in the still's pixels; None where the driver has no face
    landmarks: np.ndarray  # (F, 68, 2) float64 in the still's pixels; NaN rows where there is no face

    @property
    def valid(self) -> np.ndarray:
        return np.array([head is not None for head in self.heads])


def retarget(driver: np.ndarray, frame_numbers: np.ndarray, still: np.ndarray,
             neutral_row: int | None = None, close_mouth: bool = True) -> Performance:
    """Carry a driver track (F, 68, 2) over to the still's landmarks (68, 2).

    ``neutral_row`` is the driver row whose face counts as the rest pose (default: the most relaxed
    frame, see ``choose_neutral``). For each frame, with H the head move from the neutral frame and S the map from the driver's
    neutral face to the still's: head = S∘H∘S⁻¹, landmarks = head(rest + S·expression), where rest is the
    still with an open mouth closed to the neutral's opening (``mouth_at_rest``; the still itself when
    ``close_mouth`` is off).
    """
    driver = np.asarray(driver, dtype=np.float64)
    still = np.asarray(still, dtype=np.float64)
    valid = np.isfinite(driver).all(axis=(1, 2))
    if not valid.any():
        raise ValueError("the driver has no frame with a face")
    if neutral_row is None:
        neutral_row = choose_neutral(driver)
    if not valid[neutral_row]:
        raise ValueError(f"the neutral frame (row {neutral_row}) has no face")
    rigid = list(RIGID_POINTS)
    neutral = driver[neutral_row]
    to_still = Similarity.fit(neutral[rigid], still[rigid])
    from_still = to_still.inverse()
    rest = mouth_at_rest(still, neutral) if close_mouth else still
    heads: list[Similarity | None] = []
    out = np.full(driver.shape, np.nan)
    for row in range(driver.shape[0]):
        if not valid[row]:
            heads.append(None)
            continue
        move = Similarity.fit(neutral[rigid], driver[row][rigid])
        expression = move.inverse().apply(driver[row]) - neutral
        head = from_still.then(move).then(to_still)
        heads.append(head)
        shape = _uncross_lips(rest + expression @ to_still.linear.T, rest)
        out[row] = head.apply(shape)
    return Performance(np.asarray(frame_numbers), heads, out)


def choose_neutral(driver: np.ndarray) -> int:
    """The row of the most relaxed face (the engine's ``auto`` rule): mouth closed, eyes as open as usual,
    head as usual (its roll, and past ``TURN_FREE`` its turn: the nose tip where it usually is along the eye
    line). A talking clip rarely starts on such a frame, a neutral with an open mouth would turn every
    closed mouth into lips pressed through each other, and a turned one would turn the rig whenever the
    driver faces the camera."""
    driver = np.asarray(driver, dtype=np.float64)
    rows = np.flatnonzero(np.isfinite(driver).all(axis=(1, 2)))
    points = driver[rows]
    width = np.linalg.norm(points[:, 48] - points[:, 54], axis=-1) + 1e-9
    mouth = np.linalg.norm(points[:, 62] - points[:, 66], axis=-1) / width
    eyes = np.mean([np.linalg.norm(points[:, a] - points[:, b], axis=-1) for a, b in ((37, 41), (38, 40), (43, 47), (44, 46))],
                   axis=0) / width
    rigid = list(RIGID_POINTS)
    reference = np.median(points, axis=0)[rigid]
    angles = np.array([abs(Similarity.fit(reference, p[rigid]).angle) for p in points])
    right, left = (points[:, 36] + points[:, 39]) / 2.0, (points[:, 42] + points[:, 45]) / 2.0
    axis = left - right
    turn = ((points[:, 30] - (right + left) / 2.0) * axis).sum(1) / np.maximum((axis * axis).sum(1), 1e-18)
    turned = np.maximum(np.abs(turn - np.median(turn)) - TURN_FREE, 0.0)
    score = (mouth / (np.median(mouth) + 0.05) + 2.0 * np.abs(eyes - np.median(eyes)) / (np.median(eyes) + 1e-6)
             + angles / 0.1 + turned / TURN_SCALE)
    return int(rows[int(np.argmin(score))])


def mouth_opening(points: np.ndarray) -> float:
    """Mean inner-lip gap over the mouth's width (the engine's ``mouth_openness``)."""
    gap = np.mean([np.linalg.norm(points[upper] - points[lower]) for upper, lower in INNER_LIP_PAIRS])
    return float(gap / (np.linalg.norm(points[54] - points[48]) + 1e-9))


def mouth_at_rest(still: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """``still`` with an open mouth closed to the driver's ``neutral`` opening, so that the rig's mouth shuts
    when the driver's does (a smile with teeth, a vowel); parted lips and shouts are left as they are."""
    still_opening, rest_opening = mouth_opening(still), mouth_opening(neutral)
    if not rest_opening + MOUTH_REST_MARGIN < still_opening <= MOUTH_REST_WIDEST:
        return still
    close = 1.0 - rest_opening / still_opening
    rest = still.copy()
    rises = []
    for (upper, lower), (outer_upper, outer_lower) in zip(INNER_LIP_PAIRS, OUTER_LIP_COLUMNS):
        gap = still[upper] - still[lower]  # lower lip to upper lip
        drop, rise = -UPPER_LIP_SHARE * close * gap, (1.0 - UPPER_LIP_SHARE) * close * gap
        rest[[upper, *outer_upper]] += drop
        rest[[lower, *outer_lower]] += rise
        rises.append(rise)
    for point, share in CHIN_RISE.items():
        rest[point] += share * np.mean(rises, axis=0)
    return rest


def _uncross_lips(shape: np.ndarray, still: np.ndarray) -> np.ndarray:
    """Where a lower inner-lip point rose above its upper partner (across the still's mouth line) by more
    than in the still itself, move the pair apart to that limit: lips close, they never pass through."""
    across = still[54] - still[48]
    down = np.array([-across[1], across[0]]) / (np.linalg.norm(across) + 1e-9)
    for upper, lower in INNER_LIP_PAIRS:
        floor = min(0.0, float((still[lower] - still[upper]) @ down))
        gap = float((shape[lower] - shape[upper]) @ down)
        if gap < floor:
            shift = (floor - gap) / 2 * down
            shape[upper] -= shift
            shape[lower] += shift
    return shape


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi
