"""A STAND-IN for ``portrait-animator ... --progress json``, used only by the add-on runner's unit tests.

It prints the progress protocol (start / progress / done / error / cancelled JSON lines) with a delay per
"frame", and handles SIGTERM the way the contract says the real CLI does (finish the current frame, print
``cancelled``, exit 130). It renders nothing. The real engine process is exercised by the end-to-end
tests in ``tests/blender/test_engine_end_to_end.py``.

Usage: python fake_progress_engine.py [--frames N] [--delay S] [--fail-at K] [--ignore-term] [--noise]
       [--crash] [--no-engine]
"""

import argparse
import json
import signal
import sys
import time


def emit(**event):
    print(json.dumps(event), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.01)
    parser.add_argument("--fail-at", type=int, default=0)
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument("--noise", action="store_true", help="print non-protocol lines between events")
    parser.add_argument("--crash", action="store_true", help="die with a traceback and no error event")
    parser.add_argument("--no-engine", action="store_true", help="fail like a Python without the engine")
    args = parser.parse_args()
    if args.no_engine:
        print("/usr/bin/python3: No module named portrait_animator", file=sys.stderr)
        return 1
    stop = {"asked": False}
    signal.signal(signal.SIGTERM, (lambda *_: None) if args.ignore_term else
                  (lambda *_: stop.__setitem__("asked", True)))
    emit(event="start", total=args.frames, output="/tmp/out/shot.####.exr", first_frame=1, last_frame=args.frames)
    emit(event="progress", done=0, total=args.frames, stage="landmarks", message="finding landmarks")
    for frame in range(1, args.frames + 1):
        time.sleep(args.delay)
        if args.crash and frame == 2:
            raise RuntimeError("simulated crash in the stand-in engine")
        if frame == args.fail_at:
            message = f"/tmp/still.png: no face found in frame {frame}"
            emit(event="error", kind="NoFaceError", message=message)
            print(f"portrait-animator: error: {message}", file=sys.stderr)
            return 2
        if args.noise:
            print(f"warning: noisy line {frame}", flush=True)
        emit(event="progress", done=frame, total=args.frames, frame=frame, path=f"/tmp/out/shot.{frame:04d}.exr",
             message=f"frame {frame}", eta_s=args.delay * (args.frames - frame))
        if stop["asked"]:
            emit(event="cancelled", done=frame, total=args.frames)
            return 130
    emit(event="done", written=args.frames, skipped=0, total=args.frames, output="/tmp/out/shot.####.exr",
         first_frame=1, last_frame=args.frames, seconds=args.frames * args.delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
