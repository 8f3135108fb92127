"""Sample grids: what a run produces, next to what it should, saved as PNGs while it trains."""

from __future__ import annotations

import os

import cv2
import numpy as np
import torch

from .episodes import from_network

MAX_ROWS = 4


def sample_grid(columns: list[torch.Tensor]) -> np.ndarray:
    """One row per sample, one column per (N, 3, S, S) [-1, 1] tensor: (rows·S, cols·S, 3) uint8 RGB."""
    rows = min(MAX_ROWS, columns[0].shape[0])
    tiles = [from_network(column[:rows]) for column in columns]
    grid = np.concatenate([np.concatenate([tile[r] for tile in tiles], axis=1) for r in range(rows)], axis=0)
    return np.clip(np.round(grid * 255.0), 0, 255).astype(np.uint8)


def write_grid(path: str, columns: list[torch.Tensor]) -> None:
    """Write the grid as a PNG, atomically."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}.png"
    if not cv2.imwrite(tmp, sample_grid(columns)[:, :, ::-1]):
        raise OSError(f"{path}: could not write the sample grid")
    os.replace(tmp, path)
