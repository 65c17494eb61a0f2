"""The cache's compact index of a prediction file: its normalized columns in a plain `.npz`.

Opening a file seen before reads this instead of inflating and unpickling the original. An
index belongs to one file path and one family choice; it is used only while the file's size and
modification time are what they were when it was written, and rebuilt otherwise.
"""

from __future__ import annotations

import hashlib
import math
import struct
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from tui import outside_json, paths
from tui.files import json_text, replaced_atomically
from tui.predictions.columns import Columns

VERSION = 2
"""2: masks' sizes and form checked (tui.predictions.rle) before the index is written; older ones are rebuilt."""
MAX_SIZE_RATIO = 16
"""An index larger than this many times its file (plus INDEX_SLACK) is not kept in the cache."""
INDEX_SLACK = 16 << 20
_INFO_KEY = "info"
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
"""A zip member's local file header: its last two fields are the name and extra-field lengths."""


def index_file(source: Path, family: str | None) -> Path:
    key = f"{source.resolve()}\0{family or ''}".encode("utf-8", "surrogateescape")
    return paths.indexes_dir() / f"{hashlib.sha1(key).hexdigest()}.npz"


def _fingerprint(source: Path) -> dict:
    stat = source.stat()
    return {"source": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _memory_mapped(target: Path) -> dict[str, np.ndarray]:
    """The arrays of an uncompressed .npz, mapped from the file rather than read: reopening costs
    next to nothing, and mask bytes are paged in only for the masks drawn."""
    arrays = {}
    with open(target, "rb") as handle, zipfile.ZipFile(handle) as archive:
        for member in archive.infolist():
            if member.compress_type != zipfile.ZIP_STORED or not member.filename.endswith(".npy"):
                raise ValueError(f"{member.filename} is not a stored .npy")
            handle.seek(member.header_offset)
            local = handle.read(_LOCAL_HEADER.size)
            name_length, extra_length = _LOCAL_HEADER.unpack(local)[-2:]
            handle.seek(member.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
            version = npy_format.read_magic(handle)
            read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(handle)
            if dtype.hasobject:
                raise ValueError(f"{member.filename} holds objects")
            key = member.filename[: -len(".npy")]
            if math.prod(shape) * dtype.itemsize > member.compress_size:  # a header announcing more than it holds
                raise ValueError(f"{member.filename} announces more than it holds")
            if math.prod(shape) == 0:
                arrays[key] = np.zeros(shape, dtype)
            else:
                mapped = np.memmap(target, dtype=dtype, mode="r", offset=handle.tell(), shape=shape,
                                   order="F" if fortran_order else "C")
                arrays[key] = np.asarray(mapped)  # a plain (read-only) ndarray over the mapping
    return arrays


def load(source: Path, family: str | None, target: Path | None = None) -> tuple[Columns, dict] | None:
    """(columns, info) from a current index (the cache's, or `target`), None when there is none or
    the file changed since."""
    target = target or index_file(source, family)
    try:
        arrays = _memory_mapped(target)
        info = outside_json.parse(bytes(arrays.pop(_INFO_KEY)))
        if info.get("version") != VERSION or info.get("fingerprint") != _fingerprint(source):
            return None
        return Columns.from_arrays(arrays), info
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError, struct.error):
        return None


def save(source: Path, family: str | None, columns: Columns, info: dict, target: Path | None = None) -> Path | None:
    """Write the index into the cache, atomically; None (and no index) when the cache cannot be
    written, or when the index would be larger than MAX_SIZE_RATIO x the file.

    With `target` (a fresh temporary file), write it there instead, whatever its size.
    """
    record = dict(info, version=VERSION, fingerprint=_fingerprint(source))
    arrays = {**columns.arrays(), _INFO_KEY: np.frombuffer(json_text(record).encode("utf-8"), dtype=np.uint8)}
    if target is not None:
        try:
            with open(target, "xb") as stream:
                np.savez(stream, **arrays)
        except OSError:
            return None
        return target
    if sum(a.nbytes for a in arrays.values()) > MAX_SIZE_RATIO * record["fingerprint"]["size"] + INDEX_SLACK:
        return None
    target = index_file(source, family)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with replaced_atomically(target, binary=True) as stream:
            np.savez(stream, **arrays)
    except OSError:
        return None
    return target
