"""Results: one file per (case, contender) with per-frame values and their summary; tables across cases.

Per-frame lists hold NaN where a value does not exist (no face found, not a held-back frame, not a frame
whose identity was measured); summaries average only finite values and say how many there were. Files
carry a fingerprint of everything that decided them, so a resumed run reuses exactly the results that
are still valid.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from ..io.atomic import atomic_path
from .face_measures import CURVES
from .motion_metrics import correlation, moves

# Per-frame image and identity scores, in the order tables show them; "higher" says which way is better.
SELF_SCORES = ("ssim_face", "ms_ssim_face", "psnr_face", "ssim_full", "psnr_full", "nme", "identity_distance",
               "csim_dlib")
CROSS_SCORES = ("identity_distance", "csim_dlib")
HIGHER_IS_BETTER = {"ssim_face": True, "ms_ssim_face": True, "psnr_face": True, "ssim_full": True,
                    "psnr_full": True, "nme": False, "identity_distance": False, "csim_dlib": True,
                    "found_rate": True, "jitter_ratio": None, "flicker": False, "flicker_reference": None,
                    "fps": True,
                    **{f"{c}_r": True for c in CURVES}}


@dataclass
class CaseResult:
    """One contender on one case: per-frame values and the summary the report tabulates."""

    case_id: str
    group: str  # self-k1, self-k8, self-k32 or cross
    clip: str
    still: str | None
    contender: str
    fingerprint: str
    frames: list[int]
    scored: list[bool]
    per_frame: dict[str, list[float]]
    summary: dict[str, float | int | None] = field(default_factory=dict)
    thumbs: str | None = None  # npz of output thumbnails at the contact-sheet times
    error: str | None = None  # why the case could not run (e.g. no face in the still)

    def save(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_path(path) as partial, open(partial, "w", encoding="utf-8") as handle:
            json.dump(json_safe(asdict(self)), handle, indent=1)

    @classmethod
    def load(cls, path: str) -> "CaseResult":
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        data["per_frame"] = {k: [math.nan if v is None else v for v in values]
                             for k, values in data["per_frame"].items()}
        data["summary"] = {k: math.nan if v is None else v for k, v in data["summary"].items()}
        return cls(**data)


def json_safe(value):
    """JSON has no NaN: write null instead (read back as NaN); numpy scalars become Python numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


def _mean(values) -> float:
    values = np.asarray([v for v in values if v is not None], dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else math.nan


def summarise(per_frame: dict[str, list[float]], scored: list[bool], driver_curves: dict[str, np.ndarray],
              scores: tuple[str, ...], extra: dict) -> dict:
    """Case means over scored frames, curve correlations with the driver over the window, and ``extra``."""
    mask = np.asarray(scored, dtype=bool)
    summary: dict = {"frames": len(mask), "scored": int(mask.sum())}
    found = np.asarray(per_frame["found"], dtype=np.float64)
    summary["found_rate"] = float(found[mask].mean()) if mask.any() else math.nan
    for name in scores:
        values = np.asarray(per_frame[name], dtype=np.float64)[mask]
        summary[name] = _mean(values)
        if name == "identity_distance":
            summary["identity_frames"] = int(np.isfinite(values).sum())
    for curve in CURVES:
        driver = np.asarray(driver_curves[curve], dtype=np.float64)
        summary[f"{curve}_r"] = correlation(per_frame[curve], driver)
        summary[f"{curve}_moving"] = moves(driver, curve)
    summary.update(extra)
    return summary


# ----------------------------------------------------------------------------------------- tables
TABLE_METRICS = {
    "self": ("ssim_face", "ms_ssim_face", "psnr_face", "ssim_full", "psnr_full", "nme", "csim_dlib",
             "identity_distance", "found_rate", "mouth_r", "eyes_r", "jitter_ratio", "flicker", "flicker_reference",
             "fps"),
    "cross": ("identity_distance", "csim_dlib", "driver_identity_distance", "found_rate", "mouth_r", "eyes_r",
              "brows_r", "yaw_r", "pitch_r", "roll_r", "jitter_ratio", "flicker", "flicker_reference", "fps"),
}


def aggregate(results: list[CaseResult], metrics: tuple[str, ...]) -> dict:
    """Mean of each metric over cases (each clip weighs the same) and the number of cases that had it.

    Curve correlations count only cases whose driver moves that feature (see ``motion_metrics.MOVING``).
    """
    table = {}
    for metric in metrics:
        values = []
        for result in results:
            if result.error:
                continue
            if metric.endswith("_r") and not result.summary.get(metric.replace("_r", "_moving")):
                continue
            value = result.summary.get(metric)
            if value is not None and math.isfinite(value):
                values.append(value)
        table[metric] = {"mean": float(np.mean(values)) if values else math.nan,
                         "median": float(np.median(values)) if values else math.nan, "cases": len(values)}
    return table
