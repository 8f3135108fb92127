"""Picking the face to animate in a still, and refusing faces that cannot be animated well."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import NoFaceError, UnusableFaceError
from . import ibug68
from .faces import DetectedFace

# Below this many pixels between the jaw ends a face has too little detail for a good animation.
MIN_JAW_WIDTH = 64
# A face whose outline (jaw and brows) lies outside the image by more than this fraction of its area is
# cut by the border: the renderer would have to invent the missing part.
MAX_OUTSIDE_FRACTION = 0.08
# Inner-face points (brows, eyes, nose, mouth) may be this far outside the image, in pixels, before the
# face counts as cut (landmarks of a face touching the border can stick out a little).
INNER_TOLERANCE = 1.0


def choose_face(faces: list[DetectedFace], index: int | None, image_size: tuple[int, int],
                path: str) -> DetectedFace:
    """The face to animate: ``faces[index]`` (largest first, 0-based), the largest when ``index`` is None.

    Raises ``NoFaceError`` when there is no face and ``UnusableFaceError`` when the index is out of range or
    the chosen face is too small or cut by the image border; every message names ``path``.
    """
    if not faces:
        raise NoFaceError(f"{path}: no face found; use an image with a clearly visible face "
                          "(frontal or three-quarter view)")
    if index is None:
        index = 0
    if not 0 <= index < len(faces):
        found = f"{len(faces)} face" + ("s" if len(faces) != 1 else "")
        raise UnusableFaceError(
            f"{path}: face index {index} asked for but {found} found "
            f"(valid indices: 0 to {len(faces) - 1}, largest face first)")
    face = faces[index]
    which = "the face" if len(faces) == 1 else f"face {index}"
    if face.jaw_width < MIN_JAW_WIDTH:
        raise UnusableFaceError(
            f"{path}: {which} is too small ({face.jaw_width:.0f} px across the jaw, at least "
            f"{MIN_JAW_WIDTH} px needed); use a higher-resolution image or one where the face is larger")
    outside = outside_fraction(face.landmarks, image_size)
    inner = face.landmarks[ibug68.JAW[-1] + 1:]
    width, height = image_size
    inner_out = np.any((inner < -INNER_TOLERANCE) | (inner > np.array([width, height]) + INNER_TOLERANCE))
    if outside > MAX_OUTSIDE_FRACTION or inner_out:
        raise UnusableFaceError(
            f"{path}: {which} is cut by the image border ({outside:.0%} of the face lies outside the "
            f"{width}x{height} image); use an image that shows the whole face with some margin")
    return face


def outside_fraction(landmarks: np.ndarray, image_size: tuple[int, int]) -> float:
    """Fraction of the face's area (the hull of its 68 points) that lies outside the image."""
    hull = cv2.convexHull(np.asarray(landmarks, dtype=np.float32)).reshape(-1, 2)
    area = cv2.contourArea(hull)
    if area <= 0:
        return 0.0
    width, height = image_size
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    inside, _ = cv2.intersectConvexConvex(hull, frame)
    return float(max(0.0, 1.0 - inside / area))
