"""The warp's frame: the part of the crop the still's picture covers, as a convex polygon.

Why: the mesh holds its outermost points and lets the band between them and the face carry the head's
motion. Held on the crop's edge alone, a still framed tightly round the face (a headshot cut at the chin,
a portrait cut at the ears) had crop pixels beyond its own edges, filled by repeating the edge pixels, and
the band pulled those streaks into the picture as the head moved away from an edge. On the frame, the
still's own edges may give way outwards and slide along themselves, never inwards (``head_band.FrameGive``): a
head moving towards an edge carries the picture out past it, as a camera's frame would, and nothing from
beyond the edge comes into the picture. A head moving away from an edge stretches the band it leaves
behind, and is held back by the room the still really leaves round the face (``head_band.limit_head``). On
the crop's edge the frame never moves (paste-back leaves no seam there), nor on the inner edge of a border
strip (``picture_border``), which stays in the frames as it is.

Polygons run in the order of the crop's corners (0, 0), (S, 0), (S, S), (0, S): a positive shoelace area.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .. import align
from .picture_border import PictureBox


@dataclass(frozen=True)
class MeshFrame:
    """The convex polygon the warp's mesh spans, in crop pixels, and how each of its edges gives way."""

    polygon: np.ndarray  # (E, 2), in the crop corners' order
    give: np.ndarray  # (E, 2): the outward unit normal of each edge that is the still's own edge, the way
    # it gives; zero on the crop's edges and on a border's inner edge, which never move


def crop_square(crop_size: int) -> np.ndarray:
    """The whole crop as a frame."""
    size = float(crop_size)
    return np.array([[0.0, 0.0], [size, 0.0], [size, size], [0.0, size]])


def whole_crop(crop_size: int) -> MeshFrame:
    """The whole crop as the frame, never moving."""
    return MeshFrame(crop_square(crop_size), np.zeros((4, 2)))


def picture_frame(crop_size: int, crop_from_still: np.ndarray, picture: PictureBox, control: np.ndarray,
                  margin: float) -> MeshFrame:
    """The crop cut to the still's ``picture``, widened where needed so that every ``control`` point lies
    at least ``margin`` inside it (a face may reach a little past the picture's edge, and the landmarks must
    stay inside the mesh's frame)."""
    square = crop_square(crop_size)
    sides = align.apply(crop_from_still, picture.corners)
    corners = _positive(sides)
    if np.all(inside(square, corners, -1e-6)):  # the picture covers the crop
        return whole_crop(crop_size)
    frame = _intersection(square, corners)
    reaching = control[~inside(control, frame, margin)]
    if len(reaching):  # an octagon round each holds a disc of ``margin`` round it
        angles = np.arange(8) * np.pi / 4
        octagon = margin / np.cos(np.pi / 8) * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        frame = _intersection(square, _hull(np.vstack([frame, (reaching[:, None] + octagon).reshape(-1, 2)])))
    border_lines = [(sides[(side + 3) % 4], sides[side]) for side, bordered in enumerate(picture.bordered)
                    if bordered]  # left runs from the bottom-left corner to the top-left, and so on
    return MeshFrame(frame, _edge_give(frame, [*zip(square, np.roll(square, -1, axis=0)), *border_lines]))


def _edge_give(frame: np.ndarray, fixed_lines) -> np.ndarray:
    """(E, 2): each edge's outward unit normal, or zero where the edge lies on one of ``fixed_lines``
    (pairs of points), which never move."""
    normals, _ = _half_planes(frame)
    ends = np.stack([frame, np.roll(frame, -1, axis=0)], axis=1)  # (E, 2 ends, 2)
    fixed = np.zeros(len(frame), dtype=bool)
    for start, end in fixed_lines:
        along = (end - start) / np.linalg.norm(end - start)
        offset = ends - start
        fixed |= np.all(np.abs(offset[..., 0] * along[1] - offset[..., 1] * along[0]) < 1e-3, axis=1)
    return np.where(fixed[:, None], 0.0, normals)


def frame_points(frame: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points along the frame's edges, from each corner on, about ``spacing`` apart, with the edge each lies
    on and whether it is a corner."""
    points, edges, corners = [], [], []
    for index, (start, end) in enumerate(zip(frame, np.roll(frame, -1, axis=0))):
        steps = max(1, int(np.ceil(np.linalg.norm(end - start) / spacing - 1e-6)))
        along = np.arange(steps) / steps
        points.append(start * (1.0 - along[:, None]) + end * along[:, None])
        edges.append(np.full(steps, index))
        corners.append(along == 0.0)
    return np.concatenate(points), np.concatenate(edges), np.concatenate(corners)


def ray_exit(centre: np.ndarray, through: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the ray from ``centre`` (inside the frame) through each of ``through`` leaves the frame, and
    through which edge."""
    normals, offsets = _half_planes(frame)
    direction = through - centre
    towards = direction @ normals.T  # (R, E): how fast each ray nears each edge's line
    with np.errstate(divide="ignore", invalid="ignore"):
        limits = np.where(towards > 0, (offsets - centre @ normals.T) / towards, np.inf)
    edge = limits.argmin(axis=1)
    return centre + limits[np.arange(len(limits)), edge][:, None] * direction, edge


def inside(points: np.ndarray, frame: np.ndarray, margin: float) -> np.ndarray:
    """(N,) bool: the points lie more than ``margin`` inside the frame."""
    normals, offsets = _half_planes(frame)
    return np.all(offsets - points @ normals.T > margin, axis=1)


def _half_planes(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each edge's outward unit normal and offset: a point p is inside where p · normal < offset for all."""
    edges = np.roll(frame, -1, axis=0) - frame
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1) / np.linalg.norm(edges, axis=1, keepdims=True)
    return normals, np.einsum("ij,ij->i", frame, normals)


def _intersection(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    _, polygon = cv2.intersectConvexConvex(first.astype(np.float32), second.astype(np.float32))
    return _positive(polygon.reshape(-1, 2).astype(np.float64))


def _hull(points: np.ndarray) -> np.ndarray:
    return _positive(cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64))


def _positive(polygon: np.ndarray) -> np.ndarray:
    """The polygon in the crop corners' order (positive shoelace area), without repeated corners."""
    polygon = polygon[np.linalg.norm(np.roll(polygon, -1, axis=0) - polygon, axis=1) > 1e-6]
    x, y = polygon[:, 0], polygon[:, 1]
    area = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    return polygon if area > 0 else polygon[::-1].copy()
