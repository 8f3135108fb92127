"""prepare_data on real clips: layouts and persons, the pipeline's crop, resuming, bad videos."""

import os

import numpy as np
import pytest

from conftest import media_path
from portrait_animator import align
from portrait_animator.errors import UnreadableFileError
from portrait_animator.face_analysis import crop_face
from portrait_animator.io.sources import open_frames
from portrait_animator.train.prepare import prepare_data
from portrait_animator.train.shards import DatasetIndex, read_shard

CLIP = ("driving", "styletalk_vscodehappy_clip1.mp4")  # 90 frames, 256x256


@pytest.fixture(scope="module")
def voxceleb_layout(tmp_path_factory):
    """id/video/clip.mp4 with two real clips of one person, a flat clip, and a corrupt file."""
    root = tmp_path_factory.mktemp("videos")
    clip = media_path(*CLIP)
    for video in ("v1", "v2"):
        (root / "id001" / video).mkdir(parents=True)
        os.symlink(clip, root / "id001" / video / "00001.mp4")
    os.symlink(media_path("driving", "dreamtalk_mead_w009_neutral.mp4"), root / "loose.mp4")
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    return root


@pytest.mark.slow
def test_prepare_data_makes_aligned_shards_by_person_and_resumes(voxceleb_layout, tmp_path):
    out = tmp_path / "dataset"
    seen = []
    index = prepare_data(str(voxceleb_layout), str(out), 256, every=6, workers=2,  # two worker processes
                         progress=lambda done, total, message: seen.append((done, total)))
    assert seen[-1] == (4, 4)
    assert sorted(v["id"] for v in index.videos) == ["id001__v1__00001", "id001__v2__00001", "loose"]
    assert {v["id"]: v["person"] for v in index.videos}["id001__v1__00001"] == "id001"
    assert index.persons == ["id001", "loose"]
    assert [s["source"] for s in index.skipped] == ["broken.mp4"]
    assert "broken.mp4" in index.skipped[0]["reason"]
    assert DatasetIndex.load(str(out)).videos == index.videos

    # The crop is the pipeline's: face_crop_transform of the median face, cut by crop_face.
    shard = read_shard(index.shard_path(index.videos[0]))
    assert len(shard) == 15 and shard.dense is not None and shard.dense.shape == (15, 478, 2)
    frames = open_frames(str(media_path(*CLIP)))
    number = int(shard.frame_numbers[3])
    expected = crop_face(frames.frame(number), shard.crop_from_frame, 256).astype(np.float32) / 255
    assert np.abs(shard.image(3) - expected).mean() < 0.01  # JPEG at quality 95
    eyes = shard.landmarks[:, 36:48].mean(axis=1)
    assert np.all(np.abs(eyes[:, 1] - eyes[:, 1].mean()) < 20)  # one crop per video: the face stays put
    assert shard.meta["person"] == "id001" and len(shard.meta["sha256"]) == 64

    # Resuming: finished shards are reused, not rewritten.
    stamps = {p: os.stat(p).st_mtime_ns for p in (out / "videos").iterdir()}
    again = prepare_data(str(voxceleb_layout), str(out), 256, every=6)
    assert again.videos == index.videos
    assert {p: os.stat(p).st_mtime_ns for p in (out / "videos").iterdir()} == stamps


def test_prepare_data_refuses_a_folder_without_videos(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnreadableFileError, match="no videos found"):
        prepare_data(str(tmp_path / "empty"), str(tmp_path / "out"))
    with pytest.raises(UnreadableFileError, match="not a folder"):
        prepare_data(str(tmp_path / "absent"), str(tmp_path / "out"))
    with pytest.raises(UnreadableFileError, match="dataset.json"):
        DatasetIndex.load(str(tmp_path / "empty"))
