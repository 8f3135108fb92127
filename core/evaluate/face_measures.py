"""What one face's 68 landmarks say: eye and mouth opening, brow height, head pose, landmark error.

These are the per-frame quantities whose curves the harness compares between an output and its driver
(or the real frame). All are scale-free (ratios or angles), so a 100 px and a 1000 px face compare directly.
"""

from __future__ import annotations

import numpy as np

from ..landmarks import ibug68
from ..motion import eye_openness, mouth_openness

# Head pose from rigid points only — the eye corners and the nose tip — so that no expression (an open
# mouth, a blink, a raised brow) leaks into it. A generic head: the nose tip stands NOSE_DEPTH eye
# distances (between the midpoints of each eye's corners) in front of the eyes and NOSE_DROP below them. Turning the head by yaw moves the tip sideways by
# NOSE_DEPTH * tan(yaw) eye distances; pitching it moves the tip down the face. Absolute angles are only as
# right as those two constants are for a given face; the harness only correlates curves over time.
NOSE_DEPTH = 0.35
NOSE_DROP = 0.65

CURVES = ("mouth", "eyes", "brows", "yaw", "pitch", "roll")


def inter_ocular(landmarks68: np.ndarray) -> np.ndarray:
    """(...) distance between the outer eye corners (points 36 and 45), the 300-W normaliser."""
    p = np.asarray(landmarks68, dtype=np.float64)
    return np.linalg.norm(p[..., 36, :] - p[..., 45, :], axis=-1)


def normalised_landmark_error(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean point-to-point distance over the 68 points, divided by the true inter-ocular distance (NME)."""
    predicted = np.asarray(predicted, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    return float(np.linalg.norm(predicted - truth, axis=-1).mean() / max(inter_ocular(truth), 1e-9))


def brow_height(landmarks68: np.ndarray) -> float:
    """Mean distance of the ten brow points above the line through the eye centres, per inter-ocular."""
    p = np.asarray(landmarks68, dtype=np.float64)
    right, left = p[list(ibug68.RIGHT_EYE)].mean(0), p[list(ibug68.LEFT_EYE)].mean(0)
    axis = (left - right) / max(np.linalg.norm(left - right), 1e-9)
    up = np.array([axis[1], -axis[0]])  # the eye line turned a quarter towards the forehead (y is down)
    heights = (p[list(ibug68.BROWS)] - (right + left) / 2.0) @ up
    return float(heights.mean() / max(inter_ocular(p), 1e-9))


def head_pose(landmarks68: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the eye corners and the nose tip (point 30).

    Signs: yaw > 0 when the face turns towards the image's right, pitch > 0 when it tilts down, roll > 0
    when it rotates clockwise in the image.
    """
    p = np.asarray(landmarks68, dtype=np.float64)
    right, left = (p[36] + p[39]) / 2.0, (p[42] + p[45]) / 2.0  # eye corners: the lids move, corners do not
    axis = left - right
    distance = max(float(np.linalg.norm(axis)), 1e-9)
    across = axis / distance
    down = np.array([-across[1], across[0]])  # the eye line turned a quarter towards the chin (y is down)
    nose = p[30] - (right + left) / 2.0
    yaw = np.arctan2(nose @ across / distance, NOSE_DEPTH)
    # a turned head shows its eyes cos(yaw) closer together; the tip's drop below the eye line, in true eye
    # distances, is NOSE_DROP cos(pitch) + NOSE_DEPTH sin(pitch)
    drop = nose @ down / distance * np.cos(yaw)
    reach = np.hypot(NOSE_DROP, NOSE_DEPTH)
    lean = np.arctan2(NOSE_DEPTH, NOSE_DROP)
    pitch = np.degrees(lean - np.arccos(np.clip(drop / reach, -1.0, 1.0)))
    yaw = np.degrees(yaw)
    roll = np.degrees(np.arctan2(axis[1], axis[0]))
    return float(yaw), float(pitch), float(roll)


def face_curves(landmarks68: np.ndarray) -> dict[str, float]:
    """Every motion quantity of one face: mouth and eye opening, brow height, yaw, pitch, roll."""
    yaw, pitch, roll = head_pose(landmarks68)
    return {"mouth": float(mouth_openness(landmarks68)), "eyes": float(eye_openness(landmarks68).mean()),
            "brows": brow_height(landmarks68), "yaw": yaw, "pitch": pitch, "roll": roll}
