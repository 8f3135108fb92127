"""Where a still's picture ends inside its file: a border strip of one flat colour along an edge.

Why: scans of photographs and paintings, letterboxed video frames and pillarboxed social-media pictures
carry strips of one colour along their edges that are not part of the scene. To the warp they were
picture: the band round a moving head carried them along, so the straight line where a border met the
picture tilted and bent with the head (a 256² still with a black strip along its top, whose crop covers
all of it). The warp's frame (``crop_frame``) ends at the border's inner edge, which never moves, so
the border stays as it is and nothing of it comes into the picture.

A strip counts as border when each of its lines, from the edge inwards, is one colour (``UNIFORM`` of its
pixels within ``TOLERANCE`` of the outermost line's median) and the line after it differs from that colour
over most of its length: a straight edge across the whole side. A plain studio background that reaches
the edge and runs into the subject fails that test and stays picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 0.05  # of full scale, in any channel: JPEG's noise on a flat strip stays within it
UNIFORM = 0.98  # share of a line's pixels within the tolerance for the line to be border
DIFFERS = 0.5  # share of the first picture line's pixels that must differ from the border's colour
WIDEST = 0.25  # share of the file's side a border may take
SAMPLES = 2048  # pixels looked at along a line, at most


@dataclass(frozen=True)
class PictureBox:
    """The picture inside the still's file, in still pixels, and which of its sides is a border's inner edge
    rather than the file's own edge. Sides in the order left, top, right, bottom."""

    left: int
    top: int
    right: int
    bottom: int
    bordered: tuple[bool, bool, bool, bool]

    @classmethod
    def whole(cls, width: int, height: int) -> PictureBox:
        return cls(0, 0, width, height, (False, False, False, False))

    @property
    def corners(self) -> np.ndarray:
        """(4, 2): top-left, top-right, bottom-right, bottom-left."""
        return np.array([[self.left, self.top], [self.right, self.top], [self.right, self.bottom],
                         [self.left, self.bottom]], dtype=np.float64)


def find_picture(rgb: np.ndarray) -> PictureBox:
    """The picture inside ``rgb`` (H, W, C float in [0, 1]): the file less any border strip along each side."""
    height, width = rgb.shape[:2]
    left = top = right = bottom = 0
    for _ in range(2):  # strips of two colours meet in the corners: each pair is looked for between the other
        rows = rgb[:, left: width - right]
        top, bottom = _border_width(rows), _border_width(rows[::-1])
        columns = rgb[top: height - bottom].transpose(1, 0, 2)
        left, right = _border_width(columns), _border_width(columns[::-1])
    return PictureBox(left, top, width - right, height - bottom, (left > 0, top > 0, right > 0, bottom > 0))


def _border_width(lines: np.ndarray) -> int:
    """How many of ``lines`` (from a side of the file inwards: (N, length, C)) are a border strip."""
    most = int(WIDEST * len(lines))
    if most < 2:
        return 0
    step = max(1, lines.shape[1] // SAMPLES)
    colour = np.median(lines[0, ::step], axis=0)
    strip = 0
    while strip <= most:  # a block of lines at a time: most stills have no border, and stop at once
        block = lines[strip: min(strip + 64, most + 1), ::step].astype(np.float32)
        near = (np.abs(block - colour).max(axis=-1) < TOLERANCE).mean(axis=1)
        if np.all(near >= UNIFORM):
            strip += len(block)
            continue
        first = int(np.argmin(near >= UNIFORM))
        strip += first
        return strip if 2 <= strip <= most and near[first] <= 1.0 - DIFFERS else 0
    return 0  # uniform past the widest a border may be: a flat picture, not a border
