"""The report's PNG plots (matplotlib, Agg backend: no display needed): distributions and per-frame curves."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from ..io.atomic import atomic_path  # noqa: E402
from .results import CaseResult  # noqa: E402

DISTRIBUTION_METRICS = {
    "self": (("ssim_face", "SSIM (face crop)"), ("nme", "landmark error (NME)"), ("csim_dlib", "CSIM-dlib"),
             ("psnr_face", "PSNR face (dB)"), ("mouth_r", "mouth r"), ("jitter_ratio", "jitter / driver's")),
    "cross": (("identity_distance", "dlib distance to still"), ("csim_dlib", "CSIM-dlib to still"),
              ("mouth_r", "mouth r"), ("eyes_r", "eyes r"), ("yaw_r", "yaw r"), ("jitter_ratio", "jitter / driver's")),
}


def _save(figure, path: str) -> None:
    with atomic_path(path) as partial, open(partial, "wb") as handle:
        figure.savefig(handle, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)


def distributions(results: list[CaseResult], contenders: list[str], protocol: str, title: str, path: str) -> None:
    """Box plots of per-case values, one panel per metric, one box per contender."""
    metrics = DISTRIBUTION_METRICS[protocol]
    figure, axes = plt.subplots(1, len(metrics), figsize=(3.1 * len(metrics), 3.2))
    for axis, (metric, label) in zip(np.atleast_1d(axes), metrics):
        data, names = [], []
        for name in contenders:
            values = [r.summary.get(metric) for r in results if r.contender == name and not r.error
                      and (not metric.endswith("_r") or r.summary.get(metric.replace("_r", "_moving")))]
            values = [v for v in values if v is not None and math.isfinite(v)]
            if values:
                data.append(values)
                names.append(name)
        if data:
            axis.boxplot(data, showmeans=True)
            axis.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right", fontsize=8)
        axis.set_title(label, fontsize=9)
        axis.tick_params(labelsize=8)
        axis.grid(alpha=0.3)
    figure.suptitle(title, fontsize=10)
    _save(figure, path)


def curves(results: list[CaseResult], protocol: str, title: str, path: str) -> None:
    """Per-frame curves of one case: the headline score, and mouth/eye opening against the driver's."""
    first = results[0]
    frames = np.asarray(first.frames)
    score, score_label = ("ssim_face", "SSIM (face crop)") if protocol == "self" else (
        "identity_distance", "dlib distance to the still")
    figure, axes = plt.subplots(3, 1, figsize=(8, 6.5), sharex=True)
    for result in results:
        values = np.asarray(result.per_frame.get(score, [math.nan] * len(frames)), dtype=np.float64)
        if protocol == "self":
            values = np.where(result.scored, values, np.nan)
        axes[0].plot(frames, values, ".-" if score == "identity_distance" else "-", label=result.contender, lw=1.2)
    axes[0].set_ylabel(score_label, fontsize=9)
    for axis, curve, label in ((axes[1], "mouth", "mouth opening"), (axes[2], "eyes", "eye opening")):
        axis.plot(frames, first.per_frame.get(f"driver_{curve}", [math.nan] * len(frames)), "k-", lw=2.2,
                  alpha=0.45, label="driver (real)" if protocol == "self" else "driver")
        for result in results:
            axis.plot(frames, result.per_frame.get(curve, [math.nan] * len(frames)), "-", lw=1.1,
                      label=result.contender)
        axis.set_ylabel(label, fontsize=9)
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.tick_params(labelsize=8)
        axis.legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("frame", fontsize=9)
    figure.suptitle(title, fontsize=10)
    _save(figure, path)
