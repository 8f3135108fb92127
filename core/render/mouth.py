"""The inside of the mouth, which a warp alone cannot produce.

A warp stretches whatever lies between the lips: on a closed-mouth still that is the lip line, smeared into
the gap; on a smiling still it is the teeth, stretched tall. So the mouth interior is painted instead:

1. the cavity: the driving video's own mouth, aligned to the target lips (its lower lip taken from where
   the image shows it ends, ``lip_edges``) and colour-matched from the driver's skin (read on its neutral
   frame, ``driver_skin``) to the still's, when there is a driving video whose mouth faces the camera
   (``driver_mouth_seen``); otherwise a synthesised interior (upper and lower teeth, a dark mouth, the
   tongue; ``mouth_interior``) in the still's colours;
2. on top, when the still shows its own teeth (its lips are parted and part of the gap is lighter than
   the lips), those teeth: the part of the still's mouth opening next to the upper lip follows the upper
   lip along its length, the part next to the lower lip follows the lower lip, so teeth move with the jaw
   instead of stretching, and the gap that opens between them shows the cavity. A parted mouth whose gap
   is dark throughout gets the painted cavity without teeth, from where the target opens past the still's
   own gap: filmed mouths whose parted lips show no teeth stay dark inside as they open further.

A still whose mouth is already wide open (a shout, a song) holds a whole mouth interior of its own, which
the warp stretches or squeezes with the lips; nothing is painted over it (a driver's teeth painted into
the middle of it showed as a pale arc across the shout).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .. import align
from . import mesh as warp_mesh
from .mouth_interior import synthetic_interior
from .colour_transfer import lab, lab_statistics, match_colour
from .regions import LUMA, Overlay, bounding_box, polygon_mask, region_pixels, smoothstep, warp_into_box

OPEN_START, OPEN_FULL = 0.015, 0.05  # lip gap / mouth width, past the still's own, where painting fades in
SOURCE_TEETH_GAP = 0.04  # the still shows its mouth interior above this gap / width
SOURCE_OPEN_GAP = 0.35  # ... and a whole open mouth above this one (a smile with parted lips is ~0.2)
UPPER_TEETH_SHARE = 0.6
STRIP_OVERLAP = 1.5  # pixels: the teeth strip reaches this far past its lip, under the lip's own pixels
SHADOW_DEPTH = 0.7  # the darkest of the driver's mouth kept at this share of its colour-matched value
LIP_EDGE_CONTRAST = 15.0  # Lab distance from the lip's own colour where a lip ends and the mouth begins
LIP_EDGE_REACH = 0.6  # how far across the opening (share of the gap) a lip may be found to reach
LIP_EDGE_SLACK = 1.0  # pixels: an edge this close is where the tracker put it; the move is full from twice this
LIP_EDGE_SHADOW = 2  # pixels of dark between lip and teeth taken for the shadow line at the teeth's base
# When the driver's own mouth stands for the target's (``driver_mouth_seen``): a driver's yaw from its neutral
# frame (radians) from which its far mouth corner may be hidden, and from which it is, whatever the fit says;
FAR_CORNER_TURN = np.radians(10.0), np.radians(20.0)
MOUTH_TURNED_AWAY = np.radians(40.0), np.radians(55.0)
# and how far past the driver's lip corners (share of its mouth's width) the target opening, carried back,
# may reach before the driver's mouth gives way to the synthesised interior (faded in between).
CORNER_OVERSHOOT = 0.02, 0.12


@dataclass
class DriverMouth:
    """An image of the driver (a full video frame or a crop) and its inner and outer lips in its pixels."""

    image: np.ndarray  # (H, W, 3) uint8 or float32 in [0, 1]
    inner: np.ndarray  # (8, 2) iBUG inner lips 60-67
    outer: np.ndarray  # (12, 2) iBUG outer lips 48-59
    skin: tuple[np.ndarray, np.ndarray] | None = None  # the driver's skin (``driver_skin``); None: this image's
    turn: float = 0.0  # the driver's yaw from its neutral frame (radians): a turned mouth's far half is hidden


class MouthPainter:
    """Paints the mouth interior of one still for any target lip shape."""

    def __init__(self, crop_rgb: np.ndarray, upper: np.ndarray, lower: np.ndarray, outer: np.ndarray):
        """``upper``/``lower``: the still's inner-lip halves, corner to corner; ``outer``: the outer lip loop."""
        self.rgb = crop_rgb
        self.size = crop_rgb.shape[0]
        self.upper, self.lower, self.outer = (np.asarray(a, np.float64) for a in (upper, lower, outer))
        own_loop = mouth_loop(self.upper, self.lower)
        self.lips_rgb = lip_colour(crop_rgb, self.outer, own_loop)
        width = np.linalg.norm(self.upper[-1] - self.upper[0])
        self.opening = align.mean_gap(self.upper, self.lower) / max(width, 1e-6)
        self.parted = self.opening > SOURCE_TEETH_GAP
        self.shows_teeth = self.parted and holds_teeth(crop_rgb, own_loop, self.lips_rgb)
        self.open_wide = self.opening > SOURCE_OPEN_GAP
        self.skin_lab = lab_statistics(_ring_pixels(crop_rgb, self.outer))  # the still's skin round the mouth

    def paint(self, upper: np.ndarray, lower: np.ndarray, driver: DriverMouth | None = None) -> Overlay | None:
        """The overlay for target inner-lip halves ``upper``/``lower``; None when the lips are closed or the
        still's own mouth is wide open."""
        if self.open_wide:
            return None
        upper, lower = np.asarray(upper, np.float64), np.asarray(lower, np.float64)
        width = max(float(np.linalg.norm(upper[-1] - upper[0])), 1e-6)
        past_own = align.mean_gap(upper, lower) / width - self.opening  # how far past the still's own gap
        fade = float(np.clip((past_own - OPEN_START) / (OPEN_FULL - OPEN_START), 0.0, 1.0))
        if fade <= 0.0 and not self.shows_teeth:
            return None
        target = mouth_loop(upper, lower)
        box = bounding_box(target, 3, self.size)
        if box[2] <= box[0] or box[3] <= box[1]:
            return None
        alpha = polygon_mask(target, box, 0.7)
        seen, rgb = 0.0, None
        if driver is not None:
            matrix, overshoot = driver_mapping(upper, lower, driver)
            seen = driver_mouth_seen(driver.turn, overshoot)
            if seen > 0.0:
                rgb = self._driver_cavity(matrix, box, driver)
        if seen < 1.0:
            synthetic = synthetic_interior(upper, lower, box, self.lips_rgb, self.size, teeth=not self.parted)
            rgb = synthetic if rgb is None else synthetic + seen * (rgb - synthetic)
        if self.shows_teeth:
            rgb = self._own_teeth(rgb, upper, lower, box)
            alpha *= self._change(upper, lower)  # the still's own mouth needs no painting until it moves
        else:
            alpha *= fade
        if alpha.max() <= 0.0:
            return None
        return Overlay(rgb.astype(np.float32), alpha.astype(np.float32), box)

    # ------------------------------------------------------------------------------------ helpers
    def _change(self, upper: np.ndarray, lower: np.ndarray) -> float:
        """0..1: how far the inner lips changed shape from the still's (rigid motion removed)."""
        own = np.vstack([self.upper, self.lower])
        now = np.vstack([upper, lower])
        fitted = align.apply(align.fit_similarity(own, now), own)
        width = max(float(np.linalg.norm(upper[-1] - upper[0])), 1e-6)
        change = float(np.abs(fitted - now).max()) / width
        return float(np.clip(change / 0.03, 0.0, 1.0))

    def _own_teeth(self, rgb: np.ndarray, upper: np.ndarray, lower: np.ndarray, box) -> np.ndarray:
        """The still's own mouth interior, split along the middle, each half glued to its lip: a strip from
        the lip to the split, warped piecewise along the lip, so the teeth stay against the lip wherever it
        bends (one similarity per half left slivers of the cavity between a curving lip and its teeth)."""
        # Upper teeth usually fill most of a smile's opening: the upper lip carries 60 % of it.
        own_lower, target_lower = align.polyline_like(self.lower, self.upper), align.polyline_like(lower, upper)
        middle = self.upper + UPPER_TEETH_SHARE * (own_lower - self.upper)
        strips = []
        for own_lip, target_lip, own_whole, target_whole in ((own_lower, target_lower, self.lower, lower),
                                                             (self.upper, upper, self.upper, upper)):
            # The split keeps its distance from the lip, turned and scaled as the lip is.
            linear = align.fit_similarity(own_whole, target_whole)[:, :2]
            strips.append(((own_lip, middle), (target_lip, target_lip + (middle - own_lip) @ linear.T)))
        for patch, mask in _warp_strips(self.rgb, strips, box):  # the upper half last, in front
            rgb = rgb * (1.0 - mask[..., None]) + patch * mask[..., None]
        return rgb

    def _driver_cavity(self, matrix: np.ndarray, box, driver: DriverMouth) -> np.ndarray:
        """The driver's mouth interior carried by ``matrix`` (``driver_mapping``) onto the target opening, with
        the still's skin colour and light."""
        patch = warp_into_box(driver.image, matrix, box)
        skin = driver.skin if driver.skin is not None else driver_skin(driver.image, driver.outer)
        matched = match_colour(patch, skin, self.skin_lab)
        return deepen_shadows(matched, float(self.skin_lab[0][0]) / 100.0)


