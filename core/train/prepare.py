"""``prepare_data``: a folder of talking-face videos -> aligned face crops and landmarks in shards.

Any folder works: VoxCeleb2's ``id/video/clip.mp4`` (the person is the top folder), ``person/clip.mp4``,
or a flat folder (one person per file unless a clip-info file says otherwise). Each video is decoded,
its face tracked (the engine's landmark backends), and cropped with the *pipeline's own* crop
(``align.face_crop_transform`` + ``face_analysis.crop_face``) so the networks train on exactly what they
will see. One crop per video, from the median face position, keeps the head's motion inside the crop —
as the pipeline's target landmarks do, relative to the still's crop.

Videos are processed in parallel worker processes; each finished video is one shard written
atomically, so an interrupted run resumes where it stopped and a finished shard is never redone unless
its video changed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import align
from ..errors import OutputError, PortraitAnimatorError, UnreadableFileError
from ..face_analysis import crop_face
from ..io.provenance import file_sha256
from ..io.sources import open_frames
from ..landmarks import create_detector, track_frames
from .shards import SHARD_DIR, DatasetIndex, VideoShard, encode_crop, read_shard, write_shard

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v")
MIN_CONFIDENCE = 0.6  # tracked frames below this (lost, or gap-filled) are not training targets
MAX_UPSCALE = 4.0  # a face needing more enlargement than this is too small to learn from
UNKNOWN_LICENCE = "unknown (not stated; check before redistributing anything trained on it)"

Progress = Callable[[int, int, str], None]


@dataclass
class ClipInfo:
    person: str
    licence: str


def find_videos(videos_dir: str) -> list[str]:
    """Video files under ``videos_dir``, as sorted paths relative to it."""
    if not os.path.isdir(videos_dir):
        raise UnreadableFileError(f"{videos_dir}: not a folder of videos")
    found = []
    for folder, dirs, files in os.walk(videos_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS and not name.startswith("."):
                found.append(os.path.relpath(os.path.join(folder, name), videos_dir))
    if not found:
        raise UnreadableFileError(f"{videos_dir}: no videos found ({', '.join(VIDEO_EXTENSIONS)})")
    return sorted(found)


def clip_info(relative: str, overrides: dict) -> ClipInfo:
    """Person and licence of a clip: the clip-info file, else the folder layout (top folder = person)."""
    given = overrides.get(relative.replace(os.sep, "/"), {})
    parts = relative.split(os.sep)
    person = parts[0] if len(parts) > 1 else os.path.splitext(parts[0])[0]
    return ClipInfo(person=given.get("person", person), licence=given.get("licence", UNKNOWN_LICENCE))


def video_id(relative: str) -> str:
    return os.path.splitext(relative)[0].replace(os.sep, "__")


def load_clip_info(path: str | None) -> dict:
    """The optional clip-info JSON: ``{"clips": {"rel/path.mp4": {"person": ..., "licence": ...}}}``."""
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise UnreadableFileError(f"{path}: unreadable clip-info file ({exc})") from None
    clips = data.get("clips") if isinstance(data, dict) else None
    if not isinstance(clips, dict):
        raise UnreadableFileError(f"{path}: a clip-info file needs a 'clips' object of relative paths")
    return clips


def prepare_data(videos_dir: str, out_dir: str, size: int = 256, *, backend: str = "mediapipe",
                 workers: int = 1, every: int = 1, clip_info_file: str | None = None,
                 progress: Progress | None = None) -> DatasetIndex:
    """Build (or resume) the dataset in ``out_dir``; returns its index. Videos that cannot be used are
    listed in ``index.skipped`` with the reason, and do not stop the others."""
    if size not in (256, 512):
        raise ValueError(f"crop size must be 256 or 512, got {size}")
    relatives = find_videos(videos_dir)
    overrides = load_clip_info(clip_info_file)
    shard_dir = os.path.join(out_dir, SHARD_DIR)
    try:
        os.makedirs(shard_dir, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the dataset folder ({exc.strerror})") from None
    if not os.access(shard_dir, os.W_OK):
        raise OutputError(f"{out_dir}: the dataset folder is not writable")
    tasks = []
    for relative in relatives:
        info = clip_info(relative, overrides)
        tasks.append({"source": os.path.join(videos_dir, relative), "relative": relative.replace(os.sep, "/"),
                      "shard": os.path.join(shard_dir, video_id(relative) + ".npz"), "size": size,
                      "backend": backend, "every": every, "person": info.person, "licence": info.licence})
    index = DatasetIndex(root=out_dir, crop_size=size, landmark_backend=backend)
    results = []
    done = 0
    if workers <= 1:
        outcomes = map(_prepare_one, tasks)
    else:
        pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_quiet_worker)
        outcomes = pool.imap_unordered(_prepare_one, tasks)
    try:
        for outcome in outcomes:
            done += 1
            results.append(outcome)
            if progress is not None:
                state = outcome.get("reason") or f"{outcome.get('frames', 0)} frames"
                progress(done, len(tasks), f"{outcome['relative']}: {state}")
    finally:
        if workers > 1:
            pool.terminate()
    for outcome in sorted(results, key=lambda o: o["relative"]):
        if "reason" in outcome:
            index.skipped.append({"source": outcome["relative"], "reason": outcome["reason"]})
        else:
            index.videos.append({k: outcome[k] for k in ("id", "file", "person", "frames", "source",
                                                         "sha256", "licence", "fps")})
    index.save()
    return index


def _quiet_worker() -> None:
    """Worker processes share the machine: one thread each."""
    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


_DETECTORS: dict = {}


def _prepare_one(task: dict) -> dict:
    """Make one video's shard (or reuse a finished one); never raises for a bad video."""
    relative = task["relative"]
    try:
        digest = file_sha256(task["source"])
        if os.path.exists(task["shard"]):
            existing = read_shard(task["shard"])
            if existing.meta.get("sha256") == digest and existing.meta.get("crop_size") == task["size"] \
                    and existing.meta.get("backend") == task["backend"] and existing.meta.get("every") == task["every"]:
                return _summary(task, existing)
        shard = _build_shard(task, digest)
        write_shard(task["shard"], shard)
        return _summary(task, shard)
    except PortraitAnimatorError as error:
        return {"relative": relative, "reason": str(error)}


