"""Crop geometry: similarity transforms, Procrustes fits and the face-crop transform.

Transforms are 2x3 float64 matrices acting on row vectors of pixel coordinates (x right, y down, pixel
centres at integer + 0.5), so ``apply(m, p) = p @ m[:, :2].T + m[:, 2]``.
"""

from __future__ import annotations

import numpy as np

from .landmarks import ibug68

# Points that move with the skull rather than with expressions: nose, eye corners, upper jaw line.
RIGID_68 = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45, 0, 1, 15, 16)


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (..., 2) points through a 2x3 affine matrix."""
    points = np.asarray(points, dtype=np.float64)
    return (points @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine (closed form: LAPACK's call overhead dominates at this size)."""
    (a, b), (c, d) = matrix[0, :2], matrix[1, :2]
    det = a * d - b * c
    linear = np.array([[d, -b], [-c, a]], dtype=np.float64) / det
    return np.hstack([linear, -linear @ matrix[:, 2:3]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The transform that applies ``inner`` first, then ``outer``."""
    return np.hstack([outer[:, :2] @ inner[:, :2], outer[:, :2] @ inner[:, 2:3] + outer[:, 2:3]])


def to_opencv(matrix: np.ndarray) -> np.ndarray:
    """The same transform for OpenCV's ``warpAffine``, whose pixel centres are at integers (ours at +0.5)."""
    cv_matrix = np.array(matrix, dtype=np.float64)
    cv_matrix[:, 2] = cv_matrix[:, :2] @ np.array([0.5, 0.5]) + cv_matrix[:, 2] - 0.5
    return cv_matrix


def identity() -> np.ndarray:
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def fit_similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``src`` onto ``dst``.

    Umeyama's closed form; reflections are excluded. Rows with NaN are ignored.
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    keep = np.isfinite(src).all(1) & np.isfinite(dst).all(1) & (w > 0)
    src, dst, w = src[keep], dst[keep], w[keep]
    if len(src) < 2:
        raise ValueError("a similarity needs at least two finite point pairs")
    w = w / w.sum()
    mu_s = (w[:, None] * src).sum(0)
    mu_d = (w[:, None] * dst).sum(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = (w[:, None] * d0).T @ s0
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rot = u @ np.diag(sign) @ vt
    var_s = (w * (s0 ** 2).sum(1)).sum()
    scale = (sig * sign).sum() / var_s if var_s > 0 else 1.0
    linear = scale * rot
    return np.hstack([linear, (mu_d - linear @ mu_s)[:, None]])


def fit_affine(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares affine mapping ``src`` onto ``dst``; a similarity where the points are nearly collinear
    (an affine's scale across a flat point set is not determined)."""
    src, dst = np.asarray(src, np.float64).reshape(-1, 2), np.asarray(dst, np.float64).reshape(-1, 2)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    root = np.sqrt(w)[:, None]
    spread = np.linalg.svd((src - src.mean(0)) * root, compute_uv=False)
    if spread[1] < 0.08 * spread[0]:
        return fit_similarity(src, dst, w)
    a = np.hstack([src, np.ones((len(src), 1))]) * root
    return np.linalg.lstsq(a, dst * root, rcond=None)[0].T


def similarity_params(matrix: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(scale, angle in radians, translation) of a similarity matrix."""
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    angle = float(np.arctan2(matrix[1, 0], matrix[0, 0]))
    return scale, angle, matrix[:, 2].copy()


def similarity_from_params(scale: float, angle: float, translation) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, translation[0]], [s, c, translation[1]]], dtype=np.float64)


def scale_motion(matrix: np.ndarray, gain: float, centre) -> np.ndarray:
    """A similarity ``gain`` times as strong as ``matrix`` (0 = identity, 1 = itself), about ``centre``.

    Rotation angle and log-scale are multiplied by the gain, and so is the motion of ``centre``, so the
    result stays a rigid-looking motion even for gains above 1.
    """
    scale, angle, _ = similarity_params(matrix)
    centre = np.asarray(centre, dtype=np.float64)
    moved = matrix[:, :2] @ centre + matrix[:, 2]
    new_scale = float(np.exp(gain * np.log(max(scale, 1e-6))))
    new_angle = gain * angle
    target = centre + gain * (moved - centre)
    linear = similarity_from_params(new_scale, new_angle, (0.0, 0.0))[:, :2]
    return np.hstack([linear, (target - linear @ centre)[:, None]])


def polyline_at(points: np.ndarray, t, origin: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Points of a corner-to-corner polyline (a lid, a lip) at positions ``t`` along ``axis`` from ``origin``."""
    params = (points - origin) @ axis
    order = np.argsort(params)
    return np.stack([np.interp(t, params[order], points[order, k]) for k in (0, 1)], axis=-1)


def polyline_like(points: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Points of a corner-to-corner polyline at the positions of ``like``'s points along ``like``'s
    corner-to-corner axis: two lips or two lids need not be sampled alike."""
    axis = like[-1] - like[0]
    length = float(np.dot(axis, axis)) or 1.0
    return polyline_at(points, (like - like[0]) @ axis / length, like[0], axis / length)


def mean_gap(upper: np.ndarray, lower: np.ndarray) -> float:
    """Mean distance between two corner-to-corner polylines (the inner lips, the lids), ``lower`` read at
    ``upper``'s points; the corners are left out."""
    if len(upper) <= 2:
        return 0.0
    return float(np.linalg.norm(upper[1:-1] - polyline_like(lower, upper)[1:-1], axis=1).mean())


def eye_centres(landmarks68: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(subject's right eye centre, subject's left eye centre) — image left and right for a frontal face."""
    points = np.asarray(landmarks68, dtype=np.float64)
    return points[list(ibug68.RIGHT_EYE)].mean(0), points[list(ibug68.LEFT_EYE)].mean(0)


def face_crop_transform(landmarks68: np.ndarray, crop_size: int, zoom: float = 1.0) -> np.ndarray:
    """The similarity mapping still pixels to a square face crop of ``crop_size`` pixels.

    FFHQ's alignment (Karras et al. 2019): upright eye line, the face centred a little above the mouth,
    the crop side four eye distances (or 3.6 eye-to-mouth distances) — enough for hair and chin. ``zoom``
    above 1 frames tighter. The networks are trained on exactly this crop.
    """
    points = np.asarray(landmarks68, dtype=np.float64)
    eye_r, eye_l = eye_centres(points)
    mouth = (points[48] + points[54]) / 2.0
    eye_avg = (eye_r + eye_l) / 2.0
    eye_to_eye = eye_l - eye_r
    eye_to_mouth = mouth - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    x /= np.hypot(*x)
    half = max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8) / zoom
    centre = eye_avg + eye_to_mouth * 0.1
    scale = crop_size / (2.0 * half)
    cos, sin = x * scale
    linear = np.array([[cos, sin], [-sin, cos]])
    return np.hstack([linear, (np.array([crop_size / 2.0, crop_size / 2.0]) - linear @ centre)[:, None]])


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) bool: even-odd test of each of ``points`` (N, 2) against a closed polygon (M, 2)."""
    x, y = points[:, 0:1], points[:, 1:2]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / np.where(y1 == y0, 1e-12, y1 - y0) + x0)
    return (crosses.sum(axis=1) % 2) == 1


def resample_arc(curve: np.ndarray, count: int) -> np.ndarray:
    """``count`` points evenly spaced along an open polyline, ends included."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    wanted = np.linspace(0.0, arc[-1], count)
    return np.stack([np.interp(wanted, arc, curve[:, k]) for k in (0, 1)], axis=1)
