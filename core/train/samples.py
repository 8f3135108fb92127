"""Sample grids: what a run produces, next to what it should, saved as PNGs while it trains."""

from __future__ import annotations

import numpy as np
import torch

from ..io.labelled_image import write_labelled_png
from .episodes import from_network

MAX_ROWS = 4


def sample_grid(columns: list[torch.Tensor]) -> np.ndarray:
    """One row per sample, one column per (N, 3, S, S) [-1, 1] tensor: (rows·S, cols·S, 3) uint8 RGB."""
    rows = min(MAX_ROWS, columns[0].shape[0])
    tiles = [from_network(column[:rows]) for column in columns]
    grid = np.concatenate([np.concatenate([tile[r] for tile in tiles], axis=1) for r in range(rows)], axis=0)
    return np.clip(np.round(grid * 255.0), 0, 255).astype(np.uint8)


def write_grid(path: str, columns: list[torch.Tensor], step: int) -> None:
    """Write the grid as a PNG, atomically, labelled synthetic (its generated column is)."""
    write_labelled_png(path, sample_grid(columns), "training samples", {"step": str(step)})