def _summary(task: dict, shard: VideoShard) -> dict:
    return {"relative": task["relative"], "id": shard.video_id, "frames": len(shard),
            "file": os.path.join(SHARD_DIR, os.path.basename(task["shard"])), "person": shard.meta["person"],
            "source": task["relative"], "sha256": shard.meta["sha256"], "licence": shard.meta["licence"],
            "fps": shard.meta["fps"]}


def _build_shard(task: dict, digest: str) -> VideoShard:
    source, size, every = task["source"], task["size"], task["every"]
    frames = open_frames(source)
    if task["backend"] not in _DETECTORS:
        _DETECTORS[task["backend"]] = create_detector(task["backend"])
    detector = _DETECTORS[task["backend"]]
    selected = lambda: ((n, image) for n, image in frames.frames() if (n - frames.first_frame) % every == 0)
    track = track_frames(selected(), backend=detector, fps=frames.fps / every, source=source)
    usable = track.valid & (track.confidence >= MIN_CONFIDENCE)
    if not usable.any():
        raise UnreadableFileError(f"{source}: no frame with a confidently tracked face")
    crop_from_frame = align.face_crop_transform(np.median(track.landmarks[usable], axis=0), size)
    scale, _, _ = align.similarity_params(crop_from_frame)
    if scale > MAX_UPSCALE:
        raise UnreadableFileError(f"{source}: the face is too small to train on ({size / scale:.0f} px for a "
                                  f"{size} px crop)")
    landmarks = align.apply(crop_from_frame, track.landmarks)
    inside = np.all((landmarks >= 0) & (landmarks <= size), axis=(1, 2))
    keep = usable & inside
    wanted = {int(n): row for row, n in enumerate(track.frame_numbers) if keep[row]}
    crops, rows = [], []
    for number, image in selected():
        if number in wanted:
            crops.append(encode_crop(crop_face(image, crop_from_frame, size)))
            rows.append(wanted[number])
    if not crops:
        raise UnreadableFileError(f"{source}: the face leaves the crop in every frame")
    rows = np.asarray(rows)
    dense = None if track.dense is None else align.apply(crop_from_frame, track.dense[rows])
    meta = {"source": task["relative"], "sha256": digest, "person": task["person"], "licence": task["licence"],
            "fps": float(frames.fps / every), "frame_size": list(frames.size), "backend": task["backend"],
            "crop_size": size, "every": every}
    return VideoShard(video_id=video_id(task["relative"].replace("/", os.sep)), crops=crops,
                      landmarks=landmarks[rows].astype(np.float32),
                      frame_numbers=track.frame_numbers[rows].astype(np.int32),
                      crop_from_frame=crop_from_frame, dense=dense, meta=meta)
