"""The per-call timing the benchmark scripts share (they run as ``python bench/NAME.py``, so this is importable)."""

from __future__ import annotations

import time

import numpy as np


def median_ms(work, repeat: int) -> float:
    """Median wall time of ``work()`` over ``repeat`` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return 1e3 * float(np.median(times))
