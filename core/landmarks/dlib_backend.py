"""dlib landmark backend: HOG face detector + dlib's 68-point shape predictor.

LICENCE: the 68-point model (``shape_predictor_68_face_landmarks.dat``, shipped by the
``face-recognition-models`` package) is trained on the iBUG 300-W dataset, whose licence forbids
commercial use. This backend is therefore for research and evaluation only and is never the default;
``portrait-animator doctor`` says so.

dlib reports integer pixel indices; 0.5 is added to put points at pixel centres like every other backend.
"""

from __future__ import annotations

import importlib.util
import math
import os

import numpy as np

from ..errors import MissingWeightsError
from .crop_window import CropWindow
from .faces import DetectedFace, FaceDetector, as_rgb_uint8, largest_first

LICENCE_NOTE = ("non-commercial use only: dlib's 68-point model is trained on iBUG 300-W, whose licence "
                "forbids commercial use")
PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
# Stills are searched at most this large; with one 2x upsampling the HOG detector (80 px window) then
# finds faces down to about 4% of the image's longer side.
DETECT_SIDE = 1000
UPSAMPLE = 1
# The predictor reads a window of this many face widths, sampled so the face is at most FACE_PIXELS wide.
WINDOW_PER_FACE = 2.0
FACE_PIXELS = 320
# While tracking, HOG runs on a window around the last face, scaled so the face is this wide.
FOLLOW_FACE_PIXELS = 160
FOLLOW_WINDOW_PER_FACE = 2.2
# HOG score thresholds: dlib's own default (0) when searching a whole image; lower when following a face
# that was just there, so a frame with motion blur does not lose it.
MIN_HOG_SCORE = 0.0
MIN_FOLLOW_SCORE = -0.5


def model_folder() -> str | None:
    """The ``models`` folder of ``face-recognition-models`` (the package itself cannot be imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "models")


class DlibDetector(FaceDetector):
    name = "dlib"
    has_dense = False

    @classmethod
    def availability(cls) -> str:
        if importlib.util.find_spec("dlib") is None:
            return "not installed (pip install 'portrait-animator[dlib]': dlib-bin, face-recognition-models)"
        folder = model_folder()
        if folder is None or not os.path.exists(os.path.join(folder, PREDICTOR_FILE)):
            return f"model file {PREDICTOR_FILE} not found (pip install face-recognition-models)"
        return f"ok ({LICENCE_NOTE})"

    def __init__(self):
        import dlib

        folder = model_folder()
        path = os.path.join(folder, PREDICTOR_FILE) if folder else PREDICTOR_FILE
        if not os.path.exists(path):
            raise MissingWeightsError(
                f"{path}: dlib's 68-point model not found; install it with pip install face-recognition-models")
        self._dlib = dlib
        self._hog = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(path)

    def find_faces(self, image: np.ndarray) -> list[DetectedFace]:
        image = as_rgb_uint8(image)
        height, width = image.shape[:2]
        whole = CropWindow.around((width / 2, height / 2), max(width, height), DETECT_SIDE)
        found = self._detect(whole.cut(image, fill=0), whole, UPSAMPLE, MIN_HOG_SCORE)
        return largest_first([self._landmarks(image, box, score) for box, score in found])

    def follow(self, image: np.ndarray, previous: DetectedFace) -> DetectedFace | None:
        image = as_rgb_uint8(image)
        x0, y0, x1, y1 = previous.box
        face_width = max(x1 - x0, y1 - y0, 1.0)
        side = face_width * FOLLOW_WINDOW_PER_FACE
        window = CropWindow(((x0 + x1 - side) / 2, (y0 + y1 - side) / 2), side,
                            max(1, round(side * FOLLOW_FACE_PIXELS / face_width)))
        found = self._detect(window.cut(image), window, 0, MIN_FOLLOW_SCORE)
        if not found:
            return None
        box, score = min(found, key=lambda item: _distance(item[0], previous.box))
        return self._landmarks(image, box, score)

    def _detect(self, crop: np.ndarray, window: CropWindow, upsample: int, threshold: float):
        """HOG detections in ``crop`` as (image-pixel box, score in [0, 1]: logistic of the SVM margin)."""
        rects, scores, _ = self._hog.run(np.ascontiguousarray(crop), upsample, threshold)
        found = []
        for rect, score in zip(rects, scores):
            corners = window.to_image(np.array([[rect.left(), rect.top()],
                                                [rect.right() + 1, rect.bottom() + 1]], dtype=np.float64))
            found.append((tuple(corners.reshape(-1)), 1.0 / (1.0 + math.exp(-2.0 * score))))
        return found

    def _landmarks(self, image: np.ndarray, box, score: float) -> DetectedFace:
        """The predictor's 68 points for a face box, run on a window at a moderate resolution."""
        x0, y0, x1, y1 = box
        face_width = max(x1 - x0, 1.0)
        side = math.ceil(face_width * WINDOW_PER_FACE)
        scale = min(1.0, FACE_PIXELS / face_width)
        origin = ((x0 + x1 - side) / 2, (y0 + y1 - side) / 2)
        if scale == 1.0:  # native resolution: a whole-pixel window, so the predictor sees the image's pixels
            origin = (round(origin[0]), round(origin[1]))
        window = CropWindow(origin, side, max(1, round(side * scale)))
        crop = np.ascontiguousarray(window.cut(image))
        a, b = window.to_crop(np.array([[x0, y0], [x1, y1]]))
        rect = self._dlib.rectangle(int(round(a[0])), int(round(a[1])), int(round(b[0])) - 1, int(round(b[1])) - 1)
        shape = self._predictor(crop, rect)
        points = np.array([(p.x + 0.5, p.y + 0.5) for p in shape.parts()], dtype=np.float64)
        return DetectedFace.from_points(window.to_image(points), score)


def _distance(box_a, box_b) -> float:
    """Distance between the centres of two (x0, y0, x1, y1) boxes."""
    return math.hypot((box_a[0] + box_a[2] - box_b[0] - box_b[2]) / 2,
                      (box_a[1] + box_a[3] - box_b[1] - box_b[3]) / 2)
