"""The evaluation run: plan the cases, run what is not already done, write the report.

Resumable: each (case, contender) result is a file under ``OUT/cases`` carrying a fingerprint of what
decided it (media files, frames, settings, renderer, checkpoint, engine version); a rerun reuses every
result whose fingerprint still matches and renders only the rest. Analysis caches (landmark tracks, still
analyses, dlib's view of the real frames) live under ``OUT/cache``. Change the engine's code and pass
``fresh`` to measure again.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import logging
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from ..cache import FileCache
from ..config import checkpoint_for
from ..errors import JobFieldError, PortraitAnimatorError, UnreadableFileError
from ..io.atomic import atomic_path
from ..io.frames import make_output_folder
from ..io.sources import open_frames
from ..landmarks.track import LandmarkTrack, rows_by_number
from ..version import __version__
from . import report
from .case_run import CaseInputs, EvaluationSettings, run_case
from .contenders import Contender, build_contenders
from .dlib_instrument import DlibInstrument
from .face_measures import face_curves
from .frame_scoring import FrameScorer
from .identity_groups import IdentityGroups
from .perceptual import FID_MIN_RELIABLE, PerceptualMetrics, frechet_distance
from .protocols import (DEFAULT_K, STILL_EXTENSIONS, VIDEO_EXTENSIONS, CrossCase, SelfCase, clip_name, cross_pairs,
                        find_files, self_case, spread)
from .reference import clip_track, measure_reference
from .results import CaseResult

log = logging.getLogger(__name__)

HARNESS_VERSION = 1  # bump when a change to the harness changes results
SHEET_SPREAD = 3  # contact-sheet rows spread over the window, plus the widest mouth and the largest head turn

Progress = Callable[..., None]


@dataclass
class EvaluationRequest:
    """One ``portrait-animator evaluate`` run."""

    clips_dir: str
    out: str
    renderers: list[str]
    stills_dir: str | None = None
    ks: tuple[int, ...] = DEFAULT_K
    protocols: tuple[str, ...] = ("self", "cross")
    settings: EvaluationSettings = field(default_factory=EvaluationSettings)
    groups: str | None = None  # identity-groups file; default: a MANIFEST.md beside the clips
    cross_pairs: int | None = None  # default: as many as there are clips or stills, whichever is more
    only: list[str] | None = None  # clip and still names or globs to keep (default: all)
    fresh: bool = False
    perceptual_weights: str | None = None  # folder with LPIPS/FID weights (default: the torch hub cache)
    command: str = ""


@dataclass
class _Task:
    case: SelfCase | CrossCase
    contender: Contender
    path: str
    fingerprint: str
    cached: CaseResult | None


def run_evaluation(request: EvaluationRequest, progress: Progress | None = None) -> dict:
    """Run (or resume) the evaluation and write ``OUT/index.html`` and ``OUT/results.json``; return the latter."""
    progress = progress or (lambda *args, **kwargs: None)
    started = time.monotonic()
    out = os.path.abspath(request.out)
    settings = request.settings
    cache = FileCache(os.path.join(out, "cache"))
    contenders, skipped = build_contenders(request.renderers, settings.checkpoints, settings.device)
    if not contenders:
        raise JobFieldError("--renderers", "names no renderer that can run here: " + "; ".join(skipped.values()))
    clips, stills = _media(request)
    groups = IdentityGroups.load(request.groups) if request.groups else IdentityGroups.find_beside(request.clips_dir)
    make_output_folder(out)
    perceptual = PerceptualMetrics.find(request.perceptual_weights)

    tracks, clip_errors = {}, {}
    for index, clip in enumerate(clips):
        progress(index, len(clips), f"landmarks of {os.path.basename(clip)}", stage="landmarks")
        try:
            tracks[clip] = clip_track(clip, cache, settings.landmark_backend)
        except PortraitAnimatorError as error:
            clip_errors[clip_name(clip)] = str(error)
    usable = [c for c in clips if c in tracks]
    cases = _plan(request, usable, stills, tracks, groups)
    tasks = [_task(case, contender, out, request, settings, perceptual)
             for case in cases for contender in contenders if contender.applies_to(case)]
    pending = [t for t in tasks if t.cached is None]
    total = sum(len(t.case.window) for t in pending)
    done = 0

    instrument = DlibInstrument()
    scorer = FrameScorer(instrument, perceptual.lpips, perceptual.fid)
    results: list[CaseResult] = []
    for clip in usable:
        clip_tasks = [t for t in tasks if t.case.clip == clip]
        if not clip_tasks:
            continue
        inputs_of: dict[str, CaseInputs] = {}
        for task in clip_tasks:
            if task.cached is not None:
                results.append(task.cached)
                continue
            message = f"{task.case.case_id} {task.contender.name}"
            progress(done, total, message, stage="render")

            def on_frame(number, message=message, counter=itertools.count(done + 1)):
                progress(next(counter), total, f"{message} frame {number}", stage="render")

            def inputs(case=task.case):
                if case.case_id not in inputs_of:
                    inputs_of[case.case_id] = _inputs(case, tracks[clip], cache, settings, instrument)
                return inputs_of[case.case_id]

            results.append(_run_task(task, inputs, settings, scorer, os.path.join(out, "cache"), on_frame))
            done += len(task.case.window)
        scorer.forget()

    notes = _notes(request, stills, groups)
    document = _document(request, results, skipped, clip_errors, notes, groups, perceptual, contenders,
                         time.monotonic() - started, len(pending), len(tasks))
    if perceptual.fid is not None:
        _add_fid(document, out, results)
    progress(total, total, "writing the report", stage="report")
    report.write_report(out, document, results)
    return document


def _run_task(task: _Task, inputs: Callable[[], CaseInputs], settings: EvaluationSettings, scorer: FrameScorer,
              cache_folder: str, on_frame: Callable[[int], None]) -> CaseResult:
    """Run one (case, contender) and keep its result on disk, unless a bug stopped it (then it is retried)."""
    try:
        result = run_case(inputs(), task.contender, settings, scorer, cache_folder, task.fingerprint,
                          task.path.replace(".json", ".thumbs.npz"), on_frame)
    except PortraitAnimatorError as error:  # the input's fault (no face in a still...): final
        result = _failed(task, str(error))
    except Exception as error:  # a bug must not lose a long run: report it, retry on the next run
        log.exception("%s with %s failed", task.case.case_id, task.contender.name)
        return _failed(task, f"internal error ({type(error).__name__}: {error}); rerun to retry")
    result.save(task.path)
    return result


# ------------------------------------------------------------------------------------ planning
def _media(request: EvaluationRequest) -> tuple[list[str], list[str]]:
    if not os.path.isdir(request.clips_dir):
        raise UnreadableFileError(f"{request.clips_dir}: clips folder not found")
    clips = _only(find_files(request.clips_dir, VIDEO_EXTENSIONS), request.only)
    if not clips:
        raise UnreadableFileError(f"{request.clips_dir}: no video clips to evaluate "
                                  f"({', '.join(VIDEO_EXTENSIONS)}{', after --only' if request.only else ''})")
    stills = []
    if "cross" in request.protocols and request.stills_dir:
        if not os.path.isdir(request.stills_dir):
            raise UnreadableFileError(f"{request.stills_dir}: stills folder not found")
        stills = _only(find_files(request.stills_dir, STILL_EXTENSIONS), request.only)
    return clips, stills


def _only(paths: list[str], patterns: list[str] | None) -> list[str]:
    if not patterns:
        return paths
    return [p for p in paths if any(fnmatch.fnmatchcase(os.path.basename(p), pat) or
                                    fnmatch.fnmatchcase(clip_name(p), pat) for pat in patterns)]


def _plan(request, clips, stills, tracks, groups) -> list[SelfCase | CrossCase]:
    settings = request.settings
    cases: list[SelfCase | CrossCase] = []
    for clip in clips:
        track = tracks[clip]
        with_face = track.frame_numbers[track.valid]
        if "self" in request.protocols:
            cases += [self_case(clip, k, with_face, track.frame_numbers, settings.max_frames) for k in request.ks]
    if "cross" in request.protocols:
        for still, clip in cross_pairs(stills, clips, groups, request.cross_pairs):
            window = self_case(clip, 1, [0], tracks[clip].frame_numbers, settings.max_frames).window
            cases.append(CrossCase(still, clip, window))
    return cases


def _file_identity(path: str | None) -> dict | None:
    if not path or path.startswith("preset:") or not os.path.exists(path):
        return None
    return {"name": os.path.basename(path), "size": os.path.getsize(path), "mtime": int(os.path.getmtime(path))}


def _task(case, contender, out, request, settings, perceptual) -> _Task:
    described = {"harness": HARNESS_VERSION, "engine": __version__, "contender": contender.name,
                 "case": {k: v for k, v in asdict(case).items()},
                 "clip": _file_identity(case.clip),
                 "still": _file_identity(getattr(case, "still", None)),
                 "checkpoint": _file_identity(checkpoint_for(contender.renderer,
                                                             settings.checkpoints.get(contender.renderer))),
                 "settings": settings.fingerprint_fields(), "lpips": perceptual.lpips is not None}
    fingerprint = hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:20]
    path = os.path.join(out, "cases", case.case_id, f"{contender.name}.json")
    cached = None
    if not request.fresh and os.path.exists(path):
        try:
            result = CaseResult.load(path)
            cached = result if result.fingerprint == fingerprint else None
        except (OSError, ValueError, TypeError, KeyError):
            cached = None  # an unreadable old result is simply measured again
    return _Task(case, contender, path, fingerprint, cached)


# ----------------------------------------------------------------------------------- case inputs
def _inputs(case, track: LandmarkTrack, cache: FileCache, settings: EvaluationSettings,
            instrument: DlibInstrument) -> CaseInputs:
    """The stills, driver and reference a case needs (written once under the cache folder)."""
    window = case.window
    # Identity frames and sheet times are chosen from the window alone, so every K of a clip shares them.
    identity = frozenset(spread(window, settings.identity_frames))
    sheet = _sheet_frames(track, window)
    reference = measure_reference(case.clip, track, window, identity, sheet, instrument, cache)
    if isinstance(case, SelfCase):
        sources = _source_stills(case, cache)
        driver = case.clip if settings.self_driver == "video" else _landmark_driver(case.clip, track, cache)
        neutral = str(case.sources[0])  # the still *is* this frame: motion is measured from it
    else:
        sources, driver, neutral = [case.still], case.clip, "auto"
    return CaseInputs(case, reference, sources, driver, neutral, identity, sheet)


def _sheet_frames(track: LandmarkTrack, window: tuple[int, ...]) -> tuple[int, ...]:
    """Contact-sheet times: spread over the window, plus the driver's widest mouth and largest head turn."""
    row_of = rows_by_number(track.frame_numbers)
    rows = [row_of[n] for n in window]
    curves = [face_curves(track.landmarks[r]) if np.isfinite(track.landmarks[r]).all() else None for r in rows]
    picks = set(spread(window[1:-1] or window, SHEET_SPREAD))
    measured = [(n, c) for n, c in zip(window, curves) if c is not None]
    if measured:
        picks.add(max(measured, key=lambda item: item[1]["mouth"])[0])
        yaw = np.median([c["yaw"] for _, c in measured])
        picks.add(max(measured, key=lambda item: abs(item[1]["yaw"] - yaw))[0])
    return tuple(sorted(picks))


