"""The cache's record of what each stored file should be: `checkpoints/manifest.json`.

One entry per file path relative to the checkpoints dir:
    {"sha256": ..., "size": ..., "hash_source": catalog|config|server|first-download|import|archive,
     "url": ..., "mtime_ns": ..., "verified": true|false}
`mtime_ns` and `size` are those of the file when it was last hashed, so a cheap stat tells whether
it may have changed since. Writes take the manifest's lock and replace the file atomically.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from tui import outside_json, paths
from tui.downloads.locks import locked
from tui.errors import redact
from tui.files import json_text, write_atomically


@dataclass(frozen=True)
class Entry:
    sha256: str
    size: int
    hash_source: str
    mtime_ns: int
    verified: bool = True
    """False once a verification found the file does not match sha256."""
    url: str | None = None

    def matches_stat(self, path: Path) -> bool:
        """The file looks untouched since it was hashed (same size and mtime)."""
        try:
            stat = path.stat()
        except OSError:
            return False
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


def manifest_file() -> Path:
    return paths.checkpoints_dir() / "manifest.json"


def key_for(path: Path) -> str:
    return path.relative_to(paths.checkpoints_dir()).as_posix()


def _read() -> dict[str, dict]:
    try:
        data = outside_json.read_object(manifest_file())
    except (OSError, ValueError):
        return {}  # a missing or unreadable manifest means nothing is known: files read as unverified
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def get(path: Path) -> Entry | None:
    raw = _read().get(key_for(path))
    try:
        return Entry(**raw) if isinstance(raw, dict) else None
    except TypeError:
        return None


def _write(files: dict[str, dict]) -> None:
    target = manifest_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, json_text({"files": files}, indent=1, sort_keys=True), durable=True)


def record(path: Path, sha256: str, hash_source: str, url: str | None = None, verified: bool = True) -> Entry:
    stat = path.stat()
    entry = Entry(sha256=sha256, size=stat.st_size, hash_source=hash_source, mtime_ns=stat.st_mtime_ns,
                  verified=verified, url=redact(url) if url else None)
    with locked(manifest_file()):
        files = _read()
        files[key_for(path)] = asdict(entry)
        _write(files)
    return entry


def forget(prefix: str) -> None:
    """Drop the entries for one file, or for everything under one unpacked folder."""
    with locked(manifest_file()):
        files = _read()
        kept = {k: v for k, v in files.items() if k != prefix and not k.startswith(prefix.rstrip("/") + "/")}
        if kept != files:
            _write(kept)
