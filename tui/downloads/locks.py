"""A cross-process lock per cache file (fcntl.flock on NAME.lock): one writer at a time."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path(target: Path) -> Path:
    return target.with_name(target.name + ".lock")


@contextmanager
def locked(target: Path, on_wait=None) -> Iterator[None]:
    """Hold the lock for `target`; if another process holds it, call `on_wait()` once and block.

    The lock file stays behind (deleting it would race with a waiter); it is empty and harmless.
    """
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def is_locked(target: Path) -> bool:
    """True while some process (this one included) holds the lock for `target`."""
    path = lock_path(target)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
