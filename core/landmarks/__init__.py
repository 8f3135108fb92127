"""Face detection and 68-point landmarks (iBUG 300-W order), pluggable backends, tracking, smoothing.

Public API::

    from portrait_animator.landmarks import (create_detector, choose_face, track_frames, smooth_track,
                                             available_backends, DetectedFace, LandmarkTrack)

    with create_detector("mediapipe") as detector:           # or "dlib", "face-alignment"
        faces = detector.find_faces(rgb_uint8)               # largest first
    face = choose_face(faces, index=None, image_size=(w, h), path="still.png")
    track = track_frames(((n, frame) for n, frame in ...), fps=25.0, source="driver.mp4")
    track = smooth_track(track, strength=0.5)

Points are float32 pixels (x right, y down, pixel centres at +0.5); "right"/"left" are the subject's.
"""

from .backends import BACKEND_NAMES, DEFAULT_BACKEND, available_backends, create_detector
from .face_choice import MIN_JAW_WIDTH, choose_face
from .faces import DetectedFace, FaceDetector
from .smoothing import smooth_track
from .track import LandmarkTrack, rows_by_number
from .tracking import interpolate_gaps, track_frames

__all__ = [
    "BACKEND_NAMES", "DEFAULT_BACKEND", "DetectedFace", "FaceDetector", "LandmarkTrack", "MIN_JAW_WIDTH",
    "available_backends", "choose_face", "create_detector", "interpolate_gaps", "rows_by_number", "smooth_track",
    "track_frames",
]
