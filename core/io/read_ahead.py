"""Reading ahead: the next items of an iterator are made on a background thread while the caller works.

The pipeline decodes the driver's frame N+1 while it renders frame N (PyAV and OpenImageIO release the GIL
while they decode). Items come in order and at most ``depth`` ahead (bounded memory); an error raised by
the source comes out of the caller's ``next`` after the items before it, as itself; closing the reader
early stops the thread and closes the source (the open video file).
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_END = object()
_POLL_S = 0.1  # how often a producer waiting on a full queue checks whether the reader was closed


def read_ahead(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """The items of ``items``, read on a background thread up to ``depth`` ahead of the caller."""
    ahead: queue.Queue = queue.Queue(maxsize=max(1, depth))
    closed = threading.Event()

    def produce() -> None:
        source = iter(items)  # the source runs on this thread only, from its first item to its close
        try:
            for item in source:
                if not _put(ahead, (item, None), closed):
                    return
            _put(ahead, (_END, None), closed)
        except BaseException as error:  # handed to the caller, who raises it where it belongs
            _put(ahead, (_END, error), closed)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ahead.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        closed.set()
        thread.join()


def _put(ahead: queue.Queue, entry: tuple, closed: threading.Event) -> bool:
    """Queue ``entry`` unless the reader is closed first; whether it was queued."""
    while not closed.is_set():
        try:
            ahead.put(entry, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False
