"""The preview movie: decoded back, it is H.264 4:2:0, BT.709-tagged, the right frames, written atomically."""

from __future__ import annotations

import json
import os

import av
import numpy as np
import pytest

from portrait_animator.errors import OutputError
from portrait_animator.io.preview import PreviewWriter
from portrait_animator.io.provenance import SYNTHETIC_STATEMENT
from portrait_animator.io.sources import open_frames
from portrait_animator.version import __version__


def _gradient(width, height, index):
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([np.clip(xx * 255.0 / width, 0, 255), np.clip(yy * 255.0 / height, 0, 255),
                     np.full_like(xx, 30 + 15 * index)], axis=-1).astype(np.uint8)


def test_preview_decodes_back_to_what_was_written(tmp_path):
    path = tmp_path / "review" / "shot_preview.mp4"
    frames = [_gradient(151, 101, index) for index in range(10)]
    with PreviewWriter(path, 24, (151, 101)) as preview:
        for image in frames[:5]:
            preview.write(image)
        for image in frames[5:]:
            preview.write(image.astype(np.float32) / 255.0)  # the engine's float frames work too
    assert os.listdir(path.parent) == ["shot_preview.mp4"]

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        assert context.name == "h264" and context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (152, 102)  # padded to even
        assert context.colorspace == 1 and context.color_primaries == 1 and context.color_trc == 1

    source = open_frames(path)
    assert (source.frame_count, source.fps) == (10, 24.0)
    for number, rgb in source.frames():
        error = np.abs(rgb[:101, :151].astype(int) - frames[number - 1])
        assert error.mean() < 3.0  # the BT.709 matrix both ways; a 601/709 mix-up costs ~7
        edge = np.abs(rgb[101, :151].astype(int) - rgb[100, :151])
        assert edge.max() <= 4  # the padding row repeats the edge (up to compression)


def test_the_movie_says_it_is_synthetic_and_what_made_it(tmp_path):
    path = tmp_path / "preview.mp4"
    with PreviewWriter(path, 25, (64, 48), provenance={"renderer": "warp", "source": "still.png",
                                                      "source_sha256": "a" * 64}) as preview:
        preview.write(_gradient(64, 48, 0))
    with av.open(str(path)) as container:
        metadata = dict(container.metadata)
    assert metadata["description"] == SYNTHETIC_STATEMENT
    statement, fields = metadata["comment"].split("\n", 1)
    assert statement == SYNTHETIC_STATEMENT
    assert json.loads(fields) == {"software": "Portrait Animator", "version": __version__, "renderer": "warp",
                                  "source": "still.png", "source_sha256": "a" * 64, "content": "preview",
                                  "synthetic": SYNTHETIC_STATEMENT}

    bare = tmp_path / "bare.mp4"  # no provenance given: still labelled synthetic
    with PreviewWriter(bare, 25, (64, 48)) as preview:
        preview.write(_gradient(64, 48, 0))
    with av.open(str(bare)) as container:
        assert container.metadata["comment"].startswith(SYNTHETIC_STATEMENT + "\n")


def test_failure_inside_the_block_leaves_no_file(tmp_path):
    path = tmp_path / "preview.mp4"
    with pytest.raises(RuntimeError):
        with PreviewWriter(path, 25, (64, 48)) as preview:
            preview.write(_gradient(64, 48, 0))
            raise RuntimeError("render cancelled")
    assert os.listdir(tmp_path) == []


def test_wrong_frame_size_and_empty_preview(tmp_path):
    preview = PreviewWriter(tmp_path / "preview.mp4", 25, (64, 48))
    with pytest.raises(ValueError, match="48x64x3"):
        preview.write(_gradient(48, 64, 0))
    with pytest.raises(OutputError, match="no frames"):
        preview.close()
    assert os.listdir(tmp_path) == []


def test_unwritable_place_is_an_output_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="file"):
        PreviewWriter(tmp_path / "file" / "preview.mp4", 25, (64, 48))


@pytest.mark.parametrize("suffix", [".exr", ".png"])
def test_write_preview_from_finished_frames(tmp_path, suffix):
    from portrait_animator.io.frames import FrameWriter
    from portrait_animator.io.preview import write_preview

    writer = FrameWriter(str(tmp_path / f"shot.####{suffix}"))
    frames = {number: _gradient(64, 48, number) for number in (3, 4, 5)}
    alpha = np.ones((48, 64), np.float32)
    alpha[:, :8] = 0.0  # transparent strip: shown black in the preview
    for number, image in frames.items():
        writer.write(number, image.astype(np.float32) / 255.0, np.zeros((48, 64), np.float32), alpha)
    path = write_preview(tmp_path / "preview.mp4", writer.pattern, [3, 4, 5], 25)
    decoded = list(open_frames(path).frames())
    assert len(decoded) == 3
    for (_, rgb), number in zip(decoded, (3, 4, 5)):
        assert np.abs(rgb[:, 10:].astype(int) - frames[number][:, 10:]).mean() < 3.0
        assert rgb[:, :6].max() < 24


_DISK_FULL_SCRIPT = """
import resource, signal, sys
import numpy as np
from portrait_animator.errors import OutputError
from portrait_animator.io.preview import PreviewWriter
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
noise = np.random.default_rng(0).integers(0, 256, (30, 128, 128, 3), dtype=np.uint8)
try:
    with PreviewWriter(sys.argv[1], 25, (128, 128)) as preview:
        for image in noise:
            preview.write(image)
except OutputError as error:
    print("OutputError:", error)
"""


def test_disk_full_preview_is_an_output_error_and_leaves_nothing(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _DISK_FULL_SCRIPT, str(tmp_path / "preview.mp4")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OutputError: {tmp_path / 'preview.mp4'}: writing the preview failed")
    assert "disk full" in result.stdout
    assert os.listdir(tmp_path) == []
