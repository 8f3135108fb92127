"""The synthesised mouth interior (drivers without mouth pixels): teeth, cavity and tongue, looked at as pixels."""

import cv2
import numpy as np
import pytest

from portrait_animator.render.mouth_interior import synthetic_interior

LIPS = np.array([0.72, 0.42, 0.42], np.float32)
BOX = (0, 0, 200, 200)


def _lips(gap: float, centre=(100.0, 90.0), width: float = 120.0, angle: float = 0.0):
    """Inner-lip halves of an open mouth, corner to corner, rotated by ``angle`` degrees about ``centre``."""
    t = np.linspace(0.0, 1.0, 11)
    x = (t - 0.5) * width
    upper = np.stack([x, -0.25 * gap * np.sin(np.pi * t)], axis=1)
    lower = np.stack([x, 0.75 * gap * np.sin(np.pi * t)], axis=1)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    rot = np.array([[c, -s], [s, c]])
    return upper @ rot.T + centre, lower @ rot.T + centre


def _luma(rgb):
    return rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)


def test_a_wide_mouth_shows_upper_teeth_cavity_and_tongue():
    upper, lower = _lips(gap=70.0)
    rgb = synthetic_interior(upper, lower, BOX, LIPS, 512)
    luma = _luma(rgb)
    top, bottom = 90.0 - 0.25 * 70.0, 90.0 + 0.75 * 70.0  # the lips at the middle of the mouth
    teeth = luma[int(top) + 4, 92:108].mean()
    cavity = luma[int(top + 0.45 * (bottom - top)), 92:108].mean()
    tongue = luma[int(bottom) - 6, 92:108].mean()
    assert teeth > 3.0 * cavity  # light teeth under the upper lip, a dark mouth behind them
    assert tongue > 1.5 * cavity  # the tongue catches light above the lower lip
    assert rgb[int(bottom) - 6, 100, 0] > rgb[int(bottom) - 6, 100, 1]  # ... and is red, not white like teeth
    assert cavity < 0.5 * LIPS.mean()


def test_the_upper_teeth_are_separate_teeth_narrowing_towards_the_corners():
    upper, lower = _lips(gap=70.0)
    luma = _luma(synthetic_interior(upper, lower, BOX, LIPS, 512))
    row = luma[int(90 - 17.5) + 5, :]  # across the upper teeth
    # Seams between neighbours: darker at the midline than across a central incisor.
    assert row[100] < row[109] - 0.03 and row[100] < row[91] - 0.03
    seams = [x for x in range(45, 155) if row[x] < row[x - 1] and row[x] <= row[x + 1]]
    right = [x for x in seams if x > 100]
    assert len(right) >= 3
    widths = np.diff([100] + right)
    assert widths[0] > widths[-1]  # the arch: teeth seen further round look narrower


def test_no_teeth_are_painted_when_the_still_brings_its_own():
    upper, lower = _lips(gap=70.0)
    luma = _luma(synthetic_interior(upper, lower, BOX, LIPS, 512, teeth=False))
    with_teeth = _luma(synthetic_interior(upper, lower, BOX, LIPS, 512))
    assert luma[int(90 - 17.5) + 4, 92:108].mean() < 0.5 * with_teeth[int(90 - 17.5) + 4, 92:108].mean()


def test_a_grey_still_gets_a_grey_interior():
    upper, lower = _lips(gap=60.0)
    rgb = synthetic_interior(upper, lower, BOX, np.full(3, 0.55, np.float32), 512)
    assert np.abs(rgb - rgb.mean(-1, keepdims=True)).max() < 1e-4


@pytest.mark.parametrize("angle", [25.0, -40.0])
def test_the_interior_rolls_with_the_lips(angle):
    """A rolled head keeps its teeth square to its lips: the interior of rolled lips is the rolled interior."""
    level = synthetic_interior(*_lips(gap=60.0), BOX, LIPS, 512)
    rolled = synthetic_interior(*_lips(gap=60.0, angle=angle), BOX, LIPS, 512)
    turn = cv2.getRotationMatrix2D((100.0 - 0.5, 90.0 - 0.5), -angle, 1.0)
    expected = cv2.warpAffine(level, turn, (200, 200), flags=cv2.INTER_LINEAR)
    inside = np.zeros((200, 200), np.uint8)
    upper, lower = _lips(gap=60.0, angle=angle)
    cv2.fillPoly(inside, [np.round(np.vstack([upper, lower[::-1]])).astype(np.int32)], 1)
    inside = cv2.erode(inside, np.ones((7, 7), np.uint8)).astype(bool)
    assert inside.sum() > 2000
    assert np.abs(rolled - expected)[inside].mean() < 0.02
    # ... and not merely because it is flat: the level interior, unrotated, differs clearly.
    assert np.abs(rolled - level)[inside].mean() > 0.05
