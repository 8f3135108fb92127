"""End to end in real Blender with the real engine process: a face rig made from a real still by the
engine's landmarks, keyframed and rendered; a render cancelled half-way and resumed; a real driving clip
imported as a rig; the engine check in the preferences."""

from __future__ import annotations

import os

import numpy as np
import pytest
from .installed_addon import ADDON_MODULE, ENGINE_PYTHON, RIG_STILL, addon_part, engine_reads_track, media_path

pytestmark = [pytest.mark.blender, pytest.mark.slow]
DRIVING_CLIP = ("driving", "dreamtalk_mead_w009_neutral.mp4")  # 104 frames, 256x256, 25 fps, talking


def read_rgba(path) -> np.ndarray:
    """(H, W, 4) float pixels of an image file as Blender reads it, top row first."""
    import bpy

    image = bpy.data.images.load(str(path), check_existing=False)
    try:
        width, height = image.size
        pixels = np.empty(width * height * 4, np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    return pixels.reshape(height, width, 4)[::-1]


def region(points: np.ndarray, pad: float) -> tuple[slice, slice]:
    low, high = points.min(axis=0) - pad, points.max(axis=0) + pad
    return slice(int(low[1]), int(high[1]) + 1), slice(int(low[0]), int(high[0]) + 1)


def mouth_gap(points):
    return np.linalg.norm(points[..., 62, :] - points[..., 66, :], axis=-1)


@pytest.fixture(scope="module")
def rig_blend(addon, tmp_path_factory):
    """A .blend holding a face rig the operator created from a real still (landmarks from the engine's
    process); made once, opened fresh by each test that needs a rig."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.preferences.addons[ADDON_MODULE].preferences.python_path = ENGINE_PYTHON
    settings = bpy.context.scene.portrait_animator
    settings.still_path = str(media_path(*RIG_STILL))
    assert bpy.ops.portrait_animator.create_face_rig() == {'FINISHED'}
    assert settings.rig is not None and settings.rig.portrait_rig.image_width == 375
    path = tmp_path_factory.mktemp("rig") / "rig.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


@pytest.fixture
def rig(context, rig_blend, tmp_path):
    import bpy

    bpy.ops.wm.open_mainfile(filepath=str(rig_blend))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))  # "//" is this test's folder
    return addon_part("scene.rig_build").rig_from_object(bpy.context.scene.portrait_animator.rig)


def test_keyframed_rig_renders_through_the_engine_and_loads_back(context, rig, tmp_path):
    import bpy

    settings = context.scene.portrait_animator
    keys = rig.landmarks.data.shape_keys.key_blocks
    for frame, blink, jaw in ((1, 0.0, 0.0), (3, 1.0, 0.0), (4, 0.0, 0.0), (6, 0.0, 1.0)):
        for name, value in (("Blink.L", blink), ("Blink.R", blink), ("Jaw Open", jaw)):
            keys[name].value = value
            keys[name].keyframe_insert("value", frame=frame)
    context.scene.frame_start, context.scene.frame_end = 1, 6
    settings.driver_kind = 'RIG'
    settings.crop_size = '256'
    settings.output_path = "//e2e/rig_shot"
    settings.load_into = 'SEQUENCER'
    assert bpy.ops.portrait_animator.render() == {'FINISHED'}

    folder = tmp_path / "e2e"
    frames = [read_rgba(folder / f"rig_shot.{n:04d}.png") for n in range(1, 7)]
    mattes = [read_rgba(folder / f"rig_shot_matte.{n:04d}.png") for n in range(1, 7)]
    assert frames[0].shape == (500, 375, 4)
    rest = rig.still.to_pixels(rig.rest_points())
    eyes, mouth = region(rest[36:48], 6), region(rest[48:68], 8)
    for moving in (2, 5):  # the matte covers the animated face on the blink and jaw frames
        assert mattes[moving][..., 0].max() > 0.99 and 0.01 < mattes[moving][..., 0].mean() < 0.5
    assert mattes[2][eyes][..., 0].mean() > 0.3 and mattes[5][mouth][..., 0].mean() > 0.3
    change = lambda a, b, where: float(np.abs(a[where][..., :3] - b[where][..., :3]).mean())  # noqa: E731
    assert change(frames[2], frames[0], eyes) > 3 * change(frames[3], frames[0], eyes) + 0.01  # blink frame
    assert change(frames[5], frames[0], mouth) > 0.02  # jaw open frame
    corner = (slice(0, 40), slice(0, 40))
    assert change(frames[2], frames[0], corner) == 0.0  # far from the face nothing moves
    still = read_rgba(media_path(*RIG_STILL))
    assert change(frames[0], still, eyes) < change(frames[2], still, eyes)  # rest frame looks like the still

    editor = context.scene.sequence_editor
    strip = (editor.strips if hasattr(editor, "strips") else editor.sequences)["rig_shot Render"]
    assert len(strip.elements) == 6 and (context.scene.frame_start, context.scene.frame_end) == (1, 6)
    job = (folder / "rig_shot.job.json").read_text()
    assert '"mode": "absolute"' in job and "rig_shot.rig.npz" in job

    # Rendering the unchanged rig again keeps every frame: its landmark file is not rewritten, so the
    # engine finds the frames on disk made from the same driver and settings.
    stamps = {n: os.stat(folder / f"rig_shot.{n:04d}.png").st_mtime_ns for n in range(1, 7)}
    assert bpy.ops.portrait_animator.render() == {'FINISHED'}
    assert {n: os.stat(folder / f"rig_shot.{n:04d}.png").st_mtime_ns for n in range(1, 7)} == stamps

    # Editing the performance makes the frames on disk stale: they are rendered again, not kept.
    keys["Jaw Open"].value = 0.4
    keys["Jaw Open"].keyframe_insert("value", frame=6)
    context.scene.frame_start = 5
    assert bpy.ops.portrait_animator.render() == {'FINISHED'}
    again = read_rgba(folder / "rig_shot.0006.png")
    assert change(again, frames[5], mouth) > 0.005 and change(again, frames[0], mouth) < change(frames[5], frames[0], mouth)
    assert strip.name in {s.name for s in (editor.strips if hasattr(editor, "strips") else editor.sequences)}


def test_cancelled_render_keeps_its_frames_and_resumes(context, tmp_path):
    import bpy

    render, tasks = addon_part("workflows.render"), addon_part("tasks")
    settings = context.scene.portrait_animator
    settings.still_path = str(media_path(*RIG_STILL))
    settings.driver_kind, settings.driver_preset = 'PRESET', 'talk'
    settings.crop_size = '256'
    settings.output_path = "//resume/talk.####.png"
    settings.load_into = 'SEQUENCER'
    context.scene.frame_start, context.scene.frame_end = 1, 16
    folder = tmp_path / "resume"

    task = render.start_render(context)
    while task.process.state.done < 3 and not task.process.finished:
        task.poll()
    assert bpy.ops.portrait_animator.cancel() == {'FINISHED'}
    level, message = task.wait(context)
    assert level == 'WARNING' and "cancelled" in message and "resumes" in message
    kept = sorted(p.name for p in folder.glob("talk.[0-9]*.png"))
    assert 3 <= len(kept) < 16 and tasks.current() is None
    editor = context.scene.sequence_editor
    assert editor is None or not len(editor.strips if hasattr(editor, "strips") else editor.sequences)
    assert settings.last_output == ""  # a cancelled render loads nothing
    stamps = {name: os.stat(folder / name).st_mtime_ns for name in kept}

    task = render.start_render(context)
    level, message = task.wait(context)
    assert level == 'INFO' and f"{len(kept)} kept from an earlier run" in message
    assert task.process.state.result["skipped"] == len(kept)
    assert len(list(folder.glob("talk.[0-9]*.png"))) == 16
    assert {name: os.stat(folder / name).st_mtime_ns for name in kept} == stamps  # finished frames untouched

    # Another mouth gain over the finished frames: the engine refuses to mix renders and the panel says why.
    settings.mouth_gain = 1.5
    level, message = render.start_render(context).wait(context)
    assert level == 'ERROR' and "talk.0001.png" in message and "motion.gains.mouth: 1.0 -> 1.5" in message
    assert "tick Overwrite" in message
    assert {name: os.stat(folder / name).st_mtime_ns for name in kept} == stamps
    settings.overwrite = True
    level, message = render.start_render(context).wait(context)
    assert level == 'INFO' and "Rendered 16 frames" in message


def test_real_driving_clip_imports_as_editable_keys_matching_the_engine_track(context, rig):
    settings = context.scene.portrait_animator
    settings.driver_kind = 'VIDEO'
    settings.driver_path = str(media_path(*DRIVING_CLIP))
    task = addon_part("workflows.face_rig").start_import_driver(context)
    level, message = task.wait(context)
    assert level == 'INFO', message
    track = engine_reads_track(task.data["track"])  # the engine's landmark file, read by the engine
    numbers = track.frame_numbers[track.valid]
    assert len(track.frame_numbers) == 104 and len(numbers) > 100

    animation = addon_part("scene.animation")
    keyed_frames, _ = animation.read_keys(rig.head, "location", 0)
    np.testing.assert_array_equal(keyed_frames, numbers)
    controls = rig.point_controls()
    assert all(len(animation.read_keys(c, "location", 2)[0]) == len(numbers) for c in controls)
    scene = context.scene
    assert (scene.frame_start, scene.frame_end) == (int(numbers[0]), int(numbers[-1]))
    assert scene.render.fps / scene.render.fps_base == pytest.approx(track.fps)

    still = rig.still.to_pixels(rig.rest_points())
    expected = addon_part("landmarks.retarget").retarget(track.landmarks, track.frame_numbers, still).landmarks
    exported = addon_part("scene.rig_io").export_track(context, rig, int(numbers[0]), int(numbers[-1]))
    rows = np.isin(exported.frame_numbers, numbers)
    np.testing.assert_allclose(exported.landmarks[rows], expected[track.valid], atol=0.01)
    # Independently of the retargeting maths: the rig's mouth opens and closes with the actor's.
    driver_mouth = mouth_gap(track.landmarks[track.valid])
    rig_mouth = mouth_gap(exported.landmarks[rows])
    assert np.corrcoef(driver_mouth, rig_mouth)[0, 1] > 0.95


def test_check_engine_shows_the_doctor_report(context):
    import bpy

    assert bpy.ops.portrait_animator.check_engine() == {'FINISHED'}
    report = context.preferences.addons[ADDON_MODULE].preferences.engine_report
    assert report.startswith("Python: ")
    assert "Landmark backends: mediapipe=ok" in report and "Devices: cpu=ok" in report
