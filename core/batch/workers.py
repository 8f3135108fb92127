"""``--workers``: where a batch runs, parsed into an executor.

- ``local:N``: N worker processes on this machine (``local`` alone: one per core).
- ``ray://HOST:PORT``: a remote Ray cluster through Ray Client.
- ``ray:HOST:PORT``: join the Ray cluster whose head (GCS) listens there, from a machine of that cluster.
- ``ray:auto``: the cluster ``RAY_ADDRESS`` names, or the one ``ray start`` started on this machine.
- ``ray:local`` / ``ray:local:N``: a private Ray instance on this machine for this batch only (N CPUs).
"""

from __future__ import annotations

import os

from ..errors import JobFieldError
from .executor import ChunkExecutor

FORMS = "local:N, ray://HOST:PORT, ray:HOST:PORT, ray:auto or ray:local[:N]"


def create_executor(spec: str, retries: int, cpus_per_chunk: float = 1.0, gpus_per_chunk: float = 1.0,
                    log_path: str | None = None) -> ChunkExecutor:
    """The executor ``spec`` names; ``JobFieldError`` naming ``--workers`` for anything else."""
    spec = spec.strip()
    if spec == "local" or spec.startswith("local:"):
        from .local import LocalExecutor

        count = _count(spec[len("local:"):] if ":" in spec else str(os.cpu_count() or 1), spec)
        return LocalExecutor(count, retries=retries, log_path=log_path)
    if spec.startswith("ray://") or spec.startswith("ray:"):
        from .ray_cluster import RayExecutor

        local_cpus = None
        if spec.startswith("ray://"):
            address = spec
            if not spec[len("ray://"):].strip():
                raise JobFieldError("--workers", f"needs a host and port after ray:// (got {spec!r})")
        elif spec == "ray:auto":
            address = "auto"
        elif spec == "ray:local" or spec.startswith("ray:local:"):
            address = None
            local_cpus = _count(spec[len("ray:local:"):], spec) if spec.startswith("ray:local:") else None
        else:
            address = spec[len("ray:"):]
            if address.count(":") != 1 or not address.rsplit(":", 1)[1].isdigit():
                raise JobFieldError("--workers", f"must be one of {FORMS} (got {spec!r})")
        if cpus_per_chunk <= 0 or gpus_per_chunk <= 0:
            raise JobFieldError("--cpus-per-chunk/--gpus-per-chunk", "must be more than 0")
        return RayExecutor(address, retries=retries, cpus_per_chunk=cpus_per_chunk,
                           gpus_per_chunk=gpus_per_chunk, local_cpus=local_cpus)
    raise JobFieldError("--workers", f"must be one of {FORMS} (got {spec!r})")


def _count(text: str, spec: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise JobFieldError("--workers", f"needs a worker count of 1 or more (got {spec!r})")
    return int(text)