def _source_stills(case: SelfCase, cache: FileCache) -> list[str]:
    """PNGs of the source frames (the pipeline takes stills); written once, byte-identical on reruns."""
    import cv2

    folder = os.path.join(cache.folder, "sources", case.name)
    os.makedirs(folder, exist_ok=True)
    paths = {n: os.path.join(folder, f"frame_{n:05d}.png") for n in case.sources}
    missing = {n for n, p in paths.items() if not os.path.exists(p)}
    if missing:
        for number, rgb in open_frames(case.clip).frames(min(missing), max(missing)):
            if number in missing:
                ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
                with atomic_path(paths[number]) as partial, open(partial, "wb") as handle:
                    handle.write(encoded.tobytes())
    return [paths[n] for n in case.sources]


def _landmark_driver(clip: str, track: LandmarkTrack, cache: FileCache) -> str:
    """The clip's own landmark track as a driver file: the renderer sees the motion, never the real pixels."""
    path = os.path.join(cache.folder, "drivers", f"{clip_name(clip)}.npz")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        track.save(path)
    return path


def _failed(task: _Task, message: str) -> CaseResult:
    case = task.case
    return CaseResult(case.case_id, case.group, os.path.basename(case.clip),
                      None if isinstance(case, SelfCase) else os.path.basename(case.still), task.contender.name,
                      task.fingerprint, list(case.window), [False] * len(case.window), {}, {}, error=message)


