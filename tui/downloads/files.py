"""Small file helpers every writer in the cache uses: moving a finished file into place durably, disk
errors. A file written whole in one go goes through `tui.files.replaced_atomically` instead."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from tui.errors import UserError
from tui.files import fsync_dir


def replace_durably(source: Path, target: Path) -> None:
    """Move a finished file into place: fsync its data, rename atomically, fsync the directory."""
    with open(source, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(source, target)
    fsync_dir(target.parent)


def remove_quietly(*files: Path) -> None:
    for file in files:
        try:
            file.unlink()
        except FileNotFoundError:
            pass


def disk_error(exc: OSError, writing: Path) -> UserError:
    """An OSError while writing into the cache, as one line the user can act on."""
    if exc.errno == errno.ENOSPC:
        return UserError(f"disk full while writing {writing} (free some space in {writing.parent} and try again)")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UserError(f"cannot write {writing}: {exc.strerror}")
    return UserError(f"writing {writing} failed: {exc.strerror or exc}")
