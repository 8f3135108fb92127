"""The job file: round trip, relative paths, and validation that names the bad field."""

import json

import pytest

from portrait_animator.config import FrameRange, MotionConfig, OutputConfig, RenderJob
from portrait_animator.errors import JobFieldError, UnreadableFileError


def test_job_file_round_trip_resolves_relative_paths(tmp_path):
    job = RenderJob(sources=["stills/a.png"], driver="clips/d.mp4",
                    output=OutputConfig(pattern="renders/shot.####.exr", preview="renders/p.mp4"),
                    frames=FrameRange(10, 20), motion=MotionConfig(mode="absolute", neutral="7"))
    path = tmp_path / "shot.json"
    job.save(str(path))
    data = json.loads(path.read_text())
    assert data["format"] == "portrait-animator/job" and data["frames"] == "10-20"
    loaded = RenderJob.load(str(path))
    assert loaded.sources == [str(tmp_path / "stills" / "a.png")]
    assert loaded.driver == str(tmp_path / "clips" / "d.mp4")
    assert loaded.output.pattern == str(tmp_path / "renders" / "shot.####.exr")
    assert loaded.frames == FrameRange(10, 20) and loaded.motion.mode == "absolute"
    assert loaded.motion.neutral == "7"


def test_presets_are_not_treated_as_paths(tmp_path):
    path = tmp_path / "j.json"
    path.write_text(json.dumps({"sources": ["a.png"], "driver": "preset:talk", "output": {"pattern": "o.####.png"}}))
    assert RenderJob.load(str(path)).driver == "preset:talk"


@pytest.mark.parametrize("data, field", [
    ({"sources": ["a.png"], "driver": "d.mp4", "renderer": "magic"}, "renderer"),
    ({"sources": ["a.png"], "driver": "d.mp4", "motion": {"mode": "sideways"}}, "motion.mode"),
    ({"sources": ["a.png"], "driver": "d.mp4", "motion": {"gains": {"mouth": "loud"}}}, "motion.gains.mouth"),
    ({"sources": ["a.png"], "driver": "d.mp4", "motion": {"max_turn": -5}}, "motion.max_turn"),
    ({"sources": ["a.png"], "driver": "d.mp4", "crop_size": 300}, "crop_size"),
    ({"sources": ["a.png"], "driver": "d.mp4", "glasses": "maybe"}, "glasses"),
    ({"sources": ["a.png"], "driver": "d.mp4", "frames": "20-10"}, "frames"),
    ({"sources": ["a.png"], "driver": "d.mp4", "colour": "red"}, "colour"),
    ({"sources": [], "driver": "d.mp4"}, "sources"),
    ({"driver": "d.mp4"}, "sources"),
    ({"sources": ["a.png"], "driver": "d.mp4", "output": {"pattern": "x.jpg"}}, "output.pattern"),
    ({"sources": ["a.png"], "driver": "d.mp4", "renderer": "neural"}, "checkpoint"),
])
def test_bad_fields_are_named(tmp_path, data, field):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(data))
    with pytest.raises(JobFieldError) as caught:
        RenderJob.load(str(path))
    assert caught.value.field == field
    assert str(path) in str(caught.value) and f"'{field}'" in str(caught.value)


def test_unreadable_job_files(tmp_path):
    with pytest.raises(UnreadableFileError, match="not found"):
        RenderJob.load(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"sources": [')
    with pytest.raises(UnreadableFileError, match="line 1"):
        RenderJob.load(str(broken))


def test_frame_ranges():
    assert FrameRange.parse("10-120").clamp(1, 100) == range(10, 101)
    assert FrameRange.parse("-5").clamp(1, 100) == range(1, 6)
    assert FrameRange.parse("95-").clamp(1, 100) == range(95, 101)
    assert FrameRange.parse("7").clamp(1, 100) == range(7, 8)
    for bad in ("0-5", "a-b", "9-3"):
        with pytest.raises(JobFieldError):
            FrameRange.parse(bad)


def test_keep_open_mouth_on_the_command_line_reaches_the_job(tmp_path):
    from portrait_animator.cli import build_parser
    from portrait_animator.cli.animate import job_from_args

    base = ["animate", "--source", "s.png", "--driver", "preset:talk", "--out", str(tmp_path / "f.####.png")]
    assert job_from_args(build_parser().parse_args(base)).motion.close_mouth is True
    kept = job_from_args(build_parser().parse_args(base + ["--keep-open-mouth"]))
    assert kept.motion.close_mouth is False
    kept.save(str(tmp_path / "j.json"))
    assert RenderJob.load(str(tmp_path / "j.json")).motion.close_mouth is False


def test_max_turn_on_the_command_line_reaches_the_job(tmp_path):
    from portrait_animator.cli import build_parser
    from portrait_animator.cli.animate import job_from_args

    base = ["animate", "--source", "s.png", "--driver", "preset:talk", "--out", str(tmp_path / "f.####.png")]
    assert job_from_args(build_parser().parse_args(base)).motion.max_turn == 25.0
    whole = job_from_args(build_parser().parse_args(base + ["--max-turn", "0"]))
    whole.save(str(tmp_path / "j.json"))
    assert RenderJob.load(str(tmp_path / "j.json")).motion.max_turn == 0.0
    with pytest.raises(JobFieldError, match="motion.max_turn"):
        job_from_args(build_parser().parse_args(base + ["--max-turn", "120"]))


def test_glasses_on_the_command_line_reach_the_job_and_the_frames_settings(tmp_path):
    from portrait_animator.cli import build_parser
    from portrait_animator.cli.animate import job_from_args
    from portrait_animator.resume import render_settings

    base = ["animate", "--source", "s.png", "--driver", "preset:talk", "--out", str(tmp_path / "f.####.png")]
    auto = job_from_args(build_parser().parse_args(base))
    off = job_from_args(build_parser().parse_args(base + ["--glasses", "off"]))
    assert auto.glasses == "auto" and off.glasses == "off"
    off.save(str(tmp_path / "j.json"))
    assert RenderJob.load(str(tmp_path / "j.json")).glasses == "off"
    # frames rendered before the option (no "glasses" in their settings) still resume under the default
    assert "glasses" not in render_settings(auto) and '"glasses":"off"' in render_settings(off)
