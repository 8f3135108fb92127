"""Meta-learning episodes: one video, K frames to embed and one more frame to reproduce.

Episode ``n`` of a run is a pure function of (seed, n): which video, which K+1 frames. So a resumed run
continues with exactly the episodes it would have seen, and a distributed run splits the very same
episodes between its processes (rank r of R takes every R-th episode of each step).

For the hybrid, the episode also carries the first shot warped onto the target frame's landmarks by the
warp renderer — the same renderer, on the same crop, that feeds the hybrid at render time. Half of the
hybrid's episodes (``mouth_from_target``) give the warp the real target frame as its driver crop, as the
pipeline does when the driver is a video; the others get the warp's synthetic mouth interior.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch.utils.data import Dataset

from ..render.base import SourceFace, SourceShot, TargetFace
from ..render.warp import WarpRenderer
from ..sketch import draw_sketch
from .shards import DatasetIndex, VideoShard, read_shard

_CACHED_SHARDS = 64


def to_network(rgb01: np.ndarray) -> torch.Tensor:
    """(H, W, 3) [0, 1] numpy -> (3, H, W) [-1, 1] tensor: the networks' convention."""
    return torch.from_numpy(np.ascontiguousarray(rgb01.transpose(2, 0, 1))) * 2.0 - 1.0


def from_network(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) [-1, 1] tensor -> (N, H, W, 3) [0, 1] float32 numpy."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 0.5).permute(0, 2, 3, 1).cpu().numpy()


def warp_shot(shot: SourceShot, size: int, landmarks: np.ndarray, dense: np.ndarray | None,
              driver_crop: np.ndarray | None = None) -> np.ndarray:
    """``shot`` warped by the warp renderer so its landmarks land on ``landmarks``: (S, S, 3) [0, 1]."""
    renderer = WarpRenderer()
    renderer.prepare(SourceFace(shots=[shot], crop_size=size, crop_from_still=np.eye(2, 3),
                                still_rgb=shot.rgb))
    target = TargetFace(frame_number=1, landmarks=landmarks,
                        dense=dense if shot.dense is not None else None,
                        driver_image=driver_crop, driver_landmarks=None if driver_crop is None else landmarks)
    return np.clip(renderer.render(target).rgb, 0.0, 1.0).astype(np.float32)


class EpisodeDataset(Dataset):
    """Episodes over the videos of ``index`` that have at least K+1 frames."""

    def __init__(self, index: DatasetIndex, k_shots: int, seed: int = 0, hybrid: bool = False,
                 mouth_from_target: float = 0.5):
        self.index = index
        self.k_shots = k_shots
        self.seed = seed
        self.hybrid = hybrid
        self.mouth_from_target = mouth_from_target
        self.videos = [v for v in index.videos if v["frames"] >= k_shots + 1]
        if not self.videos:
            raise ValueError(f"no video in {index.root} has the {k_shots + 1} frames an episode needs")
        self.size = index.crop_size
        self._shards: OrderedDict[str, VideoShard] = OrderedDict()

    @property
    def num_videos(self) -> int:
        return len(self.videos)

    def __len__(self) -> int:  # episodes are addressed by number; any number is valid
        return 2 ** 62

    def shard(self, video: int) -> VideoShard:
        key = self.videos[video]["id"]
        if key not in self._shards:
            self._shards[key] = read_shard(self.index.shard_path(self.videos[video]))
            if len(self._shards) > _CACHED_SHARDS:
                self._shards.popitem(last=False)
        self._shards.move_to_end(key)
        return self._shards[key]

    def __getitem__(self, episode: int) -> dict:
        rng = np.random.default_rng([self.seed, int(episode)])
        video = int(rng.integers(self.num_videos))
        shard = self.shard(video)
        frames = rng.choice(len(shard), size=self.k_shots + 1, replace=False)
        return self.make_episode(shard, frames[:-1], int(frames[-1]), video, rng)

    def make_episode(self, shard: VideoShard, shots, target: int, video: int,
                     rng: np.random.Generator | None = None) -> dict:
        size = self.size
        images = [shard.image(int(i)) for i in shots]
        target_rgb = shard.image(target)
        target_sketch = draw_sketch(shard.landmarks[target], size)
        episode = {
            "shots": torch.stack([to_network(im) for im in images]),
            "shot_sketches": torch.stack([to_network(draw_sketch(shard.landmarks[int(i)], size)) for i in shots]),
            "target": to_network(target_rgb),
            "target_sketch": to_network(target_sketch),
            "video": torch.tensor(video, dtype=torch.long),
        }
        if self.hybrid:
            first = int(shots[0])
            shot = SourceShot(rgb=images[0], landmarks=shard.landmarks[first],
                              dense=None if shard.dense is None else shard.dense[first])
            use_real_mouth = rng is not None and rng.random() < self.mouth_from_target
            episode["warped"] = to_network(warp_shot(
                shot, size, shard.landmarks[target], None if shard.dense is None else shard.dense[target],
                driver_crop=target_rgb if use_real_mouth else None))
        return episode
