"""A rerun skips finished frames only when they were made from the same inputs with the same settings."""

from __future__ import annotations

import dataclasses

import numpy as np
import OpenImageIO as oiio
import pytest

from portrait_animator.config import FrameRange, MotionConfig, MotionGains, OutputConfig, RenderJob
from portrait_animator.errors import OutputError
from portrait_animator.io.frames import FrameWriter
from portrait_animator.resume import SETTINGS_FIELD, check_resumable, render_settings


def make_job(pattern: str, **changes) -> RenderJob:
    return dataclasses.replace(RenderJob(sources=["still.png"], driver="preset:talk",
                                         output=OutputConfig(pattern=pattern)), **changes)


def expected_fields(job: RenderJob, source_digest: str = "a" * 64) -> dict[str, str]:
    return {"version": "1.0", SETTINGS_FIELD: render_settings(job), "source_sha256": source_digest}


def write_frames(pattern: str, fields: dict[str, str], numbers=(1, 2)) -> dict[int, str]:
    writer = FrameWriter(pattern, provenance=fields)
    rgb, matte = np.full((8, 8, 3), 0.5, np.float32), np.ones((8, 8), np.float32)
    return {n: writer.write(n, rgb, matte) for n in numbers}


def test_settings_record_what_changes_pixels_and_nothing_else():
    job = make_job("out/shot.####.png")
    same = [dataclasses.replace(job, device="cpu"), dataclasses.replace(job, name="another name"),
            dataclasses.replace(job, output=OutputConfig(pattern="elsewhere/x.####.png", overwrite=True,
                                                         preview="x.mp4", exr_compression="piz"))]
    assert {render_settings(j) for j in same} == {render_settings(job)}
    video = dataclasses.replace(job, driver="talk.mp4")  # its motion is the whole clip's, whatever the range
    assert render_settings(dataclasses.replace(video, frames=FrameRange(5, 8))) == render_settings(video)
    changed = [dataclasses.replace(job, motion=MotionConfig(gains=MotionGains(mouth=1.5))),
               dataclasses.replace(job, motion=MotionConfig(close_mouth=False)),
               dataclasses.replace(job, crop_size=256), dataclasses.replace(job, renderer="neural-hybrid"),
               dataclasses.replace(job, driver="preset:blink"),
               dataclasses.replace(job, frames=FrameRange(1, 40)),  # a preset is drawn for its whole length
               dataclasses.replace(job, output=OutputConfig(pattern="out/shot.####.png", bit_depth=16))]
    assert len({render_settings(j) for j in [job, *changed]}) == len(changed) + 1
    exr = make_job("out/shot.####.exr")  # EXR is always half float: the PNG bit depth is not its setting
    assert render_settings(exr) == render_settings(
        dataclasses.replace(exr, output=OutputConfig(pattern="out/shot.####.exr", bit_depth=16)))


def test_frames_of_the_same_render_resume(tmp_path):
    pattern = str(tmp_path / "shot.####.png")
    fields = expected_fields(make_job(pattern))
    finished = write_frames(pattern, fields)
    check_resumable(finished, fields)  # no error: these frames are this render's


def test_a_changed_setting_stops_the_rerun_naming_the_frame_and_the_setting(tmp_path):
    pattern = str(tmp_path / "shot.####.exr")
    job = make_job(pattern)
    finished = write_frames(pattern, expected_fields(job))
    bytes_before = {n: open(p, "rb").read() for n, p in finished.items()}
    louder = dataclasses.replace(job, motion=MotionConfig(gains=MotionGains(mouth=1.5)))
    with pytest.raises(OutputError) as raised:
        check_resumable(finished, expected_fields(louder))
    message = str(raised.value)
    assert message.startswith(finished[1]) and "motion.gains.mouth: 1.0 -> 1.5" in message
    assert "--overwrite" in message
    assert {n: open(p, "rb").read() for n, p in finished.items()} == bytes_before  # left as is


def test_other_inputs_or_an_extra_still_stop_the_rerun(tmp_path):
    pattern = str(tmp_path / "shot.####.tif")  # TIFF keeps the fields as JSON in its description
    job = make_job(pattern)
    finished = write_frames(pattern, {**expected_fields(job), "source_2_sha256": "b" * 64})
    with pytest.raises(OutputError, match="source_2: given -> none"):
        check_resumable(finished, expected_fields(job))
    with pytest.raises(OutputError, match="source: other file contents"):
        check_resumable(finished, {**expected_fields(job, "c" * 64), "source_2_sha256": "b" * 64})
    with pytest.raises(OutputError, match="version: 1.0 -> 2.0"):
        check_resumable(finished, {**expected_fields(job), "source_2_sha256": "b" * 64, "version": "2.0"})


def test_a_file_portrait_animator_did_not_write_is_not_taken_for_a_finished_frame(tmp_path):
    path = str(tmp_path / "shot.0001.png")
    image = oiio.ImageOutput.create(path)
    image.open(path, oiio.ImageSpec(4, 4, 3, oiio.UINT8))
    image.write_image(np.zeros((4, 4, 3), np.uint8))
    image.close()
    with pytest.raises(OutputError, match="carries no Portrait Animator render settings"):
        check_resumable({1: path}, expected_fields(make_job(str(tmp_path / "shot.####.png"))))


def test_an_unreadable_settings_record_is_a_difference_not_a_crash(tmp_path):
    pattern = str(tmp_path / "shot.####.png")
    job = make_job(pattern)
    finished = write_frames(pattern, {**expected_fields(job), SETTINGS_FIELD: "{not json"}, numbers=(3,))
    with pytest.raises(OutputError, match="settings: an unreadable record"):
        check_resumable(finished, expected_fields(job))


def test_a_digest_the_caller_cannot_know_is_left_out_and_only_that_one(tmp_path):
    """The batch plan cannot hash a checkpoint folder before a chunk loads it: it says so."""
    pattern = str(tmp_path / "shot.####.png")
    job = make_job(pattern)
    finished = write_frames(pattern, {**expected_fields(job), "checkpoint_sha256": "d" * 64})
    check_resumable(finished, expected_fields(job), unknown=("checkpoint_sha256",))
    with pytest.raises(OutputError, match="checkpoint: given -> none"):
        check_resumable(finished, expected_fields(job))
    with pytest.raises(OutputError, match="source: other file contents"):
        check_resumable(finished, expected_fields(job, "e" * 64), unknown=("checkpoint_sha256",))
