"""What the cache holds for each model, read from disk and the manifest without hashing anything."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tui import paths
from tui.catalog import Model
from tui.config import Config
from tui.downloads import manifest
from tui.downloads.locks import is_locked
from tui.downloads.sources import TreeState, resolve, tree_state

STATES = ("missing", "partial", "downloading", "unverified", "verified", "corrupt", "external")
USABLE = frozenset({"verified", "unverified", "external"})
"""States a runner can use: unverified is a present file whose hash was never recorded."""


@dataclass(frozen=True)
class FileState:
    name: str
    """Path relative to the checkpoints dir (or the configured file's path)."""
    path: Path
    state: str
    """One of STATES."""
    size: int | None = None
    """Bytes on disk: the file's, or the partial download's."""
    sha256: str | None = None
    """The recorded hash, when there is one."""
    hash_source: str | None = None


@dataclass(frozen=True)
class ModelFiles:
    model: str
    kind: str
    """file | tar | manual (from the catalog's Artifact.kind)."""
    files: tuple[FileState, ...]
    source: TreeState | None

    @property
    def state(self) -> str:
        """The model's checkpoint state: the first file state, in STATES order, that isn't fine."""
        for state in ("downloading", "corrupt", "partial", "missing", "unverified", "external"):
            if any(f.state == state for f in self.files):
                return state
        return "verified"

    @property
    def usable(self) -> bool:
        return all(f.state in USABLE for f in self.files)

    @property
    def imported(self) -> bool:
        """Whether the files came from a copy the user imported (`fetch --from`, the Models screen's import)."""
        return any(f.hash_source == "import" for f in self.files)

    @property
    def size(self) -> int:
        return sum(f.size or 0 for f in self.files)


def checkpoint_file(model: Model, config: Config) -> Path:
    """The weights file the runner is given: the config's local `file`, else the cache's."""
    override = config.override_for(model.name).file
    return override if override else paths.checkpoints_dir() / model.checkpoint_relpath


def download_target(model: Model) -> Path:
    """Where the model's artifact is stored while (and, for plain files, after) it is fetched."""
    return paths.checkpoints_dir() / model.weights.filename


def unpacked_folder(model: Model) -> Path:
    return paths.checkpoints_dir() / (model.weights.unpacks_to or "")


def unpacked_files(model: Model) -> list[Path]:
    return [unpacked_folder(model) / name for name in model.weights.expected_files]


def _part(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def file_state(path: Path, fetched_as: Path | None = None) -> FileState:
    """The state of one cache file; `fetched_as` is the download that produces it (a tarball)."""
    name = manifest.key_for(path)
    if path.exists():
        size = path.stat().st_size
        entry = manifest.get(path)
        if entry is None:
            return FileState(name, path, "unverified", size)
        if not entry.verified or entry.size != size:
            state = "corrupt"
        else:
            state = "verified" if entry.matches_stat(path) else "unverified"
        return FileState(name, path, state, size, entry.sha256, entry.hash_source)
    source = fetched_as or path
    part = _part(source)
    size = part.stat().st_size if part.exists() else None
    if is_locked(source):
        return FileState(name, path, "downloading", size)
    return FileState(name, path, "partial" if size is not None else "missing", size)


def model_files_state(model: Model, config: Config) -> ModelFiles:
    """Each file the model needs and its state, plus its source tree's; cheap (stat and manifest only)."""
    source = tree_state(resolve(model.source, config)) if model.source else None
    external = config.override_for(model.name).file
    if external:
        present = external.exists()
        files = (FileState(str(external), external, "external" if present else "missing",
                           external.stat().st_size if present else None),)
    elif model.weights.kind == "tar":
        files = tuple(file_state(path, download_target(model)) for path in unpacked_files(model))
        if is_locked(unpacked_folder(model)):  # downloaded, being unpacked
            files = tuple(replace(f, state="downloading") if f.state in ("missing", "partial") else f for f in files)
    else:
        files = (file_state(download_target(model)),)
    return ModelFiles(model.name, model.weights.kind, files, source)