# ------------------------------------------------------------------------------------- document
def _notes(request: EvaluationRequest, stills: list[str], groups: IdentityGroups) -> list[str]:
    """What the run could not do as asked, in words for the report."""
    notes = []
    if "cross" in request.protocols:
        if not request.stills_dir:
            notes.append("cross-reenactment skipped: no --stills folder given")
        elif not stills:
            notes.append(f"cross-reenactment skipped: no stills in {request.stills_dir}"
                         + (" match --only" if request.only else ""))
        elif groups.source is None:
            notes.append("no identity groups (no --groups, no MANIFEST.md beside the clips): a still and a clip "
                         "of the same person may have been paired")
    return notes


def _document(request, results, skipped, clip_errors, notes, groups, perceptual, contenders, seconds, measured,
              total):
    from .results import TABLE_METRICS, aggregate

    groups_seen = sorted({r.group for r in results}, key=_group_order)
    summary = {}
    for group in groups_seen:
        metrics = TABLE_METRICS["cross" if group == "cross" else "self"]
        if perceptual.lpips is not None and group != "cross":
            metrics = metrics + ("lpips_face",)
        summary[group] = {c.name: aggregate([r for r in results if r.group == group and r.contender == c.name],
                                            metrics)
                          for c in contenders if any(r.group == group and r.contender == c.name for r in results)}
    return {
        "format": "portrait-animator/evaluation", "version": 1, "engine": __version__,
        "command": request.command, "seconds": round(seconds, 1), "cases_measured": measured, "cases_total": total,
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count()},
        "settings": {**asdict(request.settings), "ks": list(request.ks), "protocols": list(request.protocols),
                     "clips_dir": os.path.abspath(request.clips_dir),
                     "stills_dir": request.stills_dir and os.path.abspath(request.stills_dir)},
        "contenders": [c.name for c in contenders], "skipped_renderers": skipped,
        "skipped_metrics": perceptual.skipped, "clip_errors": clip_errors, "notes": notes,
        "perceptual_weights": perceptual.used,
        "identity_groups": {"source": groups.source, "groups": groups.groups},
        "summary": summary,
        "cases": [{"case": r.case_id, "group": r.group, "clip": r.clip, "still": r.still, "contender": r.contender,
                   "error": r.error, "summary": r.summary,
                   "file": os.path.relpath(os.path.join("cases", r.case_id, f"{r.contender}.json"))}
                  for r in sorted(results, key=lambda r: (_group_order(r.group), r.case_id, r.contender))],
    }


def _group_order(group: str):
    return (1, 0) if group == "cross" else (0, int(group.split("k")[-1]))


def _add_fid(document: dict, out: str, results: list[CaseResult]) -> None:
    """FID per K and contender, pooled over the scored frames of every clip (FID is not a per-clip score)."""
    for group, table in document["summary"].items():
        if group == "cross":
            continue
        for name, row in table.items():
            outputs, reals = [], []
            for result in results:
                path = os.path.join(out, "cases", result.case_id, f"{name}.fid.npz")
                if result.group == group and result.contender == name and not result.error and os.path.exists(path):
                    with np.load(path, allow_pickle=False) as data:
                        outputs.append(data["output"])
                        reals.append(data["real"])
            frames = sum(len(o) for o in outputs)
            value = frechet_distance(np.concatenate(outputs), np.concatenate(reals)) if frames >= 2 else math.nan
            row["fid"] = {"mean": value, "median": math.nan, "cases": frames,
                          "note": "pooled over frames" + ("" if frames >= FID_MIN_RELIABLE else
                                                          f"; fewer than {FID_MIN_RELIABLE} frames: biased high")}

