"""Paste-back: the rendered face crop composited into the full-resolution still.

Only pixels under the matte change; everywhere else the still's values are copied through untouched (bit
for bit). When the renderer gives a sampling map (the warp renderer does), the map is carried to full
resolution and the still itself is resampled, so a face larger than the crop keeps all its detail.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import align
from .render.base import RenderedFace


@dataclass
class PastedFrame:
    """A full frame: the animated still, its straight alpha (or None) and the face matte."""

    rgb: np.ndarray  # (H, W, 3) float32 sRGB
    alpha: np.ndarray | None  # (H, W) float32
    matte: np.ndarray  # (H, W) float32


def paste_back(still_rgb: np.ndarray, still_alpha: np.ndarray | None, crop_from_still: np.ndarray,
               rendered: RenderedFace) -> PastedFrame:
    """Composite ``rendered`` (crop space) into the still (full resolution)."""
    height, width = still_rgb.shape[:2]
    size = rendered.matte.shape[0]
    rgb = still_rgb.copy()
    alpha = None if still_alpha is None else still_alpha.copy()
    matte_full = np.zeros((height, width), np.float32)
    region = _region(crop_from_still, size, width, height)
    if region is None:
        return PastedFrame(rgb, alpha, matte_full)
    x0, y0, x1, y1 = region
    # Crop-space positions of the region's pixel centres, in OpenCV's convention for remap.
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    to_crop = crop_from_still.astype(np.float32)
    qx = to_crop[0, 0] * xs + to_crop[0, 1] * ys + to_crop[0, 2] - 0.5
    qy = to_crop[1, 0] * xs + to_crop[1, 1] * ys + to_crop[1, 2] - 0.5
    matte = cv2.remap(rendered.matte, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    active = matte > 0.0
    if not active.any():
        return PastedFrame(rgb, alpha, matte_full)
    # Work on the active box only.
    rows, cols = np.flatnonzero(active.any(1)), np.flatnonzero(active.any(0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    qx, qy, matte, active = qx[r0:r1, c0:c1], qy[r0:r1, c0:c1], matte[r0:r1, c0:c1], active[r0:r1, c0:c1]
    y0, x0 = y0 + r0, x0 + c0
    y1, x1 = y0 + (r1 - r0), x0 + (c1 - c0)

    warped_alpha = None
    if rendered.source_map is not None:
        # Resample the smooth displacement, not the map itself: OpenCV samples at 1/32 of a crop pixel, which
        # would be a visible error in still pixels when the face is much larger than the crop.
        still_from_crop = align.invert(crop_from_still).astype(np.float32)
        displacement = rendered.source_map - _pixel_centres(size)
        mx = qx + 0.5 + cv2.remap(displacement[..., 0], qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        my = qy + 0.5 + cv2.remap(displacement[..., 1], qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        sx = still_from_crop[0, 0] * mx + still_from_crop[0, 1] * my + still_from_crop[0, 2] - 0.5
        sy = still_from_crop[1, 0] * mx + still_from_crop[1, 1] * my + still_from_crop[1, 2] - 0.5
        warped = cv2.remap(still_rgb, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if still_alpha is not None:
            warped_alpha = cv2.remap(still_alpha, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if rendered.overlay is not None:
            over_a = cv2.remap(rendered.overlay_alpha, qx, qy, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            if over_a.any():
                over = cv2.remap(rendered.overlay, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                warped = warped * (1.0 - over_a[..., None]) + over * over_a[..., None]
                if warped_alpha is not None:
                    warped_alpha = np.maximum(warped_alpha, over_a)
    else:
        warped = cv2.remap(rendered.rgb, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if still_alpha is not None:
            warped_alpha = still_alpha[y0:y1, x0:x1]

    m = matte[..., None]
    block = rgb[y0:y1, x0:x1]
    block[active] = (block * (1.0 - m) + warped * m)[active]
    if alpha is not None and warped_alpha is not None:
        ablock = alpha[y0:y1, x0:x1]
        ablock[active] = (ablock * (1.0 - matte) + warped_alpha * matte)[active]
    matte_full[y0:y1, x0:x1] = matte
    return PastedFrame(rgb, alpha, matte_full)


_CENTRES: dict[int, np.ndarray] = {}


def _pixel_centres(size: int) -> np.ndarray:
    """(size, size, 2) positions of the crop's pixel centres: the identity sampling map."""
    if size not in _CENTRES:
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
        _CENTRES[size] = np.stack([xs, ys], axis=-1)
    return _CENTRES[size]


def _region(crop_from_still: np.ndarray, size: int, width: int, height: int):
    """The still's pixel box covered by the crop square, clipped to the image; None if empty."""
    corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], dtype=np.float64)
    in_still = align.apply(align.invert(crop_from_still), corners)
    x0, y0 = np.floor(in_still.min(0)).astype(int)
    x1, y1 = np.ceil(in_still.max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1
