"""The two evaluation protocols of the paper, adapted to what runs offline on a few clips.

Self-reenactment: from a clip, K source frames spread over the clip (the first is the still a single-image
renderer animates, always the clip's first frame with a face, so K changes nothing but the extra shots);
the clip drives them and each generated frame is compared with the real frame at the same time, on
held-back frames only — never a frame used as a source.

Cross-reenactment: a still of person A driven by a clip of person B (never the same person: see
``identity_groups``); there is no ground truth, so identity is compared with the still and motion with the
driver.

Both score a contiguous window of the clip (its middle, ``max_frames`` long), so temporal measures
(jitter, flicker) see consecutive frames.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .identity_groups import IdentityGroups

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v")
STILL_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp", ".webp")
DEFAULT_K = (1, 8, 32)


@dataclass(frozen=True)
class SelfCase:
    """One clip reenacting itself from K of its own frames."""

    clip: str
    k: int
    sources: tuple[int, ...]  # frame numbers used as source shots; sources[0] is the animated still
    window: tuple[int, ...]  # consecutive frame numbers rendered
    held_back: tuple[int, ...]  # frames of the window that are scored (not sources)

    protocol = "self"

    @property
    def group(self) -> str:
        """The report section: one per K."""
        return f"self-k{self.k}"

    @property
    def name(self) -> str:
        return clip_name(self.clip)

    @property
    def case_id(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass(frozen=True)
class CrossCase:
    """A still of one person driven by a clip of another."""

    still: str
    clip: str
    window: tuple[int, ...]

    protocol = "cross"
    group = "cross"

    @property
    def held_back(self) -> tuple[int, ...]:
        return self.window  # nothing of the clip is a source: every frame is scored

    @property
    def name(self) -> str:
        return f"{clip_name(self.clip)}__{clip_name(self.still)}"

    @property
    def case_id(self) -> str:
        return f"cross/{self.name}"


def clip_name(path: str) -> str:
    """A file's name without folder and extension: the key used in tables and file names."""
    return os.path.splitext(os.path.basename(path))[0]


def find_files(folder: str, extensions: tuple[str, ...]) -> list[str]:
    """Files of ``folder`` (not recursive) with one of ``extensions``, sorted by name."""
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                  if os.path.splitext(name)[1].lower() in extensions and not name.startswith("."))


def middle_window(frame_numbers, max_frames: int | None) -> tuple[int, ...]:
    """The middle ``max_frames`` consecutive frames (all of them when ``max_frames`` is None or larger)."""
    numbers = [int(n) for n in frame_numbers]
    if max_frames is None or max_frames >= len(numbers):
        return tuple(numbers)
    start = (len(numbers) - max_frames) // 2
    return tuple(numbers[start:start + max_frames])


def spread(frame_numbers, count: int) -> tuple[int, ...]:
    """``count`` frames spread evenly from the first to the last (all of them when there are fewer)."""
    numbers = [int(n) for n in frame_numbers]
    if count >= len(numbers):
        return tuple(numbers)
    if count == 1:
        return (numbers[0],)
    picks = np.unique(np.round(np.linspace(0, len(numbers) - 1, count)).astype(int))
    return tuple(numbers[i] for i in picks)


def self_case(clip: str, k: int, frames_with_face, all_frames, max_frames: int | None) -> SelfCase:
    """The K-shot self-reenactment case of ``clip``: sources spread over frames with a face."""
    sources = spread(frames_with_face, k)
    window = middle_window(all_frames, max_frames)
    chosen = set(sources)
    return SelfCase(clip, k, sources, window, tuple(n for n in window if n not in chosen))


def cross_pairs(stills: list[str], clips: list[str], groups: IdentityGroups, count: int | None = None,
                seed: int = 0) -> list[tuple[str, str]]:
    """(still, clip) pairs of different people: every clip and every still used, each about equally often,
    no pair twice (so ``count`` above the number of such pairs gives them all).

    Deterministic for a given ``seed``. A still that shares an identity group with every clip is left out.
    """
    if not stills or not clips:
        return []
    stills, clips = sorted(stills), sorted(clips)
    order = [stills[i] for i in np.random.default_rng(seed).permutation(len(stills))]
    count = count if count is not None else max(len(stills), len(clips))
    uses = {still: 0 for still in stills}
    pairs = []
    for k in range(count):
        clip = clips[k % len(clips)]
        allowed = [order[(k + j) % len(order)] for j in range(len(order))]
        allowed = [s for s in allowed if not groups.same_person(clip_name(s), clip_name(clip))
                   and (s, clip) not in pairs]
        if not allowed:
            continue
        fewest = min(uses[s] for s in allowed)
        still = next(s for s in allowed if uses[s] == fewest)
        uses[still] += 1
        pairs.append((still, clip))
    return pairs
