"""Square, axis-aligned windows cut out of an image at a chosen resolution, and the way back.

Landmark networks see a face at a fixed small size (MediaPipe's mesh: 192 px). Cutting a window around the
face first keeps that true for a 300 px face in a 6000 px scan (no need to hand the whole scan to the
network) and for a 4000 px face (downscaled here with area averaging instead of aliased bilinear sampling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# A whole-pixel window sticking out of the image is padded to full size before resizing up to this side;
# larger ones (a big scan's whole-image window) are resampled from the part inside to save memory.
MAX_PADDED_SIDE = 4096


@dataclass(frozen=True)
class CropWindow:
    """A square window of ``side`` image pixels whose top-left corner is ``origin``, sampled at ``size`` px.

    Coordinates are continuous (pixel centres at +0.5) in both the image and the crop:
    ``image_xy = origin + crop_xy * side / size``.
    """

    origin: tuple[float, float]
    side: float
    size: int

    @classmethod
    def around(cls, center, side: float, max_size: int) -> "CropWindow":
        """A window of at least ``side`` pixels around ``center``, on the image's pixel grid (so a copy, or
        an area-average when it is larger than ``max_size``, needs no sub-pixel resampling)."""
        whole = max(1, math.ceil(side))
        origin = (float(math.floor(center[0] - whole / 2)), float(math.floor(center[1] - whole / 2)))
        return cls(origin, float(whole), int(max(1, min(max_size, whole))))

    @property
    def scale(self) -> float:
        """Crop pixels per image pixel."""
        return self.size / self.side

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Crop coordinates -> image coordinates."""
        return np.asarray(points, dtype=np.float64) / self.scale + np.asarray(self.origin)

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Image coordinates -> crop coordinates."""
        return (np.asarray(points, dtype=np.float64) - np.asarray(self.origin)) * self.scale

    def cut(self, image: np.ndarray, fill: int | None = None) -> np.ndarray:
        """The (size, size, C) crop; outside the image the border pixels repeat, or are ``fill`` if given."""
        x0, y0 = self.origin
        height, width = image.shape[:2]
        if float(x0).is_integer() and float(y0).is_integer() and float(self.side).is_integer():
            x0, y0, side = int(x0), int(y0), int(self.side)
            inside = x0 >= 0 and y0 >= 0 and x0 + side <= width and y0 + side <= height
            pixels = self._pixels(image, x0, y0, side, fill) if inside or side <= MAX_PADDED_SIDE else None
            if pixels is not None:
                if self.size == side:
                    return pixels
                # bilinear reads every pixel down to half size and is much faster than area averaging
                area = self.size * 2 < side
                return cv2.resize(pixels, (self.size, self.size),
                                  interpolation=cv2.INTER_AREA if area else cv2.INTER_LINEAR)
        return self._resampled(image, fill)

    @staticmethod
    def _pixels(image: np.ndarray, x0: int, y0: int, side: int, fill: int | None) -> np.ndarray | None:
        """The image's pixels in [x0, x0 + side) x [y0, y0 + side), padded where the window leaves the image;
        None when it misses the image entirely."""
        height, width = image.shape[:2]
        inside = image[max(0, y0):max(0, min(height, y0 + side)), max(0, x0):max(0, min(width, x0 + side))]
        if inside.size == 0:
            return None
        if inside.shape[:2] == (side, side):
            return np.ascontiguousarray(inside)
        top, left = max(0, -y0), max(0, -x0)
        bottom, right = side - top - inside.shape[0], side - left - inside.shape[1]
        if fill is None:
            return cv2.copyMakeBorder(inside, top, bottom, left, right, cv2.BORDER_REPLICATE)
        return cv2.copyMakeBorder(inside, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(fill,) * 4)

    def _resampled(self, image: np.ndarray, fill: int | None) -> np.ndarray:
        """Any window (sub-pixel origin or side): area pre-shrink, then one bilinear warp."""
        height, width = image.shape[:2]
        x0, y0 = self.origin
        # the image region the window reads from, one pixel wider for interpolation, clipped to the image
        ix0 = min(max(0, math.floor(x0) - 1), width - 1)
        iy0 = min(max(0, math.floor(y0) - 1), height - 1)
        ix1 = max(min(width, math.ceil(x0 + self.side) + 1), ix0 + 1)
        iy1 = max(min(height, math.ceil(y0 + self.side) + 1), iy0 + 1)
        region = image[iy0:iy1, ix0:ix1]
        fx = fy = 1.0
        if self.scale < 0.5:
            # area-average down to twice the target resolution; the bilinear warp below does the rest
            rw = max(1, round(region.shape[1] * self.scale * 2))
            rh = max(1, round(region.shape[0] * self.scale * 2))
            fx, fy = rw / region.shape[1], rh / region.shape[0]
            region = cv2.resize(region, (rw, rh), interpolation=cv2.INTER_AREA)
        # continuous mapping region -> crop: X_crop = a * X_region + b; cv2 works on pixel indices (-0.5)
        ax, ay = self.scale / fx, self.scale / fy
        bx, by = (ix0 - x0) * self.scale, (iy0 - y0) * self.scale
        matrix = np.array([[ax, 0.0, 0.5 * ax + bx - 0.5], [0.0, ay, 0.5 * ay + by - 0.5]])
        if fill is None:
            return cv2.warpAffine(region, matrix, (self.size, self.size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
        return cv2.warpAffine(region, matrix, (self.size, self.size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(fill,) * 4)
