"""JSON that comes from outside the app (downloads, annotation files, records on disk that a user or
another program may have changed), read with limits: on its size before it is read, on its nesting
before it is parsed. Whatever the bytes, the result is a value or one `BadJson` line, never a
RecursionError, a MemoryError or a hang on a FIFO put in the file's place."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tui.units import human_size

MAX_DEPTH = 64
"""Deeper than any record the app reads or writes; CPython's parser gives up near 1,000 anyway."""
RECORD_MAX_BYTES = 64 << 20
"""The most a record the app wrote itself (a manifest, a marker, a cache entry) may hold when read back."""

_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_ONE_KIND = bytes.maketrans(b"[{]}", b"(())")
"""Arrays and objects alike: their depth is what counts, and mismatched pairs are the parser's to refuse."""


class BadJson(ValueError):
    """Why the bytes are not a JSON value the app will take; one line."""


class TooDeep(BadJson):
    """The JSON nests deeper than the limit (a parser would run out of stack): likely hostile."""


def nesting_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the arrays and objects in `raw` nest more than `limit` deep. Fast on large files:
    strings are cut out, brackets become one kind, then each pass removes the empty pairs `()`
    (exactly the innermost level: `replace` does not look again at what it joined), so a document
    of depth d is empty after d passes. Unbalanced brackets are left to the parser to report."""
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")  # what is left of a string is between two quotes
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(_ONE_KIND, _NOT_BRACKETS)
    if b"(" * (limit + 1) in brackets:  # the usual hostile file: one long run of openings, found at once
        return True
    for _ in range(limit + 1):
        shorter = brackets.replace(b"()", b"")
        if len(shorter) == len(brackets):  # empty, or only unbalanced brackets left
            return False
        brackets = shorter
    return True  # a pair was still innermost at level limit + 1


def parse(raw: bytes | str, max_depth: int = MAX_DEPTH) -> object:
    """The JSON value in `raw`; BadJson when it is not JSON or nests deeper than `max_depth`."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if nesting_exceeds(data, max_depth):
        raise TooDeep(f"nested more than {max_depth} levels deep")
    try:
        return json.loads(data)
    except RecursionError:  # unbalanced and deep: the parser ran out of stack before it found the end
        raise TooDeep(f"nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise BadJson((str(exc).splitlines() or [type(exc).__name__])[0][:120]) from None


def read_bytes(path: Path, limit: int) -> bytes:
    """The whole content of a regular file of at most `limit` bytes. Opened without blocking and
    checked before reading. BadJson when it is larger or not a regular file; OSError when it cannot
    be opened or read (FileNotFoundError when missing, IsADirectoryError for a folder)."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "is a folder", str(path))
        if not stat.S_ISREG(mode):
            raise BadJson("is not a regular file")
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(descriptor, min(1 << 24, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(descriptor)
    if size > limit:
        raise BadJson(f"is larger than {human_size(limit)}")
    return b"".join(chunks)


def read(path: Path, limit: int, max_depth: int = MAX_DEPTH) -> object:
    """`read_bytes` then `parse`."""
    return parse(read_bytes(path, limit), max_depth)



def read_object(path: Path, limit: int | None = None) -> dict:
    """A record on disk that should hold one JSON object (the app's own manifests, markers, caches,
    state): BadJson when it is larger than `limit` (RECORD_MAX_BYTES), nested too deeply, not JSON
    or not an object; OSError when it cannot be read. Callers treat BadJson as a corrupt record."""
    value = parse(read_bytes(path, RECORD_MAX_BYTES if limit is None else limit))
    if not isinstance(value, dict):
        raise BadJson("is not a JSON object")
    return value
