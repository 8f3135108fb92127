"""What every landmark backend returns (``DetectedFace``) and the interface it implements (``FaceDetector``).

Coordinates follow the engine's convention: float32 pixels, x right, y down, pixel centres at integer + 0.5
(a point at the top-left pixel's centre is (0.5, 0.5)). "Right" and "left" in region names are the
subject's own sides, as in iBUG 300-W: the subject's right eye is on the image's left in a frontal face.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from . import ibug68


@dataclass
class DetectedFace:
    """One face in one image.

    ``box`` is the tight bounding box (x0, y0, x1, y1) of the 68 landmarks (brows to chin); callers add
    their own margin. ``score`` in [0, 1] says how sure the backend is that the points lie on a face
    (MediaPipe: the mesh model's face-presence probability; dlib and face-alignment: their detector's
    or heatmaps' confidence).
    """

    landmarks: np.ndarray  # (68, 2) float32, iBUG 300-W order
    dense: np.ndarray | None  # (478, 2) float32 MediaPipe face-mesh points, or None
    box: tuple[float, float, float, float]
    score: float

    @classmethod
    def from_points(cls, landmarks: np.ndarray, score: float,
                    dense: np.ndarray | None = None) -> "DetectedFace":
        landmarks = np.asarray(landmarks, dtype=np.float32).reshape(ibug68.COUNT, 2)
        x0, y0 = landmarks.min(axis=0)
        x1, y1 = landmarks.max(axis=0)
        return cls(landmarks=landmarks,
                   dense=None if dense is None else np.asarray(dense, dtype=np.float32),
                   box=(float(x0), float(y0), float(x1), float(y1)), score=float(score))

    @property
    def size(self) -> float:
        """The longer side of ``box`` in pixels: what "largest face first" sorts by."""
        x0, y0, x1, y1 = self.box
        return max(x1 - x0, y1 - y0)

    @property
    def jaw_width(self) -> float:
        """Distance between the two ends of the jaw line (points 0 and 16), in pixels."""
        return float(np.linalg.norm(self.landmarks[ibug68.JAW[-1]] - self.landmarks[ibug68.JAW[0]]))


def largest_first(faces: list[DetectedFace]) -> list[DetectedFace]:
    return sorted(faces, key=lambda face: face.size, reverse=True)


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """A C-contiguous (H, W, 3) uint8 view of an 8-bit grey, RGB or RGBA image (alpha is ignored)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(f"landmark detection needs an 8-bit image, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")
    return np.ascontiguousarray(image)


class FaceDetector(abc.ABC):
    """A landmark backend: finds faces in whole images and follows one face from frame to frame.

    Use as a context manager or call ``close()``: backends hold native graphs or networks.
    """

    #: backend name as used by ``create_detector`` and stored in track metadata
    name: str = ""
    #: whether ``DetectedFace.dense`` is filled (the 478-point MediaPipe mesh)
    has_dense: bool = False

    @classmethod
    def availability(cls) -> str:
        """"ok" when this backend can run here, else the reason it cannot (checked without loading it)."""
        return "ok"

    @abc.abstractmethod
    def find_faces(self, image: np.ndarray) -> list[DetectedFace]:
        """All faces in an RGB uint8 image, largest first (empty list when there is none)."""

    @abc.abstractmethod
    def follow(self, image: np.ndarray, previous: DetectedFace) -> DetectedFace | None:
        """The face that was at ``previous`` in the last frame, looked for only around that place.

        Much cheaper than ``find_faces`` and keeps a small face in a large frame well resolved. Returns
        None when the face is lost (the caller then searches the whole frame).
        """

    def close(self) -> None:
        """Release native resources; the detector cannot be used afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
