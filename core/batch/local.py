"""Local workers: N long-lived engine processes on this machine, each rendering one chunk at a time.

Each worker is ``python -m portrait_animator.batch.worker`` talking JSON lines over its own pipes (see
``worker``); a pipe per worker, not a shared queue, so a worker killed mid-chunk cannot corrupt anything the
others use. A worker that dies (killed, out of memory, a crash in native code) has its chunk run again by a
fresh worker, up to ``retries`` times; the frames it finished stay on disk and are skipped.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, replace

from .chunk_task import ChunkResult, ChunkTask
from .executor import ExecutorEvent

DEFAULT_RETRIES = 2
START_FAILURES_ALLOWED = 3  # workers that die before they are ready: a broken install, not bad luck
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass
class _Worker:
    process: subprocess.Popen
    launched: float
    ready: bool = False
    task: ChunkTask | None = None
    buffer: bytes = b""
    closed: bool = False


class LocalExecutor:
    """Run chunks on ``workers`` local processes; ``retries``: extra attempts for a chunk whose worker died."""

    def __init__(self, workers: int, retries: int = DEFAULT_RETRIES, log_path: str | None = None):
        if workers < 1:
            raise ValueError("at least one worker")
        self.workers_wanted = workers
        self.retries = retries
        self.log_path = log_path
        self.name = f"local:{workers}"
        self.capacity = workers
        self.startup: list[float] = []
        self._workers: list[_Worker] = []
        self._pending: deque[ChunkTask] = deque()
        self._selector = selectors.DefaultSelector()
        self._log = None
        self._closing = False
        self._start_failures = 0
        self._broken: str | None = None  # why workers cannot start; every task then fails at once

    # ------------------------------------------------------------------------------------- control
    def start(self) -> None:
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        for _ in range(self.workers_wanted):
            self._launch()

    def submit(self, task: ChunkTask) -> None:
        self._pending.append(task)

    def cancel(self) -> None:
        """SIGTERM every worker: each finishes its frame in flight and reports its chunk as cancelled."""
        self._closing = True
        for worker in self._workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)

    def close(self) -> None:
        self._closing = True
        for worker in self._workers:
            if worker.process.stdin and not worker.process.stdin.closed:
                try:
                    worker.process.stdin.close()  # EOF: an idle worker exits
                except OSError:
                    pass
        deadline = time.monotonic() + 10
        for worker in self._workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
        self._selector.close()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.poll() is None]

    # ---------------------------------------------------------------------------------------- poll
    def poll(self, timeout: float) -> list[ExecutorEvent]:
        events: list[ExecutorEvent] = []
        if self._broken or self._closing:  # tasks no worker will take: answer them now
            status, kind, reason = (("failed", "WorkerStartError", self._broken) if self._broken else
                                    ("cancelled", "RenderCancelled", "cancelled before it started"))
            while self._pending:
                task = self._pending.popleft()
                events.append(ExecutorEvent("finished", task, result=ChunkResult(
                    task.shot, task.chunk, task.first, task.last, status, attempt=task.attempt,
                    error_kind=kind, error=reason)))
        self._dispatch(events)
        if not self._selector.get_map():
            time.sleep(timeout)
            return events
        for key, _ in self._selector.select(timeout):
            worker: _Worker = key.data
            data = os.read(key.fd, 1 << 16)
            if not data:  # EOF: the worker exited or was killed
                self._worker_gone(worker, events)
                continue
            worker.buffer += data
            *lines, worker.buffer = worker.buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    self._message(worker, json.loads(line), events)
        self._dispatch(events)
        return events

    def _message(self, worker: _Worker, message: dict, events: list[ExecutorEvent]) -> None:
        event = message.pop("event")
        if event == "ready":
            worker.ready = True
            self.startup.append(time.monotonic() - worker.launched)
        elif event == "frame" and worker.task is not None:
            events.append(ExecutorEvent("frame", worker.task, frame=message["frame"], pid=worker.process.pid))
        elif event == "result" and worker.task is not None:
            task, worker.task = worker.task, None
            events.append(ExecutorEvent("finished", task, result=ChunkResult.from_dict(message),
                                        pid=worker.process.pid))

    def _dispatch(self, events: list[ExecutorEvent]) -> None:
        for worker in self._workers:
            if not self._pending:
                return
            if worker.ready and worker.task is None and not worker.closed and worker.process.poll() is None:
                task = self._pending.popleft()
                try:
                    worker.process.stdin.write((json.dumps(asdict(task)) + "\n").encode())
                    worker.process.stdin.flush()
                except (BrokenPipeError, OSError):
                    self._pending.appendleft(task)  # the worker is dying; its exit is handled by poll
                    continue
                worker.task = task
                events.append(ExecutorEvent("started", task, pid=worker.process.pid))

    def _worker_gone(self, worker: _Worker, events: list[ExecutorEvent]) -> None:
        if worker.closed:
            return
        worker.closed = True
        self._selector.unregister(worker.process.stdout)
        worker.process.stdout.close()
        code = worker.process.wait()
        task, worker.task = worker.task, None
        if task is not None:
            reason = _describe_exit(code)
            if task.attempt <= self.retries and not self._closing:
                again = replace(task, attempt=task.attempt + 1)
                self._pending.appendleft(again)
                events.append(ExecutorEvent("retry", task, pid=worker.process.pid, message=reason))
            else:
                result = ChunkResult(task.shot, task.chunk, task.first, task.last,
                                     "cancelled" if self._closing else "failed", attempt=task.attempt,
                                     pid=worker.process.pid, error_kind="WorkerDied",
                                     error=f"worker {worker.process.pid} {reason} "
                                           f"(attempt {task.attempt} of {self.retries + 1})")
                events.append(ExecutorEvent("finished", task, result=result, pid=worker.process.pid))
        self._workers.remove(worker)
        if not worker.ready:
            self._start_failures += 1
            if self._start_failures >= START_FAILURES_ALLOWED:
                self._broken = (f"{self._start_failures} worker processes exited before they were ready "
                                f"(last: {_describe_exit(code)}); see --worker-log")
        if not self._closing and not self._broken:
            self._launch()

    # ------------------------------------------------------------------------------------- helpers
    def _launch(self) -> None:
        env = dict(os.environ)
        threads = str(max(1, (os.cpu_count() or 1) // self.workers_wanted))
        for name in THREAD_VARIABLES:  # share the cores instead of every worker using all of them
            env.setdefault(name, threads)
        process = subprocess.Popen([sys.executable, "-m", "portrait_animator.batch.worker"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env)
        worker = _Worker(process, time.monotonic())
        self._workers.append(worker)
        self._selector.register(process.stdout, selectors.EVENT_READ, worker)


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
