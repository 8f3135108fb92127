"""Reading and writing the engine's ``.npz`` landmark file (plain Python + numpy, no bpy).

Blender's Python has no access to the engine package, so the format written by
``portrait_animator.landmarks.track`` is mirrored here: ``landmarks`` (frames, 68, 2) float32 pixel
coordinates (x right, y down, pixel centres at +0.5; NaN rows where there is no face), ``confidence``,
``frame_numbers`` (1-based), ``image_size`` (width, height), ``fps`` and a JSON ``meta`` string.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import AddonError

POINT_COUNT = 68
FORMAT_NAME = "portrait-animator/landmarks"


@dataclass
class LandmarkData:
    """One face's landmarks over frames, as stored in a landmark file."""

    landmarks: np.ndarray  # (F, 68, 2) float32
    frame_numbers: np.ndarray  # (F,) int32, increasing
    confidence: np.ndarray | None = None  # (F,) float32; default 1 where the row is finite
    image_size: tuple[int, int] | None = None  # (width, height) of the image the points refer to
    fps: float = 25.0
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        self.frame_numbers = np.asarray(self.frame_numbers, dtype=np.int32)
        if self.confidence is None:
            self.confidence = np.isfinite(self.landmarks).all(axis=(1, 2)).astype(np.float32)
        self.confidence = np.asarray(self.confidence, dtype=np.float32)

    @property
    def valid(self) -> np.ndarray:
        """(F,) bool: rows that have a face."""
        return np.isfinite(self.landmarks).all(axis=(1, 2))


def write_landmark_file(path: str, data: LandmarkData) -> None:
    """Write ``data`` atomically (temp file in the same folder, then rename)."""
    frames = data.landmarks.shape[0]
    if data.landmarks.shape != (frames, POINT_COUNT, 2) or frames == 0:
        raise AddonError(f"{path}: landmarks must be (frames, 68, 2), got {data.landmarks.shape}")
    arrays = {
        "landmarks": data.landmarks,
        "confidence": data.confidence,
        "frame_numbers": data.frame_numbers,
        "fps": np.float64(data.fps),
        "meta": np.array(json.dumps({"format": FORMAT_NAME, **data.meta})),
    }
    if data.image_size is not None:
        arrays["image_size"] = np.asarray(data.image_size, dtype=np.int32)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}.npz")
    try:
        os.makedirs(folder, exist_ok=True)
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except OSError as exc:
        raise AddonError(f"{path}: cannot write the landmark file ({exc.strerror or exc})") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_landmark_file(path: str) -> LandmarkData:
    """Read and check a landmark file; any problem is an ``AddonError`` naming the file."""
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise AddonError(f"{path}: landmark file not found") from None
    except Exception as exc:  # zipfile and numpy raise many types for a corrupt file
        raise AddonError(f"{path}: not a readable .npz landmark file ({exc})") from None
    points = arrays.get("landmarks")
    if points is None:
        raise AddonError(f"{path}: no 'landmarks' array; expected float (frames, 68, 2)")
    if points.ndim != 3 or points.shape[1:] != (POINT_COUNT, 2) or points.shape[0] == 0:
        raise AddonError(f"{path}: 'landmarks' has shape {points.shape}; expected (frames, 68, 2)")
    frames = points.shape[0]
    numbers = np.asarray(arrays.get("frame_numbers", np.arange(1, frames + 1)))
    if numbers.shape != (frames,) or (frames > 1 and np.any(np.diff(numbers) <= 0)):
        raise AddonError(f"{path}: 'frame_numbers' must be {frames} increasing numbers")
    confidence = arrays.get("confidence")
    if confidence is not None and confidence.shape != (frames,):
        raise AddonError(f"{path}: 'confidence' has shape {confidence.shape}; expected ({frames},)")
    size = arrays.get("image_size")
    image_size = None
    if size is not None:
        size = np.asarray(size).reshape(-1)
        if size.shape != (2,) or np.any(size <= 0):
            raise AddonError(f"{path}: 'image_size' must be two positive numbers (width, height)")
        image_size = (int(size[0]), int(size[1]))
    meta = {}
    if "meta" in arrays:
        try:
            meta = json.loads(str(arrays["meta"]))
        except json.JSONDecodeError:
            raise AddonError(f"{path}: 'meta' is not valid JSON") from None
        meta.pop("format", None)
    fps = float(arrays["fps"]) if "fps" in arrays else 25.0
    return LandmarkData(points.astype(np.float32), numbers, confidence, image_size, fps, meta)
