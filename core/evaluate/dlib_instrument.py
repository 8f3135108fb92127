"""An instrument independent of the renderer: dlib's 68 landmarks and 128-d face descriptor.

dlib's face-recognition ResNet (from ``face-recognition-models``, public domain) maps a face to a 128-d
descriptor; two photos of one person are under 0.6 apart. Its 68-point shape predictor is trained on iBUG
300-W (non-commercial licence): fine for measuring, never a default for rendering. We measure outputs with
it precisely because the renderer never sees it.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import numpy as np

from ..errors import MissingWeightsError


def model_folder() -> str:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError("dlib's models are not installed: pip install face-recognition-models dlib-bin")
    return os.path.join(spec.submodule_search_locations[0], "models")


@dataclass
class DlibFace:
    """One measured face: 68 landmarks (our pixel convention) and the 128-d descriptor."""

    landmarks: np.ndarray  # (68, 2) float32
    descriptor: np.ndarray  # (128,) float64


class DlibInstrument:
    """Detects the largest face and measures it; ``None`` where dlib finds no face."""

    def __init__(self, upsample: int = 1):
        import dlib

        folder = model_folder()
        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(os.path.join(folder, "shape_predictor_68_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(os.path.join(folder, "dlib_face_recognition_resnet_model_v1.dat"))
        self.upsample = upsample

    def measure(self, rgb_uint8: np.ndarray, with_descriptor: bool = True) -> DlibFace | None:
        image = np.ascontiguousarray(rgb_uint8)
        boxes = self.detector(image, 0)  # faces over ~80 px need no upsampling, which costs 4x the time
        if len(boxes) == 0 and self.upsample:
            boxes = self.detector(image, self.upsample)
        if len(boxes) == 0:
            return None
        box = max(boxes, key=lambda b: b.width() * b.height())
        shape = self.predictor(image, box)
        points = np.array([[p.x + 0.5, p.y + 0.5] for p in shape.parts()], dtype=np.float32)
        descriptor = (np.array(self.encoder.compute_face_descriptor(image, shape, 1), dtype=np.float64)
                      if with_descriptor else np.zeros(128))
        return DlibFace(points, descriptor)


def identity_distance(a: DlibFace, b: DlibFace) -> float:
    """Euclidean distance between descriptors (dlib's same-person threshold is 0.6)."""
    return float(np.linalg.norm(a.descriptor - b.descriptor))


def identity_cosine(a: DlibFace, b: DlibFace) -> float:
    return float(np.dot(a.descriptor, b.descriptor) /
                 (np.linalg.norm(a.descriptor) * np.linalg.norm(b.descriptor) + 1e-12))
