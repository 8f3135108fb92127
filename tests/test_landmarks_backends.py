"""Backend registry, the dlib backend on a real still, and the face-alignment backend's offline weights."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from landmark_media import still
from portrait_animator.errors import JobFieldError, MissingWeightsError
from portrait_animator.landmarks import BACKEND_NAMES, available_backends, create_detector


def test_available_backends_reports_each_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    report = available_backends()
    assert set(report) == set(BACKEND_NAMES) == {"mediapipe", "dlib", "face-alignment"}
    assert report["mediapipe"] == "ok"
    assert report["dlib"].startswith("ok") and "non-commercial" in report["dlib"] and "300-W" in report["dlib"]
    assert not report["face-alignment"].startswith("ok")
    assert "2DFAN4-11f355bf06.pth.tar" in report["face-alignment"] and "s3fd-619a316812.pth" in report["face-alignment"]


def test_unknown_backend_is_a_job_field_error():
    with pytest.raises(JobFieldError, match="'openface'; expected one of mediapipe, dlib, face-alignment"):
        create_detector("openface")


def test_dlib_backend_on_a_real_still():
    import dlib

    from portrait_animator.landmarks.dlib_backend import PREDICTOR_FILE, model_folder

    image = still("sadtalker_art_20_painted_old_woman.png")  # square and small: searched as it is
    with create_detector("dlib") as detector:
        faces = detector.find_faces(image)
        assert len(faces) == 1 and faces[0].dense is None and 0.5 < faces[0].score <= 1
        face = faces[0]
        followed = detector.follow(image, face)
    with create_detector("mediapipe") as mediapipe:
        reference = mediapipe.find_faces(image)[0].landmarks
    iod = np.linalg.norm(face.landmarks[36] - face.landmarks[45])
    assert np.linalg.norm(face.landmarks - reference, axis=1).mean() < 0.06 * iod
    assert followed is not None and np.linalg.norm(followed.landmarks - face.landmarks, axis=1).mean() < 0.06 * iod
    # dlib's own pixel indices, run directly on the full image: ours are those plus half a pixel
    rect = dlib.get_frontal_face_detector()(image, 1)[0]
    raw = np.array([(p.x, p.y) for p in dlib.shape_predictor(
        os.path.join(model_folder(), PREDICTOR_FILE))(image, rect).parts()], dtype=np.float64)
    np.testing.assert_allclose(face.landmarks, raw + 0.5, atol=1e-3)


def test_face_alignment_without_weights_names_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = tmp_path / "hub" / "checkpoints"
    with pytest.raises(MissingWeightsError) as error:
        create_detector("face-alignment")
    message = str(error.value)
    assert message.startswith(f"{folder}: face-alignment weights not found")
    assert "2DFAN4-11f355bf06.pth.tar" in message and "s3fd-619a316812.pth" in message
    assert "nothing is downloaded" in message and "\n" not in message
    folder.mkdir(parents=True)
    (folder / "s3fd-619a316812.pth").write_bytes(b"")
    with pytest.raises(MissingWeightsError, match=r"not found \(2DFAN4-11f355bf06\.pth\.tar\)"):
        create_detector("face-alignment")


def _forbid_downloads(monkeypatch):
    import face_alignment.utils
    from face_alignment.detection.sfd import sfd_detector

    def refuse(*args, **kwargs):
        raise AssertionError(f"download attempted: {args}")

    for module, name in ((torch.hub, "download_url_to_file"), (torch.hub, "load_state_dict_from_url"),
                         (face_alignment.utils, "download_url_to_file"),
                         (face_alignment.utils, "load_file_from_url"),
                         (sfd_detector, "load_state_dict_from_url")):
        monkeypatch.setattr(module, name, refuse)


@pytest.mark.slow
def test_face_alignment_loads_weights_placed_in_the_hub_cache(tmp_path, monkeypatch):
    """Randomly initialised networks of the right architecture, saved under the library's file names."""
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    _forbid_downloads(monkeypatch)
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    fan = FAN(4).state_dict()
    torch.save(fan, folder / "2DFAN4-11f355bf06.pth.tar")
    detector_weights = s3fd().state_dict()
    with torch.no_grad():
        # heads that call every place "background" except the coarsest scale, whose one anchor on a
        # 128 px image becomes a confident face box: the detector -> FAN path then runs once
        for key, value in detector_weights.items():
            if "_mbox_" in key:
                value.zero_()
        detector_weights["conv3_3_norm_mbox_conf.bias"][:] = torch.tensor([20.0, 20.0, 20.0, -20.0])
        for head in ("conv4_3_norm", "conv5_3_norm", "fc7", "conv6_2"):
            detector_weights[f"{head}_mbox_conf.bias"][:] = torch.tensor([20.0, -20.0])
        detector_weights["conv7_2_mbox_conf.bias"][:] = torch.tensor([-20.0, 20.0])
    torch.save(detector_weights, folder / "s3fd-619a316812.pth")
    assert available_backends()["face-alignment"] == "ok"

    with create_detector("face-alignment") as detector:
        loaded = detector._fan.state_dict()
        assert all(torch.equal(loaded[key].cpu(), fan[key]) for key in ("conv1.weight", "l0.bias"))
        image = np.ascontiguousarray(still("lia_macron.png")[::2, ::2])
        faces = detector.find_faces(image)
        assert len(faces) == 1
        assert faces[0].landmarks.shape == (68, 2) and np.isfinite(faces[0].landmarks).all()
        assert faces[0].score == pytest.approx(1.0)
