"""Manual imports: a checkpoint the user downloaded by hand (FashionFormer's OneDrive files).

The file is recognised as a PyTorch checkpoint by its container alone, never by unpickling it:
- the zip format (torch >= 1.6): a zip whose entries sit under one folder holding `data.pkl`
  (a pickle stream, first byte PROTO 0x80) and `version`;
- the legacy format: a pickle stream whose first object is torch's magic number
  0x1950a86a20f9469cfc6c, stored as PROTO, optional FRAME, then LONG1 with 10 little-endian bytes.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

from tui.downloads.files import disk_error, remove_quietly, replace_durably
from tui.downloads.locks import locked
from tui.downloads.progress import Meter, ProgressCallback, ignore
from tui.errors import UserError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_PROTO, _FRAME, _LONG1 = 0x80, 0x95, 0x8A


def _zip_format(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        for name in names:
            folder, _, leaf = name.rpartition("/")
            if leaf == "data.pkl" and folder and ({f"{folder}/version", f"{folder}/.data/version"} & names):
                with archive.open(name) as pickle_stream:
                    return pickle_stream.read(1) == bytes([_PROTO])
    return False


def _legacy_format(head: bytes) -> bool:
    if len(head) < 2 or head[0] != _PROTO or not 2 <= head[1] <= 5:
        return False
    position = 2
    if len(head) > position and head[position] == _FRAME:
        position += 9  # FRAME opcode + 8-byte frame length
    if len(head) < position + 2 or head[position] != _LONG1:
        return False
    size = head[position + 1]
    digits = head[position + 2:position + 2 + size]
    return len(digits) == size and int.from_bytes(digits, "little", signed=True) == LEGACY_MAGIC


def checkpoint_format(path: Path) -> str:
    """'zip' or 'legacy' for a PyTorch checkpoint; UserError saying what the file is otherwise."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(b"PK"):
        try:
            if _zip_format(path):
                return "zip"
        except (zipfile.BadZipFile, OSError, EOFError):
            raise UserError(f"{path} is a damaged zip file, not a complete PyTorch checkpoint") from None
        raise UserError(f"{path} is a zip file but not a PyTorch checkpoint (no */data.pkl with */version)")
    if _legacy_format(head):
        return "legacy"
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        raise UserError(f"{path} is a web page, not a checkpoint: the browser saved OneDrive's page instead of "
                        "the file; use its Download button")
    raise UserError(f"{path} is not a PyTorch checkpoint (neither torch's zip format nor its legacy pickle format)")


def import_file(source: Path, target: Path, on_progress: ProgressCallback = ignore,
                check: Callable[[Path], object] = checkpoint_format) -> str:
    """Check `source` (by default: that it is a PyTorch checkpoint), copy it atomically to `target`;
    return its sha256."""
    if not source.is_file():
        raise UserError(f"{source} does not exist or is not a file")
    check(source)
    part = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target):
        meter = Meter("copy", target.name, on_progress, total=source.stat().st_size)
        try:
            with open(source, "rb") as reader, open(part, "wb") as writer:
                while chunk := reader.read(1 << 20):
                    writer.write(chunk)
                    digest.update(chunk)
                    meter.advance(len(chunk))
            replace_durably(part, target)
        except OSError as exc:
            remove_quietly(part)
            raise disk_error(exc, target) from None
    return digest.hexdigest()

