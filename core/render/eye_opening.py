"""The eyeballs of a still whose eyes are shut, painted where the warp has only the closed lid to stretch.

Motion parts a shut eye's lids to the driver's typical opening (``motion.eyes.open_shut_lids``); the still has no
eyeball between them, and the warp would fill the opening with the lid line stretched tall. So the eyeball
is painted, as the mouth's interior is:

- from the driving video's own eye when there is one: the driver's eye set between the target lids and
  shown in the still's light and colour (``colour_transfer``, from the driver's skin on its neutral
  frame), so it blinks, glances and squints as the driver's does. Its iris is the driver's colour: the
  still never showed the sitter's;
- otherwise (a preset, a landmark file) a drawn eye: a white in the still's light, shaded under the upper
  lid and its lashes, a dark iris with a darker rim, looking ahead, a pupil and a catchlight.

The paint fades in as the target lids part past the still's own gap, so a blink closes back onto the
still's own lid.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .. import align
from .colour_transfer import lab_statistics, match_colour
from .regions import Overlay, bounding_box, polygon_mask, region_pixels, smoothstep, warp_into_box

OPEN_START, OPEN_FULL = 0.0, 0.04  # lid gap over eye width, past the still's own, where painting fades in
SKIN_RING = ((0.8, 0.45), (0.55, 0.25))  # skin sampled round an eye between two ellipses (half-axes, eye widths)
RING_SAMPLES = 1024  # pixels of that skin enough for its mean and spread
IRIS_RADIUS = 0.21  # of the eye's width (an iris is about 12 mm across an eye about 28 mm wide)
PUPIL_RADIUS = 0.4  # of the iris's
IRIS_RAISED = 0.1  # of the lid gap: an iris looking ahead sits a little above the middle, under the upper lid
LID_SHADOW = 0.3  # of the lid gap below the upper lid: its shade on the eyeball (the lashes at its top)
CATCHLIGHT = (0.12, 0.35, -0.35)  # radius and offset (along, up) from the iris centre, in iris radii
LID_MARGIN = 0.03  # of the eye's width: the paint reaches this far past the target lids, over their margins
CORNER_SHADE = 0.25  # the drawn white darkens by this much towards the corners, where the eyeball turns away
DRAWN_SOFTNESS = 0.015  # of the eye's width: the drawn eye's blur


@dataclass
class DriverEyes:
    """An image of the driver and its two eye contours in its pixels (iBUG 36-41 and 42-47 order)."""

    image: np.ndarray  # (H, W, 3) uint8 or float32 in [0, 1]
    contours: tuple[np.ndarray, np.ndarray]  # (6, 2) each
    skins: tuple | None = None  # each eye's skin in the driver (``driver_skin``); None: this image's


class EyeOpener:
    """Paints the eyeballs of a still's shut eyes for any target lids."""

    def __init__(self, crop_rgb: np.ndarray, control: np.ndarray, eyes, shut: float):
        """``eyes``: each eye's upper and lower lid indices into ``control``, corner to corner, in
        ``motion.eye_openness``'s order; ``shut``: how shut the still's eyes are (``motion.shut_eyes``)."""
        self.size = crop_rgb.shape[0]
        self.eyes = [(np.asarray(upper), np.asarray(lower)) for upper, lower in eyes]
        self.shut = list(range(len(self.eyes))) if shut > 0.0 else []
        self.own_gap, self.skin_lab = {}, {}
        for eye in self.shut:
            upper, lower = control[self.eyes[eye][0]], control[self.eyes[eye][1]]
            self.own_gap[eye] = align.mean_gap(upper, lower) / _width(upper)
            self.skin_lab[eye] = lab_statistics(_skin_round(crop_rgb, upper))

    def paint(self, control_dst: np.ndarray, driver: DriverEyes | None = None) -> list[Overlay]:
        """Overlays for the target lids in ``control_dst`` (none while the shut eyes stay shut)."""
        overlays = []
        for eye in self.shut:
            upper, lower = control_dst[self.eyes[eye][0]], control_dst[self.eyes[eye][1]]
            width = _width(upper)
            past_own = align.mean_gap(upper, lower) / width - self.own_gap[eye]
            fade = float(np.clip((past_own - OPEN_START) / (OPEN_FULL - OPEN_START), 0.0, 1.0))
            if fade <= 0.0:
                continue
            loop = np.vstack([upper, lower[::-1][1:-1]])
            box = bounding_box(loop, 4, self.size)
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            alpha = _grown_mask(loop, box, LID_MARGIN * width) * fade
            if driver is not None:
                rgb = self._driver_eye(upper, lower, box, driver, eye)
            else:
                rgb = self._drawn_eye(upper, lower, box, eye)
            overlays.append(Overlay(rgb.astype(np.float32), alpha.astype(np.float32), box))
        return overlays

    def _driver_eye(self, upper: np.ndarray, lower: np.ndarray, box, driver: DriverEyes, eye: int) -> np.ndarray:
        """The driver's eye on the target lids, in the still's light: turned and scaled corner to corner, its
        lids' middle on theirs. Fitted to the lids as well (an affine), an eye opened less than the driver's
        was squashed into the slit, its iris flattened; so the lids cut the eye as a narrower eye's do."""
        up, low = align.resample_arc(upper, 4), align.resample_arc(lower, 4)
        target = np.vstack([up, low[2:0:-1]])  # iBUG order: corner, upper lid, corner, lower lid back
        contour = np.asarray(driver.contours[eye], np.float64)
        matrix = align.fit_similarity(contour[[0, 3]], target[[0, 3]])
        matrix[:, 2] += target.mean(0) - align.apply(matrix, contour).mean(0)
        patch = warp_into_box(driver.image, matrix, box)
        skin = driver.skins[eye] if driver.skins is not None else driver_skin(driver.image, contour)
        return match_colour(patch, skin, self.skin_lab[eye])

    def _drawn_eye(self, upper: np.ndarray, lower: np.ndarray, box, eye: int) -> np.ndarray:
        """A white, an iris and a pupil looking ahead, in the still's light and colour."""
        skin_l, skin_a, skin_b = (float(v) for v in self.skin_lab[eye][0])
        colour = min(1.0, float(np.hypot(skin_a, skin_b)) / 15.0)  # a grey photograph's eye has none
        white = _rgb((skin_l + 3.0, 0.5 * skin_a, 0.5 * skin_b))
        iris = _rgb((0.4 * skin_l, 4.0 * colour, 9.0 * colour))
        pupil = _rgb((0.1 * skin_l, 0.0, 0.0))
        catchlight = _rgb((min(100.0, skin_l + 12.0), 0.0, 0.0))

        width = _width(upper)
        origin = upper[0]
        axis = (upper[-1] - origin) / width
        down = np.array([-axis[1], axis[0]])
        x0, y0, x1, y1 = box
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
        along = (xs - origin[0]) * axis[0] + (ys - origin[1]) * axis[1]
        across = (xs - origin[0]) * down[0] + (ys - origin[1]) * down[1]

        def across_lid(lid, t):  # how far down the lid lies at ``t`` along the eye
            return (align.polyline_at(lid, t, origin, axis) - origin) @ down

        lid_top = across_lid(upper, along)
        middle = 0.5 * width
        top, bottom = float(across_lid(upper, middle)), float(across_lid(lower, middle))
        gap = max(bottom - top, 1.0)
        radius = IRIS_RADIUS * width
        centre = np.array([middle, 0.5 * (top + bottom) - IRIS_RAISED * gap])
        distance = np.hypot(along - centre[0], across - centre[1]) / radius

        sideways = np.clip(np.abs(along / width - 0.5) * 2.0, 0.0, 1.0)
        rgb = white * (1.0 - CORNER_SHADE * sideways ** 2)[..., None]
        rim = 0.7 + 0.3 * smoothstep((1.0 - distance) / 0.3)  # the iris darker towards its edge
        rgb = _blend(rgb, iris * rim[..., None], smoothstep((1.0 - distance) / 0.15))
        rgb = _blend(rgb, pupil, smoothstep((PUPIL_RADIUS - distance) / 0.15))
        spot = np.hypot(along - centre[0] - CATCHLIGHT[1] * radius, across - centre[1] + CATCHLIGHT[2] * radius)
        rgb = _blend(rgb, catchlight, 0.8 * smoothstep((CATCHLIGHT[0] - spot / radius) / 0.1))
        below_lid = np.clip((across - lid_top) / (LID_SHADOW * gap), 0.0, 1.0)
        rgb = rgb * (0.35 + 0.65 * smoothstep(below_lid))[..., None]
        return cv2.GaussianBlur(rgb, (0, 0), max(0.5, DRAWN_SOFTNESS * width))  # no edge a lens would not blur


