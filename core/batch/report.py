"""The batch report: a per-shot summary for people and the same facts as JSON for pipeline tools.

Frame counts are facts from the chunks' own results and from the output folders, never estimates: ``written``
frames were rendered by this run, ``skipped`` were already finished on disk (resume), ``missing`` are neither.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field

from ..io.atomic import atomic_path
from .chunk_task import ChunkResult
from .plan import BatchPlan, Chunk, Shot

REPORT_FORMAT = "portrait-animator/batch-report"
REPORT_VERSION = 1


@dataclass
class ChunkRecord:
    """One chunk in the report: its final result plus how it got there (retries, queueing)."""

    shot: int
    chunk: int
    frames: str
    status: str  # ok, error, failed, cancelled, finished-before (nothing to do), not-run (shot failed or cancel)
    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    attempts: int = 0
    retries: list[dict] = field(default_factory=list)  # {"pid": p, "reason": "was killed by SIGKILL"}
    error_kind: str | None = None
    error: str | None = None
    worker: str | None = None  # host:pid that produced the result
    queued_s: float | None = None
    import_s: float | None = None
    prepare_s: float | None = None
    render_s: float | None = None
    cache_hits: int = 0
    cache_computed: int = 0
    preview: bool = False  # the whole-shot task that writes the preview movie after the chunks

    @classmethod
    def from_result(cls, chunk: Chunk, result: ChunkResult, retries: list[dict], submitted_at: float | None):
        queued = None
        if submitted_at is not None and result.started_at:
            queued = round(max(0.0, result.started_at - submitted_at), 4)
        return cls(chunk.shot, chunk.index, chunk.frames_text, result.status, sorted(result.written),
                   sorted(result.skipped), result.attempt, retries, result.error_kind, result.error,
                   f"{result.host}:{result.pid}" if result.pid else None, queued, result.import_s or None,
                   result.prepare_s or None, result.render_s or None, len(result.cache_hits),
                   len(result.cache_computed))


@dataclass
class ShotSummary:
    name: str
    job: str
    output: str | None
    frames: str
    frame_count: int
    status: str  # ok, failed (a user error), incomplete (frames missing: a crash or a cancel)
    written: int = 0
    skipped: int = 0
    missing: list[int] = field(default_factory=list)
    error_kind: str | None = None
    error: str | None = None
    render_s: float = 0.0


def shot_summary(shot: Shot, records: list[ChunkRecord], on_disk: set[int]) -> ShotSummary:
    """Sum a shot's chunk records. ``on_disk``: its frames found finished in the output folder now.

    ``written`` counts frames finished now that were not when the batch was planned, so frames of an attempt
    that was killed (and then reported as skipped by the retry) are counted as this run's work, once.
    """
    frames = f"{shot.frames[0]}-{shot.frames[-1]}" if shot.frames else "-"
    summary = ShotSummary(shot.name, shot.job_path, shot.output, frames, len(shot.frames), "ok",
                          error_kind=shot.error_kind, error=shot.error)
    finished = set(on_disk)
    for record in records:
        finished.update(record.written, record.skipped)
        summary.render_s += (record.prepare_s or 0.0) + (record.render_s or 0.0)
        if record.error and summary.error is None and record.status in ("error", "failed", "cancelled"):
            summary.error_kind, summary.error = record.error_kind, record.error
    finished &= set(shot.frames)
    summary.written = len(finished - shot.finished_before)
    summary.skipped = len(shot.finished_before)
    summary.missing = [n for n in shot.frames if n not in finished and n not in shot.finished_before]
    summary.render_s = round(summary.render_s, 3)
    if shot.error or any(r.status == "error" for r in records):
        summary.status = "failed"
    elif summary.missing:
        summary.status = "incomplete"
    return summary


def build_report(plan: BatchPlan, workers: str, records: list[ChunkRecord], summaries: list[ShotSummary],
                 started_at: float, seconds: float, cancelled: bool, worker_startup_s: list[float]) -> dict:
    ran = [r for r in records if r.status not in ("finished-before", "not-run")]
    totals = {
        "shots": len(summaries),
        "shots_ok": sum(s.status == "ok" for s in summaries),
        "shots_failed": sum(s.status == "failed" for s in summaries),
        "shots_incomplete": sum(s.status == "incomplete" for s in summaries),
        "frames": sum(s.frame_count for s in summaries),
        "written": sum(s.written for s in summaries),
        "skipped": sum(s.skipped for s in summaries),
        "missing": sum(len(s.missing) for s in summaries),
        "chunks": len(records),
        "chunks_run": len(ran),
        "retries": sum(len(r.retries) for r in records),
    }
    if cancelled:
        status = "cancelled"
    elif totals["shots_ok"] == totals["shots"]:
        status = "ok"
    else:
        status = "failed"
    return {
        "format": REPORT_FORMAT, "version": REPORT_VERSION, "status": status, "workers": workers,
        "chunk_size": plan.chunk_size,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started_at)),
        "seconds": round(seconds, 3),
        "frames_per_second": round(totals["written"] / seconds, 3) if seconds > 0 else None,
        "worker_startup_s": [round(s, 3) for s in worker_startup_s],
        "totals": totals,
        "shots": [asdict(s) for s in summaries],
        "chunks": [asdict(r) for r in records],
    }


def write_report(path: str, report: dict) -> None:
    """Write the JSON report atomically (a farm tool polling it never reads half a file)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with atomic_path(path) as partial:
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
            handle.write("\n")


def format_summary(report: dict) -> str:
    """The per-shot table printed at the end of a batch."""
    rows = [("shot", "frames", "written", "skipped", "missing", "status", "detail")]
    for shot in report["shots"]:
        detail = shot["error"] if shot["error"] else shot["output"] or ""
        rows.append((shot["name"], shot["frames"], str(shot["written"]), str(shot["skipped"]),
                     str(len(shot["missing"])), shot["status"], detail))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
    totals = report["totals"]
    lines.append(f"{totals['shots_ok']}/{totals['shots']} shots ok; {totals['written']} frames written, "
                 f"{totals['skipped']} already there, {totals['missing']} missing; {totals['chunks_run']} chunks run "
                 f"({totals['retries']} retried) on {report['workers']} in {report['seconds']:.1f} s")
    return "\n".join(lines)
