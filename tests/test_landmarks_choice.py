"""choose_face: the face to animate, and clear errors for stills that cannot be animated well."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from landmark_media import still
from portrait_animator.errors import NoFaceError, UnusableFaceError
from portrait_animator.landmarks import MIN_JAW_WIDTH, choose_face, create_detector


@pytest.fixture(scope="module")
def detector():
    with create_detector("mediapipe") as found:
        yield found


def size_of(image):
    return image.shape[1], image.shape[0]


def test_one_face_is_chosen(detector):
    image = still("avatarify_obama.jpg")
    faces = detector.find_faces(image)
    assert choose_face(faces, None, size_of(image), "obama.jpg") is faces[0]
    assert choose_face(faces, 0, size_of(image), "obama.jpg") is faces[0]


@pytest.mark.parametrize("kind", ["flat colour", "background of a painting"])
def test_no_face(detector, kind):
    if kind == "flat colour":
        image = np.full((400, 300, 3), (40, 90, 160), np.uint8)
    else:
        image = still("lp_s10_painting_pearl_earring.jpg")[900:, 100:]  # dress and dark background
    faces = detector.find_faces(image)
    with pytest.raises(NoFaceError, match=r"^scan\.png: no face found"):
        choose_face(faces, None, size_of(image), "scan.png")


def test_tiny_face_is_refused_with_its_size(detector):
    image = still("hallo_6_photo_woman.jpg")
    jaw = detector.find_faces(image)[0].jaw_width
    scale = 40.0 / jaw
    tiny = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    faces = detector.find_faces(tiny)
    assert len(faces) == 1 and faces[0].jaw_width < MIN_JAW_WIDTH
    with pytest.raises(UnusableFaceError, match=r"^small\.jpg: the face is too small \((3\d|4\d) px across the jaw, "
                                                r"at least 64 px needed\); use a higher-resolution image"):
        choose_face(faces, None, size_of(tiny), "small.jpg")


@pytest.mark.parametrize("cut", ["left", "top"])
def test_face_cut_by_the_border_is_refused(detector, cut):
    image = still("avatarify_obama.jpg")
    x0, y0, x1, y1 = detector.find_faces(image)[0].box
    cropped = image[:, : int(x0 + 0.65 * (x1 - x0))] if cut == "left" else image[int(y0 + 0.2 * (y1 - y0)):]
    faces = detector.find_faces(cropped)
    assert faces, "the cut face should still be detected"
    with pytest.raises(UnusableFaceError, match=r"^cut\.jpg: the face is cut by the image border \(\d+% of the face "
                                                r"lies outside the \d+x\d+ image\); use an image that shows the whole face"):
        choose_face(faces, None, size_of(cropped), "cut.jpg")


def test_face_index_out_of_range(detector):
    image = still("lia_taylor.png")
    faces = detector.find_faces(image)
    with pytest.raises(UnusableFaceError, match=r"^taylor\.png: face index 1 asked for but 1 face found "
                                                r"\(valid indices: 0 to 0, largest face first\)"):
        choose_face(faces, 1, size_of(image), "taylor.png")
    with pytest.raises(UnusableFaceError, match="face index -1"):
        choose_face(faces, -1, size_of(image), "taylor.png")


def test_several_faces_default_to_the_largest_and_index_picks_others(detector):
    left = still("lia_macron.png")
    right = cv2.resize(still("avatarify_jobs.jpg"), (400, 400), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((400, 656, 3), np.uint8)
    canvas[72:328, :256] = left
    canvas[:, 256:] = right
    faces = detector.find_faces(canvas)
    assert len(faces) == 2
    assert choose_face(faces, None, size_of(canvas), "pair.png") is faces[0]
    second = choose_face(faces, 1, size_of(canvas), "pair.png")
    assert second is faces[1] and second.landmarks[:, 0].max() < 256
    with pytest.raises(UnusableFaceError, match="2 faces found"):
        choose_face(faces, 2, size_of(canvas), "pair.png")
