"""Fit the MediaPipe-mesh -> iBUG 300-W 68-point table of ``core/landmarks/mediapipe_topology.py``.

Each iBUG point becomes a weighted mean of two neighbouring mesh vertices (an edge of MediaPipe's
tessellation; weight 1 on one vertex when that fits best), chosen to agree best with dlib's 68-point
predictor (trained on iBUG 300-W) over sampled frames of real driving videos. The fit is made
left-right symmetric by also fitting mirrored faces, so a symmetric face gives symmetric points. Errors
are normalised by the inter-ocular distance (outer eye corners, 36-45). The stills used to check the
table (``tests/test_landmarks_mapping.py``) are not used here.

    .venv/bin/python scripts/fit_ibug68_mapping.py ../shared/media/driving/*.mp4 > table.txt

With ``--check``, measures the table in use against dlib on stills instead (per-region mean error):

    .venv/bin/python scripts/fit_ibug68_mapping.py --check ../shared/media/stills/*
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from portrait_animator.landmarks import ibug68
from portrait_animator.landmarks.mediapipe_backend import MediaPipeDetector
from portrait_animator.landmarks.mediapipe_topology import TO_IBUG68

MESH = 468  # irises excluded: the iBUG scheme has no iris points
# iBUG 300-W left-right mirror of each point
IBUG_MIRROR = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65])
WEIGHTS = np.linspace(0.0, 1.0, 21)


def dlib_models():
    folder = importlib.util.find_spec("face_recognition_models").submodule_search_locations[0]
    return os.path.join(folder, "models", "shape_predictor_68_face_landmarks.dat")


def sampled_frames(videos, per_video):
    """RGB frames at ``per_video`` evenly spaced places of each video (the face-depth script uses it too)."""
    for path in videos:
        capture = cv2.VideoCapture(path)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        for index in np.linspace(0, max(count - 1, 0), per_video).astype(int):
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, frame = capture.read()
            if ok:
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        capture.release()


def collect(videos, per_video):
    """(dlib 68 points, MediaPipe mesh) pairs of the main face in ``per_video`` frames of each video."""
    import dlib

    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(dlib_models())
    ibug, mesh = [], []
    with MediaPipeDetector() as detector:
        for image in sampled_frames(videos, per_video):
            faces = detector.find_faces(image)
            rects = hog(image, 1)
            if not faces or not rects:
                continue
            centre = faces[0].landmarks.mean(axis=0)
            rect = min(rects, key=lambda r: np.hypot(r.center().x - centre[0], r.center().y - centre[1]))
            points = np.array([(p.x + 0.5, p.y + 0.5) for p in predictor(image, rect).parts()])
            if np.linalg.norm(points.mean(axis=0) - centre) < 0.2 * faces[0].size:
                ibug.append(points)
                mesh.append(faces[0].dense[:MESH])
    return np.array(ibug), np.array(mesh, dtype=np.float64)


def mesh_mirror(mesh):
    """Each mesh vertex's left-right counterpart, from the mean shape of near-frontal faces."""
    def normalise(shape):
        a, b = shape[33], shape[263]
        axis = (b - a) / np.linalg.norm(b - a)
        normal = np.array([-axis[1], axis[0]])
        centred = shape - (a + b) / 2
        return np.stack([centred @ axis, centred @ normal], axis=1) / np.linalg.norm(b - a)

    shapes = np.array([normalise(s) for s in mesh])
    frontal = shapes[np.abs(shapes[:, 1, 0]) < 0.05]  # nose tip (1) on the eyes' midline
    mean = frontal.mean(axis=0)
    distance = np.linalg.norm(mean[:, None] - (mean * [-1, 1])[None], axis=2)
    _, mirror = linear_sum_assignment(distance + distance.T)  # one counterpart each, symmetric cost
    if not np.array_equal(mirror[mirror], np.arange(MESH)):
        sys.exit("could not pair the mesh's vertices left-right (not an involution); use more frontal frames")
    return mirror


