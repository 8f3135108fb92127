"""The default MediaPipe backend on real stills: photos, paintings, B&W, several faces, big images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from landmark_media import still
from portrait_animator.landmarks import DetectedFace, available_backends, create_detector, ibug68
from portrait_animator.landmarks import mediapipe_topology as mpt


@pytest.fixture(scope="module")
def detector():
    with create_detector("mediapipe") as found:
        yield found


def interocular(face: DetectedFace) -> float:
    return float(np.linalg.norm(face.landmarks[36] - face.landmarks[45]))


@pytest.mark.parametrize("name", [
    "lia_macron.png",                       # photo, 256 px crop
    "lp_s2_photo_bw_young_man.jpg",         # B&W photo, 2048 px
    "avatarify_einstein_bw.jpg",            # greyscale JPEG, face to the image edge
    "lp_s9_painting_mona_lisa.jpg",         # painting, portrait format
    "mit_paint1_expressionist.jpg",         # heavy brushwork
    "hallo_4_drawing_woman.jpg",            # graphite drawing
    "lp_s6_sculpture_terracotta.jpg",       # sculpture
    "bopbl_scratch_a_woman_smoking.png",    # damaged sepia photo
])
def test_real_stills_give_one_plausible_face(detector, name):
    image = still(name)
    height, width = image.shape[:2]
    faces = detector.find_faces(image)
    assert len(faces) == 1
    face = faces[0]
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float32
    assert face.dense.shape == (mpt.DENSE_COUNT, 2) and face.dense.dtype == np.float32
    assert face.score > 0.9
    assert face.jaw_width > 64
    # geometry of a face: the subject's right eye is on the image left, eyes above nose above mouth
    right_eye, left_eye = face.landmarks[list(ibug68.RIGHT_EYE)].mean(0), face.landmarks[list(ibug68.LEFT_EYE)].mean(0)
    assert right_eye[0] < left_eye[0]
    assert max(right_eye[1], left_eye[1]) < face.landmarks[30, 1] < face.landmarks[list(ibug68.MOUTH), 1].mean()
    # the box is the landmarks' box, and lies (nearly) inside the image
    assert face.box == pytest.approx((*face.landmarks.min(0), *face.landmarks.max(0)))
    assert face.box[0] > -2 and face.box[1] > -2 and face.box[2] < width + 2 and face.box[3] < height + 2


def test_points_follow_the_pixel_centre_convention_under_translation(detector):
    """Padding a still shifts every landmark by exactly the padding (crop windows map back exactly)."""
    image = still("hallo_6_photo_woman.jpg")
    shifted = cv2.copyMakeBorder(image, 53, 0, 37, 0, cv2.BORDER_REPLICATE)
    (face,), (moved,) = detector.find_faces(image), detector.find_faces(shifted)
    error = np.abs(moved.landmarks - face.landmarks - np.array([37, 53])).mean()
    assert error < 0.01 * interocular(face)


def test_grey_and_rgba_inputs_match_rgb(detector):
    image = still("lia_monroe_bw.png")
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    reference = detector.find_faces(image)[0].landmarks
    for variant in (grey, grey[:, :, None], rgba):
        np.testing.assert_allclose(detector.find_faces(variant)[0].landmarks, reference, atol=0.5)


def test_two_faces_side_by_side_largest_first(detector):
    small = still("lia_macron.png")  # 256 px
    large = cv2.resize(still("hallo_6_photo_woman.jpg"), (480, 480), interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 256 + 480, 3), 90, np.uint8)
    canvas[112:368, :256] = small
    canvas[:, 256:] = large
    faces = detector.find_faces(canvas)
    assert len(faces) == 2
    assert faces[0].size > faces[1].size
    assert faces[0].landmarks[:, 0].min() > 256  # the larger face is the one from the larger still
    assert faces[1].landmarks[:, 0].max() < 256


def test_small_face_in_a_large_scan_is_found_and_mapped_back(detector):
    """A 6000 px wide image with a ~180 px face: found by the window search, points in full resolution."""
    image = still("lp_s42_photo_young_woman.jpg")
    reference = detector.find_faces(image)[0]
    scale = 180.0 / reference.jaw_width
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    scan = np.full((4000, 6000, 3), 200, np.uint8)
    top, left = 2900, 4100
    scan[top:top + small.shape[0], left:left + small.shape[1]] = small
    faces = detector.find_faces(scan)
    assert len(faces) == 1
    expected = detector.find_faces(small)[0].landmarks + np.array([left, top])
    error = np.linalg.norm(faces[0].landmarks - expected, axis=1).mean()
    assert error < 0.03 * interocular(faces[0])


def test_no_face_in_flat_image_or_background(detector):
    assert detector.find_faces(np.full((480, 640, 3), (128, 100, 90), np.uint8)) == []
    painting = still("lp_s9_painting_mona_lisa.jpg")
    assert detector.find_faces(painting[900:, :]) == []  # hands and lap, below the face


def test_follow_matches_a_fresh_search_on_the_same_image(detector):
    image = still("lp_d30img_photo_woman_hand_cheek.jpg")
    face = detector.find_faces(image)[0]
    followed = detector.follow(image, face)
    assert followed is not None and followed.score > 0.9
    assert np.linalg.norm(followed.landmarks - face.landmarks, axis=1).mean() < 0.02 * interocular(face)
    blank = np.zeros_like(image)
    assert detector.follow(blank, face) is None


def test_backend_reports_ok():
    assert available_backends()["mediapipe"] == "ok"
