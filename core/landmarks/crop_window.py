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
        """A window of ``side`` pixels centred on ``center``, sampled at no more than ``max_size`` px."""
        side = max(float(side), 1.0)
        size = int(max(1, min(max_size, math.ceil(side))))
        return cls((float(center[0]) - side / 2, float(center[1]) - side / 2), side, size)

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
