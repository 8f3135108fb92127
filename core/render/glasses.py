"""Glasses ride on the head.

A pair of glasses is one rigid object, but the warp carries every pixel with the face points round it: a
squint, a raised cheek or a turning head moved the mesh points round the eyes, and the rims and bridge
bent with the skin (Potter's round rims pulled into polygons). On a still that wears glasses, the points of
a band round each eye, where the rims and the bridge lie, follow one affine motion instead (a flat object
seen from a moving camera, foreshortening included), fitted to what the tracker does with those points and
applied after the mesh smooths the outline's motion (which bent them again). The eyes' own contours, the
irises and the brows keep their motion: the lids move inside the lenses, and the skin under each brow
takes up the brow's motion from halfway down to the eye, so a rim under a brow stays whole and one that
runs along the brow bends with it gently.

Whether the still wears glasses is read from the bridge: between the inner eye corners a pair of glasses
draws one thin bar, continuous from eye to eye, where bare skin shows at most soft shading or broken
wrinkles. ``--glasses on|off`` overrides the reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .. import align
from .regions import LUMA, smoothstep

BRIDGE_SPAN = (0.2, 0.8)  # across the gap between the inner eye corners, as shares of it
BRIDGE_REACH = (-0.55, 0.2)  # up (negative) and down from the corners' line, as shares of the gap
BRIDGE_STRIPES = 31  # columns sampled across the gap
BAR_HALF_WIDTH = 2  # pixels: the bar's profile is compared with its neighbours this far above and below
BAR_CONTRAST = 0.03  # the bar's median contrast with its neighbours (luma of the sRGB-encoded crop, 0..1)
BAR_CONTINUITY = 0.6  # share of the columns whose strongest line lies on one curve across the gap
BAND_AXES = (0.9, 0.65)  # a lens's half-width and half-height, in eye widths: the rim lies near 1 on this scale
BAND = (1.6, 2.3)  # the band's weight is full inside the first radius and falls to none at the second
BROW_CLEARANCE = 0.5  # above the eye the band is full this share of the way up to the brow, none at the brow
LOWER_RIM = (0.95, 1.35)  # lens radii between which a rim usually lies: where the bend is measured


def wears_glasses(rgb: np.ndarray, inner_corners: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether a bar runs between the inner eye corners (``rgb``: the face crop, float in [0, 1])."""
    near, far = (np.asarray(p, np.float64) for p in inner_corners)
    gap = float(np.linalg.norm(far - near))
    if gap < 8 * BAR_HALF_WIDTH:
        return False  # too few pixels across the bridge to see a bar
    axis = (far - near) / gap
    normal = np.array([-axis[1], axis[0]])
    if normal[1] < 0:
        normal = -normal  # down the face
    across = np.linspace(*BRIDGE_SPAN, BRIDGE_STRIPES)
    down = np.arange(BRIDGE_REACH[0] * gap, BRIDGE_REACH[1] * gap)  # one-pixel steps
    points = near + across[None, :, None] * gap * axis + down[:, None, None] * normal
    grey = cv2.GaussianBlur(np.ascontiguousarray(rgb, np.float32) @ LUMA, (0, 0), 1.0)
    grid = np.float32(points - 0.5)
    profile = cv2.remap(grey, grid[..., 0], grid[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    s = BAR_HALF_WIDTH
    contrast = np.abs(profile[s:-s] - 0.5 * (profile[:-2 * s] + profile[2 * s:]))
    strongest, where = contrast.max(axis=0), contrast.argmax(axis=0).astype(np.float64)
    return float(np.median(strongest)) >= BAR_CONTRAST and _on_one_curve(across, where) >= BAR_CONTINUITY


def _on_one_curve(x: np.ndarray, y: np.ndarray) -> float:
    """The share of points within two pixels of one gentle curve (a parabola, refitted to its near points):
    a bridge runs from eye to eye, wrinkles stop and start at other heights."""
    near = np.ones(len(x), bool)
    for _ in range(3):
        curve = np.polyval(np.polyfit(x[near], y[near], 2), x)
        near = np.abs(y - curve) <= 2.0
        if near.sum() < 3:
            return 0.0
    return float(near.mean())


class GlassesCarrier:
    """Moves the band of control points round the eyes with one affine motion."""

    def __init__(self, points: np.ndarray, eyes: list[tuple[np.ndarray, np.ndarray]], brows: list[np.ndarray],
                 free: np.ndarray):
        """``points``: the still's control points; ``eyes``: each eye's upper and lower lid indices, corner
        to corner; ``brows``: each eye's brow (its lower edge where the points have one); ``free``: indices
        that keep their own motion (eye contours, irises, brows)."""
        self.source = np.asarray(points, np.float64)
        self.weights = np.max([_band(self.source, upper, lower, np.asarray(brow))
                               for (upper, lower), brow in zip(eyes, brows)], axis=0)
        self.weights[np.asarray(free, int)] = 0.0
        self.fitted = self.weights >= 0.5

    def carry(self, target: np.ndarray) -> np.ndarray:
        """``target`` control points with the band moved as one flat piece. One motion for both lenses, as
        a frame has: fitted to each lens alone, a turning head squeezed the far lens into a narrow oval."""
        if self.fitted.sum() < 6:
            return target
        matrix = align.fit_affine(self.source[self.fitted], target[self.fitted], self.weights[self.fitted])
        rigid = self.source @ matrix[:, :2].T + matrix[:, 2]
        return target + self.weights[:, None] * (rigid - target)


@dataclass(frozen=True)
class LensFrame:
    """One eye's frame, where its lens is measured: centred on the eye, ``axis`` from corner to corner,
    ``normal`` down the face (away from the brow), lengths in pixels; the lens ellipse is ``BAND_AXES`` eye
    widths."""

    centre: np.ndarray
    axis: np.ndarray
    normal: np.ndarray
    width: float

    @classmethod
    def of_eye(cls, points: np.ndarray, upper: np.ndarray, lower: np.ndarray, brow: np.ndarray) -> "LensFrame":
        corner_a, corner_b = points[upper[0]], points[upper[-1]]
        width = max(float(np.linalg.norm(corner_b - corner_a)), 1e-6)
        axis = (corner_b - corner_a) / width
        normal = np.array([-axis[1], axis[0]])
        centre = points[np.concatenate([upper, lower])].mean(axis=0)
        if float(np.mean((points[brow] - centre) @ normal)) > 0:
            normal = -normal
        return cls(centre, axis, normal, width)

    def along_across(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        relative = np.asarray(at, np.float64) - self.centre
        return relative @ self.axis, relative @ self.normal

    def radius(self, at: np.ndarray) -> np.ndarray:
        """How far out ``at`` lies on the lens ellipse's scale (1 on the ellipse)."""
        along, across = self.along_across(at)
        return np.hypot(along / (BAND_AXES[0] * self.width), across / (BAND_AXES[1] * self.width))

    def on_lower_rim(self, at: np.ndarray) -> np.ndarray:
        """Whether ``at`` lies where the lower half of a rim usually does (``LOWER_RIM``, below the eye's
        middle, away from the brow): the still's rims are not located, so a bend is measured there."""
        radius = self.radius(at)
        return (radius > LOWER_RIM[0]) & (radius < LOWER_RIM[1]) & (self.along_across(at)[1] > 0)


def _band(points: np.ndarray, upper: np.ndarray, lower: np.ndarray, brow: np.ndarray) -> np.ndarray:
    """Each point's weight in the band of one eye: full out to ``BAND[0]`` lens radii, none past ``BAND[1]``;
    above the eye, full up to ``BROW_CLEARANCE`` of the way to the brow and none at the brow, whose motion
    the skin below it takes up gradually (where a rim runs under the brow, it bends there gently; rigid
    skin right under a free brow kinked it)."""
    frame = LensFrame.of_eye(points, upper, lower, brow)
    along, across = frame.along_across(points)
    band = smoothstep((BAND[1] - frame.radius(points)) / (BAND[1] - BAND[0]))
    lid_top = _height_along(along, *frame.along_across(points[upper]))
    brow_bottom = _height_along(along, *frame.along_across(points[brow]))
    way_up = (lid_top - across) / np.maximum(lid_top - brow_bottom, 1e-6)  # 0 at the lid, 1 at the brow
    below_brow = 1.0 - smoothstep((way_up - BROW_CLEARANCE) / (1.0 - BROW_CLEARANCE))
    return band * below_brow


def _height_along(along: np.ndarray, curve_along: np.ndarray, curve_across: np.ndarray) -> np.ndarray:
    """A curve's ``across`` at each ``along`` (its ends held beyond them)."""
    order = np.argsort(curve_along)
    return np.interp(along, curve_along[order], curve_across[order])
