"""The cache's compact index of a prediction file: its normalized columns in a plain `.npz`.

Opening a file seen before reads this instead of inflating and unpickling the original. An
index belongs to one file path and one family choice; it is used only while the file's size and
modification time are what they were when it was written, and rebuilt otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from tui import paths
from tui.predictions.columns import Columns

VERSION = 1
_INFO_KEY = "info"


def index_file(source: Path, family: str | None) -> Path:
    key = f"{source.resolve()}\0{family or ''}".encode("utf-8", "surrogateescape")
    return paths.indexes_dir() / f"{hashlib.sha1(key).hexdigest()}.npz"


def _fingerprint(source: Path) -> dict:
    stat = source.stat()
    return {"source": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def load(source: Path, family: str | None) -> tuple[Columns, dict] | None:
    """(columns, info) from a current index, None when there is none or the file changed since."""
    target = index_file(source, family)
    try:
        with np.load(target, allow_pickle=False) as arrays:
            info = json.loads(arrays[_INFO_KEY].tobytes().decode("utf-8"))
            if info.get("version") != VERSION or info.get("fingerprint") != _fingerprint(source):
                return None
            return Columns.from_arrays({key: arrays[key] for key in arrays.files}), info
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None


def save(source: Path, family: str | None, columns: Columns, info: dict) -> Path | None:
    """Write the index atomically; None (and no index) when the cache cannot be written."""
    target = index_file(source, family)
    record = dict(info, version=VERSION, fingerprint=_fingerprint(source))
    payload = np.frombuffer(json.dumps(record).encode("utf-8"), dtype=np.uint8)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".npz.part")
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **columns.arrays(), **{_INFO_KEY: payload})
        os.replace(temporary, target)
    except OSError:
        return None
    return target
