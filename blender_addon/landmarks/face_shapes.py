"""The face rig's expressions as landmark displacements (plain Python + numpy, no bpy).

Every shape is built in the face's own frame (x from the subject's right eye to the left eye, y down the
face) and scaled by the inter-ocular distance, so the same slider means the same expression on a small
or large, upright or tilted face. Displacements are in the still's pixels (x right, y down) plus a depth
toward the camera, the form the rig builder turns into shape keys.

iBUG 68 order: 0-16 jaw, 17-21 / 22-26 right / left brow, 27-35 nose, 36-41 / 42-47 right / left eye,
48-59 outer lips, 60-67 inner lips. "Right" and "Left" are the subject's: ``.R`` keys move the image-left
side of a frontal face, as Blender names mirrored controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POINT_COUNT = 68
RIGHT_EYE = tuple(range(36, 42))
LEFT_EYE = tuple(range(42, 48))

# Shape-key names, in the order the rig panel lists them.
JAW_OPEN = "Jaw Open"
LIPS_PUCKER = "Lips Pucker"
LIPS_STRETCH = "Lips Stretch"
SMILE_L = "Smile.L"
SMILE_R = "Smile.R"
BLINK_L = "Blink.L"
BLINK_R = "Blink.R"
BROWS_UP = "Brows Up"
BROWS_DOWN = "Brows Down"
SHAPE_NAMES = (JAW_OPEN, LIPS_PUCKER, LIPS_STRETCH, SMILE_L, SMILE_R, BLINK_L, BLINK_R, BROWS_UP, BROWS_DOWN)

# A generic face's depth toward the camera, in inter-ocular distances from the eye corners' plane
# (nose tip in front, jaw contour receding toward the ears): what gives a head turn its parallax.
DEPTH_TEMPLATE = np.array(
    [-0.75, -0.65, -0.5, -0.35, -0.2, -0.05, 0.08, 0.18, 0.23, 0.18, 0.08, -0.05, -0.2, -0.35, -0.5, -0.65, -0.75,
     -0.15, 0.0, 0.08, 0.12, 0.12, 0.12, 0.12, 0.08, 0.0, -0.15,
     0.08, 0.18, 0.3, 0.45, 0.15, 0.22, 0.28, 0.22, 0.15,
     0.0, 0.02, 0.02, 0.05, 0.02, 0.02, 0.05, 0.02, 0.02, 0.0, 0.02, 0.02,
     0.03, 0.12, 0.18, 0.2, 0.18, 0.12, 0.03, 0.1, 0.15, 0.17, 0.15, 0.1,
     0.05, 0.12, 0.14, 0.12, 0.05, 0.11, 0.13, 0.11], dtype=np.float64)

# Upper / lower eyelid pairs that meet when the eye closes.
_LID_PAIRS = {BLINK_R: ((37, 41), (38, 40)), BLINK_L: ((43, 47), (44, 46))}
# Jaw-open weights: how far each point follows the chin down (1 = all the way).
_JAW_WEIGHTS = {3: 0.1, 4: 0.3, 5: 0.55, 6: 0.8, 7: 0.95, 8: 1.0, 9: 0.95, 10: 0.8, 11: 0.55, 12: 0.3, 13: 0.1,
                48: 0.4, 54: 0.4, 60: 0.45, 64: 0.45, 55: 0.8, 56: 0.95, 57: 1.0, 58: 0.95, 59: 0.8,
                65: 0.85, 66: 0.95, 67: 0.85, 49: 0.05, 50: 0.05, 51: 0.05, 52: 0.05, 53: 0.05,
                61: 0.08, 62: 0.08, 63: 0.08}
# Smile weights around the subject's left mouth corner (54); the right side mirrors them.
_SMILE_LEFT = {54: 1.0, 64: 0.9, 53: 0.6, 55: 0.6, 63: 0.5, 65: 0.5, 52: 0.3, 56: 0.3, 12: 0.1, 13: 0.05}
_SMILE_RIGHT = {48: 1.0, 60: 0.9, 49: 0.6, 59: 0.6, 61: 0.5, 67: 0.5, 50: 0.3, 58: 0.3, 4: 0.1, 3: 0.05}
_STRETCH = {48: 1.0, 54: 1.0, 60: 0.9, 64: 0.9, 49: 0.5, 53: 0.5, 59: 0.5, 55: 0.5, 61: 0.4, 63: 0.4,
            67: 0.4, 65: 0.4}
_UPPER_LIP = (49, 50, 51, 52, 53, 61, 62, 63)
_LOWER_LIP = (55, 56, 57, 58, 59, 65, 66, 67)
_BROW_WEIGHTS = {17: 0.6, 18: 0.8, 19: 0.95, 20: 1.0, 21: 1.0, 22: 1.0, 23: 1.0, 24: 0.95, 25: 0.8, 26: 0.6}


@dataclass(frozen=True)
class FaceFrame:
    """A face's own axes in the image: ``across`` (right eye -> left eye) and ``down``, and its scale."""

    across: np.ndarray  # (2,) unit vector
    down: np.ndarray  # (2,) unit vector
    iod: float  # inter-ocular distance in pixels (between the eye centres)

    @classmethod
    def of(cls, landmarks: np.ndarray) -> "FaceFrame":
        points = np.asarray(landmarks, dtype=np.float64)
        right_eye = points[list(RIGHT_EYE)].mean(axis=0)
        left_eye = points[list(LEFT_EYE)].mean(axis=0)
        span = left_eye - right_eye
        iod = float(np.hypot(*span))
        if not np.isfinite(iod) or iod < 1e-6:
            raise ValueError("the landmarks have no measurable distance between the eyes")
        across = span / iod
        return cls(across, np.array([-across[1], across[0]]), iod)

    def vector(self, across: float, down: float) -> np.ndarray:
        """A displacement given in inter-ocular distances along the face's axes, in pixels."""
        return (across * self.across + down * self.down) * self.iod


