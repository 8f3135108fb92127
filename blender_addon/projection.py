"""Geometry between the still's pixels, the rig's plane and the camera (plain Python + numpy, no bpy).

Pixel coordinates follow the engine: x right, y down, the centre of pixel (i, j) at (i + 0.5, j + 0.5),
so the image spans [0, width] x [0, height]. The still hangs in the world's XZ plane (X right, Z up,
facing the camera at -Y); its larger side is ``PLANE_SIZE`` units long.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLANE_SIZE = 2.0


@dataclass(frozen=True)
class StillPlane:
    """Where a width x height still sits in the world: centred on the origin in the XZ plane."""

    width: int
    height: int

    @property
    def units_per_pixel(self) -> float:
        return PLANE_SIZE / max(self.width, self.height)

    @property
    def size(self) -> tuple[float, float]:
        """World width and height of the plane."""
        return self.width * self.units_per_pixel, self.height * self.units_per_pixel

    def to_world(self, pixels: np.ndarray, depth: np.ndarray | float = 0.0) -> np.ndarray:
        """(N, 2) pixels -> (N, 3) world points; ``depth`` (pixels) moves them toward the camera (-Y)."""
        pixels = np.asarray(pixels, dtype=np.float64)
        u = self.units_per_pixel
        x = (pixels[..., 0] - self.width / 2) * u
        z = (self.height / 2 - pixels[..., 1]) * u
        y = -np.broadcast_to(np.asarray(depth, dtype=np.float64), x.shape) * u
        return np.stack([x, y, z], axis=-1)

    def to_pixels(self, world: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 2) pixels, looking straight at the plane (depth ignored)."""
        world = np.asarray(world, dtype=np.float64)
        u = self.units_per_pixel
        return np.stack([world[..., 0] / u + self.width / 2, self.height / 2 - world[..., 2] / u], axis=-1)

    def vector_to_world(self, deltas: np.ndarray) -> np.ndarray:
        """(N, 3) (dx, dy, depth) pixel displacements -> world displacements."""
        deltas = np.asarray(deltas, dtype=np.float64)
        u = self.units_per_pixel
        return np.stack([deltas[..., 0] * u, -deltas[..., 2] * u, -deltas[..., 1] * u], axis=-1)


def project(world: np.ndarray, view_projection: np.ndarray, width: int, height: int) -> np.ndarray:
    """(..., 3) world points -> (..., 2) pixels through a camera's 4x4 view-projection matrix."""
    world = np.asarray(world, dtype=np.float64)
    clip = _homogeneous(world) @ np.asarray(view_projection, dtype=np.float64).T
    ndc = clip[..., :3] / clip[..., 3:4]
    return np.stack([(ndc[..., 0] + 1) * 0.5 * width, (1 - ndc[..., 1]) * 0.5 * height], axis=-1)


def ndc_depth(world: np.ndarray, view_projection: np.ndarray) -> np.ndarray:
    """(...,) normalised depth of world points: what ``unproject`` needs to land back on the same depth."""
    clip = _homogeneous(np.asarray(world, dtype=np.float64)) @ np.asarray(view_projection, dtype=np.float64).T
    return clip[..., 2] / clip[..., 3]


def unproject(pixels: np.ndarray, depth: np.ndarray, view_projection: np.ndarray,
              width: int, height: int) -> np.ndarray:
    """(..., 2) pixels at normalised depths (...,) -> (..., 3) world points on those pixels' rays."""
    pixels = np.asarray(pixels, dtype=np.float64)
    ndc = np.stack([pixels[..., 0] / width * 2 - 1, 1 - pixels[..., 1] / height * 2,
                    np.asarray(depth, dtype=np.float64), np.ones(pixels.shape[:-1])], axis=-1)
    world = ndc @ np.linalg.inv(np.asarray(view_projection, dtype=np.float64)).T
    return world[..., :3] / world[..., 3:4]


def _homogeneous(points: np.ndarray) -> np.ndarray:
    return np.concatenate([points, np.ones(points.shape[:-1] + (1,))], axis=-1)