# ------------------------------------------------------------------------------------ geometry
def driver_mapping(upper: np.ndarray, lower: np.ndarray, driver: DriverMouth) -> tuple[np.ndarray, float]:
    """The affine carrying the driver's mouth onto the target opening (inner-lip halves ``upper``/``lower``),
    and how far the target opening, carried back, reaches past the driver's outer lip corners along the line
    between them, as a share of that line's length: past them lies cheek, or beyond a turned face's edge the
    room behind it."""
    # The target's inner lips at the eight iBUG inner-lip positions: 60-64 along the upper lip, 65-67 back.
    up, low = align.resample_arc(upper, 5), align.resample_arc(lower, 5)
    matrix = align.fit_affine(lip_edges(driver), np.vstack([up, low[3:0:-1]]))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a target shut flat has no inverse
        along = along_lip_corners(align.apply(align.invert(matrix), mouth_loop(upper, lower)), driver.outer)
        reach = max(-float(along.min()), float(along.max()) - 1.0, 0.0)
    return matrix, reach if np.isfinite(reach) else float("inf")


def along_lip_corners(points: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Where ``points`` lie along the line between a mouth's outer lip corners (``outer``: iBUG 48-59, so
    48 and 54 at its ends): 0 at the first corner, 1 at the second; outside 0..1 lies cheek."""
    corners = np.asarray(outer, np.float64)[[0, 6]]
    width = max(float(np.linalg.norm(corners[1] - corners[0])), 1e-6)
    return (np.asarray(points, np.float64) - corners[0]) @ ((corners[1] - corners[0]) / width) / width


def driver_mouth_seen(turn: float, overshoot: float) -> float:
    """1 -> 0: how far the driver's own mouth can stand for the target's, given the driver's yaw ``turn``
    from its neutral frame and how far the target opening reaches past its lip corners (``driver_mapping``).

    A turned driver's far mouth corner slips behind the near half and its lips crowd against the face's
    edge; the one affine that carries that mouth onto a target turned less (``max_turn`` holds the still
    back) then reaches past the far corner, across the edge: the wall behind the driver was painted into the
    far half of the still's mouth as a white wedge (`styletalk_nice_clip1` from frame 32, 17° away;
    docs/quality.md, "A driver's mouth and eyes seen from the side"). The synthesised interior stands in
    where a turned driver's mouth is reached past its corners, and wherever the driver is turned far away (past
    40-55°, where the tracker's own lips slip: frames 59-60 of that clip, 54° away, fit within them). A
    frontal driver keeps its own mouth, even where a nearly shut one makes the fit reach wide (it paints
    little then): the pearls' and the marble bust's drivers, frontal, reach 2-4 widths on shut frames."""
    def ramp(value, bounds):
        return float(smoothstep(np.float64((value - bounds[0]) / (bounds[1] - bounds[0]))))
    hidden = max(ramp(abs(turn), FAR_CORNER_TURN) * ramp(overshoot, CORNER_OVERSHOOT),
                 ramp(abs(turn), MOUTH_TURNED_AWAY))
    return 1.0 - hidden


def lip_edges(driver: DriverMouth) -> np.ndarray:
    """The driver's inner lips with the lower lip's middle three points moved up to where the lower lip ends
    in the image and the teeth begin: where the walk up the opening has brightened halfway from the lip's
    colour to the first clearly lighter one (sub-pixel, so that the point moves smoothly with the video),
    past at most a shadow line of ``LIP_EDGE_SHADOW`` darker pixels.

    Both landmarkers put a teeth smile's inner lower lip a third of the way into a full lower lip; mapped
    onto the target opening, that band of the driver's lip was painted under the teeth as a second, mauve
    lower lip. A point already at the teeth (within ``LIP_EDGE_SLACK``), in front of a tongue or a dark mouth
    (no lighter colour within ``LIP_EDGE_REACH`` of the gap, or more dark than a shadow line before it)
    stays where it is. The upper lip's points stay: walking down, they crossed their own dim upper teeth,
    whose colour is close to the lip's.
    """
    inner, outer = np.asarray(driver.inner, np.float64), np.asarray(driver.outer, np.float64)
    moved = inner.copy()
    # (lower inner point, the upper lip's point above it, the outer lower lip's point below it): iBUG 65-67
    columns = [(p, o, b) for p, o, b in ((7, 1, 10), (6, 2, 9), (5, 3, 8))
               if int(np.linalg.norm(inner[o] - inner[p]) * LIP_EDGE_REACH) >= 2]
    if not columns:
        return moved
    gaps = [float(np.linalg.norm(inner[o] - inner[p])) for p, o, _ in columns]
    lips = [inner[p] + 0.35 * (outer[b] - inner[p]) for p, _, b in columns]  # inside the lower lip
    steps = [np.arange(int(gap * LIP_EDGE_REACH) + 1) / gap for gap in gaps]  # one-pixel steps
    walks = [inner[p] + t[:, None] * (inner[o] - inner[p]) for (p, o, _), t in zip(columns, steps)]
    colours = lab(_sample(driver.image, np.vstack([np.array(lips), *walks])))  # one lookup for all columns
    lip_lab = colours[:len(columns)]
    walk_lab = np.split(colours[len(columns):], np.cumsum([len(t) for t in steps])[:-1])
    for (point, opposite, _), gap, colour, walk in zip(columns, gaps, lip_lab, walk_lab):
        differs = np.linalg.norm(walk - colour, axis=1) > LIP_EDGE_CONTRAST
        lighter = np.nonzero(differs & (walk[:, 0] > colour[0]))[0]
        if not len(lighter) or np.count_nonzero(differs[:lighter[0]]) > LIP_EDGE_SHADOW:
            continue  # no teeth within reach, or a dark mouth before them
        light = walk[:lighter[0] + 1, 0]
        halfway = 0.5 * (colour[0] + light[-1])  # the edge: where the lip has brightened halfway to the teeth
        after = int(np.argmax(light >= halfway))
        edge = float(after) if after == 0 else after - (light[after] - halfway) / (light[after] - light[after - 1])
        # Within a pixel or two the point is at the teeth already; easing the move in from there keeps it
        # continuous from frame to frame (a cut-off at two pixels switched it on and off on alternate frames).
        shift = edge * float(np.clip((edge - LIP_EDGE_SLACK) / LIP_EDGE_SLACK, 0.0, 1.0))
        moved[point] = inner[point] + shift / gap * (inner[opposite] - inner[point])
    return moved


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear RGB in [0, 1] at ``points`` (our pixel convention) of a uint8 or float image."""
    grid = np.float32(points - 0.5).reshape(-1, 1, 2)
    values = cv2.remap(image, grid[..., 0], grid[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    values = values.reshape(-1, 3).astype(np.float32)
    return values / 255.0 if image.dtype == np.uint8 else values


def mouth_loop(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The closed mouth opening: along the upper lip, back along the lower lip (corners once)."""
    return np.vstack([upper, lower[::-1][1:-1]])


def _warp_strips(image: np.ndarray, strips, box) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each of ``strips``, ``((edge, far edge), (target edge, target far edge))`` with polylines of one
    length: ``image``'s strip between the first two warped piecewise-affinely onto the target strip inside
    ``box``, and the target strip's mask.

    The warp reaches ``STRIP_OVERLAP`` pixels past both edges: past the lip, so that no sliver of what lies
    beneath shows along it; past the far edge, so that the mask's soft edge blends the strip's own
    continuation rather than pixels no triangle maps."""
    count = len(strips[0][0][0])
    quads = np.arange(count - 1)
    triangles = np.vstack([np.stack([quads, quads + 1, quads + count], 1),
                           np.stack([quads + 1, quads + count + 1, quads + count], 1)])
    x0, y0, x1, y1 = box
    sources, targets, shown = [], [], []
    for (edge, far), (target_edge, target_far) in strips:
        target_across = target_far - target_edge
        reach = np.linalg.norm(target_across, axis=1, keepdims=True)
        overlap = np.minimum(STRIP_OVERLAP / np.maximum(reach, 1e-6), 0.5)  # in shares of the strip's width
        sources.append(np.vstack([edge - overlap * (far - edge), far + overlap * (far - edge)]))
        near = target_edge - overlap * target_across  # past the lip
        targets.append(np.vstack([near, target_far + overlap * target_across]) - (x0, y0))
        shown.append(np.vstack([near, target_far[::-1]]))
    maps = warp_mesh.sampling_map(np.stack(sources), np.stack(targets), triangles, (y1 - y0, x1 - x0))
    return [(cv2.remap(image, source_map - 0.5, None, interpolation=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT).astype(np.float32), polygon_mask(loop, box, 0.5))
            for source_map, loop in zip(maps, shown)]


# ---------------------------------------------------------------------------------------- colour
def lip_colour(crop_rgb: np.ndarray, outer_loop: np.ndarray, inner_loop: np.ndarray) -> np.ndarray:
    """Median colour of the lips: inside the outer contour, outside the inner one."""
    pixels = region_pixels(crop_rgb, outer_loop, hole=inner_loop)
    if len(pixels) < 4:
        box = bounding_box(outer_loop, 2, crop_rgb.shape[:2])
        pixels = crop_rgb[box[1]:box[3], box[0]:box[2]].reshape(-1, 3)
    return np.median(pixels, axis=0).astype(np.float32)


def holds_teeth(crop_rgb: np.ndarray, inner_loop: np.ndarray, lips_rgb: np.ndarray) -> bool:
    """Whether a parted mouth shows teeth: part of its opening is lighter than the lips. A gap that is dark
    throughout shows the mouth's shadow (teeth hidden behind the lips, or unlit); opened further it gets a
    painted dark mouth without teeth (split along its lips, that gap opened into stripes of lip edge)."""
    luma = region_pixels(crop_rgb, inner_loop) @ LUMA
    return len(luma) >= 4 and float(np.percentile(luma, 80)) > float(lips_rgb @ LUMA)


def driver_skin(image: np.ndarray, outer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Lab statistics of a driver's skin round its lips (``outer``, iBUG 48-59), which the colour transfer
    takes to the still's. Taken from the driver's neutral frame they hold still over a shot: the ring round a
    moving mouth takes in more chin and shadow as it opens, and the painted mouth's contrast pumped with it
    (the girl with book driven by `retalking_face4`: the contrast gain 1.51 on average, 0.29 its spread over
    the frames)."""
    return lab_statistics(_ring_pixels(image, np.asarray(outer, np.float64)))


def _ring_pixels(rgb: np.ndarray, loop: np.ndarray) -> np.ndarray:
    """Skin pixels in a band just outside the outer lips."""
    centre = loop.mean(0)
    pixels = region_pixels(rgb, centre + 1.5 * (loop - centre), hole=loop)
    return pixels if len(pixels) >= 8 else rgb.reshape(-1, 3)


def deepen_shadows(rgb: np.ndarray, skin_lightness: float) -> np.ndarray:
    """Pixels darker than the still's skin (``skin_lightness``, Lab L / 100) darkened by up to 30 %, the
    darkest the most. Added when the colour transfer still scaled lightness by the two skins' spread ratio,
    which greyed the mouth's shadow on stills smoother than the driver (ten goal pairs: mouth r 0.643 ->
    0.657); on the exposure transfer it still helps dlib read the opening (measured there before its
    texture gain: taken away, Obama's mouth r 0.827 -> 0.754, Einstein's 0.684 -> 0.647; at stop 37 the
    ten pairs' mean 0.695 -> 0.659). It costs realism: against real open mouths it paints the middle of
    the mouth 5.6 Lab L darker than the transfer alone (``bench/mouth_light.py``: bias -7.8 against -2.1)."""
    luma = rgb @ LUMA
    share = np.clip(luma / max(skin_lightness, 1e-3), 0.0, 1.0)
    scale = np.where(luma < skin_lightness, SHADOW_DEPTH + (1.0 - SHADOW_DEPTH) * share ** 2, 1.0)
    return rgb * scale[..., None]
