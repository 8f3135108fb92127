"""The training-data format: one shard file per video, and a JSON index of the dataset.

A shard holds one video's aligned face crops as JPEG bytes (so a 256² frame costs ~20 KB, and a whole
video is read in one sequential go) with their 68 landmarks, dense MediaPipe points when the backend has
them, frame numbers and the crop transform. Shards are written atomically and are immutable, so a
dataset is resumable video by video and can be copied or streamed shard by shard; the index says which
videos exist, whose person each is (a train/test split must be by person) and under what licence.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import UnreadableFileError

DATASET_FORMAT = "portrait-animator/dataset"
DATASET_VERSION = 1
INDEX_NAME = "dataset.json"
SHARD_DIR = "videos"
JPEG_QUALITY = 95


@dataclass
class VideoShard:
    """One video's aligned crops and landmarks (crop pixel coordinates)."""

    video_id: str
    crops: list[bytes]  # JPEG-encoded RGB crops
    landmarks: np.ndarray  # (F, 68, 2) float32
    frame_numbers: np.ndarray  # (F,) int32, 1-based numbers in the source video
    crop_from_frame: np.ndarray  # (2, 3) float64
    dense: np.ndarray | None = None  # (F, 478, 2) float32
    meta: dict = field(default_factory=dict)  # source, sha256, person, licence, fps, backend, ...

    def __len__(self) -> int:
        return len(self.crops)

    def image(self, index: int) -> np.ndarray:
        """Frame ``index`` as (S, S, 3) float32 sRGB in [0, 1]."""
        bgr = cv2.imdecode(np.frombuffer(self.crops[index], np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise UnreadableFileError(f"{self.video_id}: frame {index} of its shard is not a valid JPEG")
        return bgr[:, :, ::-1].astype(np.float32) / 255.0


def encode_crop(rgb_uint8: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", rgb_uint8[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def write_shard(path: str, shard: VideoShard) -> None:
    """Write ``shard`` to ``path`` (.npz, uncompressed: the crops are JPEG already), atomically."""
    lengths = np.array([len(c) for c in shard.crops], np.int64)
    arrays = {
        "crops": np.frombuffer(b"".join(shard.crops), np.uint8),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "landmarks": shard.landmarks.astype(np.float32),
        "frame_numbers": shard.frame_numbers.astype(np.int32),
        "crop_from_frame": shard.crop_from_frame.astype(np.float64),
        "meta": np.array(json.dumps({"video_id": shard.video_id, **shard.meta})),
    }
    if shard.dense is not None:
        arrays["dense"] = shard.dense.astype(np.float32)
    tmp = f"{path}.tmp-{os.getpid()}.npz"
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_shard(path: str) -> VideoShard:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as exc:  # numpy/zipfile raise many types for a damaged file
        raise UnreadableFileError(f"{path}: not a readable video shard ({exc})") from None
    try:
        meta = json.loads(str(arrays["meta"]))
        blob, offsets = arrays["crops"].tobytes(), arrays["offsets"]
        crops = [blob[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
        return VideoShard(video_id=meta.pop("video_id"), crops=crops, landmarks=arrays["landmarks"],
                          frame_numbers=arrays["frame_numbers"], crop_from_frame=arrays["crop_from_frame"],
                          dense=arrays.get("dense"), meta=meta)
    except (KeyError, ValueError) as exc:
        raise UnreadableFileError(f"{path}: incomplete video shard ({exc})") from None


@dataclass
class DatasetIndex:
    """The dataset's table of contents (``dataset.json``)."""

    root: str
    crop_size: int
    videos: list[dict] = field(default_factory=list)  # id, file, person, frames, source, sha256, licence
    skipped: list[dict] = field(default_factory=list)  # source, reason
    landmark_backend: str = ""

    @property
    def persons(self) -> list[str]:
        return sorted({v["person"] for v in self.videos})

    def shard_path(self, video: dict) -> str:
        return os.path.join(self.root, video["file"])

    def save(self) -> None:
        data = {"format": DATASET_FORMAT, "version": DATASET_VERSION, "crop_size": self.crop_size,
                "landmark_backend": self.landmark_backend, "videos": self.videos, "skipped": self.skipped}
        path = os.path.join(self.root, INDEX_NAME)
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.write("\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, root: str) -> "DatasetIndex":
        path = os.path.join(root, INDEX_NAME)
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            raise UnreadableFileError(f"{path}: no dataset index here; make one with "
                                      "'portrait-animator prepare-data VIDEOS_DIR -o DATASET'") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise UnreadableFileError(f"{path}: unreadable dataset index ({exc})") from None
        if data.get("format") != DATASET_FORMAT or data.get("version") != DATASET_VERSION:
            raise UnreadableFileError(f"{path}: not a version-{DATASET_VERSION} Portrait Animator dataset index")
        return cls(root=root, crop_size=int(data["crop_size"]), videos=list(data["videos"]),
                   skipped=list(data.get("skipped", [])), landmark_backend=data.get("landmark_backend", ""))

    def select(self, persons: list[str] | None = None, exclude_persons: list[str] | None = None) -> "DatasetIndex":
        """The videos of ``persons`` (all when None), minus those of ``exclude_persons``."""
        keep = [v for v in self.videos
                if (persons is None or v["person"] in persons) and v["person"] not in (exclude_persons or [])]
        return DatasetIndex(self.root, self.crop_size, keep, [], self.landmark_backend)
