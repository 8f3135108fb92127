"""``portrait-animator render-job JOB.json [--frames A-B]``: render a job file, or one chunk of it.

A farm runs one such command per chunk; the add-on runs it with ``--progress json``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading

from ..config import FrameRange, RenderJob
from ..errors import RenderCancelled
from .progress import add_progress_argument, reporter_for


def register(subparsers) -> None:
    parser = subparsers.add_parser("render-job", help="render a job file (or one chunk of its frames)",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("job", help="the JSON job file")
    parser.add_argument("--frames", help="only these frames of the job's shot, e.g. 101-150 (a farm chunk); the "
                                         "shot itself (and so the motion) stays what the job file says")
    parser.add_argument("--overwrite", action="store_true", help="re-render frames that already exist")
    add_progress_argument(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    job = RenderJob.load(args.job)
    chunk = FrameRange.parse(args.frames, "--frames") if args.frames else None
    if args.overwrite:
        job = dataclasses.replace(job, output=dataclasses.replace(job.output, overwrite=True))
    return run_job(job, args, chunk)


def run_job(job: RenderJob, args, chunk: FrameRange | None = None) -> int:
    """Run the pipeline with progress output and signal-driven cancellation; return the exit code."""
    from ..pipeline import AnimatePipeline  # heavy imports only once a render is really asked for

    reporter = reporter_for(args)
    args.reporter = reporter
    cancel = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: cancel.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    pipeline = AnimatePipeline(job, progress=reporter, cancel=cancel, chunk=chunk)
    state = {"started": False, "done": 0, "total": 0}

    def progress(done, total, message="", **info):
        if info.get("stage") == "render":
            if not state["started"]:
                state["started"] = True
                reporter.emit("start", total=total, first_frame=info.get("first_frame"),
                              last_frame=info.get("last_frame"), fps=info.get("fps"), **_outputs(pipeline.pattern))
            state.update(done=done, total=total)
        reporter(done, total, message, **info)

    pipeline.progress = progress
    try:
        result = pipeline.run()
    except RenderCancelled:
        reporter.close_line()
        reporter.emit("cancelled", done=state["done"], total=state["total"])
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    reporter.close_line()
    reporter.emit("done", written=len(result.written), skipped=len(result.skipped), total=len(result.frames),
                  first_frame=result.frames[0], last_frame=result.frames[-1], fps=result.fps,
                  seconds=round(result.seconds, 2), **_outputs(pipeline.pattern))
    if reporter.mode != "json":
        print(f"{len(result.written)} frames written, {len(result.skipped)} already there: "
              f"{os.path.abspath(result.output.blender_path)}", file=sys.stderr)
    return 0


def _outputs(pattern) -> dict:
    """Where the frames and the matte go: EXR holds the matte as a channel, PNG/TIFF as a sibling sequence."""
    exr = pattern.extension == ".exr"
    matte = pattern if exr else pattern.with_tag("matte")
    return {"output": os.path.abspath(pattern.blender_path), "matte": os.path.abspath(matte.blender_path),
            "matte_channel": "matte.A" if exr else None}
