"""The landmark backends by name: creating one, and saying which ones work on this machine.

- ``mediapipe`` (default): MediaPipe face detection + 478-point face mesh, Apache-2.0, models in the wheel.
- ``dlib``: dlib's HOG detector + 68-point shape predictor. The predictor is trained on iBUG 300-W, whose
  licence forbids commercial use; never the default.
- ``face-alignment``: the FAN network of Bulat & Tzimiropoulos (the paper's landmark source); its
  weights must be placed in the torch hub cache by the user, nothing is downloaded.
"""

from __future__ import annotations

import importlib

from ..errors import JobFieldError
from .faces import FaceDetector

DEFAULT_BACKEND = "mediapipe"
# name -> (module, class); imported on demand so an unused backend's packages are never loaded
_BACKENDS = {
    "mediapipe": ("mediapipe_backend", "MediaPipeDetector"),
    "dlib": ("dlib_backend", "DlibDetector"),
    "face-alignment": ("face_alignment_backend", "FaceAlignmentDetector"),
}
BACKEND_NAMES = tuple(_BACKENDS)


def _backend_class(backend: str):
    if backend not in _BACKENDS:
        raise JobFieldError("landmark_backend", f"is {backend!r}; expected one of {', '.join(BACKEND_NAMES)}")
    module, cls = _BACKENDS[backend]
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)


def create_detector(backend: str = DEFAULT_BACKEND) -> FaceDetector:
    """A ready detector; raises ``JobFieldError`` for an unknown name and ``MissingWeightsError`` when the
    backend's model files are not there."""
    return _backend_class(backend)()


def available_backends() -> dict[str, str]:
    """backend -> "ok", or why it cannot be used here (for ``portrait-animator doctor``).

    Usable backends may carry a note after "ok" (e.g. dlib's licence restriction).
    """
    report = {}
    for backend in BACKEND_NAMES:
        try:
            report[backend] = _backend_class(backend).availability()
        except ImportError as exc:
            report[backend] = f"not installed ({exc})"
    return report
