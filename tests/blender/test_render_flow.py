"""Rendering from Blender through the real engine process, with the cheapest driver (a preset): the job
file the engine reads, output path tokens and the scene frame range, loading the frames back, and the
failures an artist meets (unwritable output, an unreadable still, a still with no face), each a clear
report that leaves the scene as it was."""

from __future__ import annotations

import os

import pytest
from .installed_addon import RIG_STILL, addon_part, media_path

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def scene_state(context):
    """What a failed operator must leave untouched."""
    import bpy

    scene = context.scene
    editor = scene.sequence_editor
    strips = 0 if editor is None else len(editor.strips if hasattr(editor, "strips") else editor.sequences)
    return (sorted(o.name for o in bpy.data.objects), sorted(i.name for i in bpy.data.images), strips,
            scene.frame_start, scene.frame_end, scene.camera, scene.portrait_animator.last_output)


@pytest.fixture
def preset_shot(context):
    settings = context.scene.portrait_animator
    settings.still_path = str(media_path(*RIG_STILL))
    settings.driver_kind = 'PRESET'
    settings.driver_preset = 'blink'
    settings.crop_size = '256'
    settings.glasses = 'on'
    settings.output_path = "//renders/take_###"
    settings.load_into = 'SEQUENCER'
    context.scene.frame_start, context.scene.frame_end = 2, 5
    return settings


def test_render_writes_the_job_runs_the_engine_and_loads_the_frames(context, preset_shot, tmp_path):
    from portrait_animator.config import RenderJob

    render, status = addon_part("workflows.render"), addon_part("status")
    task = render.start_render(context)
    with pytest.raises(addon_part("errors").AddonError, match="busy"):
        render.start_render(context)  # one engine task at a time
    seen = []

    def mirror(running):
        status.show(context, running)
        shown = context.window_manager.portrait_animator_status
        seen.append((shown.running, shown.done, shown.total))

    level, message = task.wait(context, on_poll=mirror)
    status.clear(context)
    assert level == 'INFO' and "Rendered 4 frames" in message, message
    assert (True, 4, 4) in seen and all(done <= total or total == 0 for _, done, total in seen)

    folder = tmp_path / "renders"  # "//" is the saved .blend's folder
    job = RenderJob.load(str(folder / "take.job.json"))
    assert job.sources == [str(media_path(*RIG_STILL))] and job.driver == "preset:blink"
    assert (job.frames.start, job.frames.end) == (2, 5) and job.device == "cpu" and job.crop_size == 256
    assert job.glasses == "on"
    assert job.output.pattern == str(folder / "take_###.png") and job.output.bit_depth == 16
    frames = sorted(p.name for p in folder.iterdir() if p.name.startswith("take_") and p.suffix == ".png")
    assert frames == ["take_002.png", "take_003.png", "take_004.png", "take_005.png",
                      "take_matte_002.png", "take_matte_003.png", "take_matte_004.png", "take_matte_005.png"]
    editor = context.scene.sequence_editor
    strip = (editor.strips if hasattr(editor, "strips") else editor.sequences)["take Render"]
    assert len(strip.elements) == 4 and strip.frame_final_start == 2 and strip.channel == 1
    assert (context.scene.frame_start, context.scene.frame_end) == (2, 5)
    assert preset_shot.last_output == str(folder / "take_###.png")
    assert addon_part("tasks").current() is None and not context.window_manager.portrait_animator_status.running
    assert status.format_seconds(65) == "1:05" and status.format_seconds(3725) == "1:02:05"


def test_the_neural_hybrid_needs_no_checkpoint_the_paper_model_does(context, preset_shot, tmp_path):
    import bpy
    from portrait_animator.config import RenderJob

    preset_shot.renderer = 'neural-paper'
    before = scene_state(context)
    with pytest.raises(RuntimeError, match="no checkpoint set"):
        bpy.ops.portrait_animator.render()
    assert scene_state(context) == before
    preset_shot.renderer = 'neural-hybrid'  # checkpoint left empty: the engine's shipped small model
    context.scene.frame_end = 3
    level, message = addon_part("workflows.render").start_render(context).wait(context)
    assert level == 'INFO' and "Rendered 2 frames" in message, message
    job = RenderJob.load(str(tmp_path / "renders" / "take.job.json"))
    assert job.renderer == "neural-hybrid" and job.checkpoint is None


def test_unwritable_output_folder_is_a_clear_report_and_changes_nothing(context, preset_shot, tmp_path):
    import bpy

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    preset_shot.output_path = str(blocker / "renders") + os.sep
    before = scene_state(context)
    with pytest.raises(RuntimeError, match=r"not_a_folder/renders: cannot create the output folder"):
        bpy.ops.portrait_animator.render()
    assert scene_state(context) == before


def test_engine_errors_arrive_as_the_engines_one_line_message(context, preset_shot, tmp_path):
    import bpy

    broken = tmp_path / "broken_still.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n but then nothing an image reader can use")
    preset_shot.still_path = str(broken)
    before = scene_state(context)
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.portrait_animator.render()
    message = str(raised.value)
    assert "broken_still.png" in message and "Traceback" not in message and "\n" not in message.strip()
    assert scene_state(context) == before


def test_still_with_no_face_gives_a_clear_report_and_no_rig(context, tmp_path):
    import bpy

    blank = bpy.data.images.new("Blank Wall", 320, 240)
    blank.generated_color = (0.55, 0.5, 0.45, 1.0)
    settings = context.scene.portrait_animator
    settings.still_source, settings.still_image = 'IMAGE', blank
    before = scene_state(context)
    with pytest.raises(RuntimeError, match=r"(?i)no face"):
        bpy.ops.portrait_animator.create_face_rig()
    assert scene_state(context) == before and settings.rig is None

