"""Closed and closing eyelids, painted where a warp alone would only stretch the crease's shadow.

On an open eye the upper lid is folded away: what a warp can slide down over the eyeball is the thin band
of lid under the crease and, above it, the dark fold. A blink unfolds the lid, so the covered eyeball
should show smooth lid skin ending in a line of lashes. This paints that: skin sampled from the still above
the crease (below the brow) and under the eye, lit as a lid bulging over the eyeball, over the area the
lid newly covers, faded in with how far the eye has closed.

Where the skin is sampled follows the brow: on deep-set eyes and low, heavy brows the lid shows only a
narrow strip under the brow, and a band at a fixed height above the lid lands on the brow hair (a blink
then painted the lid black). The band is kept below the brow's lower edge.

The skin above the crease sits back in the socket, in the brow's shadow wherever the light comes from
above; the closed lid bulges forward over the eyeball and catches the light as the skin under the eye
does. So the lid takes the mean of the two samples: from above it alone, a deep-set or top-lit eye
closed into a dark patch that read as an open eye.

The painted lid reaches up to two thirds of an eye width above the lashes, over the fold that the warp drags
down with the lid (its crease and the still's own upper lashes): with a lower patch (0.2 + 0.32 x closing
eye widths) that fold showed above the painted skin as the upper lid of an open eye, and dlib read painted
blinks as open (self-reenactment of ``lp_d18``: the blink's frames read as open as the open eye).

A closed eye reads as closed by its band of lashes, the upper ones hanging over the lower: with a line 7 % of
an eye width across dlib read painted blinks as half open. The lid above it is brightest over the middle of
the eyeball and turns darker towards the lashes and the crease; shaded darker towards the lashes alone, the
painted lids came out darker than the real ones (``bench/closed_lids.py``; docs/quality.md). Its light
(``LID_LIGHT``) is set against the real closed lids of the shared clips: at 0.94 of the skin samples' mean the
painted lids came out 2 points of Lab lightness darker than the real ones on average, 26 clips of 36
darker. Its grain is the skin's under the eye, mirrored up over the lid, so that a closed lid on a wrinkled
face or a painting has the face's texture rather than a smooth patch.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import align
from .regions import LUMA, Overlay, bounding_box, polygon_mask, region_pixels, smoothstep

START_CLOSING = 0.6  # opening ratios below this start to show lid skin (squints stay as warped)
FULLY_PAINTED = 0.2
SKIN_BAND = (0.3, 0.45)  # lid skin sampled this far above the lid line, in eye widths ...
SKIN_BELOW_BROW = (0.3, 0.8)  # ... and at most these shares of the lid-to-brow gap
UNDER_EYE_BAND = (0.12, 0.35)  # and skin this far below the lower lid, in eye widths
LASH_LINE = 0.085  # closed lashes, upper and lower together: a dark band ~14 % of the eye's width across
LID_LIGHT = (0.975, 0.08)  # lid skin's brightness: this + this x how far the eyeball bulges under it
LID_HEIGHT = (0.26, 0.42)  # lid skin painted above the lashes at the middle, in eye widths: + this * closing


class EyelidPainter:
    """Paints both eyes' lids for one still; ``eyes`` gives each eye's upper and lower lid point indices,
    ``brows`` each eye's brow points (its lower edge where the landmarks have one)."""

    def __init__(self, crop_rgb: np.ndarray, control: np.ndarray, eyes, brows):
        self.size = crop_rgb.shape[0]
        self.eyes = [(np.asarray(u), np.asarray(lo)) for u, lo in eyes]
        self.skin, self.lashes = [], []
        for (upper, lower), brow in zip(self.eyes, brows):
            top = control[upper]
            width = float(np.linalg.norm(top[-1] - top[0])) or 1.0
            up = _up_normal(top)
            above = _median_colour(crop_rgb, lid_skin_band(top, control[np.asarray(brow)]))
            bottom = control[lower]
            below = _median_colour(crop_rgb, np.vstack([bottom - UNDER_EYE_BAND[0] * width * up,
                                                        (bottom - UNDER_EYE_BAND[1] * width * up)[::-1]]))
            self.skin.append(0.5 * (above + below))
            lash_band = np.vstack([top, (top + 0.08 * width * up)[::-1]])
            self.lashes.append(_dark_colour(crop_rgb, lash_band))
        self.open_gap = [align.mean_gap(control[u], control[lo]) for u, lo in self.eyes]

    def paint(self, control_dst: np.ndarray, warped: np.ndarray) -> list[Overlay]:
        """Overlays for the target shape (none while the eyes are open); ``warped`` lends the lids the grain
        of the skin under the eyes."""
        overlays = []
        for eye, (upper, lower) in enumerate(self.eyes):
            top, bottom = control_dst[upper], control_dst[lower]
            ratio = align.mean_gap(top, bottom) / max(self.open_gap[eye], 1e-6)
            amount = float(np.clip((START_CLOSING - ratio) / (START_CLOSING - FULLY_PAINTED), 0.0, 1.0))
            if amount > 0.0:
                overlays.append(self._lid(top, bottom, eye, amount, warped))
        return overlays

    def _lid(self, lashes: np.ndarray, bottom: np.ndarray, eye: int, amount: float,
             warped: np.ndarray) -> Overlay:
        width = float(np.linalg.norm(lashes[-1] - lashes[0])) or 1.0
        up = _up_normal(lashes)
        axis = (lashes[-1] - lashes[0]) / width
        t = np.clip(((lashes - lashes[0]) @ axis) / width, 0.0, 1.0)
        arch = np.sin(np.pi * t) ** 0.6
        height = (LID_HEIGHT[0] + LID_HEIGHT[1] * amount) * width
        lid_top = lashes + (height * (0.3 + 0.7 * arch))[:, None] * up
        region = np.vstack([bottom, lid_top[::-1]])
        box = bounding_box(region, 3, self.size)
        if box[2] <= box[0] or box[3] <= box[1]:
            return Overlay(np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32), box)
        coverage = polygon_mask(region, box, 0.0)
        h, w = coverage.shape
        xs = np.arange(w, dtype=np.float32) + box[0] + 0.5
        ys = np.arange(h, dtype=np.float32)[:, None] + box[1] + 0.5
        lash_y = _y_at(lashes, xs)[None, :]
        top_y = _y_at(lid_top, xs)[None, :]
        depth = np.clip((lash_y - ys) / np.maximum(lash_y - top_y, 1.0), 0.0, 1.0)  # 0 at lashes, 1 at top
        # Opaque over the covered eyeball, fading into the warped skin towards the crease.
        fade = smoothstep((1.0 - depth) / 0.6)
        across = np.clip((xs - lashes[:, 0].min()) / width, 0.0, 1.0)
        corners = np.clip(np.minimum(across, 1.0 - across) / 0.12, 0.0, 1.0)[None, :]
        alpha = coverage * fade * corners
        bulge = np.sin(np.pi * across)[None, :] * np.exp(-((depth - 0.3) / 0.3) ** 2)  # most at 0.3 of the lid
        skin = self.skin[eye][None, None, :] * (LID_LIGHT[0] + LID_LIGHT[1] * bulge)[..., None]
        rgb = skin + _under_eye_grain(warped, bottom, lash_y - ys, xs, box, width)
        lash = np.exp(-((ys - lash_y) / max(LASH_LINE * width, 0.6)) ** 2) * corners
        rgb = rgb * (1.0 - lash[..., None]) + self.lashes[eye][None, None, :] * lash[..., None]
        alpha = np.maximum(alpha, lash * coverage) * amount
        return Overlay(np.clip(rgb, 0.0, 1.0).astype(np.float32), alpha.astype(np.float32), box)


