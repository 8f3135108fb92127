"""Video drivers: real clips, exact counts, exact seeking, phone rotation, damaged files, OpenCV fallback."""

from __future__ import annotations

import struct

import av
import numpy as np
import pytest

from conftest import media_path
from portrait_animator.errors import UnreadableFileError
from portrait_animator.io import video as video_module
from portrait_animator.io.sources import open_frames
from portrait_animator.io.video import OpenCVVideoFile, VideoFile

MANY_KEYFRAMES = ("driving", "sadtalker_ref_aoc.mp4")  # MPEG-4 part 2, 200 frames, 17 keyframes
QUICKTIME = ("driving", "lia_vox_driving3.mov")  # H.264 with B-frames in a .mov, 446 frames


def _blocks(width=64, height=48, index=0):
    """A coarse, asymmetric test picture: every rotation and flip of it is different."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = (250, 30, 30)
    image[: height // 2, width // 2:] = (30, 250, 30)
    image[height // 2:, : width // 2] = (30, 30, 250)
    image[height // 2:, width // 2:] = (min(250, 20 * index), 200, 200)
    return image


def _encode(path, frames, rate=25, codec="libx264", rotation=None, options=None, container_options=None):
    container = av.open(str(path), "w", options=container_options or {})
    stream = container.add_stream(codec, rate=rate)
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = "yuv420p"
    stream.options = options or {}
    if rotation is not None:
        stream.set_display_rotation(*rotation)
    for image in frames:
        container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
    container.mux(stream.encode(None))
    container.close()
    return path


@pytest.fixture(scope="module")
def many_keyframes():
    path = media_path(*MANY_KEYFRAMES)
    source = open_frames(path)
    return path, source, [rgb for _, rgb in source.frames()]


def test_real_clip_count_rate_size_and_sequential_numbers(many_keyframes):
    path, source, frames = many_keyframes
    assert isinstance(source, VideoFile)
    assert (source.frame_count, source.fps, source.size, source.first_frame) == (200, 25.0, (512, 512), 1)
    assert len(frames) == 200 and frames[0].dtype == np.uint8 and frames[0].shape == (512, 512, 3)
    assert source.path == str(path)
    assert not np.array_equal(frames[0], frames[100])


@pytest.mark.parametrize("first, last", [(1, 1), (2, 9), (101, 150), (13, 13), (188, 200), (200, 200)])
def test_seeking_returns_exactly_the_sequential_pixels(many_keyframes, first, last):
    _, source, frames = many_keyframes
    chunk = list(source.frames(first, last))
    assert [number for number, _ in chunk] == list(range(first, last + 1))
    for number, rgb in chunk:
        np.testing.assert_array_equal(rgb, frames[number - 1])


def test_a_late_chunk_does_not_decode_from_the_first_frame(many_keyframes, monkeypatch):
    _, source, _ = many_keyframes
    decoded = []
    real = video_module._decoded

    def counting(*args):
        for frame in real(*args):
            decoded.append(frame.pts)
            yield frame

    monkeypatch.setattr(video_module, "_decoded", counting)
    assert len(list(source.frames(151, 160))) == 10
    assert 10 <= len(decoded) < 50  # from the keyframe before 151, not from frame 1


def test_quicktime_mov_with_b_frames_seeks_exactly():
    source = open_frames(media_path(*QUICKTIME))
    assert (source.frame_count, source.fps, source.size) == (446, 24.0, (256, 256))
    everything = [rgb for _, rgb in source.frames(1, 446)]
    for first, last in [(300, 305), (445, 446)]:
        for number, rgb in source.frames(first, last):
            np.testing.assert_array_equal(rgb, everything[number - 1])


def test_range_outside_the_clip_is_refused(many_keyframes):
    _, source, _ = many_keyframes
    with pytest.raises(ValueError, match="1-200"):
        list(source.frames(190, 201))


@pytest.mark.parametrize("degrees, hflip", [(0, False), (90, False), (180, False), (270, False), (-90, False),
                                            (0, True), (90, True)])
def test_display_matrix_rotation_is_honoured(tmp_path, degrees, hflip):
    stored = [_blocks(index=i) for i in range(3)]
    path = _encode(tmp_path / "phone.mp4", stored, rotation=(degrees, hflip))
    source = open_frames(path)
    expected = np.rot90(stored[1], k=(degrees // 90) % 4)  # counter-clockwise, as the matrix says
    if hflip:
        expected = expected[:, ::-1]
    assert source.size == (expected.shape[1], expected.shape[0])
    upright = source.frame(2)
    assert np.abs(upright.astype(int) - expected).mean() < 6


def test_opencv_backend_agrees_with_pyav(tmp_path):
    path = media_path(*QUICKTIME)
    pyav, opencv = open_frames(path), open_frames(path, backend="opencv")
    assert isinstance(opencv, OpenCVVideoFile)
    assert (opencv.frame_count, opencv.size, opencv.fps) == (pyav.frame_count, pyav.size, pyav.fps)
    for (n1, a), (n2, b) in zip(pyav.frames(20, 22), opencv.frames(20, 22)):
        assert n1 == n2 and np.abs(a.astype(int) - b).mean() < 2.5
    rotated = _encode(tmp_path / "rot.mp4", [_blocks()], rotation=(-90, False))
    assert open_frames(rotated, backend="opencv").size == open_frames(rotated).size == (48, 64)


def test_header_that_lies_about_the_frame_count(tmp_path):
    """An AVI whose stream header claims 25 frames while 40 are stored: count by decoding."""
    frames = [_blocks(index=i) for i in range(40)]
    path = _encode(tmp_path / "clip.avi", frames, codec="mpeg4", options={"qscale": "2"})
    data = bytearray(path.read_bytes())
    strh = data.find(b"strh")
    assert struct.unpack("<I", data[strh + 40: strh + 44]) == (40,)  # dwLength
    data[strh + 40: strh + 44] = struct.pack("<I", 25)
    path.write_bytes(bytes(data))
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 25
    source = open_frames(path)
    assert source.frame_count == 40
    sequential = [rgb for _, rgb in source.frames()]
    assert len(sequential) == 40
    for number, rgb in source.frames(33, 35):
        np.testing.assert_array_equal(rgb, sequential[number - 1])


# ------------------------------------------------------------------------------------ damaged files
def _damaged(tmp_path, source, name, transform):
    data = source.read_bytes()
    path = tmp_path / name
    path.write_bytes(transform(data))
    return path


@pytest.mark.parametrize("name, transform", [
    ("truncated.mp4", lambda data: data[: len(data) // 2]),  # index (moov) at the end: lost
    ("garbage_header.mp4", lambda data: b"\x13" * 4096 + data[4096:]),
    ("empty.mp4", lambda data: b""),
])
def test_unopenable_video_names_the_file(tmp_path, name, transform):
    path = _damaged(tmp_path, media_path(*MANY_KEYFRAMES), name, transform)
    with pytest.raises(UnreadableFileError) as error:
        open_frames(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_corrupt_middle_names_the_frame(tmp_path):
    source = media_path(*MANY_KEYFRAMES)
    path = _damaged(tmp_path, source, "corrupt.mp4",
                    lambda data: data[: len(data) // 2] + bytes(range(256)) * 80 + data[len(data) // 2 + 20480:])
    with pytest.raises(UnreadableFileError, match=r"decoding failed at frame \d+") as error:
        clip = open_frames(path)
        for _ in clip.frames():
            pass
    assert str(path) in str(error.value)


def test_truncated_faststart_mp4_and_mkv(tmp_path):
    """With the index first (web MP4) or none at all (MKV) a cut file still opens: detect the cut."""
    frames = [_blocks(index=i % 12) for i in range(60)]
    for name, container_options in [("web.mp4", {"movflags": "+faststart"}), ("clip.mkv", {})]:
        whole = _encode(tmp_path / name, frames, options={"crf": "10"}, container_options=container_options)
        assert open_frames(whole).frame_count == 60
        cut = _damaged(tmp_path, whole, "cut_" + name, lambda data: data[: int(len(data) * 0.6)])
        with pytest.raises(UnreadableFileError, match="truncated") as error:
            open_frames(cut)
        assert str(cut) in str(error.value)


def test_opencv_fallback_only_when_pyav_cannot_open(tmp_path, monkeypatch):
    tried = []
    monkeypatch.setattr(video_module, "OpenCVVideoFile",
                        lambda path: tried.append(path) or OpenCVVideoFile(path))
    garbage = tmp_path / "garbage.mov"
    garbage.write_bytes(b"not a movie" * 100)
    with pytest.raises(UnreadableFileError, match="not a readable video") as error:
        open_frames(garbage)
    assert str(garbage) in str(error.value) and tried == [str(garbage)]
    tried.clear()
    open_frames(media_path(*QUICKTIME))
    assert tried == []


@pytest.mark.parametrize("name, codec, options", [
    ("clip.webm", "libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "g": "10"}),
    ("clip.mkv", "libx264", {"g": "10"}),
])
def test_containers_without_a_frame_count(tmp_path, name, codec, options):
    """WebM/MKV state no frame count: count from the packets; seek across their keyframes exactly."""
    frames = [_blocks(index=i) for i in range(30)]
    path = _encode(tmp_path / name, frames, codec=codec, options=options)
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0
    source = open_frames(path)
    assert (source.frame_count, source.size) == (30, (64, 48))
    sequential = [rgb for _, rgb in source.frames()]
    for number, rgb in source.frames(21, 24):
        np.testing.assert_array_equal(rgb, sequential[number - 1])
    assert np.abs(sequential[12].astype(int) - frames[12]).mean() < 6