def depth_profile(landmarks: np.ndarray) -> np.ndarray:
    """(68,) depth toward the camera, in pixels, of a generic face scaled to these landmarks."""
    return DEPTH_TEMPLATE * FaceFrame.of(landmarks).iod


def shape_deltas(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Each expression's full-strength displacement: name -> (68, 3) = (dx, dy, depth), in pixels."""
    points = np.asarray(landmarks, dtype=np.float64)
    frame = FaceFrame.of(points)
    shapes = {name: np.zeros((POINT_COUNT, 3)) for name in SHAPE_NAMES}

    def move(name, index, across, down, depth=0.0):
        shapes[name][index, :2] += frame.vector(across, down)
        shapes[name][index, 2] += depth * frame.iod

    for name, weight in _JAW_WEIGHTS.items():
        move(JAW_OPEN, name, 0.0, 0.45 * weight)
    move(JAW_OPEN, [48, 60], 0.04, 0.0)  # the corners draw in a little as the jaw drops
    move(JAW_OPEN, [54, 64], -0.04, 0.0)

    mouth = list(range(48, 68))
    centre = points[mouth].mean(axis=0)
    for index in mouth:
        offset = points[index] - centre
        along = float(offset @ frame.across) / frame.iod
        vertical = float(offset @ frame.down) / frame.iod
        move(LIPS_PUCKER, index, -0.35 * along, -0.1 * vertical if index >= 60 else 0.0, 0.12)

    for index, weight in _STRETCH.items():
        side = 1.0 if float((points[index] - centre) @ frame.across) > 0 else -1.0
        move(LIPS_STRETCH, index, side * 0.15 * weight, 0.03 * weight)
    for index in _UPPER_LIP:
        move(LIPS_STRETCH, index, 0.0, 0.03)
    for index in _LOWER_LIP:
        move(LIPS_STRETCH, index, 0.0, -0.03)

    for index, weight in _SMILE_LEFT.items():
        move(SMILE_L, index, 0.18 * weight, -0.12 * weight)
    for index, weight in _SMILE_RIGHT.items():
        move(SMILE_R, index, -0.18 * weight, -0.12 * weight)
    move(SMILE_L, [46, 47], 0.0, -0.03)  # the lower lid rises with the cheek
    move(SMILE_R, [40, 41], 0.0, -0.03)

    for name, pairs in _LID_PAIRS.items():
        for upper, lower in pairs:
            meet = 0.8 * points[lower] + 0.2 * points[upper]
            shapes[name][upper, :2] = meet - points[upper]
            shapes[name][lower, :2] = meet - points[lower]

    for index, weight in _BROW_WEIGHTS.items():
        move(BROWS_UP, index, 0.0, -0.18 * weight)
        move(BROWS_DOWN, index, 0.0, 0.12 * weight)
    move(BROWS_DOWN, [20, 21], 0.06, 0.0)  # the inner brows knit toward each other
    move(BROWS_DOWN, [22, 23], -0.06, 0.0)
    return shapes
