"""The landmark sketch: pixels of each region's stroke, closure, scaling, sub-pixel motion."""

import numpy as np
import pytest

from face_shapes import schematic_face
from portrait_animator.landmarks import ibug68
from portrait_animator.sketch import REGIONS, draw_sketch, draw_sketches


def _colour_of(indices):
    return np.array(next(c for idx, _, c in REGIONS if idx == indices), np.float32) / 255.0


def _pixel_at(sketch, point):
    x, y = point
    return sketch[int(np.floor(y)), int(np.floor(x))]


def test_each_region_is_drawn_in_its_own_colour_on_black():
    points = schematic_face(256, mouth_open=0.5)
    sketch = draw_sketch(points, 256)
    assert sketch.shape == (256, 256, 3) and sketch.dtype == np.float32
    assert sketch.min() >= 0 and sketch.max() <= 1
    assert np.all(sketch[:20, :20] == 0), "background must be black"
    colours = set()
    for indices, _, colour in REGIONS:
        a, b = points[indices[0]], points[indices[1]]
        pixel = _pixel_at(sketch, (a + b) / 2)  # the middle of the region's first segment
        np.testing.assert_allclose(pixel, _colour_of(indices), atol=0.02, err_msg=str(indices[:2]))
        colours.add(colour)
    assert len(colours) == len(REGIONS), "every region needs a distinct colour"


def test_eyes_and_lips_are_closed_but_the_jaw_is_open():
    points = schematic_face(256, mouth_open=0.5)
    sketch = draw_sketch(points, 256)
    for region in (ibug68.RIGHT_EYE, ibug68.OUTER_LIPS, ibug68.INNER_LIPS):
        closing = (points[region[-1]] + points[region[0]]) / 2
        np.testing.assert_allclose(_pixel_at(sketch, closing), _colour_of(region), atol=0.05)
    jaw_gap = 0.8 * points[0] + 0.2 * points[16]  # on the line a closed jaw would draw, clear of the nose
    assert np.all(_pixel_at(sketch, jaw_gap) == 0)


def test_any_size_scales_the_strokes():
    points = schematic_face(256)
    small, large = draw_sketch(points, 256), draw_sketch(points, 512, from_size=256)
    assert large.shape == (512, 512, 3)
    # Downsampled, the large sketch matches the small one closely (same geometry, thicker lines).
    down = large.reshape(256, 2, 256, 2, 3).mean(axis=(1, 3))
    assert np.abs(down - small).mean() < 0.02
    assert (large.max(axis=2) > 0.5).sum() > 3 * (small.max(axis=2) > 0.5).sum()


def test_a_sub_pixel_move_changes_the_picture():
    points = schematic_face(256)
    moved = points.copy()
    moved[ibug68.INNER_LIPS, 1] += 0.25
    assert np.abs(draw_sketch(points, 256) - draw_sketch(moved, 256)).max() > 0.05


def test_batch_and_bad_input():
    points = np.stack([schematic_face(128), schematic_face(128, mouth_open=1.0)])
    batch = draw_sketches(points, 128)
    assert batch.shape == (2, 128, 128, 3)
    assert not np.array_equal(batch[0], batch[1])
    broken = points[0].copy()
    broken[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        draw_sketch(broken, 128)
    with pytest.raises(ValueError, match="68, 2"):
        draw_sketch(points[0][:60], 128)
