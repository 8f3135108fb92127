"""Results files, summaries, resumption fingerprints and the report, from results made here (no rendering)."""

import json
import math

import numpy as np
import pytest

from portrait_animator.evaluate import report
from portrait_animator.evaluate.case_run import EvaluationSettings
from portrait_animator.evaluate.contact_sheets import build_sheet
from portrait_animator.evaluate.contenders import StaticBaseline
from portrait_animator.evaluate.perceptual import PerceptualMetrics
from portrait_animator.evaluate.protocols import SelfCase
from portrait_animator.evaluate.reference import THUMB_SIZE
from portrait_animator.evaluate.results import CaseResult, aggregate, json_safe, summarise
from portrait_animator.io.metadata import read_frame_metadata
from portrait_animator.io.provenance import SYNTHETIC_STATEMENT
from portrait_animator.evaluate.runner import EvaluationRequest, _task
from portrait_animator.io.images import read_image

CURVE_NAMES = ("mouth", "eyes", "brows", "yaw", "pitch", "roll")


def _result(contender, clip, ssim, mouth_gain, thumbs=None, group="self-k1"):
    frames = list(range(10, 30))
    t = np.linspace(0, 6, len(frames))
    driver = {c: (0.2 + 0.1 * np.sin(t) if c == "mouth" else np.full(len(frames), 0.3)) for c in CURVE_NAMES}
    per_frame = {"found": [1.0] * len(frames), "ssim_face": [ssim] * len(frames), "nme": [0.05] * len(frames),
                 "identity_distance": [math.nan] * 19 + [0.3]}
    per_frame.update({c: list(0.2 + mouth_gain * 0.1 * np.sin(t)) if c == "mouth" else [0.3] * len(frames)
                      for c in CURVE_NAMES})
    per_frame.update({f"driver_{c}": list(v) for c, v in driver.items()})
    scored = [n != 10 for n in frames]  # frame 10 is a source
    summary = summarise(per_frame, scored, driver, ("ssim_face", "nme", "identity_distance"), {"fps": 5.0})
    return CaseResult(f"{group}/{clip}", group, clip, None, contender, "f" * 20, frames, scored, per_frame, summary,
                      thumbs=thumbs)


def test_results_round_trip_with_missing_values(tmp_path):
    result = _result("warp", "clip_a", 0.8, 1.0)
    path = tmp_path / "cases" / "warp.json"
    result.save(str(path))
    assert "NaN" not in path.read_text()  # strict JSON: missing values are null
    loaded = CaseResult.load(str(path))
    assert json_safe(loaded.summary) == json_safe(result.summary) and loaded.frames == result.frames
    assert math.isnan(loaded.summary["eyes_r"])
    assert math.isnan(loaded.per_frame["identity_distance"][0]) and loaded.per_frame["identity_distance"][-1] == 0.3


def test_summary_and_aggregation_use_scored_frames_and_moving_features():
    result = _result("warp", "clip_a", 0.8, 1.0)
    assert result.summary["scored"] == 19 and result.summary["identity_frames"] == 1
    assert result.summary["mouth_r"] == pytest.approx(1.0) and result.summary["mouth_moving"]
    assert math.isnan(result.summary["eyes_r"]) and not result.summary["eyes_moving"]
    table = aggregate([result, _result("warp", "clip_b", 0.6, -1.0)], ("ssim_face", "mouth_r", "eyes_r"))
    assert table["ssim_face"] == {"mean": pytest.approx(0.7), "median": pytest.approx(0.7), "cases": 2}
    assert table["mouth_r"]["mean"] == pytest.approx(0.0) and table["mouth_r"]["cases"] == 2
    assert table["eyes_r"]["cases"] == 0 and math.isnan(table["eyes_r"]["mean"])


def test_a_result_is_reused_only_while_its_fingerprint_matches(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"video")
    case = SelfCase(str(clip), 1, (1,), tuple(range(1, 9)), tuple(range(2, 9)))
    request = EvaluationRequest(clips_dir=str(tmp_path), out=str(tmp_path / "out"), renderers=["static"])
    perceptual = PerceptualMetrics()
    task = _task(case, StaticBaseline(), request.out, request, request.settings, perceptual)
    assert task.cached is None
    result = _result("static", "clip", 0.8, 0.0)
    result.fingerprint = task.fingerprint
    result.save(task.path)
    assert _task(case, StaticBaseline(), request.out, request, request.settings, perceptual).cached is not None
    changed = EvaluationRequest(clips_dir=str(tmp_path), out=request.out, renderers=["static"],
                                settings=EvaluationSettings(identity_frames=3))
    assert _task(case, StaticBaseline(), request.out, changed, changed.settings, perceptual).cached is None
    clip.write_bytes(b"another video")  # the media file changed
    assert _task(case, StaticBaseline(), request.out, request, request.settings, perceptual).cached is None
    fresh = EvaluationRequest(clips_dir=str(tmp_path), out=request.out, renderers=["static"], fresh=True)
    assert _task(case, StaticBaseline(), request.out, fresh, fresh.settings, perceptual).cached is None


