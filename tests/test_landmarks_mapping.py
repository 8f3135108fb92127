"""The MediaPipe-mesh -> iBUG-68 table and the mesh contours: structure, symmetry, and agreement with dlib."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

from landmark_media import still
from portrait_animator.landmarks import create_detector, ibug68
from portrait_animator.landmarks import mediapipe_topology as mpt

# iBUG-68 left-right mirror of each point
IBUG_MIRROR = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65])
REGIONS = {"jaw": ibug68.JAW, "brows": ibug68.BROWS, "nose": ibug68.NOSE, "eyes": ibug68.EYES,
           "outer lips": ibug68.OUTER_LIPS, "inner lips": ibug68.INNER_LIPS}
# Stills not used to fit the table: photos, paintings, B&W, a drawing.
STILLS = ["lia_macron.png", "avatarify_obama.jpg", "lp_s2_photo_bw_young_man.jpg", "lp_s9_painting_mona_lisa.jpg",
          "sadtalker_art_11_painting_gogol.png", "hallo_4_drawing_woman.jpg", "lp_d38img_photo_trump.jpg",
          "lp_s5_painting_girl_with_book.jpg"]


@pytest.fixture(scope="module")
def mediapipe():
    with create_detector("mediapipe") as found:
        yield found


def test_table_rows_are_surface_points_of_the_mesh():
    edges = {frozenset(edge) for edge in FACEMESH_TESSELATION}
    assert len(mpt.IBUG68_FROM_DENSE) == ibug68.COUNT
    for terms in mpt.IBUG68_FROM_DENSE:
        assert 1 <= len(terms) <= 2
        assert sum(weight for _, weight in terms) == pytest.approx(1.0)
        assert all(0 <= index < mpt.FACE_MESH_COUNT and weight > 0 for index, weight in terms)
        if len(terms) == 2:
            assert frozenset(index for index, _ in terms) in edges
    assert mpt.TO_IBUG68 == tuple(max(terms, key=lambda t: t[1])[0] for terms in mpt.IBUG68_FROM_DENSE)


def test_to_ibug68_and_with_ibug68():
    rng = np.random.default_rng(0)
    dense = rng.uniform(0, 500, (3, mpt.DENSE_COUNT, 2)).astype(np.float32)
    dense[1] = np.nan
    points = mpt.to_ibug68(dense)
    assert points.shape == (3, 68, 2) and points.dtype == np.float32
    assert np.isnan(points[1]).all() and np.isfinite(points[[0, 2]]).all()
    row = mpt.IBUG68_FROM_DENSE[7]
    assert points[0, 7] == pytest.approx(sum(w * dense[0, i] for i, w in row), abs=1e-3)
    target = points[0] + rng.normal(0, 3, (68, 2)).astype(np.float32)
    edited = mpt.with_ibug68(dense[0], target)
    np.testing.assert_allclose(mpt.to_ibug68(edited), target, atol=1e-3)
    untouched = np.setdiff1d(np.arange(mpt.DENSE_COUNT), np.flatnonzero(mpt.IBUG68_MATRIX.any(axis=0)))
    np.testing.assert_array_equal(edited[untouched], dense[0][untouched])


def test_contours_are_on_the_subjects_sides(mediapipe):
    face = mediapipe.find_faces(still("lia_macron.png"))[0]
    dense = face.dense
    centre = lambda loop: dense[list(loop)].mean(axis=0)  # noqa: E731
    assert centre(mpt.RIGHT_EYE_UPPER)[0] < centre(mpt.LEFT_EYE_UPPER)[0]  # subject's right = image left
    assert centre(mpt.RIGHT_BROW)[0] < centre(mpt.LEFT_BROW)[0]
    assert np.linalg.norm(dense[mpt.RIGHT_IRIS[0]] - centre(mpt.RIGHT_EYE_UPPER + mpt.RIGHT_EYE_LOWER)) < \
        0.5 * np.linalg.norm(dense[33] - dense[133])
    for upper, lower in ((mpt.RIGHT_EYE_UPPER, mpt.RIGHT_EYE_LOWER), (mpt.OUTER_LIP_UPPER, mpt.OUTER_LIP_LOWER),
                         (mpt.INNER_LIP_UPPER, mpt.INNER_LIP_LOWER)):
        assert (upper[0], upper[-1]) == (lower[0], lower[-1])
        assert dense[list(upper[1:-1]), 1].mean() < dense[list(lower[1:-1]), 1].mean()  # upper above lower
    oval = dense[list(mpt.FACE_OVAL)].astype(np.float32)
    inner = face.landmarks[17:]
    assert all(cv2.pointPolygonTest(oval, (float(x), float(y)), False) > 0 for x, y in inner)


def test_mapping_is_left_right_symmetric_on_a_mirrored_still(mediapipe):
    image = still("hallo_6_photo_woman.jpg")
    face = mediapipe.find_faces(image)[0]
    mirrored = mediapipe.find_faces(np.ascontiguousarray(image[:, ::-1]))[0]
    width = image.shape[1]
    unflipped = mirrored.landmarks[IBUG_MIRROR] * np.array([-1, 1]) + np.array([width, 0])
    iod = np.linalg.norm(face.landmarks[36] - face.landmarks[45])
    assert np.linalg.norm(unflipped - face.landmarks, axis=1).mean() < 0.02 * iod


@pytest.mark.slow
def test_agreement_with_dlib_per_region(mediapipe):
    """Mean error to dlib's 68 points (normalised by dlib's outer-eye-corner distance), per region."""
    with create_detector("dlib") as dlib_detector:
        errors, single = [], []
        for name in STILLS:
            image = still(name)
            reference = dlib_detector.find_faces(image)[0].landmarks
            face = mediapipe.find_faces(image)[0]
            iod = np.linalg.norm(reference[36] - reference[45])
            errors.append(np.linalg.norm(face.landmarks - reference, axis=1) / iod)
            single.append(np.linalg.norm(face.dense[list(mpt.TO_IBUG68)] - reference, axis=1) / iod)
    errors, single = np.array(errors), np.array(single)
    per_region = {region: errors[:, list(points)].mean() for region, points in REGIONS.items()}
    limits = {"jaw": 0.08, "brows": 0.06, "nose": 0.05, "eyes": 0.035, "outer lips": 0.045, "inner lips": 0.045}
    assert all(per_region[r] < limits[r] for r in REGIONS), per_region
    # the two-vertex table agrees with dlib better than the nearest single vertices do
    assert errors.mean() < single.mean()
