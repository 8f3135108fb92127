"""Aligned face crops for measuring: the same square view of an output and of the frame it is compared to.

A crop is a similarity (2x3, our pixel convention: centres at +0.5) from frame pixels to crop pixels, made by
``align.face_crop_transform`` (FFHQ framing). Points measured in a crop map back to the frame with
``to_frame``, so landmark curves stay in one coordinate system even when each frame's crop differs.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import align

MEASURE_SIZE = 256  # face-crop side for SSIM/PSNR/MS-SSIM and dlib (MS-SSIM needs more than 160 px)


def crop_transform(landmarks68: np.ndarray, size: int = MEASURE_SIZE, zoom: float = 1.0) -> np.ndarray:
    """Frame pixels -> a ``size`` square face crop around ``landmarks68`` (zoom < 1 frames wider)."""
    return align.face_crop_transform(landmarks68, size, zoom=zoom)


def cut(image: np.ndarray, crop_from_frame: np.ndarray, size: int = MEASURE_SIZE,
        outside: float | None = None) -> np.ndarray:
    """The crop of ``image`` (any dtype, HxWxC), bilinear.

    Beyond the frame's edge the edge pixels are repeated (as the engine's own crops do), or, for pictures
    people look at, filled with the grey level ``outside`` so the frame's edge stays visible.
    """
    matrix = align.to_opencv(crop_from_frame)
    if outside is None:
        return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(outside,) * 4)


def to_frame(points: np.ndarray, crop_from_frame: np.ndarray) -> np.ndarray:
    """Crop-pixel points -> frame-pixel points."""
    return align.apply(align.invert(crop_from_frame), points).astype(np.float32)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8, rounded (what a viewer and dlib see)."""
    return np.clip(np.round(np.asarray(rgb, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