def fit(ibug, mesh, mirror):
    """For each iBUG point, the best (vertex, weight), (vertex, weight) pair on a tessellation edge."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    neighbours = {v: set() for v in range(MESH)}
    for a, b in FACEMESH_TESSELATION:
        neighbours[a].add(b)
        neighbours[b].add(a)
    # mirrored faces: point k of a flipped face is the flipped point IBUG_MIRROR[k]
    flip = np.array([-1.0, 1.0])
    ibug_all = np.concatenate([ibug, ibug[:, IBUG_MIRROR] * flip])
    mesh_all = np.concatenate([mesh, mesh[:, mirror] * flip])
    scale = np.linalg.norm(ibug_all[:, 36] - ibug_all[:, 45], axis=1)[:, None]
    table = []
    for k in range(ibug68.COUNT):
        target = ibug_all[:, k]
        single = (np.linalg.norm(mesh_all - target[:, None], axis=2) / scale).mean(axis=0)
        best = (single.min(), ((int(single.argmin()), 1.0),))
        for a in np.argsort(single)[:6]:
            for b in neighbours[int(a)]:
                for w in WEIGHTS[1:-1]:
                    point = (1 - w) * mesh_all[:, a] + w * mesh_all[:, b]
                    error = (np.linalg.norm(point - target, axis=1) / scale[:, 0]).mean()
                    if error < best[0] - 1e-9:
                        best = (error, ((int(a), round(1 - w, 2)), (int(b), round(w, 2))))
        table.append(tuple(sorted(best[1], key=lambda term: -term[1])))
    return table


def check(stills):
    """Per-region mean distance of the table's points to dlib's, over stills where both find a face."""
    import dlib

    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(dlib_models())
    table, heavier = [], []
    with MediaPipeDetector() as detector:
        for path in stills:
            image = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            faces, rects = detector.find_faces(image), hog(image, 1)
            if not faces or not rects:
                print(f"# skipped {os.path.basename(path)}: no face for {'dlib' if faces else 'MediaPipe'}")
                continue
            centre = faces[0].landmarks.mean(axis=0)
            rect = min(rects, key=lambda r: np.hypot(r.center().x - centre[0], r.center().y - centre[1]))
            reference = np.array([(p.x + 0.5, p.y + 0.5) for p in predictor(image, rect).parts()])
            scale = np.linalg.norm(reference[36] - reference[45])
            table.append(np.linalg.norm(faces[0].landmarks - reference, axis=1) / scale)
            heavier.append(np.linalg.norm(faces[0].dense[list(TO_IBUG68)] - reference, axis=1) / scale)
    regions = {"jaw": ibug68.JAW, "brows": ibug68.BROWS, "nose": ibug68.NOSE, "eyes": ibug68.EYES,
               "outer lips": ibug68.OUTER_LIPS, "inner lips": ibug68.INNER_LIPS}
    print(f"# {len(table)} stills; mean distance to dlib's points / dlib's outer-eye-corner distance")
    for name, errors in (("table", np.array(table)), ("heavier vertex only", np.array(heavier))):
        cells = " ".join(f"{region}={errors[:, list(points)].mean():.3f}" for region, points in regions.items())
        print(f"{name:20s} {cells} all={errors.mean():.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="driving videos to fit on, or stills with --check")
    parser.add_argument("--frames-per-video", type=int, default=10)
    parser.add_argument("--check", action="store_true", help="measure the current table on stills")
    args = parser.parse_args()
    if args.check:
        check(args.files)
        return
    ibug, mesh = collect(args.files, args.frames_per_video)
    print(f"# fitted on {len(ibug)} frames of {len(args.files)} videos", file=sys.stderr)
    table = fit(ibug, mesh, mesh_mirror(mesh))
    print("IBUG68_FROM_DENSE = (")
    for k, terms in enumerate(table):
        print(f"    {terms!r},  # {k}")
    print(")")


if __name__ == "__main__":
    main()
