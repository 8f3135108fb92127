"""The face rig <-> landmark tracks: exporting the evaluated rig through its camera, frame by frame, and
importing a performance as keyframes on the head control and the per-point controls."""

from __future__ import annotations

import bpy
import numpy as np

from ..landmarks.landmark_file import LandmarkData
from ..landmarks.retarget import Performance
from ..projection import ndc_depth, project, unproject
from . import animation
from .rig_build import FaceRig, ensure_point_controls


def view_projection(context, rig: FaceRig) -> np.ndarray:
    """The rig camera's 4x4 view-projection for an image the still's size, at the current frame."""
    depsgraph = context.evaluated_depsgraph_get()
    camera = rig.camera.evaluated_get(depsgraph)
    projection = camera.calc_matrix_camera(depsgraph, x=rig.part.image_width, y=rig.part.image_height,
                                           scale_x=1.0, scale_y=1.0)
    return np.array(projection @ camera.matrix_world.inverted(), dtype=np.float64)


def evaluated_landmarks(context, rig: FaceRig) -> np.ndarray:
    """(68, 2) pixels of the still where the evaluated landmark mesh (shape keys, hooks, head) projects."""
    depsgraph = context.evaluated_depsgraph_get()
    evaluated = rig.landmarks.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
        mesh.vertices.foreach_get("co", co)
    finally:
        evaluated.to_mesh_clear()
    matrix = np.array(evaluated.matrix_world, dtype=np.float64)
    world = co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]
    return project(world, view_projection(context, rig), rig.part.image_width, rig.part.image_height)


def export_track(context, rig: FaceRig, first: int, last: int) -> LandmarkData:
    """The rig's landmarks for scene frames ``first..last`` (the current frame is restored)."""
    scene = context.scene
    current, subframe = scene.frame_current, scene.frame_subframe
    rows = []
    try:
        for frame in range(first, last + 1):
            scene.frame_set(frame)
            rows.append(evaluated_landmarks(context, rig))
    finally:
        scene.frame_set(current, subframe=subframe)
    return LandmarkData(
        np.stack(rows).astype(np.float32), np.arange(first, last + 1), image_size=(rig.part.image_width,
                                                                                 rig.part.image_height),
        fps=scene.render.fps / scene.render.fps_base,
        meta={"source": "Blender face rig", "rig": rig.landmarks.name, "blend": bpy.data.filepath})


def import_performance(context, rig: FaceRig, performance: Performance) -> int:
    """Key the performance on the rig at scene frame = driver frame; returns the number of keyed frames.

    The head control gets the head move (location X/Z, roll about the camera axis, uniform scale) and each
    point control the position that puts its vertex exactly on the performance's landmark, given that
    head move and the shape keys at rest; shape keys stay free to add on top. Existing keys on these
    channels are replaced; frames where the driver had no face get no keys.
    """
    valid = performance.valid
    frames = performance.frame_numbers[valid].astype(np.float64)
    heads = [head for head in performance.heads if head is not None]
    still = rig.still
    unit = still.units_per_pixel
    pivot = rig.pivot
    pivot_pixel = still.to_pixels(pivot[None])[0]
    moves = np.array([head.apply(pivot_pixel[None])[0] for head in heads]) - pivot_pixel
    scale = np.array([head.scale for head in heads])
    angle = np.array([head.angle for head in heads])
    location_x = pivot[0] + moves[:, 0] * unit
    location_z = pivot[2] - moves[:, 1] * unit

    matrices = _head_matrices(pivot, location_x, location_z, angle, scale)
    rest = rig.rest_points()
    moved_rest = _transform(matrices, rest[None])
    camera = view_projection(context, rig)
    depth = ndc_depth(moved_rest, camera)
    world = unproject(performance.landmarks[valid], depth, camera, still.width, still.height)
    local = _transform(np.linalg.inv(matrices), world)  # (F, 68, 3) in the rig's rest space

    head_curves = animation.curves_of(rig.head)
    animation.write_keys(head_curves, "location", 0, frames, location_x, "Head")
    animation.write_keys(head_curves, "location", 2, frames, location_z, "Head")
    animation.write_keys(head_curves, "rotation_euler", 1, frames, angle, "Head")
    for axis in range(3):
        animation.write_keys(head_curves, "scale", axis, frames, scale, "Head")
    rig.head.rotation_mode = 'XYZ'

    for index, control in enumerate(ensure_point_controls(rig)):
        curves = animation.curves_of(control)
        for axis in range(3):
            values = local[:, index, axis]
            if axis == 1 and np.abs(values - rest[index, 1]).max() < 1e-7:
                continue  # an orthographic camera never needs depth keys
            animation.write_keys(curves, "location", axis, frames, values, "Point")
    return int(valid.sum())


def _head_matrices(pivot, location_x, location_z, angle, scale) -> np.ndarray:
    """(F, 4, 4): the head control's move relative to its rest, as Blender evaluates it for the children:
    translate(location) @ rotate_y(angle) @ scale @ translate(-pivot)."""
    count = len(angle)
    cos, sin = np.cos(angle), np.sin(angle)
    matrices = np.zeros((count, 4, 4))
    matrices[:, 0, 0] = cos * scale
    matrices[:, 0, 2] = sin * scale
    matrices[:, 1, 1] = scale
    matrices[:, 2, 0] = -sin * scale
    matrices[:, 2, 2] = cos * scale
    matrices[:, 3, 3] = 1.0
    location = np.stack([location_x, np.full(count, pivot[1]), location_z], axis=-1)
    matrices[:, :3, 3] = location - np.einsum("fij,j->fi", matrices[:, :3, :3], pivot)
    return matrices


def _transform(matrices: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply (F, 4, 4) matrices to (F or 1, N, 3) points."""
    return np.einsum("fij,fnj->fni", matrices[:, :3, :3], np.broadcast_to(points, (len(matrices),) + points.shape[1:])) \
        + matrices[:, None, :3, 3]
