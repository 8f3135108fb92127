"""Analysis caches: files keyed by a hash of their inputs, computed once even by concurrent processes.

Farm chunks of one shot start at the same time on different machines sharing the output folder; each needs
the still's analysis and the driver's landmarks. The first to take the lock computes and writes the file
atomically; the others wait and read it. Re-runs read it straight away.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from contextlib import contextmanager
from typing import Callable, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


def cache_key(kind: str, **inputs) -> str:
    """A stable file-name-safe key from the inputs that determine a result."""
    text = json.dumps(inputs, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


class FileCache:
    """A folder of cached results; ``get_or_compute`` writes each at most once.

    ``hits`` and ``computed`` list the file names this object read and wrote: the batch report counts them
    per chunk, and they show that concurrent chunks computed each result once.
    """

    def __init__(self, folder: str):
        self.folder = folder
        self.hits: list[str] = []
        self.computed: list[str] = []

    def path(self, key: str, suffix: str = ".npz") -> str:
        return os.path.join(self.folder, key + suffix)

    def get_or_compute(self, key: str, compute: Callable[[], T], save: Callable[[T, str], None],
                       load: Callable[[str], T], suffix: str = ".npz") -> tuple[T, bool]:
        """(result, was_cached). ``save(result, path)`` must write ``path`` completely (it is a temp name)."""
        os.makedirs(self.folder, exist_ok=True)
        path = self.path(key, suffix)
        if os.path.exists(path):
            self.hits.append(os.path.basename(path))
            return load(path), True
        with _locked(path + ".lock"):
            if os.path.exists(path):  # another process finished it while we waited
                self.hits.append(os.path.basename(path))
                return load(path), True
            result = compute()
            tmp = f"{path}.tmp-{os.getpid()}{suffix}"
            try:
                save(result, tmp)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            self.computed.append(os.path.basename(path))
            log.info("cache: computed %s", path)
            return result, False


@contextmanager
def _locked(lock_path: str):
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
