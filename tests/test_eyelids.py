"""The painted closed lid on a drawn eye: a band of lashes, and lid skin lit where it bulges over the eyeball."""

import cv2
import numpy as np

from portrait_animator.render.eyelids import EyelidPainter

SIZE, LEFT, RIGHT, MIDDLE_Y = 256, 90.0, 166.0, 128.0
WIDTH = RIGHT - LEFT
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # the test's own weights


def _arc(height: float, count: int = 9) -> np.ndarray:
    t = np.linspace(0.0, 1.0, count)
    return np.stack([LEFT + t * WIDTH, MIDDLE_Y - height * np.sin(np.pi * t)], axis=1)


def _drawn_eye():
    """A grey face with one open eye (white, a dark iris, dark upper lashes) and a brow; its control points."""
    upper, lower, brow = _arc(14.0), _arc(-10.0), _arc(45.0, 5) + [0.0, -5.0]
    rgb = np.full((SIZE, SIZE, 3), 0.6, np.float32)
    opening = np.vstack([upper, lower[::-1][1:-1]])
    cv2.fillPoly(rgb, [np.round(opening - 0.5).astype(np.int32)], (0.9, 0.9, 0.9))
    cv2.circle(rgb, (128, 126), 9, (0.15, 0.1, 0.08), -1)
    cv2.polylines(rgb, [np.round(upper - 0.5).astype(np.int32)], False, (0.05, 0.05, 0.05), 3)
    control = np.vstack([upper, lower, brow])
    eyes = [(np.arange(9), np.arange(9, 18))]
    return rgb, control, eyes, [np.arange(18, 23)]


def _painter_and_closed_eye():
    """The drawn eye's still, its lid painter, and a target shape whose lids meet near the lower lid."""
    rgb, control, eyes, brows = _drawn_eye()
    closed = control.copy()
    upper, lower = control[:9], control[9:18]
    closed[:9] = lower + 0.2 * (upper - lower)
    return rgb, EyelidPainter(rgb, control, eyes, brows), closed


def test_a_closed_lid_shows_a_band_of_lashes_under_skin_lit_over_the_eyeball():
    rgb, painter, closed = _painter_and_closed_eye()
    (overlay,) = painter.paint(closed, np.full_like(rgb, 0.6))  # warped skin without grain: the shading alone
    x0, y0, x1, y1 = overlay.box
    column = int(round(SIZE / 2 - 0.5)) - x0  # the middle of the eye
    profile = overlay.rgb[:, column] @ LUMA
    ys = np.arange(y0, y1) + 0.5
    lash_y = closed[4, 1]

    # The lashes: darkest at the lid's edge and a band at least a tenth of the eye's width across.
    darkest = ys[np.argmin(profile)]
    assert abs(darkest - lash_y) < 2.0, (darkest, lash_y)
    skin = float(np.median(profile[(ys < lash_y - 0.25 * WIDTH) & (ys > lash_y - 0.6 * WIDTH)]))
    half_dark = profile < 0.5 * (skin + profile.min())
    assert half_dark.sum() >= 0.1 * WIDTH, half_dark.sum()

    # The lid skin above: brightest over the eyeball (the lower half of the lid), darker towards the crease.
    lid = (ys < lash_y - 0.15 * WIDTH) & (ys > lash_y - 0.65 * WIDTH)
    brightest = ys[lid][np.argmax(profile[lid])]
    assert lash_y - brightest < 0.4 * WIDTH, (lash_y - brightest) / WIDTH
    near_crease = profile[lid][np.argmin(np.abs(ys[lid] - (lash_y - 0.6 * WIDTH)))]
    assert profile[lid].max() > near_crease + 0.02, (profile[lid].max(), near_crease)


def _detail(luma: np.ndarray) -> np.ndarray:
    """The fine detail of a brightness image: what a 2-pixel blur takes away."""
    return luma - cv2.GaussianBlur(luma, (0, 0), 2.0)


def test_a_closed_lid_takes_the_grain_of_the_skin_under_the_eye():
    """On a wrinkled face the warp leaves a smooth eyeball under the closing lid: the painted lid must not be
    a smooth patch in the middle of the face's texture."""
    rgb, painter, closed = _painter_and_closed_eye()
    rows = np.arange(SIZE, dtype=np.float32)[:, None, None]
    wrinkles = 0.6 + 0.12 * np.sin(rows * 2.0 * np.pi / 5.0)  # horizontal lines 5 px apart
    warped = np.where(rows > MIDDLE_Y + 14.0, wrinkles, 0.6).astype(np.float32)  # textured below the eye only
    warped = np.broadcast_to(warped, rgb.shape).copy()
    (overlay,) = painter.paint(closed, warped)
    x0, y0, _, y1 = overlay.box
    ys = np.arange(y0, y1)[:, None] + 0.5
    lash_y = closed[4, 1]
    lid = (ys < lash_y - 0.15 * WIDTH) & (ys > lash_y - 0.35 * WIDTH)  # over the eyeball, clear of the lashes
    columns = slice(int(LEFT + 0.3 * WIDTH) - x0, int(LEFT + 0.7 * WIDTH) - x0)
    lid_detail = _detail(overlay.rgb @ LUMA)[lid[:, 0], columns].std()
    skin_detail = _detail(warped[150:200, 100:150] @ LUMA).std()
    assert lid_detail > 0.5 * skin_detail, (lid_detail, skin_detail)
