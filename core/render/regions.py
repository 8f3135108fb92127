"""Polygon regions of the face crop: their boxes, anti-aliased masks and pixels, and the overlays painted
over them (the mouth interior, the eyelids)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..align import to_opencv

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709 weights: the brightness of region pixels


@dataclass
class Overlay:
    """An RGB patch and its alpha over the crop box ``(x0, y0, x1, y1)``."""

    rgb: np.ndarray  # (h, w, 3) float32
    alpha: np.ndarray  # (h, w) float32
    box: tuple[int, int, int, int]


def bounding_box(loop: np.ndarray, pad: int, size: int | tuple[int, int]) -> tuple[int, int, int, int]:
    """The padded bounding box of ``loop``, clipped to an image of ``size`` (side, or (height, width));
    empty (x1 <= x0 or y1 <= y0) where the loop lies outside the image."""
    height, width = (size, size) if isinstance(size, int) else size
    x0, y0 = np.floor(np.asarray(loop).min(0)).astype(int) - pad
    x1, y1 = np.ceil(np.asarray(loop).max(0)).astype(int) + pad
    return max(int(x0), 0), max(int(y0), 0), min(int(x1), width), min(int(y1), height)


def polygon_mask(loop: np.ndarray, box, feather: float) -> np.ndarray:
    """Anti-aliased coverage of a polygon over ``box``, optionally feathered inwards."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    pts = np.round((np.asarray(loop) - [x0 + 0.5, y0 + 0.5]) * 16.0).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=4)
    alpha = mask.astype(np.float32) / 255.0
    if feather > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), feather) * (alpha > 0)
    return alpha


def region_pixels(rgb: np.ndarray, loop: np.ndarray, hole: np.ndarray | None = None) -> np.ndarray:
    """(N, 3) pixels of ``rgb`` mostly inside the polygon ``loop`` and outside the polygon ``hole``; none
    where the region misses the image (callers choose their own fallback for a region too small to sample)."""
    box = bounding_box(loop, 1, rgb.shape[:2])
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return rgb[:0, :0].reshape(0, rgb.shape[-1])
    inside = polygon_mask(loop, box, 0.0) > 0.5
    if hole is not None:
        inside &= ~(polygon_mask(hole, box, 0.0) > 0.5)
    return rgb[y0:y1, x0:x1][inside]


def smoothstep(t: np.ndarray) -> np.ndarray:
    """0 -> 1 as ``t`` goes 0 -> 1 (clipped), flat at both ends: masks and weights that fade in without a
    visible kink where the fade starts or ends."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def warp_into_box(image: np.ndarray, matrix: np.ndarray, box) -> np.ndarray:
    """``image`` mapped by ``matrix`` (our pixel convention) into ``box``."""
    x0, y0, x1, y1 = box
    local = matrix.copy()
    local[:, 2] -= (x0, y0)
    return cv2.warpAffine(image, to_opencv(local), (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)
