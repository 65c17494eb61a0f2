"""What produced a comparison, recorded in comparison.json so a reader can tell and `compare --check`
can check it: the app, the annotation file, the images, and per model the checkpoint, the
environment, the source tree and the output, each file with its sha256.

The images' digest is the sha256 of `sha256sum`-style lines (`<sha256>  <name>\\n`, names sorted) of
the image files `compare` reads, so two folders holding the same images (by content) agree.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from tui import __version__, catalog
from tui.catalog import Model
from tui.comparison.outputs import read_meta
from tui.config import Config
from tui.downloads import manifest
from tui.downloads.paper import SIZE_TOLERANCE, paper_checkpoint
from tui.downloads.sources import resolve, tree_state
from tui.downloads.state import checkpoint_file
from tui.errors import UserError
from tui.files import sha256_of
from tui.runs.shards import list_images

APP_BACKEND = "app"
"""The environment backend of a runner that ran in the app's own interpreter (Facere without an environment)."""


def listing_digest(files: list[Path]) -> str:
    """sha256 of `<sha256>  <name>` lines, one per file, sorted by name."""
    return _listing_sha256({f.name: sha256_of(f) for f in files})


def _listing_sha256(hashes: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{hashes[name]}  {name}\n" for name in sorted(hashes)).encode()).hexdigest()


def images_record(folder: Path) -> dict:
    images = [Path(p) for p in list_images(folder)]
    return {"folder": str(Path(folder).resolve()), "count": len(images), "digest": listing_digest(images)}


def comparison_provenance(annotations: Path, images: dict) -> dict:
    return {
        "app_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "annotations": {"path": str(Path(annotations).resolve()), "sha256": sha256_of(annotations)},
        "images": images,
    }


def _file_sha256(path: Path) -> str:
    """The recorded hash when the cache's manifest has one for this untouched file, else hashed now."""
    try:
        entry = manifest.get(path)
    except ValueError:  # not under the checkpoints folder
        entry = None
    if entry is not None and entry.verified and entry.matches_stat(path):
        return entry.sha256
    return sha256_of(path)


def _checkpoint_files(model: Model | None, path: Path) -> list[Path]:
    """The files a checkpoint path stands for: itself, or the files of a TensorFlow `.../model.ckpt` prefix."""
    if path.is_file():
        return [path]
    names = model.weights.expected_files if model and model.weights.expected_files else ()
    return [path.parent / name for name in names if (path.parent / name).is_file()]


def checkpoint_record(model: Model | None, path: Path, config: Config) -> dict:
    """`{path, bytes, sha256, paper}`; a checkpoint of several files (a TensorFlow prefix) is hashed as
    the listing of its files (see listing_digest). `paper` as tui.downloads.paper says, for the
    checkpoint the cache holds now; for another file, false only when its size is off the paper's."""
    files = _checkpoint_files(model, path)
    if not files:
        return {"path": str(path), "bytes": None, "sha256": None, "paper": None}
    size = sum(f.stat().st_size for f in files)
    if len(files) == 1:
        digest = _file_sha256(files[0])
    else:
        digest = _listing_sha256({f.name: _file_sha256(f) for f in files})
    paper = None
    if model is not None:
        if Path(path).resolve() == Path(checkpoint_file(model, config)).resolve():
            paper = paper_checkpoint(model, config).paper
        elif model.weights.size and abs(size - model.weights.size) > SIZE_TOLERANCE * model.weights.size:
            paper = False
    return {"path": str(path), "bytes": size, "sha256": digest, "paper": paper}


def _lock_sha256(family: str, config: Config) -> str | None:
    """sha256 of the environment's hash lock (`envs/<spec>.lock`), when there is one."""
    from tui.environments import specs

    try:
        names = dict.fromkeys((specs.selected(family, config), family))
        folder = specs.specs_dir(config)
    except (UserError, OSError):
        return None
    for name in names:
        lock = folder / f"{name}.lock"
        if lock.is_file():
            try:
                return sha256_of(lock)
            except OSError:
                return None
    return None


def environment_record(model: Model | None, meta: dict, config: Config) -> dict:
    """`{backend, python_version, lock_sha256, frameworks, interpreter}` of the run, from what its runner
    recorded (interpreter, versions) and the environment that interpreter belongs to."""
    from tui.environments import status_for

    versions = meta.get("versions") if isinstance(meta.get("versions"), dict) else {}
    interpreter = meta.get("interpreter")
    backend, lock = None, None
    if model is not None:
        try:
            status = status_for(model, config)
        except UserError:
            status = None
        if status is not None and status.interpreter and str(status.interpreter) == interpreter:
            backend = status.backend
            if backend != "external":
                lock = _lock_sha256(status.family, config)
        elif interpreter and Path(interpreter).resolve() == Path(sys.executable).resolve():
            backend = APP_BACKEND
    return {"backend": backend, "python_version": versions.get("python"), "lock_sha256": lock,
            "frameworks": {k: v for k, v in versions.items() if k != "python"}, "interpreter": interpreter}


def source_tree_record(model: Model | None, config: Config) -> dict | None:
    if model is None or model.source is None:
        return None
    state = tree_state(resolve(model.source, config))
    return {"name": state.name, "commit": state.head or state.commit, "state": state.state}


def model_provenance(name: str, output: Path, config: Config) -> dict:
    """checkpoint, environment, source_tree and output of one model's output file."""
    try:
        model = catalog.get(name)
    except UserError:
        model = None
    meta = read_meta(output) or {}
    recorded = meta.get("model_file")
    path = Path(recorded) if isinstance(recorded, str) else checkpoint_file(model, config) if model else None
    return {
        "checkpoint": checkpoint_record(model, path, config) if path else None,
        "environment": environment_record(model, meta, config),
        "source_tree": source_tree_record(model, config),
        "output": {"path": str(Path(output).resolve()), "sha256": sha256_of(output)},
    }
