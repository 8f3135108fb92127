"""``LandmarkTrack``: per-frame face landmarks of a driver, and the ``.npz`` landmark-file format.

The file is what ``portrait-animator landmarks`` and the Blender rig write, and what ``--driver track.npz``
reads. Keys:

- ``landmarks``: float32 (frames, 68, 2), pixel coordinates (x right, y down, pixel centres at +0.5),
  iBUG 300-W order; NaN rows for frames without a face. The only required key.
- ``confidence``: float32 (frames,), 0 where no face was found (default: 1 where the row is finite).
- ``frame_numbers``: int32 (frames,), the 1-based frame number of each row (default: 1, 2, ...).
- ``dense``: float32 (frames, 478, 2), MediaPipe face-mesh points, when the backend gives them.
- ``image_size``: int32 (2,), width and height of the frames the points refer to.
- ``fps``: float64 scalar.
- ``meta``: a JSON string (backend, source file, its sha256, engine version, ...).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import UnreadableFileError
from . import ibug68

DENSE_COUNT = 478
FORMAT_NAME = "portrait-animator/landmarks"


def rows_by_number(frame_numbers) -> dict[int, int]:
    """The row of each frame number: tracks and shapes hold rows, while jobs, drivers and files speak
    1-based frame numbers, which need not start at 1 or run without gaps."""
    return {int(number): row for row, number in enumerate(frame_numbers)}


@dataclass
class LandmarkTrack:
    """Landmarks of one face over a sequence of frames."""

    landmarks: np.ndarray  # (F, 68, 2) float32, NaN where missing
    confidence: np.ndarray  # (F,) float32 in [0, 1]
    frame_numbers: np.ndarray  # (F,) int32, 1-based
    dense: np.ndarray | None = None  # (F, 478, 2) float32 or None
    image_size: tuple[int, int] | None = None  # (width, height)
    fps: float = 25.0
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        self.confidence = np.asarray(self.confidence, dtype=np.float32)
        self.frame_numbers = np.asarray(self.frame_numbers, dtype=np.int32)
        if self.dense is not None:
            self.dense = np.asarray(self.dense, dtype=np.float32)

    def __len__(self) -> int:
        return int(self.landmarks.shape[0])

    @property
    def valid(self) -> np.ndarray:
        """(F,) bool: frames that have a face."""
        return np.isfinite(self.landmarks).all(axis=(1, 2))

    def select(self, frame_numbers) -> "LandmarkTrack":
        """The rows for the given frame numbers, in that order."""
        index = rows_by_number(self.frame_numbers)
        rows = np.array([index[int(n)] for n in frame_numbers], dtype=np.int64)
        return replace(self, landmarks=self.landmarks[rows], confidence=self.confidence[rows],
                       frame_numbers=self.frame_numbers[rows],
                       dense=None if self.dense is None else self.dense[rows])

    # ------------------------------------------------------------------------------------- file I/O
    def save(self, path: str) -> None:
        """Write the ``.npz`` atomically (temp file in the same folder, then rename)."""
        arrays = {
            "landmarks": self.landmarks, "confidence": self.confidence,
            "frame_numbers": self.frame_numbers, "fps": np.float64(self.fps),
            "meta": np.array(json.dumps({"format": FORMAT_NAME, **self.meta})),
        }
        if self.dense is not None:
            arrays["dense"] = self.dense
        if self.image_size is not None:
            arrays["image_size"] = np.asarray(self.image_size, dtype=np.int32)
        tmp = f"{path}.tmp-{os.getpid()}.npz"
        try:
            np.savez_compressed(tmp, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    @classmethod
    def load(cls, path: str) -> "LandmarkTrack":
        """Read and check a landmark file; any problem is an ``UnreadableFileError`` naming it."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except FileNotFoundError:
            raise UnreadableFileError(f"{path}: landmark file not found") from None
        except Exception as exc:  # zipfile/numpy raise many types for a corrupt file
            raise UnreadableFileError(f"{path}: not a readable .npz landmark file ({exc})") from None
        return cls.from_arrays(arrays, path)

    @classmethod
    def from_arrays(cls, arrays: dict, path: str = "<landmarks>") -> "LandmarkTrack":
        if "landmarks" not in arrays:
            raise UnreadableFileError(
                f"{path}: no 'landmarks' array (found: {', '.join(sorted(arrays)) or 'nothing'}); "
                "expected float (frames, 68, 2)")
        points = np.asarray(arrays["landmarks"])
        if points.ndim != 3 or points.shape[1:] != (ibug68.COUNT, 2) or points.shape[0] == 0:
            raise UnreadableFileError(
                f"{path}: 'landmarks' has shape {tuple(points.shape)}; expected (frames, 68, 2) "
                "with at least one frame")
        if not np.issubdtype(points.dtype, np.floating):
            raise UnreadableFileError(f"{path}: 'landmarks' must be floating point, not {points.dtype}")
        frames = points.shape[0]
        finite = np.isfinite(points).all(axis=(1, 2))
        confidence = np.asarray(arrays.get("confidence", finite.astype(np.float32)))
        numbers = np.asarray(arrays.get("frame_numbers", np.arange(1, frames + 1)))
        for name, arr in (("confidence", confidence), ("frame_numbers", numbers)):
            if arr.shape != (frames,):
                raise UnreadableFileError(
                    f"{path}: '{name}' has shape {tuple(arr.shape)}; expected ({frames},)")
        if frames > 1 and np.any(np.diff(numbers) <= 0):
            raise UnreadableFileError(f"{path}: 'frame_numbers' must increase")
        dense = arrays.get("dense")
        if dense is not None:
            dense = np.asarray(dense)
            if dense.shape != (frames, DENSE_COUNT, 2):
                raise UnreadableFileError(
                    f"{path}: 'dense' has shape {tuple(dense.shape)}; expected ({frames}, {DENSE_COUNT}, 2)")
        size = arrays.get("image_size")
        image_size = None
        if size is not None:
            size = np.asarray(size).reshape(-1)
            if size.shape != (2,) or np.any(size <= 0):
                raise UnreadableFileError(f"{path}: 'image_size' must be two positive numbers (width, height)")
            image_size = (int(size[0]), int(size[1]))
        meta = {}
        if "meta" in arrays:
            try:
                meta = json.loads(str(arrays["meta"]))
            except json.JSONDecodeError:
                raise UnreadableFileError(f"{path}: 'meta' is not valid JSON") from None
        meta.pop("format", None)
        fps = float(arrays["fps"]) if "fps" in arrays else 25.0
        return cls(points.astype(np.float32), confidence.astype(np.float32), numbers.astype(np.int32),
                   dense=dense, image_size=image_size, fps=fps, meta=meta)
