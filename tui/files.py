"""File helpers no feature owns: a file's SHA-256, the one way a file is replaced atomically (text or
bytes, durable or not), the one way JSON is written (strictly). JSON from outside is read by
`tui.outside_json`."""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tui.errors import UserError

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
def replaced_atomically(path: Path, *, binary: bool = False, durable: bool = False,
                        newline: str | None = None) -> Iterator[IO]:
    """A file to write beside `path` (UTF-8 text, or bytes when `binary`), renamed over it when the
    block ends without an error, so a reader sees the old file or the whole new one. `durable` also
    flushes the data to disk before the rename and the folder after it, for records that must survive
    a power cut. The temporary file's name is this thread's own (`handle.name`); on any error it is
    removed and the error raised."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") if binary else open(temporary, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
        if durable:
            fsync_dir(path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: str | bytes, *, durable: bool = False) -> None:
    """`data` (text or bytes) as the whole new content of `path`, through `replaced_atomically`."""
    with replaced_atomically(path, binary=isinstance(data, bytes), durable=durable) as handle:
        handle.write(data)


def json_text(value, **options) -> str:
    """`json.dumps(value, **options)` for everything the app writes as JSON (files, `--json` output,
    caches): strict JSON, so a NaN or an infinity is refused with a UserError naming where it is
    (`results[0].score is NaN`) rather than written as the bare `NaN` strict parsers refuse."""
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:
        found = _non_finite(value, "")
        if found is None:
            raise
        where, number = found
        raise UserError(f"{where or 'the value'} is {json.dumps(number)}: strict JSON has no NaN or infinity, "
                        "so nothing was written") from None


def _non_finite(value, where: str) -> tuple[str, float] | None:
    """(where, the number) of the first NaN or infinity in a JSON-like value, depth first."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, value)
    if isinstance(value, dict):
        items = ((f"{where}.{key}" if where else str(key), item) for key, item in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{where}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for place, item in items:
        if (found := _non_finite(item, place)) is not None:
            return found
    return None


def fsync_dir(directory: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
