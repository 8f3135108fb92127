"""A local batch worker: a long-lived process that renders the chunks it is sent as JSON lines on stdin.

One process renders many chunks, so the engine's imports are paid once per worker, not once per chunk (what a
farm pays when it runs ``render-job`` per task). Messages out, one JSON object per line on the original stdout
(anything a library prints goes to stderr instead): ``{"event": "ready", "pid": P, "startup_s": t}``, then per
chunk ``{"event": "frame", "shot": s, "chunk": c, "frame": n}`` and ``{"event": "result", ...ChunkResult}``.
SIGTERM or SIGINT: finish the frame in flight, report the chunk as cancelled, exit. The worker also gets
SIGTERM when the batch process dies, so no orphan renders on.

Run as ``python -m portrait_animator.batch.worker``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback

STARTED = time.monotonic()


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints must not corrupt the protocol
    _die_with_parent()
    cancel = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: cancel.set())

    def send(event: str, **fields) -> None:
        protocol.write(json.dumps({"event": event, **fields}) + "\n")

    from .. import pipeline  # noqa: F401  (import the engine now: start-up is measured, chunks start warm)
    from .chunk_task import ChunkResult, ChunkTask, render_chunk

    _match_thread_count()
    send("ready", pid=os.getpid(), startup_s=round(time.monotonic() - STARTED, 4))
    for line in sys.stdin:
        if not line.strip():
            continue
        task = ChunkTask(**json.loads(line))
        try:
            result = render_chunk(task, cancel, on_frame=lambda n: send("frame", shot=task.shot,
                                                                          chunk=task.chunk, frame=n))
        except Exception as error:  # a bug, not a user error: report it with its traceback, keep serving
            traceback.print_exc()
            result = ChunkResult(task.shot, task.chunk, task.first, task.last, "failed", attempt=task.attempt,
                                 pid=os.getpid(), error_kind=type(error).__name__, error=str(error))
        send("result", **result.to_dict())
        if cancel.is_set():
            break
    return 0


def _match_thread_count() -> None:
    """OpenCV ignores OMP_NUM_THREADS: give it the share of cores the batch gave this worker."""
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and threads.isdigit():
        import cv2

        cv2.setNumThreads(int(threads))


def _die_with_parent() -> None:
    """Linux: SIGTERM this worker when the batch process dies (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        sys.exit(0)


if __name__ == "__main__":
    sys.exit(main())
