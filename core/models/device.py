"""Choosing the torch device from a job's or command's ``device`` setting (auto, cpu, cuda)."""

from __future__ import annotations

import torch

from ..errors import JobFieldError


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto``: the GPU when torch sees one, else the CPU; ``cuda`` without a GPU is a user error."""
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise JobFieldError("device", "is 'cuda' but torch sees no CUDA device here (use auto or cpu)")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")
