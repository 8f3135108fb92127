"""A synthesised mouth interior, for drivers that bring no mouth pixels (the Blender rig, presets, landmark files).

An open mouth seen from the front shows, from the upper lip down: the upper teeth (a row of separate teeth
along a curved arch, so they narrow towards the corners), the dark cavity behind them, the tongue's rounded
back rising from the floor of the mouth, and the tips of the lower teeth just above the lower lip. A flat dark
slot with a white band reads as a hole with a mouth guard; the layers here read as a mouth at every opening.

Everything is laid out in the mouth's own frame (corner-to-corner axis and its normal), so a rolled head keeps
its teeth square to the lips. Sizes are shares of the mouth width (teeth) or of the local lip gap (tongue).
Colours derive from the still's lips, so a grey photograph or a painting gets a grey or painterly interior.
"""

from __future__ import annotations

import cv2
import numpy as np

from .regions import smoothstep

# Tooth edges along the dental arch, in radians from the midline, and how much of each tooth shows (share of
# the visible tooth length): central incisor, lateral incisor, canine, two premolars, first molar.
ARCH_MAX = 1.3  # the arch angle seen at the mouth corners
UPPER_TEETH = ((0.28, 1.0), (0.22, 0.92), (0.21, 0.94), (0.18, 0.86), (0.18, 0.8), (0.23, 0.72))
LOWER_TEETH = ((0.19, 1.0), (0.19, 0.97), (0.21, 0.93), (0.2, 0.86), (0.2, 0.8), (0.31, 0.7))
UPPER_TOOTH_LENGTH = 0.13  # of the mouth width, the central incisors' visible length
LOWER_TOOTH_LENGTH = 0.045
TEETH_SHARE_OF_GAP = (0.5, 0.15)  # at most this share of the lip gap is upper / lower teeth
TABLE_SIZE = 1025  # samples of the teeth's profile across the mouth (seams are ~1/50 of it wide)


def synthetic_interior(upper: np.ndarray, lower: np.ndarray, box, lips_rgb: np.ndarray, size: int,
                       teeth: bool = True) -> np.ndarray:
    """(h, w, 3) interior over ``box`` for target inner-lip halves ``upper``/``lower`` (corner to corner).

    ``teeth=False`` leaves them out: a still that shows its own teeth brings those, riding on its lips."""
    x0, y0, x1, y1 = box
    frame = MouthFrame(upper, lower)
    s, n = frame.coordinates(x0, y0, x1, y1)
    width = frame.width
    top, bottom = frame.top(s), frame.bottom(s)
    gap = np.maximum(bottom - top, 1e-3)
    u = np.clip(2.0 * s / width - 1.0, -1.0, 1.0)  # -1 .. 1 from corner to corner
    across = np.abs(u)
    depth = np.clip((n - top) / gap, 0.0, 1.0)  # 0 at the upper lip, 1 at the lower lip
    soft = max(0.018 * width, 0.7)  # edge softness of the tongue and teeth, in pixels
    lips = np.asarray(lips_rgb, np.float32)

    # The cavity: dark red, darkest high up and at the back of the corners.
    shade = (0.45 + 0.55 * depth) * (1.0 - 0.55 * across ** 2)
    rgb = _of_lips(lips, 0.28, 1.6)[None, None, :] * shade[..., None]

    # The tongue's back: a rounded mound up from the lower lip, lit on its crown, darker where it falls away.
    crown = bottom - np.minimum(0.45 * gap, 0.24 * width) * np.sqrt(np.clip(1.0 - (u / 0.85) ** 2, 0.0, 1.0))
    tongue = _step((n - crown) / soft)
    below_crown = np.clip((n - crown) / np.maximum(bottom - crown, 1e-3), 0.0, 1.0)
    lit = (0.62 + 0.38 * np.sin(np.pi * np.clip(0.3 + below_crown, 0.0, 1.0))) * (1.0 - 0.45 * across ** 2)
    groove = 1.0 - 0.12 * np.exp(-(u / 0.05) ** 2)
    tongue_rgb = _of_lips(lips, 0.85, 1.2)[None, None, :] * (lit * groove)[..., None]
    rgb = _over(rgb, tongue_rgb, tongue)

    if teeth:
        # Ivory teeth a little under white, in the picture's cast (a warm varnish; a grey photograph's grey).
        colourful = min(float(lips.max() - lips.min()) / 0.15, 1.0)
        tint = (lips / max(float(lips.max()), 1e-3)) ** 0.3 * np.array([1.0, 0.96, 0.9]) ** colourful
        shine = float(np.clip(0.5 + 0.5 * lips.mean(), 0.55, 0.85)) * tint
        middle_gap = float(frame.bottom_arc(0.0) - frame.top_arc(0.0))
        for edges, length, share, from_top in ((LOWER_TEETH, LOWER_TOOTH_LENGTH, TEETH_SHARE_OF_GAP[1], False),
                                              (UPPER_TEETH, UPPER_TOOTH_LENGTH, TEETH_SHARE_OF_GAP[0], True)):
            reach = min(share * max(middle_gap, 0.0), length * width)  # a central tooth's visible length
            # Teeth hang from the lip's overall arch, not from each wrinkle of it: their edges run smooth.
            from_lip = (n - frame.top_arc(u)) if from_top else (frame.bottom_arc(u) - n)
            cover, tone = tooth_row(u, from_lip, reach, edges, soft, 1.2 * soft / width)
            colour = shine[None, None, :] * (tone * (1.0 - 0.6 * across ** 2))[..., None]
            back = 1.0 - _step((across - 0.87) / 0.12)  # the last teeth disappear into the corners' shadow
            rgb = _over(rgb, colour, cover * back * (1.0 if from_top else 0.7))
    return cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), max(0.5, 0.002 * size))


