"""Ray: render chunks as Ray tasks on a cluster (``ray://HOST:PORT``, ``ray:HOST:PORT``, ``ray:auto``) or on a
private single-machine cluster started for this batch (``ray:local``).

Each chunk is one task. It asks for a GPU where the job's device is ``cuda`` (``gpus_per_chunk`` may be a
fraction, so several chunks share a card), or where the device is ``auto`` and the cluster has GPUs. Ray runs
a task again when its worker process or node dies (``max_retries``); a user error comes back as a result, not
an exception, so it is never retried, and an exception from a bug is not retried either (it would repeat).
Every machine of the cluster needs this package installed and the shot's files at the same paths (shared
storage), as for any farm.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from ..errors import JobFieldError
from .chunk_task import ChunkResult, ChunkTask, render_chunk
from .executor import ExecutorEvent

DEFAULT_RETRIES = 2
LOCAL_OBJECT_STORE_BYTES = 100 * 1024 * 1024  # chunks pass only small dicts; keep the local cluster lean
CONNECT_TIMEOUT_S = 10.0
CLIENT_CONNECT_ATTEMPTS = 3
CLIENT_RETRY_WAIT_S = 2.0
CLIENT_SERVER_START_FAILED = "Initialization failure from server"  # Ray Client's words for it
TASK_NAME = "portrait-animator-chunk"  # Ray titles a worker process "ray::<task name>" while it runs one


def _short_reason(error: Exception) -> str:
    """An error's first line and, where it carries a server's traceback, that traceback's last line (the
    exception itself), within 400 characters."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    reason = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
    return reason if len(reason) <= 400 else reason[:200] + " ... " + reason[-195:]


def run_chunk_task(task: ChunkTask) -> dict:
    """The Ray task body (a module-level function, so workers import it instead of unpickling code)."""
    return render_chunk(task).to_dict()


class RayExecutor:
    """Submit chunks as Ray tasks. ``address``: what ``ray.init`` takes, or None to start a local cluster."""

    def __init__(self, address: str | None, retries: int = DEFAULT_RETRIES, cpus_per_chunk: float = 1.0,
                 gpus_per_chunk: float = 1.0, local_cpus: int | None = None):
        self.address = address
        self.retries = retries
        self.cpus_per_chunk = cpus_per_chunk
        self.gpus_per_chunk = gpus_per_chunk
        self.local_cpus = local_cpus
        self.name = f"ray:{address}" if address and not address.startswith("ray://") else (address or "ray:local")
        self.capacity = 1
        self.startup: list[float] = []
        self._refs: dict = {}
        self._started = False
        self._owns_connection = False
        self._cluster_gpus = 0.0
        self._remote = None

    def start(self) -> None:
        try:
            import ray
        except ImportError:
            raise JobFieldError("--workers", f"{self.name} needs Ray: pip install 'portrait-animator[farm]'") \
                from None
        started = time.monotonic()
        options = dict(log_to_driver=False, logging_level=logging.WARNING)
        # A calling program that already holds a Ray connection keeps it: use it, and leave it open.
        self._owns_connection = not ray.is_initialized()
        try:
            if self._owns_connection and self.address is None:
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                ray.init(num_cpus=self.local_cpus, include_dashboard=False,
                         object_store_memory=LOCAL_OBJECT_STORE_BYTES, **options)
            elif self._owns_connection:
                self._check_reachable()
                self._connect(ray, options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise JobFieldError("--workers", f"{self.name}: cannot start or reach the Ray cluster "
                                f"({_short_reason(error)})") from None
        self._started = True
        self.startup.append(time.monotonic() - started)
        resources = ray.cluster_resources()
        self._cluster_gpus = float(resources.get("GPU", 0.0))
        slots = int(float(resources.get("CPU", 1.0)) // max(self.cpus_per_chunk, 1e-6))
        if self._cluster_gpus:
            slots = max(slots, int(self._cluster_gpus // max(self.gpus_per_chunk, 1e-6)))
        self.capacity = max(2, 2 * slots)  # keep every slot fed while results travel back
        self._remote = ray.remote(max_retries=self.retries, retry_exceptions=False)(run_chunk_task)

    def _connect(self, ray, options: dict) -> None:
        """``ray.init`` on the cluster; a Ray Client (``ray://``) connection is tried again when the cluster's
        proxy failed to start this client's server process, a transient failure on a loaded head node."""
        for attempt in range(1, CLIENT_CONNECT_ATTEMPTS + 1):
            try:
                ray.init(address=self.address, **options)
                return
            except ConnectionError as error:
                if not (self.address.startswith("ray://") and CLIENT_SERVER_START_FAILED in str(error)
                        and attempt < CLIENT_CONNECT_ATTEMPTS):
                    raise
                logging.getLogger(__name__).warning("%s: the cluster could not start a client server (%s); "
                                                    "connecting again", self.name, _short_reason(error))
                time.sleep(CLIENT_RETRY_WAIT_S * attempt)

    def _check_reachable(self) -> None:
        """A mistyped address fails in seconds here; ``ray.init`` would retry it for minutes."""
        if self.address in (None, "auto"):
            return
        host, _, port = self.address.removeprefix("ray://").rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
        except (OSError, ValueError) as error:
            raise JobFieldError("--workers", f"{self.name}: no Ray cluster answers at {host}:{port} "
                                f"({getattr(error, 'strerror', None) or error})") from None

    def gpus_for(self, device: str) -> float:
        """GPUs a chunk of a job on ``device`` asks for."""
        if device == "cuda" or (device == "auto" and self._cluster_gpus > 0):
            return self.gpus_per_chunk
        return 0.0

    def submit(self, task: ChunkTask) -> None:
        ref = self._remote.options(name=TASK_NAME, num_cpus=self.cpus_per_chunk,
                                   num_gpus=self.gpus_for(task.job.get("device", "auto"))).remote(task)
        self._refs[ref] = task

    def poll(self, timeout: float) -> list[ExecutorEvent]:
        import ray

        if not self._refs:
            time.sleep(timeout)
            return []
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        events = []
        for ref in ready:
            task = self._refs.pop(ref)
            events.append(ExecutorEvent("finished", task, result=self._result(ref, task)))
        return events

    def _result(self, ref, task: ChunkTask) -> ChunkResult:
        import ray

        try:
            return ChunkResult.from_dict(ray.get(ref))
        except ray.exceptions.TaskCancelledError:
            status, kind, message = "cancelled", "TaskCancelledError", "cancelled"
        except ray.exceptions.RayTaskError as error:  # an exception inside the task: a bug, reported once
            status, kind, message = "failed", type(error.cause).__name__, str(error.cause)
        except ray.exceptions.RayError as error:  # the worker or node died more times than max_retries
            status, kind = "failed", type(error).__name__
            message = f"{str(error).splitlines()[0]} (after {self.retries} retries)"
        return ChunkResult(task.shot, task.chunk, task.first, task.last, status, error_kind=kind, error=message,
                           attempt=task.attempt)

    def cancel(self) -> None:
        import ray

        for ref in list(self._refs):
            ray.cancel(ref)

    def close(self) -> None:
        if self._started and self._owns_connection:
            import ray

            ray.shutdown()
        self._started = False
