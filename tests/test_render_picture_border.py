"""find_picture: the border strips of scans and letterboxed frames, and pictures that only look flat at an edge."""

import numpy as np

from portrait_animator.io.images import read_image
from portrait_animator.render.picture_border import PictureBox, find_picture


def _bundled(bundled_still):
    return read_image(str(bundled_still)).rgb


def test_a_photo_without_border_is_all_picture(bundled_still):
    rgb = _bundled(bundled_still)
    height, width = rgb.shape[:2]
    assert find_picture(rgb) == PictureBox.whole(width, height)


def test_strips_of_one_colour_are_found_to_the_pixel_under_compression_noise(bundled_still):
    # a black strip along the top (a letterbox), white ones down both sides (a pillarbox), with the noise of
    # a compressed file on them
    rgb = _bundled(bundled_still)
    height, width = rgb.shape[:2]
    noise = np.random.default_rng(0)
    framed = np.concatenate([np.zeros((19, width, 3), np.float32), rgb])
    side = np.ones((framed.shape[0], 40, 3), np.float32)
    framed = np.concatenate([side, framed, side], axis=1)
    framed = np.clip(framed + noise.normal(0.0, 0.008, framed.shape).astype(np.float32), 0.0, 1.0)
    assert find_picture(framed) == PictureBox(40, 19, 40 + width, 19 + height, (True, True, True, False))


def test_a_flat_background_that_runs_into_the_subject_stays_picture():
    # grey down to a round head whose crown nears the top edge: the first lines past the flat part differ
    # from it over a few pixels only, so there is no straight edge and no border
    ys, xs = np.mgrid[0:300, 0:300]
    rgb = np.full((300, 300, 3), 0.5, np.float32)
    rgb[(xs - 150) ** 2 + (ys - 130) ** 2 < 110 ** 2] = (0.8, 0.6, 0.5)
    assert find_picture(rgb) == PictureBox.whole(300, 300)
    # and a picture flat all over has no border either
    assert find_picture(np.full((200, 300, 3), 0.2, np.float32)) == PictureBox.whole(300, 200)
