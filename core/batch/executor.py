"""What the batch runner needs from a place that runs chunks: local worker processes or a Ray cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .chunk_task import ChunkResult, ChunkTask


@dataclass
class ExecutorEvent:
    """``started`` (a process took the task), ``frame`` (it wrote frame ``frame``), ``retry`` (the process
    died; the task runs again), ``finished`` (``result`` is final: ok, error, cancelled or failed)."""

    kind: str
    task: ChunkTask
    result: ChunkResult | None = None
    frame: int | None = None
    pid: int | None = None
    message: str | None = None


class ChunkExecutor(Protocol):
    name: str
    capacity: int  # how many tasks to keep submitted at once
    startup: list[float]  # seconds each worker took to start (where the executor can tell)

    def start(self) -> None: ...

    def submit(self, task: ChunkTask) -> None: ...

    def poll(self, timeout: float) -> list[ExecutorEvent]: ...

    def cancel(self) -> None:
        """Ask running chunks to stop after the frame in flight; their results still arrive through poll."""

    def close(self) -> None: ...