def _thumbs(path, frames, value):
    tiles = np.stack([np.full((THUMB_SIZE, THUMB_SIZE, 3), value + i, np.uint8) for i in range(len(frames))])
    np.savez(path, frames=np.array(frames), source=np.full((THUMB_SIZE, THUMB_SIZE, 3), 7, np.uint8), output=tiles,
             driver=tiles // 2)


def test_contact_sheet_places_each_thumbnail(tmp_path):
    _thumbs(tmp_path / "warp.npz", [12, 20], 100)
    _thumbs(tmp_path / "static.npz", [12, 20], 200)
    sheet = build_sheet({"warp": str(tmp_path / "warp.npz"), "static": str(tmp_path / "static.npz")}, True)
    from portrait_animator.evaluate.contact_sheets import FRAME_COLUMN, GAP, LABEL_HEIGHT

    def tile(row, column):
        y = LABEL_HEIGHT + GAP + row * (THUMB_SIZE + GAP)
        x = FRAME_COLUMN + GAP + column * (THUMB_SIZE + GAP)
        return sheet[y:y + THUMB_SIZE, x:x + THUMB_SIZE]

    assert sheet.shape == (LABEL_HEIGHT + GAP + 2 * (THUMB_SIZE + GAP), FRAME_COLUMN + GAP + 4 * (THUMB_SIZE + GAP), 3)
    assert (tile(0, 0) == 7).all()  # source
    assert (tile(1, 1) == 50).all()  # driver at the second time (101 // 2)
    assert (tile(0, 2) == 100).all() and (tile(1, 3) == 201).all()  # warp, then static
    assert build_sheet({"warp": str(tmp_path / "missing.npz")}, True) is None


def test_report_shows_tables_plots_sheets_and_anchors(tmp_path):
    out = tmp_path / "report"
    for name in ("warp", "static"):
        (out / "cases" / "self-k1" / "clip_a").mkdir(parents=True, exist_ok=True)
        _thumbs(out / "cases" / "self-k1" / "clip_a" / f"{name}.thumbs.npz", [12, 20], 50)
    results = [_result("warp", "clip_a", 0.8, 1.0, "warp.thumbs.npz"),
               _result("static", "clip_a", 0.7, 0.0, "static.thumbs.npz")]
    document = {"command": "portrait-animator evaluate ...", "seconds": 12.0, "cases_measured": 2, "cases_total": 2,
                "machine": {"cpus": 2}, "engine": "0.1.0", "settings": {"max_frames": 20},
                "identity_groups": {"source": "MANIFEST.md", "groups": []}, "contenders": ["warp", "static"],
                "skipped_renderers": {"neural-paper": "skipped: renderer 'neural-paper' needs a checkpoint"},
                "skipped_metrics": {"lpips": "skipped: no weights (x)"}, "clip_errors": {},
                "summary": {"self-k1": {r.contender: aggregate([r], ("ssim_face", "mouth_r")) for r in results}},
                "cases": [{"case": r.case_id, "contender": r.contender, "error": None} for r in results]}
    page_path = report.write_report(str(out), document, results)
    page = open(page_path, encoding="utf-8").read()
    assert "<td>warp</td><td>0.800</td>" in page and "<td>static</td><td>0.700</td>" in page
    assert "needs a checkpoint" in page and "skipped: no weights" in page
    assert "29.5" in page and "0.553" in page and "different data" in page and "not comparable" in page
    assert json.loads((out / "results.json").read_text())["summary"]["self-k1"]["warp"]["ssim_face"]["mean"] == pytest.approx(0.8)
    for png in ("plots/self-k1_distributions.png", "plots/self-k1_clip_a_curves.png", "sheets/self-k1_clip_a.png"):
        assert f"src='{png}'" in page
        assert read_image(str(out / png)).rgb.shape[0] > 100
    label = read_frame_metadata(out / "sheets/self-k1_clip_a.png")  # faces the engine made: labelled so
    assert label["synthetic"] == SYNTHETIC_STATEMENT and (label["content"], label["case"]) == ("contact sheet",
                                                                                              "self-k1/clip_a")