def _width(upper: np.ndarray) -> float:
    return float(np.linalg.norm(upper[-1] - upper[0])) or 1.0


def driver_skin(image: np.ndarray, contour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Lab statistics of a driver's skin round one eye (``contour``, iBUG order), which the colour
    transfer takes to the still's; from the driver's neutral frame, so that they hold still over a shot."""
    return lab_statistics(_skin_round(image, np.asarray(contour, np.float64)[:4]))


def _skin_round(rgb: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Pixels between two ellipses (``SKIN_RING``) about the corners of the eye whose upper lid is ``upper``:
    the lid below the brow, the skin under the eye and beside its corners, and not the eye, shut or open,
    so that the still's skin and the driver's are sampled over the same parts of the face. (A ring round
    each eye's own opening took in the still's whole closed lid but none of the driver's eyeball's area;
    self-reenactment of `lia_vox_driving2` from its shut first frame, dlib's eyes r 0.38 with it, 0.42
    with this.)"""
    width = _width(upper)
    centre = 0.5 * (upper[0] + upper[-1])
    axis = (upper[-1] - upper[0]) / width
    turns = np.linspace(0.0, 2.0 * np.pi, 32, endpoint=False)
    outer, inner = (centre + np.outer(a * width * np.cos(turns), axis)
                    + np.outer(b * width * np.sin(turns), [-axis[1], axis[0]]) for a, b in SKIN_RING)
    pixels = region_pixels(rgb, outer, hole=inner)
    if len(pixels) < 8:
        return rgb.reshape(-1, 3)
    return pixels[::max(1, len(pixels) // RING_SAMPLES)]  # the driver's, every frame: its statistics, not all


def _grown_mask(loop: np.ndarray, box, margin: float) -> np.ndarray:
    """The polygon's coverage grown by ``margin`` pixels and softened. A mask feathered inside the target
    lids let the warp show along them, which there is the still's closed lid stretched open (the same
    self-reenactment: eyes r 0.41 with it, 0.46 with this; PSNR of the face 20.82 either way)."""
    coverage = polygon_mask(loop, box, 0.0)
    radius = max(1, int(round(margin)))
    grown = cv2.dilate(coverage, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return cv2.GaussianBlur(grown, (0, 0), 0.6)


def _rgb(lab_colour) -> np.ndarray:
    """sRGB in [0, 1] of one Lab colour."""
    value = cv2.cvtColor(np.float32(lab_colour).reshape(1, 1, 3), cv2.COLOR_Lab2RGB).reshape(3)
    return np.clip(value, 0.0, 1.0).astype(np.float64)


def _blend(under: np.ndarray, over: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return under + (over - under) * alpha[..., None]
