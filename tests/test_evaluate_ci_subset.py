"""The evaluation harness end to end, through the real CLI, on a small fixed subset of the shared media.

Two short moving clips and two stills, 16 frames each, K = 1 and 8, every baseline, the warp renderer and
a deliberately broken "noise" renderer that exists only in this test (patched into the pipeline's renderer
factory). The assertions are the ones that catch a broken renderer or a broken harness: the still that
does not move must lose to the warp renderer on landmark error; noise must lose badly on SSIM and identity;
the oracle must beat everything on pixels; a rerun must reuse every result.
"""

import json
import os

import numpy as np
import pytest

from portrait_animator import pipeline as pipeline_module
from portrait_animator.cli import main
from portrait_animator.io.images import read_image
from portrait_animator.render.base import RenderedFace

from conftest import media_path

pytestmark = pytest.mark.slow

CI_CLIPS = ("dreamtalk_mead_m030_surprised.mp4", "pcavs_vox_620900105.mp4")  # mouth motion; head turns
CI_STILLS = ("hallo_6_photo_woman.jpg", "avatarify_schwarzenegger.png")


class NoiseRenderer:
    """A broken renderer: uniform noise over the whole face crop (test-only, never shipped)."""

    name = "noise"
    frame_threads = None
    crop_zoom = 1.0

    def prepare(self, source):
        self.size = source.crop_size
        self.rng = np.random.default_rng(0)

    def render(self, target):
        matte = np.ones((self.size, self.size), np.float32)
        return RenderedFace(rgb=self.rng.random((self.size, self.size, 3), dtype=np.float32), matte=matte)

    def describe(self):
        return {"renderer": self.name, "checkpoint": None}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    for name in CI_CLIPS:
        media_path("driving", name)
    for name in CI_STILLS:
        media_path("stills", name)
    out = tmp_path_factory.mktemp("evaluation") / "report"
    original = pipeline_module.create_renderer
    patch = pytest.MonkeyPatch()
    patch.setattr(pipeline_module, "create_renderer",
                  lambda job: NoiseRenderer() if job.renderer == "noise" else original(job))
    args = ["evaluate", "--clips", str(media_path("driving")), "--stills", str(media_path("stills")),
            "--renderers", "static,warp,noise,oracle-crop,neural-paper", "--out", str(out), "--frames", "16",
            "--k", "1,8", "--identity-frames", "6", "--only", ",".join(CI_CLIPS + CI_STILLS), "--progress", "none"]
    try:
        assert main(args) == 0
        first = json.loads((out / "results.json").read_text())
        assert main(args) == 0  # resumes: everything is reused
        second = json.loads((out / "results.json").read_text())
    finally:
        patch.undo()
    return out, first, second


def _cases(document, group):
    by_case = {}
    for entry in document["cases"]:
        if entry["group"] == group:
            by_case.setdefault(entry["clip"], {})[entry["contender"]] = entry
    return by_case


def test_static_loses_to_warp_on_landmark_error_for_moving_clips(report):
    _, document, _ = report
    for group in ("self-k1", "self-k8"):
        cases = _cases(document, group)
        assert len(cases) == len(CI_CLIPS)
        for clip, by in cases.items():
            warp, static = by["warp"]["summary"], by["static"]["summary"]
            assert warp["scored"] >= 8, clip
            assert warp["nme"] < 0.8 * static["nme"], (group, clip, warp["nme"], static["nme"])


def test_noise_scores_far_worse_on_ssim_and_identity(report):
    _, document, _ = report
    for clip, by in _cases(document, "self-k1").items():
        warp, noise = by["warp"]["summary"], by["noise"]["summary"]
        assert noise["ssim_face"] < warp["ssim_face"] - 0.3, clip
        assert noise["ms_ssim_face"] < warp["ms_ssim_face"] - 0.3, clip
        # dlib either finds no face in the noise at all, or a face that is not the person's
        identity_lost = noise["found_rate"] < 0.5 or noise["identity_distance"] > warp["identity_distance"] + 0.2
        assert identity_lost, (clip, noise["found_rate"], noise["identity_distance"])
    for case in _cases(document, "cross").values():
        warp, noise = case["warp"]["summary"], case["noise"]["summary"]
        assert noise["found_rate"] < 0.5 or noise["identity_distance"] > warp["identity_distance"] + 0.2


def test_baselines_bracket_the_warp_renderer(report):
    _, document, _ = report
    for clip, by in _cases(document, "self-k1").items():
        oracle, warp = by["oracle-crop"]["summary"], by["warp"]["summary"]
        assert oracle["ssim_face"] > 0.95 and oracle["ssim_face"] > warp["ssim_face"], clip
        assert oracle["nme"] < warp["nme"], clip
        assert by["static"]["summary"]["fps"] is None and warp["fps"] > 0  # baselines render nothing
    cross = _cases(document, "cross")
    assert len(cross) == 2 and "oracle-crop" not in next(iter(cross.values()))  # no real frame to paste
    for clip, by in cross.items():
        static, warp = by["static"]["summary"], by["warp"]["summary"]
        assert static["identity_distance"] < 0.05  # the still itself
        assert warp["identity_distance"] < 0.6, clip  # still the still's person by dlib's threshold
        assert warp["driver_identity_distance"] > warp["identity_distance"]  # not the driver's face


def test_report_files_and_skips(report):
    out, document, _ = report
    assert "checkpoint" in document["skipped_renderers"]["neural-paper"]
    assert document["skipped_metrics"]["fid"].startswith("skipped: no weights")
    page = (out / "index.html").read_text()
    for text in ("CSIM-dlib", "warp", "noise", "oracle-crop", "43.0", "0.508", "0.653", "different data"):
        assert text in page
    sheet = out / "sheets" / "self-k1_dreamtalk_mead_m030_surprised.png"
    image = read_image(str(sheet)).rgb
    assert image.shape[0] > 3 * 160 and image.shape[1] > 6 * 160  # frame, source, driver + 4 contenders
    for group in ("self-k1", "self-k8", "cross"):
        assert (out / "plots" / f"{group}_distributions.png").exists()
    case_file = out / document["cases"][0]["file"]
    assert json.loads(case_file.read_text())["fingerprint"]


def test_a_rerun_reuses_every_result(report):
    _, first, second = report
    assert first["cases_measured"] == first["cases_total"] > 0
    assert second["cases_measured"] == 0
    assert [c["summary"] for c in second["cases"]] == [c["summary"] for c in first["cases"]]


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["evaluate", "--clips", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere" in err[0] and "not found" in err[0]
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", "--clips", str(tmp_path / "empty"), "--out", str(tmp_path / "r")]) == 2
    assert "no video clips" in capsys.readouterr().err
    assert main(["evaluate", "--clips", str(tmp_path / "empty"), "--out", str(tmp_path / "r"),
                 "--renderers", "wrap"]) == 2
    assert "unknown renderer 'wrap'" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "r" / "results.json")
