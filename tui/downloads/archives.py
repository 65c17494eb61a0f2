"""Safe unpacking of the amrcnn checkpoint tarballs.

A checkpoint tarball holds plain files in a folder, nothing else, so that is all this accepts:
every member is checked before anything is written, and any link (symbolic or hard), device file
or fifo, absolute path or `..` refuses the whole archive. Members are written by this module, not
by `tarfile.extract`, so the result does not depend on which Python patch release (and which
version of tarfile's `data` filter) runs: each member's destination is resolved after joining it
to the staging folder and must stay inside it, and files are created exclusively, never through a
link. The archive is unpacked into that temporary folder beside the target and renamed into place
only when the expected files are all there, so a half-unpacked or hostile archive never leaves
anything at the target (or outside the cache).
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

from tui.downloads.files import disk_error
from tui.downloads.progress import Meter, ProgressCallback, ignore
from tui.errors import UserError
from tui.files import fsync_dir

_SPECIAL_KINDS = ((tarfile.TarInfo.issym, "a symlink"), (tarfile.TarInfo.islnk, "a hard link"),
                  (tarfile.TarInfo.ischr, "a device file"), (tarfile.TarInfo.isblk, "a device file"),
                  (tarfile.TarInfo.isfifo, "a fifo"))
_CLASHES = (errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ELOOP)
"""What creating a member reports when another member already took its name (or a parent's)."""
_SHOWN_NAME = 160
"""Characters of a member's name a message shows (a hostile name may be thousands long)."""


def _shown(name: str) -> str:
    """A member's name for a one-line message: control characters escaped, the middle of a long one cut."""
    if not name.isprintable():
        name = repr(name)[1:-1]
    return name if len(name) <= _SHOWN_NAME else f"{name[:_SHOWN_NAME // 2]}...{name[-_SHOWN_NAME // 2:]}"


def _inside(path: str) -> bool:
    """A normalised relative POSIX path that stays inside its root."""
    normal = posixpath.normpath(path)
    return not posixpath.isabs(normal) and normal != ".." and not normal.startswith("../")


def check_member(member: tarfile.TarInfo) -> None:
    """Raise UserError unless the member is a plain file or folder whose name stays inside the target."""
    name = _shown(member.name)
    for test, kind in _SPECIAL_KINDS:
        if test(member):
            raise UserError(f"refusing archive member {name}: it is {kind}; a checkpoint holds only files and folders")
    if not (member.isreg() or member.isdir()):
        raise UserError(f"refusing archive member {name}: unknown member type {member.type!r}")
    if member.name.startswith(("/", "\\")) or (len(member.name) > 1 and member.name[1] == ":"):
        raise UserError(f"refusing archive member with an absolute path: {name}")
    if ".." in member.name.replace("\\", "/").split("/") or not _inside(member.name):
        raise UserError(f"refusing archive member that climbs out of the target: {name}")
    if member.isreg() and posixpath.normpath(member.name) == ".":
        raise UserError(f"refusing archive file member without a name: {name!r}")


def _destination(staging: Path, member: tarfile.TarInfo) -> Path:
    """Where the member goes: joined to the staging folder, resolved, and still inside it."""
    destination = Path(os.path.realpath(staging / posixpath.normpath(member.name)))
    if destination != staging and staging not in destination.parents:
        raise UserError(f"refusing archive member {_shown(member.name)}: it would be written outside the target")
    return destination


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, staging: Path) -> None:
    destination = _destination(staging, member)
    try:
        if member.isdir():
            if destination != staging:
                destination.mkdir(parents=True, exist_ok=True)
            return
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        # O_EXCL|O_NOFOLLOW: a new file of our own, never an existing one or the far end of a link
        fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as handle:
            shutil.copyfileobj(source, handle, 1 << 20)
    except OSError as exc:
        if exc.errno in _CLASHES:
            raise UserError(f"refusing archive member {_shown(member.name)}: another member already uses that name "
                            "or one of its folders") from None
        raise


def _root_folder(unpacked: Path, folder_name: str) -> Path:
    """The tarballs hold one folder named like the target; accept a flat archive too."""
    inner = unpacked / folder_name
    return inner if inner.is_dir() else unpacked


def unpack(archive: Path, target: Path, expected_files: tuple[str, ...] = (),
           on_progress: ProgressCallback = ignore) -> Path:
    """Unpack `archive` (tar, any compression) into the folder `target`, replacing what was there."""
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                check_member(member)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".unpacking", dir=target.parent))
            staging = Path(os.path.realpath(staging))
            try:
                meter = Meter("unpack", archive.name, on_progress, total=len(members))
                for member in members:
                    _write_member(tar, member, staging)
                    meter.advance(1)
                root = _root_folder(staging, target.name)
                missing = [name for name in expected_files if not (root / name).is_file()]
                if missing:
                    raise UserError(f"{archive.name} does not contain the expected {', '.join(missing)}")
                _swap_into_place(root, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except (tarfile.TarError, zlib.error, ValueError) as exc:
        raise UserError(f"{archive} is not a readable tar archive ({_flat(exc)})") from None
    except (EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise disk_error(exc, target) from None
        raise UserError(f"{archive} is truncated or corrupt ({_flat(exc)})") from None
    return target


def _flat(exc: Exception) -> str:
    """The exception's text on one line (tarfile lists each compression it tried on its own line)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _swap_into_place(source: Path, target: Path) -> None:
    """Rename the unpacked folder to `target`; an old target is moved aside first, then removed."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    source.rename(target)
    fsync_dir(target.parent)
    if old:
        shutil.rmtree(old, ignore_errors=True)
