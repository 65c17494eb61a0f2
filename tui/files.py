"""File helpers no feature owns: a file's SHA-256, and replacing a small text file atomically."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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


def write_text_atomically(path: Path, text: str) -> None:
    """Write beside `path` and rename over it, so a reader sees the old file or the whole new one.
    On OSError the temporary file is removed and the error raised."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
