"""The face rig in real Blender: built on a real still (landmarks measured by dlib, so these tests need
no engine), exported through its camera frame by frame, and keyed from a performance in bulk."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from .installed_addon import RIG_STILL, addon_part, engine_reads_track, media_path

pytestmark = pytest.mark.blender


def eye_gap(points, first):
    return (np.linalg.norm(points[..., first + 1, :] - points[..., first + 5, :], axis=-1) +
            np.linalg.norm(points[..., first + 2, :] - points[..., first + 4, :], axis=-1)) / 2


def mouth_gap(points):
    return np.linalg.norm(points[..., 62, :] - points[..., 66, :], axis=-1)


@pytest.fixture
def still_path():
    return str(media_path(*RIG_STILL))


@pytest.fixture
def rig(context, still_path, dlib_landmarks):
    import bpy

    image = bpy.data.images.load(still_path)
    built = addon_part("scene.rig_build").build_face_rig(context, image, dlib_landmarks(still_path), "Einstein")
    context.scene.portrait_animator.rig = built.landmarks
    return built


def export(context, rig, first, last):
    return addon_part("scene.rig_io").export_track(context, rig, first, last)


def test_rig_frames_the_still_and_sits_on_its_landmarks(context, rig, still_path, dlib_landmarks):
    scene = context.scene
    assert scene.camera == rig.camera and rig.camera.data.type == 'ORTHO'
    assert (scene.render.resolution_x, scene.render.resolution_y) == (375, 500)
    assert rig.plane.active_material.node_tree.nodes["Portrait"].image == rig.image
    assert os.path.samefile(rig.image.filepath, still_path)
    assert {o.name for o in rig.collection.objects} == {"Einstein Camera", "Einstein Still", "Einstein Head",
                                                       "Einstein Landmarks"}
    keys = [k.name for k in rig.landmarks.data.shape_keys.key_blocks]
    assert keys == ["Basis", "Jaw Open", "Lips Pucker", "Lips Stretch", "Smile.L", "Smile.R", "Blink.L", "Blink.R",
                    "Brows Up", "Brows Down"]
    rest = addon_part("scene.rig_io").evaluated_landmarks(context, rig)
    np.testing.assert_allclose(rest, dlib_landmarks(still_path), atol=1e-3)
    # The plane's corners project onto the image's corners: the camera frames the still exactly.
    corners = np.array([tuple(rig.plane.matrix_world @ v.co) for v in rig.plane.data.vertices])
    camera = addon_part("scene.rig_io").view_projection(context, rig)
    pixels = addon_part("projection").project(corners, camera, 375, 500)
    np.testing.assert_allclose(pixels, [[0, 500], [375, 500], [375, 0], [0, 0]], atol=1e-3)


def test_keyframed_blink_and_jaw_export_frame_by_frame(context, rig, tmp_path):
    scene = context.scene
    scene.render.fps, scene.render.fps_base = 24, 1.0
    keys = rig.landmarks.data.shape_keys.key_blocks
    for frame, blink, jaw in ((1, 0.0, 0.0), (4, 1.0, 0.0), (6, 0.0, 0.0), (9, 0.0, 1.0)):
        keys["Blink.L"].value, keys["Jaw Open"].value = blink, jaw
        keys["Blink.L"].keyframe_insert("value", frame=frame)
        keys["Jaw Open"].keyframe_insert("value", frame=frame)
    scene.frame_set(7)
    track = export(context, rig, 1, 10)
    assert scene.frame_current == 7
    points = track.landmarks.astype(np.float64)
    assert list(track.frame_numbers) == list(range(1, 11)) and track.image_size == (375, 500) and track.fps == 24
    assert eye_gap(points[3], 42) < 0.05 * eye_gap(points[0], 42)  # left eye shut on the blink frame
    np.testing.assert_allclose(eye_gap(points, 36), eye_gap(points[0], 36), rtol=1e-4)  # right eye untouched
    assert eye_gap(points[1], 42) < eye_gap(points[0], 42)  # closing on the way there
    assert mouth_gap(points[8]) > mouth_gap(points[0]) + 15  # jaw open, in pixels of a 375x500 still

    path = str(tmp_path / "rig.npz")
    addon_part("landmarks.landmark_file").write_landmark_file(path, track)
    engine_track = engine_reads_track(path)  # the engine's own reader accepts the rig's file
    np.testing.assert_array_equal(engine_track.landmarks, track.landmarks)
    assert engine_track.image_size == (375, 500) and engine_track.fps == 24


def test_head_control_turns_and_tilts_the_face(context, rig):
    rest = addon_part("scene.rig_io").evaluated_landmarks(context, rig)
    rig.head.rotation_euler = (0.0, 0.0, math.radians(20))  # turn
    context.view_layer.update()
    turned = addon_part("scene.rig_io").evaluated_landmarks(context, rig)
    shift = turned[:, 0] - rest[:, 0]
    assert abs(shift[30]) > 1.5 * max(abs(shift[0]), abs(shift[16]))  # the nose tip swings past the cheeks
    width = lambda p: np.linalg.norm(p[16] - p[0])  # noqa: E731
    assert width(turned) < width(rest)
    rig.head.rotation_euler = (0.0, math.radians(10), 0.0)  # tilt about the camera axis
    context.view_layer.update()
    tilted = addon_part("scene.rig_io").evaluated_landmarks(context, rig)
    eye_line = lambda p: math.atan2(*(p[45] - p[36])[::-1])  # noqa: E731
    assert eye_line(tilted) - eye_line(rest) == pytest.approx(math.radians(10), abs=1e-4)


def test_imported_performance_is_keyed_in_bulk_and_exports_back(context, rig):
    rig_io, face_shapes = addon_part("scene.rig_io"), addon_part("landmarks.face_shapes")
    LandmarkData = addon_part("landmarks.landmark_file").LandmarkData
    retarget = addon_part("landmarks.retarget")
    animation = addon_part("scene.animation")
    still = rig_io.evaluated_landmarks(context, rig)
    # A driver: another face shape, elsewhere in a 640x480 video, nodding, swaying and talking.
    driver_face = retarget.Similarity(0.6, 0.1, (200.0, 90.0)).apply(still * [1.0, 1.1])
    jaw = face_shapes.shape_deltas(driver_face)[face_shapes.JAW_OPEN][:, :2]
    frames = []
    for n in range(1, 31):
        head = retarget.Similarity(1 + 0.05 * math.sin(n / 4), 0.15 * math.sin(n / 5), (8 * math.sin(n / 3), 2.0 * n))
        frames.append(head.apply(driver_face + jaw * (0.5 + 0.5 * math.sin(n / 2))))
    frames = np.array(frames)
    frames[12] = np.nan  # a frame without a face
    data = LandmarkData(frames, np.arange(1, 31), image_size=(640, 480), fps=29.97003)
    report = addon_part("workflows.face_rig").import_track(context, rig, data)
    assert report[0] == 'INFO' and "29 frames" in report[1]

    scene = context.scene
    assert (scene.frame_start, scene.frame_end) == (1, 30)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(29.97003)
    assert scene.portrait_animator.driver_kind == 'RIG'
    controls = rig.point_controls()
    assert len(controls) == 68 and all(c.parent == rig.head for c in controls)
    head_keys = animation.read_keys(rig.head, "rotation_euler", 1)
    point_keys = animation.read_keys(controls[57], "location", 2)
    assert len(head_keys[0]) == len(point_keys[0]) == 29 and 13.0 not in head_keys[0]
    assert animation.read_keys(controls[57], "location", 1) is None  # no depth keys with an ortho camera

    expected = retarget.retarget(frames, np.arange(1, 31), still).landmarks
    exported = export(context, rig, 1, 30).landmarks
    valid = np.isfinite(expected).all(axis=(1, 2))
    np.testing.assert_allclose(exported[valid], expected[valid], atol=0.01)
    assert np.isfinite(exported[12]).all()  # the gap is interpolated by the curves

    # The artist's shape keys add on top of the imported performance.
    blink = rig.landmarks.data.shape_keys.key_blocks["Blink.R"]
    blink.value = 1.0
    blink.keyframe_insert("value", frame=20)
    closed = export(context, rig, 20, 20).landmarks[0]
    assert eye_gap(closed, 36) < 0.15 * eye_gap(expected[19], 36)
    np.testing.assert_allclose(closed[42:48], expected[19][42:48], atol=0.01)


def test_stills_inside_the_blend_become_files_without_changing_the_image(context, still_path, tmp_path):
    import bpy

    stills = addon_part("scene.stills")
    packed = bpy.data.images.load(still_path)
    packed.pack()
    copied = stills.still_file_from_image(packed, str(tmp_path / "scratch"))
    with open(copied, "rb") as a, open(still_path, "rb") as b:
        assert a.read() == b.read()
    assert packed.packed_file is not None and packed.filepath.endswith(".jpg")

    generated = bpy.data.images.new("Generated Portrait", 64, 48)
    generated.generated_color = (0.2, 0.4, 0.6, 1.0)
    saved = stills.still_file_from_image(generated, str(tmp_path / "scratch"))
    back = bpy.data.images.load(saved)
    assert tuple(back.size) == (64, 48) and generated.source == 'GENERATED' and generated.filepath == ""
    pixels = np.empty(64 * 48 * 4, np.float32)
    back.pixels.foreach_get(pixels)
    np.testing.assert_allclose(pixels.reshape(-1, 4)[100, :3], (0.2, 0.4, 0.6), atol=0.01)

    on_disk = bpy.data.images.load(still_path, check_existing=False)
    assert stills.still_file_from_image(on_disk, str(tmp_path / "scratch")) == os.path.normpath(still_path)


def test_import_operator_takes_a_landmark_file_without_the_engine(context, rig, tmp_path):
    import bpy

    landmark_file = addon_part("landmarks.landmark_file")
    still = addon_part("scene.rig_io").evaluated_landmarks(context, rig)
    shapes = addon_part("landmarks.face_shapes").shape_deltas(still)
    blink = shapes["Blink.L"][:, :2]
    frames = np.stack([still, still + 0.5 * blink, still + blink, still])
    path = tmp_path / "blink.npz"
    landmark_file.write_landmark_file(str(path), landmark_file.LandmarkData(frames, np.arange(5, 9), fps=24.0))
    settings = context.scene.portrait_animator
    settings.driver_kind, settings.driver_path = 'LANDMARKS', "//blink.npz"  # next to the saved .blend
    assert bpy.ops.portrait_animator.import_driver_as_rig() == {'FINISHED'}
    assert (context.scene.frame_start, context.scene.frame_end) == (5, 8) and context.scene.render.fps == 24
    exported = export(context, rig, 5, 8).landmarks
    np.testing.assert_allclose(exported, frames, atol=0.01)
    assert eye_gap(exported[2], 42) < 0.05 * eye_gap(exported[0], 42)
    assert settings.driver_kind == 'RIG'  # the next render uses the (editable) performance
    settings.driver_kind, settings.driver_path = 'LANDMARKS', str(tmp_path / "missing.npz")
    with pytest.raises(RuntimeError, match="missing.npz: the driver does not exist"):
        bpy.ops.portrait_animator.import_driver_as_rig()
