"""Contact sheets: for a few times of a case, source | driver | each contender's output (| real frame).

In self-reenactment the driver *is* the real frame, so that column is labelled "driver = real". The
thumbnails were cut while the case ran (face-centred, same framing for the output and what it is compared
with), so the sheet is only assembled here.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from ..io.labelled_image import write_labelled_png
from .reference import THUMB_SIZE

LABEL_HEIGHT = 22
FRAME_COLUMN = 56
GAP = 4
BACKGROUND = 255


def _label(text: str, width: int, height: int = LABEL_HEIGHT) -> np.ndarray:
    tile = np.full((height, width, 3), BACKGROUND, np.uint8)
    scale = 0.42
    while scale > 0.25 and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width - 4:
        scale -= 0.02
    size = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0]
    cv2.putText(tile, text, ((width - size[0]) // 2, (height + size[1]) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (20, 20, 20), 1, cv2.LINE_AA)
    return tile


def build_sheet(thumb_files: dict[str, str], self_reenactment: bool) -> np.ndarray | None:
    """An RGB uint8 sheet from each contender's thumbnail file ({contender: path}); None if none exists."""
    loaded = {}
    for name, path in thumb_files.items():
        if os.path.exists(path):
            with np.load(path, allow_pickle=False) as data:
                loaded[name] = {k: data[k] for k in data.files}
    if not loaded:
        return None
    first = next(iter(loaded.values()))
    frames = [int(n) for n in first["frames"]]
    if not frames:
        return None
    columns = [("source", lambda row: first["source"]),
               ("driver = real" if self_reenactment else "driver", lambda row: first["driver"][row])]
    for name, data in loaded.items():
        columns.append((name, lambda row, data=data: data["output"][row] if row < len(data["output"]) else None))
    blank = np.full((THUMB_SIZE, THUMB_SIZE, 3), BACKGROUND, np.uint8)
    header = [_label("frame", FRAME_COLUMN)] + [_label(title, THUMB_SIZE) for title, _ in columns]
    rows = [_row(header, LABEL_HEIGHT)]
    for index, number in enumerate(frames):
        tiles = [_label(str(number), FRAME_COLUMN, THUMB_SIZE)]
        for _, pick in columns:
            tile = pick(index)
            tiles.append(blank if tile is None else tile)
        rows.append(_row(tiles, THUMB_SIZE))
    return np.concatenate(rows, axis=0)


def _row(tiles: list[np.ndarray], height: int) -> np.ndarray:
    spacer = np.full((height, GAP, 3), BACKGROUND, np.uint8)
    parts = []
    for tile in tiles:
        parts += [tile, spacer]
    row = np.concatenate(parts, axis=1)
    return np.concatenate([row, np.full((GAP, row.shape[1], 3), BACKGROUND, np.uint8)], axis=0)


def write_sheet(rgb: np.ndarray, path: str, case_id: str) -> None:
    """The sheet as a PNG, labelled synthetic (its output columns are)."""
    write_labelled_png(path, rgb, "contact sheet", {"case": case_id})
