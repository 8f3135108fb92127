"""The batch loop: keep the executor fed with chunks, follow frames as they land, and build the report.

The same loop drives local workers and Ray. A shot that fails with a user error gets no more chunks (they
would fail the same way) and the other shots carry on. Progress is counted in frames: from the workers'
frame events where the executor has them, and from the output folders (about once a second) where it does
not (Ray), so it is right for resumed shots too.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Callable

from ..io.frames import FrameWriter
from .chunk_task import ChunkResult, ChunkTask
from .executor import ChunkExecutor
from .plan import BatchPlan, Chunk, Shot
from .report import ChunkRecord, build_report, shot_summary

EventSink = Callable[..., None]  # on_event(name, **fields)
DISK_POLL_S = 1.0
CANCEL_GRACE_S = 120.0  # how long a cancelled batch waits for chunks to finish their frame in flight


class BatchRunner:
    """Run ``plan`` on ``executor``; ``on_event`` receives start, chunk-start, progress, retry, chunk-done,
    shot-done and done events (the CLI draws them as a bar or prints them as JSON lines)."""

    def __init__(self, plan: BatchPlan, executor: ChunkExecutor, on_event: EventSink | None = None,
                 poll_s: float = 0.25):
        self.plan = plan
        self.executor = executor
        self.on_event = on_event or (lambda *args, **kwargs: None)
        self.poll_s = poll_s
        self._cancel = threading.Event()
        self._shots = {shot.index: shot for shot in plan.shots}
        self._done = {shot.index: set(shot.finished_before) for shot in plan.shots}
        self._chunks = {(c.shot, c.index): c for c in plan.chunks + plan.finished_chunks}
        self._records: dict[tuple[int, int], ChunkRecord] = {
            (c.shot, c.index): ChunkRecord(c.shot, c.index, c.frames_text, "finished-before")
            for c in plan.finished_chunks}
        self._retries: dict[tuple[int, int], list[dict]] = {}
        self._submitted: dict[tuple[int, int], float] = {}
        self._failed_shots: set[int] = {shot.index for shot in plan.shots if shot.error}
        self._queue: deque[ChunkTask] = deque()

    def cancel(self) -> None:
        """Stop after the frames in flight (safe to call from a signal handler)."""
        self._cancel.set()

    def run(self) -> dict:
        started_at, started = time.time(), time.monotonic()
        queue = self._queue
        queue.extend(self._task(chunk) for chunk in self.plan.chunks)
        in_flight: dict[tuple[int, int], ChunkTask] = {}
        self._emit_start(len(queue))
        queued_shots = {task.shot for task in queue}
        for shot in self.plan.shots:
            if shot.index not in queued_shots:  # failed at planning, or every frame already on disk
                self._shot_done_when_complete(shot.index)
        cancelled_at = None
        if queue:
            self.executor.start()
        try:
            last_disk_poll = time.monotonic()
            while queue or in_flight:
                if self._cancel.is_set() and cancelled_at is None:
                    cancelled_at = time.monotonic()
                    for task in queue:
                        self._record_not_run(task)
                    queue.clear()
                    self.executor.cancel()
                if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                    break
                while queue and len(in_flight) < self.executor.capacity:
                    task = queue.popleft()
                    if task.shot in self._failed_shots:
                        self._record_not_run(task)
                        continue
                    self._submitted[task.key] = time.time()
                    self.executor.submit(task)
                    in_flight[task.key] = task
                for event in self.executor.poll(self.poll_s):
                    self._handle(event, in_flight)
                if time.monotonic() - last_disk_poll >= DISK_POLL_S:
                    last_disk_poll = time.monotonic()
                    self._poll_disk({key[0] for key in in_flight})
        finally:
            self.executor.close()
        summaries = [self._summary(shot) for shot in self.plan.shots]
        records = [self._records[key] for key in sorted(self._records)]
        report = build_report(self.plan, self.executor.name, records, summaries, started_at,
                              time.monotonic() - started, self._cancel.is_set(), self.executor.startup)
        self.on_event("done", report=report)
        return report

    # ------------------------------------------------------------------------------------- events
    def _handle(self, event, in_flight) -> None:
        task, key = event.task, event.task.key
        if event.kind == "started":
            self.on_event("chunk-start", shot=task.shot, name=self._shots[task.shot].name,
                          frames=f"{task.first}-{task.last}", attempt=task.attempt, pid=event.pid)
        elif event.kind == "frame":
            self._done[task.shot].add(event.frame)
            self._emit_progress(f"{self._shots[task.shot].name} frame {event.frame}")
        elif event.kind == "retry":
            self._retries.setdefault(key, []).append({"pid": event.pid, "reason": event.message})
            self.on_event("retry", shot=task.shot, name=self._shots[task.shot].name,
                          frames=f"{task.first}-{task.last}", pid=event.pid, reason=event.message)
        elif event.kind == "finished":
            in_flight.pop(key, None)
            self._finish(task, event.result)

    def _finish(self, task: ChunkTask, result: ChunkResult) -> None:
        key = task.key
        record = ChunkRecord.from_result(self._chunks[key], result, self._retries.get(key, []),
                                         self._submitted.get(key))
        record.attempts = max(record.attempts, len(record.retries) + 1)
        record.preview = task.preview
        self._records[key] = record
        shot = self._shots[task.shot]
        self._done[task.shot].update(result.written, result.skipped)
        if result.status == "error":
            self._failed_shots.add(task.shot)
        self.on_event("chunk-done", shot=task.shot, name=shot.name, frames=record.frames, status=record.status,
                      written=len(record.written), skipped=len(record.skipped), error=record.error)
        self._emit_progress(f"{shot.name} {record.frames} {record.status}")
        self._shot_done_when_complete(task.shot)

    def _record_not_run(self, task: ChunkTask) -> None:
        """A chunk never handed to a worker: its shot had failed, or the batch was cancelled."""
        self._records[task.key] = ChunkRecord(task.shot, task.chunk, f"{task.first}-{task.last}", "not-run")
        self._shot_done_when_complete(task.shot)

    def _shot_done_when_complete(self, index: int) -> None:
        if not all(key in self._records for key in self._chunks if key[0] == index):
            return
        shot = self._shots[index]
        if self._needs_preview(shot):
            self._queue_preview(shot)
        else:
            self.on_event("shot-done", **self._summary(shot).__dict__)

    def _needs_preview(self, shot: Shot) -> bool:
        """The job asks for a preview movie, every chunk succeeded, and the movie is missing or now stale."""
        preview = shot.job.output.preview if shot.job is not None and not shot.error else None
        records = [r for key, r in self._records.items() if key[0] == shot.index]
        if not preview or self._cancel.is_set() or any(r.preview for r in records):
            return False
        if any(r.status not in ("ok", "finished-before") for r in records):
            return False
        return any(r.written for r in records) or not os.path.exists(preview)

    def _queue_preview(self, shot: Shot) -> None:
        """One more task over the whole shot: its frames are on disk, so it renders nothing (anything missing
        it renders) and writes the preview movie, which only a whole-shot run does."""
        index = 1 + max(key[1] for key in self._chunks if key[0] == shot.index)
        chunk = Chunk(shot.index, index, shot.frames[0], shot.frames[-1], len(shot.frames))
        self._chunks[(shot.index, index)] = chunk
        job = shot.job.to_dict()
        job["output"]["overwrite"] = False  # the frames were just rendered; only the movie is missing
        self._queue.append(ChunkTask(shot.index, index, shot.job_path, job, chunk.first, chunk.last, preview=True))

    # ---------------------------------------------------------------------------------- progress
    def _emit_start(self, chunks: int) -> None:
        self.on_event("start", total=self.plan.total_frames, done=self._frames_done(), shots=len(self.plan.shots),
                      chunks=chunks, chunks_finished_before=len(self.plan.finished_chunks),
                      workers=self.executor.name)

    def _emit_progress(self, message: str) -> None:
        self.on_event("progress", done=self._frames_done(), total=self.plan.total_frames, message=message)

    def _frames_done(self) -> int:
        return sum(len(self._done[shot.index] & set(shot.frames)) for shot in self.plan.shots)

    def _poll_disk(self, shots: set[int]) -> None:
        before = self._frames_done()
        for index in shots:
            self._done[index] |= _on_disk(self._shots[index])
        if self._frames_done() != before:
            self._emit_progress("frames on disk")

    def _summary(self, shot: Shot):
        records = [r for key, r in self._records.items() if key[0] == shot.index]
        return shot_summary(shot, records, _on_disk(shot) if shot.job is not None and not shot.error else set())

    def _task(self, chunk) -> ChunkTask:
        shot = self._shots[chunk.shot]
        return ChunkTask(chunk.shot, chunk.index, shot.job_path, shot.job.to_dict(), chunk.first, chunk.last)


def _on_disk(shot: Shot) -> set[int]:
    """The shot's frames finished in its output folder: empty where this machine cannot see the folder, and
    for an overwrite job, whose old frames are no sign of progress (its chunks' results say what was done)."""
    if shot.job is None or shot.job.output.overwrite or not os.path.isdir(
            os.path.dirname(os.path.abspath(shot.job.output.pattern))):
        return set()
    return FrameWriter(shot.job.output.pattern).finished_frames() & set(shot.frames)
