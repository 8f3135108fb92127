"""Writing frames in the background, so encoding frame N overlaps rendering frame N+1.

OpenImageIO releases the GIL while it compresses and writes, so writer threads run beside the render
loop. Two of them: a still larger than the crop makes writing the slowest stage, and then two frames are
encoded at once (docs/benchmarks.md: a 720x1280 still at 14 frames/s with one writer, 19.6 with two, on 2
cores; a 512² one at about the same rate either way). At most ``depth`` frames wait (bounded memory); results
come back in frame order, and a failed write is raised in the render loop, not lost. Each frame is still
written atomically by ``FrameWriter``.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Mapping

import numpy as np

from .frames import FrameWriter

WRITERS = 2


class FrameWriteQueue:
    """Submit frames to ``writer`` on ``workers`` background threads; use as a context manager.

    The arrays given to ``submit`` are written later: do not modify them afterwards.
    """

    def __init__(self, writer: FrameWriter, depth: int | None = None, workers: int = WRITERS):
        """``depth``: frames in the queue at most (default: one more than the ``workers``)."""
        self.writer = writer
        self.depth = max(1, workers + 1 if depth is None else depth)
        self._pending: deque[tuple[int, Future]] = deque()
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="frame-writer")

    def submit(self, frame_number: int, rgb: np.ndarray, matte: np.ndarray, alpha: np.ndarray | None = None,
               extra_metadata: Mapping[str, object] | None = None) -> list[tuple[int, str]]:
        """Queue one frame; return ``(frame_number, path)`` of the frames finished meanwhile, in order.

        Blocks while ``depth`` frames are already waiting; raises the error of a failed earlier write.
        """
        finished = self._collect(block_until=self.depth - 1)
        future = self._executor.submit(self.writer.write, frame_number, rgb, matte, alpha, extra_metadata)
        self._pending.append((frame_number, future))
        return finished + self._collect(block_until=None)

    def finish(self) -> list[tuple[int, str]]:
        """Wait for every queued frame; return those not yet reported."""
        return self._collect(block_until=0)

    def close(self) -> None:
        """Let frames already being written finish (each is atomic), drop the ones not started."""
        for _, future in self._pending:
            future.cancel()
        self._executor.shutdown(wait=True)
        self._pending.clear()

    def _collect(self, block_until: int | None) -> list[tuple[int, str]]:
        """Report finished frames from the front; wait while more than ``block_until`` are pending."""
        finished = []
        while self._pending:
            number, future = self._pending[0]
            if not future.done() and (block_until is None or len(self._pending) <= block_until):
                break
            path = future.result()  # re-raises the write's OutputError here, in the caller's thread
            self._pending.popleft()
            finished.append((number, path))
        return finished

    def __enter__(self) -> "FrameWriteQueue":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close()
