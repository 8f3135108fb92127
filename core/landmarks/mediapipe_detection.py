"""Face boxes anywhere in an image of any size, with MediaPipe's BlazeFace detectors (shipped in the wheel).

The detectors see the whole image squeezed into 128 px (short range) or 192 px (full range). The
short-range model finds faces that fill much of the frame (the usual portrait) and the full-range model
faces down to about 7% of the frame's side. For a small face in a big image — a 300 px face in a 6000 px
scan, a phone video with the speaker far away — the image is searched in overlapping windows, coarse to
fine, stopping at the first scale that finds anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .crop_window import CropWindow
from .native_stderr import silenced_native_stderr

MIN_DETECTION_SCORE = 0.5
# Images are handed to the detectors at most this large: their inputs are 128-192 px anyway.
DETECTOR_IMAGE = 640
# The full-range model misses faces that fill the frame; a border around the image brings them in range.
BORDER_FRACTION = 0.25
# Coarse-to-fine window search: windows no smaller than this (image pixels), at most this many per scale.
MIN_WINDOW = 256
MAX_WINDOWS_PER_SCALE = 64
# Two boxes overlapping more than this are one face.
SAME_FACE_IOU = 0.3


@dataclass(frozen=True)
class FaceBox:
    """A detected face: box (x0, y0, x1, y1) and the subject's right and left eye, in image pixels."""

    box: tuple[float, float, float, float]
    right_eye: tuple[float, float]
    left_eye: tuple[float, float]
    score: float


def box_iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def distinct(boxes: list[FaceBox]) -> list[FaceBox]:
    """Non-maximum suppression: the best-scoring box of each group of overlapping boxes."""
    kept: list[FaceBox] = []
    for candidate in sorted(boxes, key=lambda b: b.score, reverse=True):
        if all(box_iou(candidate.box, other.box) <= SAME_FACE_IOU for other in kept):
            kept.append(candidate)
    return kept


class FaceBoxDetector:
    """MediaPipe's short- and full-range face detectors over a window search."""

    def __init__(self):
        import mediapipe as mp

        detection = mp.solutions.face_detection
        with silenced_native_stderr():  # start-up and first inference print native INFO/W0000 lines
            self._short = detection.FaceDetection(model_selection=0, min_detection_confidence=MIN_DETECTION_SCORE)
            self._full = detection.FaceDetection(model_selection=1, min_detection_confidence=MIN_DETECTION_SCORE)
            blank = np.zeros((DETECTOR_IMAGE, DETECTOR_IMAGE, 3), np.uint8)
            self._short.process(blank)
            self._full.process(blank)

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Every face found, best score first; an empty list when there is none."""
        height, width = image.shape[:2]
        whole = CropWindow.around((width / 2, height / 2), max(width, height), DETECTOR_IMAGE)
        crop = whole.cut(image, fill=0)  # black bars around a non-square image, as MediaPipe's letterbox
        found = self._run(self._short, crop, whole)
        border = round(crop.shape[0] * BORDER_FRACTION)
        padded = CropWindow(
            (whole.origin[0] - border / whole.scale, whole.origin[1] - border / whole.scale),
            whole.side + 2 * border / whole.scale, crop.shape[0] + 2 * border)
        found += self._run(self._full, cv2.copyMakeBorder(crop, border, border, border, border,
                                                          cv2.BORDER_CONSTANT, value=(0, 0, 0)), padded)
        window = max(width, height) / 2
        while not found and window >= MIN_WINDOW:
            if len(_windows(width, height, window)) > MAX_WINDOWS_PER_SCALE:
                break
            found += self._search_windows(image, window)
            window /= 2
        return distinct(found)

    def _search_windows(self, image: np.ndarray, window: float) -> list[FaceBox]:
        """The full-range detector over windows of ``window`` px, cut from a copy of the image shrunk once
        so that each window is at most the detector image's size."""
        height, width = image.shape[:2]
        scale = min(1.0, DETECTOR_IMAGE / window)
        level = image
        if scale < 1.0:
            level = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                               interpolation=cv2.INTER_AREA)
        fx, fy = level.shape[1] / width, level.shape[0] / height
        found = []
        for part in _windows(level.shape[1], level.shape[0], window * fx):
            found += [_rescaled(box, 1 / fx, 1 / fy) for box in self._run(self._full, part.cut(level, fill=0), part)]
        return found

    @staticmethod
    def _run(model, crop: np.ndarray, window: CropWindow) -> list[FaceBox]:
        result = model.process(np.ascontiguousarray(crop))
        boxes = []
        for detection in result.detections or []:
            data = detection.location_data
            rel = data.relative_bounding_box
            size = crop.shape[0]
            corners = window.to_image(np.array([[rel.xmin, rel.ymin],
                                                [rel.xmin + rel.width, rel.ymin + rel.height]]) * size)
            eyes = window.to_image(np.array([[k.x, k.y] for k in data.relative_keypoints[:2]]) * size)
            boxes.append(FaceBox(tuple(float(v) for v in corners.reshape(-1)), tuple(map(float, eyes[0])),
                                 tuple(map(float, eyes[1])), float(detection.score[0])))
        return boxes

    def close(self) -> None:
        for model in (self._short, self._full):
            if model is not None:
                model.close()
        self._short = self._full = None


def _windows(width: int, height: int, side: float) -> list[CropWindow]:
    """Square windows of ``side`` px overlapping by half, covering the image."""
    def starts(length):
        if length <= side:
            return [(length - side) / 2]
        count = math.ceil((length - side) / (side / 2)) + 1
        return list(np.linspace(0, length - side, count))

    size = min(DETECTOR_IMAGE, math.ceil(side))
    return [CropWindow((x, y), side, size) for y in starts(height) for x in starts(width)]


def _rescaled(found: FaceBox, sx: float, sy: float) -> FaceBox:
    x0, y0, x1, y1 = found.box
    return FaceBox((x0 * sx, y0 * sy, x1 * sx, y1 * sy), (found.right_eye[0] * sx, found.right_eye[1] * sy),
                   (found.left_eye[0] * sx, found.left_eye[1] * sy), found.score)
