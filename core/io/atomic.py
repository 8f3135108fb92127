"""Atomic file creation: write beside the target, fsync, rename — a file that exists is complete.

Renders are interrupted (Ctrl-C, a killed farm task, a full disk); resume trusts that every frame file it
finds is whole. So nothing is ever written under its final name: data goes to a hidden partial file in
the same folder (same filesystem, so the rename is atomic), is flushed to disk, and only then renamed.
Partial names carry the host and process id, so a later run can remove the ones a dead process left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
from typing import Iterator

from ..errors import OutputError

_PARTIAL_SUFFIX = ".partial"
_PARTIAL_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<host>[^.-]*)-(?P<pid>\d+)-[0-9a-f]+\.partial$")


def partial_path(path: str) -> str:
    """A hidden sibling of ``path`` to write into; unique per process and call."""
    folder, name = os.path.split(os.path.abspath(path))
    host = socket.gethostname().split(".")[0].replace("-", "_")
    return os.path.join(folder, f".{name}.{host}-{os.getpid()}-{secrets.token_hex(4)}{_PARTIAL_SUFFIX}")


def commit(partial: str, path: str) -> None:
    """Flush ``partial`` to disk and rename it to ``path``; on any failure remove it and raise OutputError.

    The data is flushed before the rename, so after a crash a file under its final name is whole. The
    folder itself is not flushed: a crash may lose the newest renames, and a rerun then renders them again.
    """
    try:
        _fsync_file(partial)
        os.replace(partial, path)
    except OSError as error:
        discard(partial)
        raise OutputError(f"{path}: cannot finish writing ({describe_os_error(error)})") from None


def discard(partial: str) -> None:
    """Remove a partial file if it is there (best effort: never hide the error that led here)."""
    with contextlib.suppress(OSError):
        os.remove(partial)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a partial path to write; on success it becomes ``path``, on any exception it is removed."""
    path = os.fspath(path)
    partial = partial_path(path)
    try:
        yield partial
    except BaseException:
        discard(partial)
        raise
    commit(partial, path)


def remove_stale_partials(folder: str, name_prefix: str = "") -> list[str]:
    """Remove partial files that a process of this host left behind when it died; return their paths.

    Partials of live processes (another render writing into the same folder) and of other hosts (a farm
    on shared storage) are left alone.
    """
    host = socket.gethostname().split(".")[0].replace("-", "_")
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _PARTIAL_NAME.match(entry.name)
        if not match or not match["name"].startswith(name_prefix) or match["host"] != host:
            continue
        if not _process_alive(int(match["pid"])):
            discard(entry.path)
            removed.append(entry.path)
    return removed


def describe_os_error(error: OSError) -> str:
    """A short reason, saying plainly when the disk is full."""
    if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"disk full or file size limit reached: {error.strerror}"
    return error.strerror or str(error)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
