"""Measure the generic face depth of ``core/motion/face_depth.py``: how far each mesh point lies in front of or
behind the face, in eye distances.

MediaPipe's mesh network reads a depth for each of its 478 points. Over near-frontal faces in sampled
frames of real videos (nose tip within 0.05 eye distances of the eyes' midline), each face's depths are
put in eye distances (outer eye corners, mesh points 33 and 263) and centred on the head-pose fit's rigid
points, then averaged over the faces and over left and right (each point with its mirror counterpart,
``fit_ibug68_mapping.mesh_mirror``), so the table belongs to no one face and turns no way. Prints the table.

    .venv/bin/python scripts/fit_face_depth.py ../shared/media/driving/*.mp4 > table.txt
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from contextlib import closing

import numpy as np

from portrait_animator.landmarks.mediapipe_backend import MediaPipeDetector
from portrait_animator.landmarks.mediapipe_mesh import FaceMeshNetwork, FaceRegion
from portrait_animator.landmarks.mediapipe_topology import DENSE_COUNT, FACE_MESH_COUNT, IBUG68_MATRIX
from portrait_animator.motion.head_turn import RIGID_68

FRONTAL = 0.05  # the nose tip's distance from the eyes' midline, in eye distances
# The mesh points the head-pose fit's 68 rigid points are made of: the table is centred on them.
RIGID_DENSE = tuple(int(k) for k in np.flatnonzero(np.abs(IBUG68_MATRIX[RIGID_68]).sum(axis=0) > 0))


def mapping_script():
    """The iBUG-table script beside this one (scripts are not a package): its ``mesh_mirror`` and
    ``sampled_frames``."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fit_ibug68_mapping.py")
    spec = importlib.util.spec_from_file_location("fit_ibug68_mapping", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def collect(videos, per_video, sampled_frames):
    """(mesh points, depths) of the main face in ``per_video`` evenly spaced frames of each video."""
    points, depths = [], []
    with MediaPipeDetector() as detector, closing(FaceMeshNetwork()) as network:
        for image in sampled_frames(videos, per_video):
            faces = detector.find_faces(image)
            if faces:
                dense, _ = network.run(image, FaceRegion.from_mesh(faces[0].dense))
                points.append(dense.astype(np.float64))
                depths.append(network.last_depth().astype(np.float64))
    return np.array(points), np.array(depths)


def normalised_depths(points, depths):
    """Each frontal face's depths in its eye distances, centred on the rigid points."""
    eyes = np.linalg.norm(points[:, 263] - points[:, 33], axis=1)
    middle = (points[:, 263] + points[:, 33]) / 2
    across = (points[:, 263] - points[:, 33]) / eyes[:, None]
    offset = np.einsum("fc,fc->f", points[:, 1] - middle, across) / eyes
    frontal = np.abs(offset) < FRONTAL
    scaled = depths[frontal] / eyes[frontal, None]
    return scaled - scaled[:, list(RIGID_DENSE)].mean(axis=1, keepdims=True), points[frontal]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("videos", nargs="+")
    parser.add_argument("--frames-per-video", type=int, default=10)
    args = parser.parse_args()
    script = mapping_script()
    points, depths = collect(args.videos, args.frames_per_video, script.sampled_frames)
    depth, frontal = normalised_depths(points, depths)
    if len(depth) < 2:
        sys.exit(f"only {len(depth)} near-frontal faces found; give more videos")
    mirror = script.mesh_mirror(frontal[:, :FACE_MESH_COUNT])
    # irises: the right iris' centre and ring (468-472) mirror the left's (473-477)
    mirror = np.concatenate([mirror, np.arange(473, 478), np.arange(468, 473)])
    mean = depth.mean(axis=0)
    table = (mean + mean[mirror]) / 2
    print(f"# {len(depth)} near-frontal faces of {len(args.videos)} videos; spread between faces "
          f"{np.median(depth.std(axis=0)):.3f} eye distances (median over points)", file=sys.stderr)
    assert table.shape == (DENSE_COUNT,)
    print("FACE_DEPTH = (")
    for start in range(0, DENSE_COUNT, 12):
        print("    " + ", ".join(f"{value:.3f}" for value in table[start:start + 12]) + ",")
    print(")")


if __name__ == "__main__":
    main()
