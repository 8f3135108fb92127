"""Paste-back: the rendered face crop composited into the full-resolution still.

Only pixels under the matte change; everywhere else the still's values are copied through untouched (bit
for bit). When the renderer gives a sampling map (the warp renderer does), the map is carried to full
resolution and the still itself is resampled, so a face larger than the crop keeps all its detail.
The geometry (which still pixels the crop covers, and where each lands in the crop) is fixed for a shot,
so ``PasteBack`` computes it once.
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


class PasteBack:
    """Composites crops of one shot into its still."""

    def __init__(self, still_rgb: np.ndarray, still_alpha: np.ndarray | None, crop_from_still: np.ndarray,
                 crop_size: int):
        self.still_rgb, self.still_alpha = still_rgb, still_alpha
        self.size = crop_size
        height, width = still_rgb.shape[:2]
        self.region = _region(crop_from_still, crop_size, width, height)
        self.still_from_crop = align.invert(crop_from_still).astype(np.float32)
        self.centres = _pixel_centres(crop_size)
        if self.region is not None:
            # Crop-space positions of the region's pixel centres, in OpenCV's convention for remap.
            x0, y0, x1, y1 = self.region
            xs = np.arange(x0, x1, dtype=np.float32) + 0.5
            ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
            m = crop_from_still.astype(np.float32)
            self.qx = m[0, 0] * xs + m[0, 1] * ys + (m[0, 2] - 0.5)
            self.qy = m[1, 0] * xs + m[1, 1] * ys + (m[1, 2] - 0.5)
            # The region's pixels in OpenCV's convention: a pixel whose crop position moves by d samples the
            # still here plus the crop-to-still linear part applied to d.
            self.in_still = np.stack(np.meshgrid(np.arange(x0, x1, dtype=np.float32),
                                                 np.arange(y0, y1, dtype=np.float32)), axis=-1)
            self.linear = np.hstack([self.still_from_crop[:, :2], np.zeros((2, 1), np.float32)])

    def __call__(self, rendered: RenderedFace) -> PastedFrame:
        height, width = self.still_rgb.shape[:2]
        rgb = self.still_rgb.copy()
        alpha = None if self.still_alpha is None else self.still_alpha.copy()
        matte_full = np.zeros((height, width), np.float32)
        if self.region is None:
            return PastedFrame(rgb, alpha, matte_full)
        x0, y0, _, _ = self.region
        matte = cv2.remap(rendered.matte, self.qx, self.qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0)
        rows, cols = np.flatnonzero(matte.any(1)), np.flatnonzero(matte.any(0))
        if len(rows) == 0:
            return PastedFrame(rgb, alpha, matte_full)
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1  # the active box only
        matte = matte[r0:r1, c0:c1]
        y0, x0 = y0 + r0, x0 + c0
        y1, x1 = y0 + (r1 - r0), x0 + (c1 - c0)
        warped, warped_alpha = self._warped(rendered, (r0, r1, c0, c1))
        block = rgb[y0:y1, x0:x1]
        _blend_into(block, warped, matte[..., None])
        if alpha is not None and warped_alpha is not None:
            _blend_into(alpha[y0:y1, x0:x1], warped_alpha, matte)
        matte_full[y0:y1, x0:x1] = matte
        return PastedFrame(rgb, alpha, matte_full)

    def _warped(self, rendered: RenderedFace, active):
        """The face at full resolution over the active box (``active``: its rows and columns in the region),
        and its alpha (None for opaque stills, and where the face keeps the still's own alpha)."""
        r0, r1, c0, c1 = active
        qx, qy = self.qx[r0:r1, c0:c1], self.qy[r0:r1, c0:c1]
        if rendered.source_map is None:
            return cv2.remap(rendered.rgb, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), None
        # Resample the smooth displacement, not the map itself: OpenCV samples at 1/32 of a crop pixel, which
        # would be a visible error in still pixels when the face is much larger than the crop.
        moved = cv2.remap(rendered.source_map - self.centres, qx, qy, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
        in_still = cv2.transform(moved, self.linear)
        in_still += self.in_still[r0:r1, c0:c1]
        warped = cv2.remap(self.still_rgb, in_still, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        warped_alpha = None
        if self.still_alpha is not None:
            warped_alpha = cv2.remap(self.still_alpha, in_still, None, cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
        if rendered.overlay is not None:
            self._composite_overlay(rendered, warped, warped_alpha, active)
        return warped, warped_alpha

    def _composite_overlay(self, rendered: RenderedFace, warped, warped_alpha, active) -> None:
        """Paints the renderer's overlay (mouth, lids) over ``warped``, resampling only the part of the
        active box that the overlay's own box can reach (it covers a few percent of the crop)."""
        rows, cols = np.flatnonzero(rendered.overlay_alpha.any(1)), np.flatnonzero(rendered.overlay_alpha.any(0))
        if len(rows) == 0:
            return
        corners = np.array([[cols[0] - 1, rows[0] - 1], [cols[-1] + 2, rows[0] - 1],
                            [cols[-1] + 2, rows[-1] + 2], [cols[0] - 1, rows[-1] + 2]], dtype=np.float64)
        reach = align.apply(self.still_from_crop.astype(np.float64), corners)  # a box around it in the still
        r0, r1, c0, c1 = active
        region_x0, region_y0 = self.region[:2]
        b0 = max(int(np.floor(reach[:, 1].min())) - 1 - region_y0, r0)
        b1 = min(int(np.ceil(reach[:, 1].max())) + 2 - region_y0, r1)
        a0 = max(int(np.floor(reach[:, 0].min())) - 1 - region_x0, c0)
        a1 = min(int(np.ceil(reach[:, 0].max())) + 2 - region_x0, c1)
        if b1 <= b0 or a1 <= a0:
            return
        qx, qy = self.qx[b0:b1, a0:a1], self.qy[b0:b1, a0:a1]
        over_a = cv2.remap(rendered.overlay_alpha, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0)
        if not over_a.any():
            return
        over = cv2.remap(rendered.overlay, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        block = warped[b0 - r0:b1 - r0, a0 - c0:a1 - c0]
        block += (over - block) * over_a[..., None]
        if warped_alpha is not None:
            alpha_block = warped_alpha[b0 - r0:b1 - r0, a0 - c0:a1 - c0]
            np.maximum(alpha_block, over_a, out=alpha_block)


def _blend_into(base: np.ndarray, over: np.ndarray, weight: np.ndarray) -> None:
    """base += (over - base) * weight, in place and without temporaries (``over`` is used up); exact where
    the weight is 0: x + 0 * y == x."""
    np.subtract(over, base, out=over)
    over *= weight
    base += over


def paste_back(still_rgb: np.ndarray, still_alpha: np.ndarray | None, crop_from_still: np.ndarray,
               rendered: RenderedFace) -> PastedFrame:
    """One-off paste-back (``PasteBack`` reuses the geometry across the frames of a shot)."""
    return PasteBack(still_rgb, still_alpha, crop_from_still, rendered.matte.shape[0])(rendered)


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
