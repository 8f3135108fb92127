"""``portrait-animator batch JOBS... --workers local:N|ray://HOST:PORT|ray:auto``: render many shots in chunks.

Every job is split into chunks of frames that run on local worker processes or on a Ray cluster. Rerunning
a batch renders only the frames that are not on disk yet. Exit code: 0 when every shot is complete, 2 when a
shot failed for a user error (reported; the other shots still ran), 1 when frames are missing for another
reason (a chunk that kept crashing), 130 when cancelled.
"""

from __future__ import annotations

import glob
import os
import signal
import sys

from ..errors import JobFieldError
from .progress import add_progress_argument, reporter_for


def register(subparsers) -> None:
    parser = subparsers.add_parser("batch", help="render many job files in chunks, locally or on a Ray cluster",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("jobs", nargs="+", metavar="JOB", help="job files (a folder means every *.json in it)")
    parser.add_argument("--workers", default="local",
                        help="local:N (N processes here; default: one per core), ray://HOST:PORT (Ray Client), "
                             "ray:HOST:PORT (join that cluster), ray:auto, or ray:local[:N] (a private Ray here)")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="frames per chunk (default 50): larger chunks pay the per-chunk set-up less often, "
                             "smaller ones spread a short shot over more workers")
    parser.add_argument("--retries", type=int, default=2,
                        help="times a chunk runs again when its worker process dies (default 2)")
    parser.add_argument("--report", help="write the batch report (JSON) here")
    parser.add_argument("--worker-log", help="local workers' stderr goes here (default: discarded)")
    parser.add_argument("--cpus-per-chunk", type=float, default=1.0, help="Ray: CPUs each chunk asks for")
    parser.add_argument("--gpus-per-chunk", type=float, default=1.0,
                        help="Ray: GPUs each chunk of a cuda (or auto, on a GPU cluster) job asks for; "
                             "a fraction such as 0.5 lets chunks share a card")
    add_progress_argument(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from ..batch.plan import DEFAULT_CHUNK_SIZE, plan_batch
    from ..batch.report import format_summary, write_report
    from ..batch.runner import BatchRunner
    from ..batch.workers import create_executor

    reporter = reporter_for(args)
    args.reporter = reporter
    if args.retries < 0:
        raise JobFieldError("--retries", f"must be 0 or more (got {args.retries})")
    executor = create_executor(args.workers, args.retries, args.cpus_per_chunk, args.gpus_per_chunk,
                               log_path=args.worker_log)
    plan = plan_batch(_job_files(args.jobs), args.chunk_size or DEFAULT_CHUNK_SIZE)
    runner = BatchRunner(plan, executor, on_event=_EventPrinter(reporter))
    previous = {sig: signal.signal(sig, lambda *_: runner.cancel()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = runner.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    reporter.close_line()
    if args.report:
        write_report(args.report, report)
    if reporter.mode != "json":
        print(format_summary(report))
    if report["status"] == "cancelled":
        return 130
    totals = report["totals"]
    if totals["shots_failed"]:
        return 2
    return 1 if totals["shots_incomplete"] else 0


class _EventPrinter:
    """Batch events -> an overall progress bar (terminal) or JSON lines (tools)."""

    def __init__(self, reporter):
        self.reporter = reporter
        self.shots_done = 0
        self.shots = 0

    def __call__(self, event: str, **fields) -> None:
        reporter = self.reporter
        if event == "done":
            report = fields["report"]
            reporter.emit("done", status=report["status"], totals=report["totals"], shots=report["shots"],
                          seconds=report["seconds"])
            return
        if event == "start":
            self.shots = fields["shots"]
        if event == "shot-done":
            self.shots_done += 1
        reporter.emit(event, **fields)
        if reporter.mode != "bar":
            return
        if event in ("start", "progress"):
            reporter(fields["done"], fields["total"],
                     f"frames, {self.shots_done}/{self.shots} shots done {fields.get('message', '')}".rstrip())
        elif event == "retry" or (event == "shot-done" and fields["status"] != "ok"):
            reporter.close_line()
            if event == "retry":
                line = f"chunk {fields['name']} {fields['frames']}: worker {fields['reason']}; running it again"
            else:
                line = f"shot {fields['name']}: {fields['status']}: {fields['error'] or 'frames missing'}"
            print(f"portrait-animator: {line}", file=sys.stderr)


def _job_files(paths: list[str]) -> list[str]:
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(glob.glob(os.path.join(path, "*.json")))
            if not found:
                raise JobFieldError("JOB", f"folder {path} holds no .json job files")
            files.extend(found)
        else:
            files.append(path)
    return files
