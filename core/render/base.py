"""What every renderer receives and returns.

The pipeline analyses the still once into a ``SourceFace`` (an aligned square crop and its landmarks), turns
each driver frame into a ``TargetFace`` (where the still's landmarks should be, in the same crop space), and
asks a renderer for a ``RenderedFace``. Paste-back into the full-resolution still is the pipeline's job, so
renderers only ever see crops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class SourceShot:
    """One aligned shot of the person: a square crop and its landmarks in crop pixels."""

    rgb: np.ndarray  # (S, S, 3) float32 sRGB in [0, 1]
    landmarks: np.ndarray  # (68, 2) float32, crop pixel coordinates
    dense: np.ndarray | None = None  # (478, 2) float32 or None


@dataclass
class SourceFace:
    """The still to animate, prepared once: its crop (shot 0) plus any further shots (K-shot)."""

    shots: list[SourceShot]  # shots[0] is the still that is animated
    crop_size: int
    crop_from_still: np.ndarray  # (2, 3) similarity mapping still pixels to crop pixels
    still_rgb: np.ndarray  # (H, W, 3) float32 sRGB, the full still
    still_alpha: np.ndarray | None = None  # (H, W) float32 straight alpha, or None

    @property
    def crop(self) -> SourceShot:
        return self.shots[0]


@dataclass
class TargetFace:
    """Where the still's face should be in one output frame, in the source crop's pixel space."""

    frame_number: int
    landmarks: np.ndarray  # (68, 2) float32
    dense: np.ndarray | None = None  # (478, 2) float32 when the source has a dense mesh
    driver_image: np.ndarray | None = None  # the driver's frame (or a crop of it): uint8 or float32 RGB
    driver_landmarks: np.ndarray | None = None  # (68, 2) of the driver in driver_image's pixels
    # The driver's neutral frame and its 68 landmarks, the same for every frame of a shot: the painters take
    # the driver's skin colour and light from it (a frame's own skin round the mouth changes with the mouth).
    driver_neutral: tuple[np.ndarray, np.ndarray] | None = None
    driver_turn: float = 0.0  # the driver's yaw from its neutral frame (radians; ``TargetShapes.turns``)

    @property
    def driver_frame(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The driver's image and its 68 landmarks, where both came with the target: the mouth and eye
        painters then take what the still cannot show from the driver's own pixels."""
        if self.driver_image is None or self.driver_landmarks is None:
            return None
        return self.driver_image, self.driver_landmarks


@dataclass
class RenderedFace:
    """A renderer's output for one frame, in crop space.

    ``source_map`` (optional) says, per crop pixel, which crop position of the source it shows; the warp
    renderer sets it so paste-back can resample the full-resolution still instead of the crop (no loss of
    detail when the face in the still is larger than the crop). ``overlay`` is then drawn over that
    (e.g. the inner mouth) with ``overlay_alpha``.
    """

    rgb: np.ndarray  # (S, S, 3) float32 sRGB
    matte: np.ndarray  # (S, S) float32 in [0, 1]: where the face was animated
    source_map: np.ndarray | None = None  # (S, S, 2) float32 crop-space sample positions
    overlay: np.ndarray | None = None  # (S, S, 3) float32
    overlay_alpha: np.ndarray | None = None  # (S, S) float32


class FaceRenderer(Protocol):
    """A renderer: prepared once for a source face, then called once per frame."""

    name: str
    # torch's threads for one frame's render while the pipeline writes the previous frame on another
    # thread; None keeps torch's default (all cores), which a network's convolutions use well.
    frame_threads: int | None
    # How the still's face is framed in its crop (``align.face_crop_transform``'s zoom; 1 is FFHQ's framing).
    crop_zoom: float

    def prepare(self, source: SourceFace) -> None:
        ...

    def render(self, target: TargetFace) -> RenderedFace:
        ...

    def describe(self) -> dict:
        """Renderer name, checkpoint id and settings, written into every frame's provenance."""
        ...
