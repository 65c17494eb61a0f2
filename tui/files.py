"""File helpers no feature owns: a file's SHA-256, replacing a text file atomically, reading a small
JSON file that may have been tampered with."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

CHUNK = 1 << 20


def sha256_of(path: Path, on_chunk=None) -> str:
    """The file's SHA-256 in hex; `on_chunk(bytes_read)` after each chunk, for progress."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if on_chunk:
                on_chunk(len(chunk))
    return digest.hexdigest()


@contextmanager
def replaced_atomically(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text file to write beside `path`, renamed over it when the block ends without an error, so a
    reader sees the old file or the whole new one. On any error the temporary file is removed and
    the error raised."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str) -> None:
    """Write beside `path` and rename over it, so a reader sees the old file or the whole new one.
    On an error the temporary file is removed and the error raised."""
    with replaced_atomically(path) as handle:
        handle.write(text)


def read_small_json(path: Path, limit: int) -> object | None:
    """The JSON value in `path`, or None when it is missing, not a regular file, larger than `limit`
    bytes, unreadable, not UTF-8 or not JSON. Opened without blocking and checked before reading, so
    a FIFO or a device put in its place cannot hang or flood the reader."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        raw = b""
        while len(raw) <= limit and (chunk := os.read(descriptor, limit + 1 - len(raw))):
            raw += chunk
    except OSError:
        return None
    finally:
        os.close(descriptor)
    if len(raw) > limit:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
