"""Keeping MediaPipe's start-up chatter off the terminal.

MediaPipe's native code (TFLite, absl, glog) prints INFO and W0000 lines straight to file descriptor 2
when a graph starts and on its first inference; no environment variable silences them, and the CLI
promises one clean line per error. So graphs are started and warmed up with descriptor 2 pointed at
/dev/null, then it is restored: errors later in the run still reach the user.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager


@contextmanager
def silenced_native_stderr():
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (e.g. a daemon): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
