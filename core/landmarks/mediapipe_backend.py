"""The default landmark backend: MediaPipe's face detectors and 478-point face mesh (Apache-2.0, offline).

A still is searched with the detectors on a downscaled copy (and in windows, for small faces in big
images); each face found is then measured by the mesh network on its own region of the full-resolution
image, a second time on the region its first mesh implies (MediaPipe's tracking framing, tighter and
level with the eyes). A video frame reuses the region of the previous frame's mesh, as MediaPipe's own
tracking does, and falls back to a full search when the face-presence probability drops.
"""

from __future__ import annotations

import os

import numpy as np

from . import mediapipe_topology
from .faces import DetectedFace, FaceDetector, as_rgb_uint8, largest_first
from .mediapipe_detection import FaceBoxDetector, box_iou
from .mediapipe_mesh import PRESENCE_THRESHOLD, FaceMeshNetwork, FaceRegion

# The .tflite models this backend runs, inside the mediapipe package.
MODEL_FILES = ("face_detection/face_detection_short_range.tflite",
               "face_detection/face_detection_full_range_sparse.tflite",
               "face_landmark/face_landmark_with_attention.tflite")
# Mesh passes per face found in a still: detector framing, then the mesh's own framing.
STILL_PASSES = 2
# Two meshes whose landmark boxes overlap this much are the same face found twice.
SAME_FACE_IOU = 0.5


class MediaPipeDetector(FaceDetector):
    name = "mediapipe"
    has_dense = True

    @classmethod
    def availability(cls) -> str:
        import mediapipe as mp

        folder = os.path.join(os.path.dirname(mp.__file__), "modules")
        missing = [name for name in MODEL_FILES if not os.path.exists(os.path.join(folder, name))]
        if missing:
            return f"model files missing from the mediapipe package: {', '.join(missing)} (mediapipe " \
                   f"{mp.__version__}; install mediapipe==0.10.21, the last release that ships them)"
        return "ok"

    def __init__(self):
        self._boxes = FaceBoxDetector()
        self._mesh = FaceMeshNetwork()

    def find_faces(self, image: np.ndarray) -> list[DetectedFace]:
        image = as_rgb_uint8(image)
        faces: list[DetectedFace] = []
        for found in self._boxes.detect(image):
            region = FaceRegion.from_eyes(found.box, found.right_eye, found.left_eye)
            for _ in range(STILL_PASSES):
                dense, presence = self._mesh.run(image, region)
                region = FaceRegion.from_mesh(dense)
            if presence < PRESENCE_THRESHOLD:
                continue
            face = _face(dense, presence)
            if all(box_iou(face.box, other.box) <= SAME_FACE_IOU for other in faces):
                faces.append(face)
        return largest_first(faces)

    def follow(self, image: np.ndarray, previous: DetectedFace) -> DetectedFace | None:
        if previous.dense is None:
            raise ValueError("the MediaPipe backend follows faces by their dense mesh")
        dense, presence = self._mesh.run(as_rgb_uint8(image), FaceRegion.from_mesh(previous.dense))
        return _face(dense, presence) if presence >= PRESENCE_THRESHOLD else None

    def close(self) -> None:
        self._boxes.close()
        self._mesh.close()


def _face(dense: np.ndarray, presence: float) -> DetectedFace:
    return DetectedFace.from_points(mediapipe_topology.to_ibug68(dense), presence, dense=dense)