def _under_eye_grain(warped: np.ndarray, bottom: np.ndarray, height: np.ndarray, xs: np.ndarray, box,
                     width: float) -> np.ndarray:
    """The fine detail (high-pass) of the skin under the eye, mirrored up over the lid: a pixel ``height``
    above the lashes takes the grain from as far below the start of the under-eye skin band. What the warp
    left under a closing lid is the stretched eyeball and fold, whose detail is no skin's; with it the lids of
    textured faces (old skin, a painting's craquelure) came out as smooth patches."""
    h, w = height.shape
    src_y = _y_at(bottom, xs)[None, :] + UNDER_EYE_BAND[0] * width + np.maximum(height, 0.0)
    sigma = max(1.0, 0.04 * width)
    y0 = box[1]  # bounding_box keeps it inside the crop
    y1 = min(warped.shape[0], int(np.ceil(src_y.max() + 4.0 * sigma)) + 2)
    area = warped[y0:y1, box[0]:box[2]]
    if area.shape[0] < 2:  # no skin under the eye inside the crop
        return np.zeros((h, w, 3), np.float32)
    detail = np.ascontiguousarray(area - cv2.GaussianBlur(area, (0, 0), sigma))
    map_x = np.broadcast_to(xs[None, :] - 0.5 - box[0], (h, w)).astype(np.float32)
    map_y = (src_y - 0.5 - y0).astype(np.float32)
    return cv2.remap(detail, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def lid_skin_band(lid: np.ndarray, brow: np.ndarray) -> np.ndarray:
    """Closed loop above the upper ``lid`` where its skin is sampled: ``SKIN_BAND`` eye widths above it, but
    no higher than ``SKIN_BELOW_BROW`` of the way to the ``brow`` at each point along the eye."""
    width = float(np.linalg.norm(lid[-1] - lid[0])) or 1.0
    axis, up = (lid[-1] - lid[0]) / width, _up_normal(lid)
    brow_over_lid = align.polyline_at(brow, (lid - lid[0]) @ axis, lid[0], axis)
    gap = np.maximum((brow_over_lid - lid) @ up, 0.0)
    low = np.minimum(SKIN_BAND[0] * width, SKIN_BELOW_BROW[0] * gap)
    high = np.maximum(np.minimum(SKIN_BAND[1] * width, SKIN_BELOW_BROW[1] * gap), low + 0.05 * width)
    return np.vstack([lid + low[:, None] * up, (lid + high[:, None] * up)[::-1]])


def _up_normal(lid: np.ndarray) -> np.ndarray:
    axis = lid[-1] - lid[0]
    axis = axis / (np.linalg.norm(axis) + 1e-9)
    return np.array([axis[1], -axis[0]])  # upwards on an upright face


def _y_at(polyline: np.ndarray, xs: np.ndarray) -> np.ndarray:
    order = np.argsort(polyline[:, 0])
    return np.interp(xs, polyline[order, 0], polyline[order, 1]).astype(np.float32)


def _pixels(rgb: np.ndarray, loop: np.ndarray) -> np.ndarray:
    pixels = region_pixels(rgb, loop)
    return pixels if len(pixels) >= 4 else rgb.reshape(-1, 3)


def _median_colour(rgb: np.ndarray, loop: np.ndarray) -> np.ndarray:
    return np.median(_pixels(rgb, loop), axis=0).astype(np.float32)


def _dark_colour(rgb: np.ndarray, loop: np.ndarray) -> np.ndarray:
    pixels = _pixels(rgb, loop)
    luma = pixels @ LUMA
    return pixels[luma <= np.percentile(luma, 20)].mean(axis=0).astype(np.float32)
