"""Background frame writing: every frame lands, in order, and a failed write surfaces in the caller."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from portrait_animator.errors import OutputError
from portrait_animator.io.frames import FrameWriter
from portrait_animator.io.images import read_image
from portrait_animator.io.write_queue import FrameWriteQueue


def test_all_frames_written_in_order(tmp_path):
    writer = FrameWriter(str(tmp_path / "shot.####.png"), bit_depth=16)
    rng = np.random.default_rng(5)
    frames = {n: rng.random((12, 16, 3), dtype=np.float32) for n in range(1, 8)}
    reported = []
    with FrameWriteQueue(writer, depth=2) as queue:
        for number, rgb in frames.items():
            reported += queue.submit(number, rgb, np.ones((12, 16), np.float32))
        reported += queue.finish()
    assert [number for number, _ in reported] == list(frames)
    for number, path in reported:
        assert path == writer.path(number) and os.path.isfile(writer.matte_path(number))
        np.testing.assert_allclose(read_image(path).rgb, frames[number], atol=1e-4)
    assert writer.finished_frames() == set(frames)


def test_a_failed_write_is_raised_to_the_caller(tmp_path):
    (tmp_path / "blocked").write_text("a file where the output folder should be")
    writer = FrameWriter(str(tmp_path / "blocked" / "shot.####.exr"))
    rgb, matte = np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.float32)
    with pytest.raises(OutputError, match="blocked"):
        with FrameWriteQueue(writer) as queue:
            queue.submit(1, rgb, matte)
            queue.submit(2, rgb, matte)
            queue.finish()


def test_two_frames_are_written_at_once_and_reported_in_frame_order(tmp_path):
    """Writing is the slowest stage behind a large still: two writers encode two frames at once, and a
    frame that lands before the one ahead of it is reported after it."""
    second_landed, landed = threading.Event(), []

    class FirstWaitsForSecond(FrameWriter):
        def write(self, frame_number, *args, **kwargs):
            if frame_number == 1:
                second_landed.wait(10)  # one writer alone would wait here in vain
            path = super().write(frame_number, *args, **kwargs)
            landed.append(frame_number)
            if frame_number == 2:
                second_landed.set()
            return path

    writer = FirstWaitsForSecond(str(tmp_path / "shot.####.png"))
    rgb, matte = np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.float32)
    with FrameWriteQueue(writer) as queue:
        reported = queue.submit(1, rgb, matte) + queue.submit(2, rgb, matte) + queue.finish()
    assert landed == [2, 1]
    assert [number for number, _ in reported] == [1, 2]
