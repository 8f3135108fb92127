"""Rasterise 68 landmarks into the coloured line drawing the networks read.

As in Zakharov et al. (2019), each facial region is a polyline in its own colour on black: the networks
see which stroke is a lip and which is a brow, so a mouth opening and a raised brow are unambiguous.
Drawing uses OpenCV's anti-aliased polylines with sub-pixel coordinates, so a landmark moving by a
fraction of a pixel still changes the picture (the generator's motion is only as smooth as its input).
"""

from __future__ import annotations

import cv2
import numpy as np

from .landmarks import ibug68

# (indices, closed, RGB colour in [0, 255]); order is draw order, later strokes on top.
REGIONS: tuple[tuple[tuple[int, ...], bool, tuple[int, int, int]], ...] = (
    (ibug68.JAW, False, (255, 255, 255)),
    (ibug68.RIGHT_BROW, False, (255, 64, 64)),
    (ibug68.LEFT_BROW, False, (255, 160, 0)),
    (ibug68.NOSE_BRIDGE, False, (64, 96, 255)),
    (ibug68.NOSE_BASE, False, (0, 200, 255)),
    (ibug68.RIGHT_EYE, True, (64, 255, 64)),
    (ibug68.LEFT_EYE, True, (200, 255, 0)),
    (ibug68.OUTER_LIPS, True, (255, 0, 255)),
    (ibug68.INNER_LIPS, True, (160, 64, 255)),
)

_SUBPIXEL_BITS = 4  # OpenCV fixed-point shift: coordinates in 1/16 pixel


def default_thickness(size: int) -> int:
    """Stroke width that looks the same relative to the face at any size (2 px at 256)."""
    return max(1, int(round(size / 128)))


def draw_sketch(landmarks: np.ndarray, size: int, *, from_size: float | None = None,
                thickness: int | None = None) -> np.ndarray:
    """The sketch of one face: (size, size, 3) float32 RGB in [0, 1].

    ``landmarks`` are (68, 2) pixel coordinates (pixel centres at +0.5) in an image of ``from_size``
    pixels across (default: ``size``); they are scaled to ``size``. Non-finite points are an error: a
    frame without a face has no sketch, and drawing zeros would teach a network a wrong face.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (ibug68.COUNT, 2):
        raise ValueError(f"landmarks must have shape (68, 2), got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("landmarks contain NaN or infinite values; a frame without a face has no sketch")
    if size < 8:
        raise ValueError(f"sketch size must be at least 8 pixels, got {size}")
    scale = 1.0 if from_size is None else size / float(from_size)
    # OpenCV puts pixel centres at integer coordinates; ours are at +0.5.
    fixed = np.round((points * scale - 0.5) * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    width = default_thickness(size) if thickness is None else int(thickness)
    for indices, closed, colour in REGIONS:
        cv2.polylines(canvas, [fixed[list(indices)].reshape(-1, 1, 2)], closed, colour, width,
                      lineType=cv2.LINE_AA, shift=_SUBPIXEL_BITS)
    return canvas.astype(np.float32) / 255.0


def draw_sketches(landmarks: np.ndarray, size: int, *, from_size: float | None = None,
                  thickness: int | None = None) -> np.ndarray:
    """Sketches of a batch of faces: (N, 68, 2) -> (N, size, size, 3) float32."""
    points = np.asarray(landmarks)
    if points.ndim != 3:
        raise ValueError(f"landmarks must have shape (N, 68, 2), got {points.shape}")
    return np.stack([draw_sketch(p, size, from_size=from_size, thickness=thickness) for p in points])
