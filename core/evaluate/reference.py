"""The measured truth of one clip: its landmark track, and dlib's view of the real frames in the window.

Computed once per clip and shared by every K, every renderer and every cross pair the clip drives: dlib's
68 landmarks (mapped back to frame pixels) and, on a sample of frames, its 128-d descriptor, plus the
motion curves and small face thumbnails for the contact sheets. Cached on disk, keyed by what decides it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

import numpy as np

from ..cache import FileCache, cache_key
from ..config import MotionConfig, RenderJob
from ..drivers import load_driver
from ..io.sources import open_frames
from ..landmarks import smooth_track
from ..landmarks.track import LandmarkTrack
from ..version import __version__
from . import face_crops
from .dlib_instrument import DlibInstrument
from .face_measures import CURVES, face_curves

REFERENCE_VERSION = 1  # bump when what is measured changes
CROP_SMOOTHING = 0.3  # pixel-score crops follow the One-Euro smoothed track, so they do not shake
# dlib measures all frames of a window through one fixed crop around the face's median position, framed
# wide enough for the head's motion: identical frames then give identical landmarks (no jitter from a
# moving crop), and output and truth share one coordinate system.
VIEW_ZOOM = 0.8
THUMB_SIZE = 160
THUMB_ZOOM = 0.8  # thumbnails frame a little wider than the measuring crop (hair, chin)
THUMB_OUTSIDE = 128  # grey beyond the frame's edge in thumbnails


@dataclass
class ClipReference:
    """dlib's measurements of the real frames of a clip's window (NaN where it found no face)."""

    clip: str
    frame_numbers: np.ndarray  # (N,) the window
    landmarks: np.ndarray  # (N, 68, 2) frame pixels
    descriptors: np.ndarray  # (N, 128), NaN rows where not measured
    crops: np.ndarray  # (N, 2, 3) per-frame face crops for pixel scores (NaN where the track has no face)
    view: np.ndarray  # (2, 3) the one crop dlib measures every frame of the window through
    curves: dict[str, np.ndarray]  # CURVES -> (N,)
    thumb_frames: np.ndarray  # (T,) frame numbers with a thumbnail
    thumbs: np.ndarray  # (T, THUMB_SIZE, THUMB_SIZE, 3) uint8
    image_size: tuple[int, int]  # (width, height)
    fps: float

    def row(self, number: int) -> int:
        return int(np.flatnonzero(self.frame_numbers == number)[0])

    def save(self, path: str) -> None:
        arrays = {name: getattr(self, name) for name in
                  ("frame_numbers", "landmarks", "descriptors", "crops", "view", "thumb_frames", "thumbs")}
        arrays.update({f"curve_{k}": v for k, v in self.curves.items()})
        arrays["meta"] = np.array(json.dumps({"clip": self.clip, "image_size": list(self.image_size),
                                              "fps": self.fps}))
        with open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: str) -> "ClipReference":
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(meta["clip"], data["frame_numbers"], data["landmarks"], data["descriptors"], data["crops"],
                       data["view"], {k: data[f"curve_{k}"] for k in CURVES}, data["thumb_frames"], data["thumbs"],
                       tuple(meta["image_size"]), float(meta["fps"]))


def clip_track(clip: str, cache: FileCache, landmark_backend: str = "mediapipe") -> LandmarkTrack:
    """The clip's raw (unsmoothed) landmark track, from the engine's own cache when a render already made it."""
    job = RenderJob(sources=[], driver=clip, landmark_backend=landmark_backend,
                    motion=dataclasses.replace(MotionConfig(), smoothing=0.0))
    return load_driver(job, None, cache).track


def measure_reference(clip: str, track: LandmarkTrack, window: tuple[int, ...], identity_frames: set[int],
                      thumb_frames: tuple[int, ...], instrument: DlibInstrument, cache: FileCache) -> ClipReference:
    """dlib on every real frame of ``window`` (descriptors on ``identity_frames``), cached."""
    key = cache_key("reference", clip=os.path.abspath(clip), size=os.path.getsize(clip),
                    mtime=int(os.path.getmtime(clip)), window=list(window), identity=sorted(identity_frames),
                    thumbs=list(thumb_frames), version=REFERENCE_VERSION, engine=__version__)

    def compute() -> ClipReference:
        placement = smooth_track(track, CROP_SMOOTHING).select(window)
        view = window_view(placement.landmarks)
        count = len(window)
        landmarks = np.full((count, 68, 2), np.nan, np.float32)
        descriptors = np.full((count, 128), np.nan)
        crops = np.full((count, 2, 3), np.nan)
        curves = {name: np.full(count, np.nan) for name in CURVES}
        thumbs = []
        wanted_thumbs = set(thumb_frames)
        frames = open_frames(clip)
        for row, (number, real) in enumerate(frames.frames(window[0], window[-1])):
            guide = placement.landmarks[row]
            if not np.isfinite(guide).all():
                if number in wanted_thumbs:
                    thumbs.append(np.zeros((THUMB_SIZE, THUMB_SIZE, 3), np.uint8))
                continue
            crops[row] = face_crops.crop_transform(guide)
            face = instrument.measure(face_crops.cut(real, view), with_descriptor=number in identity_frames)
            if face is not None:
                landmarks[row] = face_crops.to_frame(face.landmarks, view)
                if number in identity_frames:
                    descriptors[row] = face.descriptor
                for name, value in face_curves(landmarks[row]).items():
                    curves[name][row] = value
            if number in wanted_thumbs:
                thumbs.append(thumbnail(real, guide))
        return ClipReference(clip, np.asarray(window), landmarks, descriptors, crops, view, curves,
                             np.asarray(thumb_frames, dtype=np.int64),
                             np.asarray(thumbs, np.uint8).reshape(-1, THUMB_SIZE, THUMB_SIZE, 3),
                             tuple(frames.size), float(frames.fps))

    reference, _ = cache.get_or_compute(key, compute, ClipReference.save, ClipReference.load)
    return reference


def thumbnail(image: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """A small face-centred view of ``image`` (uint8 or float in [0, 1]) for a contact sheet."""
    grey = THUMB_OUTSIDE if image.dtype == np.uint8 else THUMB_OUTSIDE / 255.0
    view = face_crops.cut(image, face_crops.crop_transform(landmarks68, THUMB_SIZE, THUMB_ZOOM), THUMB_SIZE, grey)
    return view if view.dtype == np.uint8 else face_crops.to_uint8(view)


def window_view(landmarks: np.ndarray, zoom: float = VIEW_ZOOM) -> np.ndarray:
    """One crop for a whole window: around the median face of the frames that have one."""
    finite = np.isfinite(landmarks).all(axis=(1, 2))
    if not finite.any():
        return np.full((2, 3), np.nan)
    return face_crops.crop_transform(np.median(landmarks[finite], axis=0), zoom=zoom)