def tooth_row(u: np.ndarray, from_lip: np.ndarray, reach: float, edges, soft: float, seam_width: float):
    """Coverage and shading of one row of teeth hanging ``from_lip`` (pixels from their lip, inwards).

    ``edges``: each tooth's (arch angle, visible share) from the midline outwards, mirrored on both sides; a
    tooth's width on screen is its arc's projection, so teeth narrow towards the corners. Each tooth's free
    edge is rounded at its corners, and a shadow ``seam_width`` wide (in units of ``u``) separates
    neighbours. What depends on the position across the mouth alone is tabulated once over ``|u|``."""
    side = np.linspace(0.0, 1.0, TABLE_SIZE)
    bounds = np.sin(np.minimum(np.cumsum([0.0] + [a for a, _ in edges]), ARCH_MAX)) / np.sin(ARCH_MAX)
    shares = np.array([share for _, share in edges] + [0.0])
    k = np.clip(np.searchsorted(bounds, side, side="right") - 1, 0, len(edges))
    lo, hi = bounds[np.minimum(k, len(edges) - 1)], bounds[np.minimum(k + 1, len(edges))]
    v = np.clip((side - lo) / np.maximum(hi - lo, 1e-6), 0.0, 1.0)  # 0..1 across this tooth
    length_table = shares[k] * (1.0 - 0.15 * np.abs(2.0 * v - 1.0) ** 4)
    seam = np.minimum(v, 1.0 - v) * (hi - lo)  # distance to the neighbour, in units of u
    seam_table = 1.0 - 0.22 * np.exp(-(seam / seam_width) ** 2)
    across = np.abs(u)
    length = reach * np.interp(across, side, length_table).astype(np.float32)
    cover = _step((length - from_lip) / soft)  # no upper bound: a lip raised above the arch shows tooth, no gap
    # The lip shades the tooth's root; the free edge is a little translucent.
    along = np.clip(from_lip / np.maximum(length, 1e-3), 0.0, 1.0)
    tone = np.interp(across, side, seam_table).astype(np.float32)
    tone = tone * (0.8 + 0.2 * np.clip(along / 0.25, 0.0, 1.0)) * (1.0 - 0.12 * np.clip((along - 0.8) / 0.2, 0, 1))
    return cover, tone


class MouthFrame:
    """The target mouth's own frame: ``s`` along the corner-to-corner axis, ``n`` across it (down on an upright
    face), both in pixels from the first corner; the lips as functions of ``s``."""

    def __init__(self, upper: np.ndarray, lower: np.ndarray):
        upper, lower = np.asarray(upper, np.float64), np.asarray(lower, np.float64)
        self.origin = upper[0]
        self.width = max(float(np.linalg.norm(upper[-1] - upper[0])), 1.0)
        self.axis = (upper[-1] - upper[0]) / self.width
        self.normal = np.array([-self.axis[1], self.axis[0]])
        self._upper = self._sorted(upper)
        self._lower = self._sorted(lower)
        self._upper_arc = np.polyfit(2.0 * self._upper[0] / self.width - 1.0, self._upper[1], 2)
        self._lower_arc = np.polyfit(2.0 * self._lower[0] / self.width - 1.0, self._lower[1], 2)

    def coordinates(self, x0: int, y0: int, x1: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
        xs = np.arange(x0, x1, dtype=np.float64) + 0.5 - self.origin[0]
        ys = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5 - self.origin[1]
        along, across = xs * self.axis[0] + ys * self.axis[1], xs * self.normal[0] + ys * self.normal[1]
        return along.astype(np.float32), across.astype(np.float32)  # float32: the interior is per-pixel work

    def top(self, s: np.ndarray) -> np.ndarray:
        return np.interp(s, *self._upper).astype(np.float32)

    def bottom(self, s: np.ndarray) -> np.ndarray:
        return np.interp(s, *self._lower).astype(np.float32)

    def top_arc(self, u):
        """The upper lip's overall arch (a parabola through it) at ``u`` (-1 .. 1 from corner to corner)."""
        return np.polyval(self._upper_arc, u).astype(np.float32)

    def bottom_arc(self, u):
        return np.polyval(self._lower_arc, u).astype(np.float32)

    def _sorted(self, lip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = lip - self.origin
        s, n = rel @ self.axis, rel @ self.normal
        order = np.argsort(s)
        return s[order], n[order]


def _step(x: np.ndarray) -> np.ndarray:
    """Smooth 0 -> 1 over x in -0.5 .. 0.5 (an anti-aliased edge one softness wide)."""
    return smoothstep(x + 0.5)


def _over(under: np.ndarray, over: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return under * (1.0 - alpha[..., None]) + over * alpha[..., None]


def _of_lips(lips: np.ndarray, brightness: float, saturation: float) -> np.ndarray:
    """The lips' colour darkened and saturated: the wet, shadowed inside of the same mouth (grey stays grey)."""
    grey = float(lips.mean())
    return np.clip((grey + saturation * (lips - grey)) * brightness, 0.0, 1.0).astype(np.float32)
