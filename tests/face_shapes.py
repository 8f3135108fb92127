"""A schematic 68-point face for tests that need plausible landmarks without a detector."""

from __future__ import annotations

import numpy as np


def schematic_face(size: float = 256.0, mouth_open: float = 0.0, eyes_open: float = 1.0) -> np.ndarray:
    """(68, 2) float32 landmarks of a frontal face filling the middle of a ``size`` square.

    ``mouth_open`` (0..1) separates the lips; ``eyes_open`` (0..1) scales the lid opening.
    """
    c = 128.0  # drawn in a 256 square, then scaled to ``size``
    pts = np.zeros((68, 2), np.float64)
    t = np.linspace(np.pi * 0.95, np.pi * 0.05, 17)  # jaw: lower half ellipse, image-left to image-right
    pts[0:17] = np.stack([c + 80 * np.cos(t), c + 10 + 90 * np.sin(t)], 1)
    pts[17:22] = np.stack([np.linspace(c - 70, c - 20, 5), c - 45 - 8 * np.sin(np.linspace(0, np.pi, 5))], 1)
    pts[22:27] = np.stack([np.linspace(c + 20, c + 70, 5), c - 45 - 8 * np.sin(np.linspace(0, np.pi, 5))], 1)
    pts[27:31] = np.stack([np.full(4, c), np.linspace(c - 30, c + 10, 4)], 1)
    pts[31:36] = np.stack([np.linspace(c - 16, c + 16, 5), c + 20 + 4 * np.sin(np.linspace(0, np.pi, 5))], 1)
    for start, cx in ((36, c - 45), (42, c + 45)):
        lid = 7 * eyes_open
        pts[start:start + 6] = [[cx - 15, c - 25], [cx - 5, c - 25 - lid], [cx + 5, c - 25 - lid],
                                [cx + 15, c - 25], [cx + 5, c - 25 + lid], [cx - 5, c - 25 + lid]]
    gap = 20 * mouth_open
    upper = c + 50
    outer_x = np.array([-30, -20, -8, 0, 8, 20, 30, 20, 8, 0, -8, -20], float)
    outer_y = np.array([0, -8, -12, -10, -12, -8, 0, 10 + gap, 14 + gap, 15 + gap, 14 + gap, 10 + gap], float)
    pts[48:60] = np.stack([c + outer_x, upper + outer_y], 1)
    inner_x = np.array([-24, -8, 0, 8, 24, 8, 0, -8], float)
    inner_y = np.array([0, -3, -3, -3, 0, 3 + gap, 3 + gap, 3 + gap], float)
    pts[60:68] = np.stack([c + inner_x, upper + 1 + inner_y], 1)
    return (pts * (size / 256.0)).astype(np.float32)
