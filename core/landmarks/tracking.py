"""Landmarks of one face through a sequence of frames (a driving video, a frame folder).

Each frame looks for the face only around where the last frame had it (cheap, and a small face in a large
frame stays well resolved); when the face is lost the whole frame is searched again. Frames without a
face get NaN rows and confidence 0. Short gaps (a hand passing, a few undecodable frames) are bridged by
linear interpolation with reduced confidence; longer ones stay NaN for the caller to handle.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import numpy as np

from ..errors import NoFaceError, UnusableFaceError
from . import ibug68
from .backends import DEFAULT_BACKEND, create_detector
from .faces import DetectedFace, FaceDetector
from .track import DENSE_COUNT, LandmarkTrack

# Gaps up to this long (seconds) are interpolated; an eye blink is 0.1-0.4 s, so longer gaps are not
# guessed at.
MAX_GAP_SECONDS = 0.2
# Interpolated rows get this fraction of the weaker neighbouring confidence.
GAP_CONFIDENCE = 0.5
# After losing the face, a face found again this close to its last place (in face sizes) is taken to be
# the same person.
SAME_PLACE = 1.0

Progress = Callable[[int, "int | None", str], None]


def track_frames(frames: Iterable[tuple[int, np.ndarray]], backend: str | FaceDetector = DEFAULT_BACKEND,
                 face_index: int | None = None, fps: float = 25.0, source: str | None = None,
                 progress: Progress | None = None) -> LandmarkTrack:
    """Track one face through ``frames``, an iterable of (1-based frame number, RGB uint8 image).

    ``backend`` is a backend name or an open ``FaceDetector`` (which the caller closes). ``face_index``
    picks the face (largest first, 0-based) in the first frame that has one; afterwards that face is
    followed. ``progress(done, total, message)`` is called after every frame (``total`` is None when
    ``frames`` has no length). Raises ``NoFaceError`` naming ``source`` when no frame has a face.
    """
    name = source or "<frames>"
    total = len(frames) if hasattr(frames, "__len__") else None
    detector = create_detector(backend) if isinstance(backend, str) else backend
    numbers, rows, dense_rows, confidence = [], [], [], []
    image_size = None
    try:
        last: DetectedFace | None = None  # the face in the previous frame, if it had one
        last_known: DetectedFace | None = None  # the most recent face seen
        for done, (number, image) in enumerate(frames, start=1):
            if image_size is None:
                image_size = (int(image.shape[1]), int(image.shape[0]))
            face = detector.follow(image, last) if last is not None else None
            if face is None:
                faces = detector.find_faces(image)
                if faces and last_known is None and face_index is not None and face_index >= len(faces):
                    raise UnusableFaceError(
                        f"{name}: face index {face_index} asked for but frame {number} shows "
                        f"{len(faces)} face{'s' if len(faces) != 1 else ''} (valid indices: 0 to "
                        f"{len(faces) - 1}, largest face first)")
                face = _pick(faces, last_known, face_index)
            numbers.append(int(number))
            if face is None:
                rows.append(np.full((ibug68.COUNT, 2), np.nan, np.float32))
                dense_rows.append(np.full((DENSE_COUNT, 2), np.nan, np.float32))
                confidence.append(0.0)
            else:
                rows.append(face.landmarks)
                dense_rows.append(face.dense)
                confidence.append(face.score)
                last_known = face
            last = face
            if progress is not None:
                progress(done, total, f"landmarks: frame {number}")
    finally:
        if isinstance(backend, str):
            detector.close()
    if not numbers:
        raise NoFaceError(f"{name}: no frames to track")
    valid = [c > 0 for c in confidence]
    if not any(valid):
        raise NoFaceError(f"{name}: no face found in any of its {len(numbers)} frames")
    track = LandmarkTrack(
        landmarks=np.stack(rows), confidence=np.asarray(confidence, np.float32),
        frame_numbers=np.asarray(numbers, np.int32),
        dense=np.stack(dense_rows) if detector.has_dense else None,
        image_size=image_size, fps=float(fps),
        meta={"backend": detector.name, "source": os.path.basename(source) if source else None,
              "face_index": face_index})
    filled = interpolate_gaps(track)
    filled.meta["interpolated_frames"] = int(np.sum(filled.valid & ~track.valid))
    return filled


def _pick(faces: list[DetectedFace], last_known: DetectedFace | None,
          face_index: int | None) -> DetectedFace | None:
    """The tracked face among ``faces`` (largest first): near its last place, else by index."""
    if not faces:
        return None
    if last_known is not None:
        centre = np.mean(last_known.landmarks, axis=0)
        distances = [np.linalg.norm(np.mean(f.landmarks, axis=0) - centre) / last_known.size for f in faces]
        nearest = int(np.argmin(distances))
        return faces[nearest] if distances[nearest] <= SAME_PLACE else None
    return faces[face_index or 0] if (face_index or 0) < len(faces) else None


def interpolate_gaps(track: LandmarkTrack, max_seconds: float = MAX_GAP_SECONDS) -> LandmarkTrack:
    """A copy of ``track`` with gaps of at most ``max_seconds`` between two valid frames filled linearly.

    Time comes from the frame numbers and ``track.fps``; filled rows get ``GAP_CONFIDENCE`` times the
    weaker neighbour's confidence. Gaps at the start or end, and longer gaps, stay NaN.
    """
    landmarks = track.landmarks.copy()
    dense = None if track.dense is None else track.dense.copy()
    confidence = track.confidence.copy()
    valid = track.valid
    times = track.frame_numbers.astype(np.float64)
    index = np.flatnonzero(valid)
    for before, after in zip(index[:-1], index[1:]):
        missing_seconds = (times[after] - times[before] - 1) / track.fps
        if after - before < 2 or missing_seconds > max_seconds + 1e-9:
            continue
        for row in range(before + 1, after):
            weight = (times[row] - times[before]) / (times[after] - times[before])
            landmarks[row] = (1 - weight) * landmarks[before] + weight * landmarks[after]
            if dense is not None:
                dense[row] = (1 - weight) * dense[before] + weight * dense[after]
            confidence[row] = GAP_CONFIDENCE * min(confidence[before], confidence[after])
    return LandmarkTrack(landmarks=landmarks, confidence=confidence, frame_numbers=track.frame_numbers,
                         dense=dense, image_size=track.image_size, fps=track.fps, meta=dict(track.meta))
