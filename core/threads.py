"""How many threads torch's CPU operators use, set for a block of work and restored after it."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(count: int | None):
    """Run the block with ``count`` intra-op threads; None leaves torch's setting as it is."""
    if count is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
