"""Safe unpacking of the amrcnn checkpoint tarballs.

Every member is checked before anything is written: no absolute paths, no `..`, no links that
point outside the target, no device files or fifos. The archive is unpacked into a temporary
folder beside the target and renamed into place only when the expected files are all there, so a
half-unpacked or hostile archive never leaves anything at the target (or outside the cache).
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path

from tui.downloads.files import disk_error, fsync_dir
from tui.downloads.progress import Meter, ProgressCallback, ignore
from tui.errors import UserError


def _inside(path: str) -> bool:
    """A normalised relative POSIX path that stays inside its root."""
    normal = posixpath.normpath(path)
    return not posixpath.isabs(normal) and normal != ".." and not normal.startswith("../")


def check_member(member: tarfile.TarInfo) -> None:
    """Raise UserError when unpacking this member could write outside the target or create a device."""
    name = member.name
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UserError(f"refusing archive member with an absolute path: {name}")
    if ".." in name.replace("\\", "/").split("/") or not _inside(name):
        raise UserError(f"refusing archive member that climbs out of the target: {name}")
    if member.issym():
        # a symlink's target is relative to the folder holding the link
        resolved = posixpath.join(posixpath.dirname(name), member.linkname)
        if posixpath.isabs(member.linkname) or not _inside(resolved):
            raise UserError(f"refusing symlink pointing outside the target: {name} -> {member.linkname}")
    elif member.islnk():
        if posixpath.isabs(member.linkname) or not _inside(member.linkname):
            raise UserError(f"refusing hard link pointing outside the target: {name} -> {member.linkname}")
    elif not (member.isreg() or member.isdir()):
        raise UserError(f"refusing archive member that is a device file or fifo: {name}")


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
            try:
                meter = Meter("unpack", archive.name, on_progress, total=len(members))
                for member in members:
                    # the data filter (Python 3.10.12+/3.11.4+) re-checks each member on top of check_member
                    if hasattr(tarfile, "data_filter"):
                        tar.extract(member, staging, set_attrs=False, filter="data")
                    else:  # pragma: no cover - older 3.10 patch releases
                        tar.extract(member, staging, set_attrs=False)
                    meter.advance(1)
                root = _root_folder(staging, target.name)
                missing = [name for name in expected_files if not (root / name).is_file()]
                if missing:
                    raise UserError(f"{archive.name} does not contain the expected {', '.join(missing)}")
                _swap_into_place(root, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except tarfile.TarError as exc:
        raise UserError(f"{archive} is not a readable tar archive ({exc})") from None
    except (EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise disk_error(exc, target) from None
        raise UserError(f"{archive} is truncated or corrupt ({exc or type(exc).__name__})") from None
    return target


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
