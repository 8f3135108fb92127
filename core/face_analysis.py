"""FaceAnalysis: stills -> ``SourceFace`` (the face crop transform, landmarks in crop pixels, the crops).

The detection result of each still is cached by the still's content hash, so re-runs and farm chunks of
the same shot skip it.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from . import align
from .cache import FileCache, cache_key
from .config import RenderJob
from .io.images import StillImage, read_image
from .io.provenance import file_sha256
from .landmarks import DetectedFace, choose_face, create_detector
from .render.base import SourceFace, SourceShot
from .version import __version__

log = logging.getLogger(__name__)
ANALYSIS_VERSION = 1  # bump when detection results would change, to invalidate caches


def analyse_source(job: RenderJob, cache: FileCache, zoom: float = 1.0) -> SourceFace:
    """Read the job's stills, find the face in each and cut aligned crops; the first still is animated.
    ``zoom`` frames the crops as ``align.face_crop_transform`` does (below 1: wider, the renderer's
    ``crop_zoom``)."""
    shots, first = [], None
    for index, path in enumerate(job.sources):
        still = read_image(path, max_pixels=job.max_still_pixels)
        face = detect_still_face(still, job.landmark_backend, job.face if index == 0 else None, cache)
        crop_from_still = align.face_crop_transform(face.landmarks, job.crop_size, zoom)
        shots.append(SourceShot(
            rgb=crop_face(still.rgb, crop_from_still, job.crop_size),
            landmarks=align.apply(crop_from_still, face.landmarks),
            dense=None if face.dense is None else align.apply(crop_from_still, face.dense)))
        if index == 0:
            first = (still, crop_from_still)
    still, crop_from_still = first
    return SourceFace(shots=shots, crop_size=job.crop_size, crop_from_still=crop_from_still,
                      still_rgb=still.rgb, still_alpha=still.alpha)


def detect_still_face(still: StillImage, backend: str, face_index: int | None, cache: FileCache) -> DetectedFace:
    """The chosen face of a still (largest by default), from the cache when this still was seen before."""
    key = cache_key("still", sha256=file_sha256(still.path), backend=backend, version=ANALYSIS_VERSION,
                    engine=__version__)

    def compute():
        rgb8 = np.clip(np.round(still.rgb * 255.0), 0, 255).astype(np.uint8)
        with create_detector(backend) as detector:
            return detector.find_faces(rgb8)

    faces, _ = cache.get_or_compute(key, compute, _save_faces, _load_faces)
    face = choose_face(faces, face_index, still.size, still.path)
    if len(faces) > 1 and face_index is None:
        log.warning("%s: %d faces found; animating the largest (choose another with --face N, 0 = largest)",
                    still.path, len(faces))
    return face


def crop_face(image: np.ndarray, crop_from_still: np.ndarray, size: int) -> np.ndarray:
    """The aligned square crop, resampled without aliasing when the face is larger than the crop."""
    scale, _, _ = align.similarity_params(crop_from_still)
    matrix = crop_from_still
    if scale < 0.7:
        # Shrink the face's neighbourhood with area averaging first, then warp at about 1:1.
        corners = align.apply(align.invert(crop_from_still),
                              np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64))
        x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - 2, 0)
        x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + 2, [image.shape[1], image.shape[0]])
        if x1 > x0 and y1 > y0:
            region = image[y0:y1, x0:x1]
            factor = scale / 0.9
            small = cv2.resize(region, (max(1, round(region.shape[1] * factor)),
                                        max(1, round(region.shape[0] * factor))), interpolation=cv2.INTER_AREA)
            fx, fy = small.shape[1] / region.shape[1], small.shape[0] / region.shape[0]
            to_small = np.array([[fx, 0.0, -x0 * fx], [0.0, fy, -y0 * fy]])
            matrix = align.compose(crop_from_still, align.invert(to_small))
            image = small
    return cv2.warpAffine(image, align.to_opencv(matrix), (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _save_faces(faces: list[DetectedFace], path: str) -> None:
    arrays = {"count": np.int64(len(faces))}
    for i, face in enumerate(faces):
        arrays[f"landmarks_{i}"] = face.landmarks
        arrays[f"score_{i}"] = np.float64(face.score)
        if face.dense is not None:
            arrays[f"dense_{i}"] = face.dense
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _load_faces(path: str) -> list[DetectedFace]:
    with np.load(path, allow_pickle=False) as data:
        return [DetectedFace.from_points(data[f"landmarks_{i}"], float(data[f"score_{i}"]),
                                         dense=data[f"dense_{i}"] if f"dense_{i}" in data.files else None)
                for i in range(int(data["count"]))]
