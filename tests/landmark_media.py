"""Real stills and clip frames for the landmark tests, decoded with OpenCV (independent of the engine's io)."""

from __future__ import annotations

import cv2
import numpy as np

from conftest import media_path


def still(name: str) -> np.ndarray:
    """A still of the shared media folder as RGB uint8."""
    image = cv2.imread(str(media_path("stills", name)), cv2.IMREAD_COLOR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def clip_frames(name: str, count: int) -> list[tuple[int, np.ndarray]]:
    """The first ``count`` frames of a driving clip as (1-based frame number, RGB uint8) pairs."""
    capture = cv2.VideoCapture(str(media_path("driving", name)))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append((len(frames) + 1, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
    capture.release()
    assert frames, f"could not decode {name}"
    return frames


def clip_fps(name: str) -> float:
    return float(cv2.VideoCapture(str(media_path("driving", name))).get(cv2.CAP_PROP_FPS))


def eye_opening(landmarks: np.ndarray) -> np.ndarray:
    """(F,) mean lid opening of both eyes over eye width (the eye aspect ratio), per frame."""
    def one(eye):
        p = landmarks[:, eye]
        lids = np.linalg.norm(p[:, 1] - p[:, 5], axis=1) + np.linalg.norm(p[:, 2] - p[:, 4], axis=1)
        return lids / (2 * np.linalg.norm(p[:, 0] - p[:, 3], axis=1))
    return (one(list(range(36, 42))) + one(list(range(42, 48)))) / 2


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """(F,) gap between the inner lips' middles (62, 66) over the outer-eye-corner distance."""
    return (np.linalg.norm(landmarks[:, 62] - landmarks[:, 66], axis=1)
            / np.linalg.norm(landmarks[:, 36] - landmarks[:, 45], axis=1))
