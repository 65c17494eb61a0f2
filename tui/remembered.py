"""What the app remembers between starts: the image folder, output folder and model file of the last
run it started, and the theme. Kept in `paths.state_file()`, apart from the config: the app writes
it, the user never has to. Whatever is wrong with the file, the app starts with nothing remembered
(or without the values that are wrong), never with an error."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from tui import paths
from tui.files import read_small_json, write_atomically

MAX_FILE_BYTES = 64 * 1024
MAX_VALUE_CHARS = 4096


@dataclass(frozen=True)
class Remembered:
    images_dir: Path | None = None
    """The image folder of the last run started."""
    out_dir: Path | None = None
    """Its output folder."""
    model_file: Path | None = None
    """Its local model file; None when it used the cached checkpoint."""
    theme: str | None = None
    """The theme last chosen (a Textual theme name; the app checks it still exists)."""


_PATHS = ("images_dir", "out_dir", "model_file")


def load() -> Remembered:
    data = read_small_json(paths.state_file(), MAX_FILE_BYTES)
    if not isinstance(data, dict):
        return Remembered()
    found = {name: _text(data.get(name)) for name in (f.name for f in fields(Remembered))}
    for name in _PATHS:
        found[name] = Path(found[name]) if found[name] and Path(found[name]).is_absolute() else None
    return Remembered(**found)


def _text(value: object) -> str | None:
    """A value fit to show and to use as a path: printable (no NUL, newline or terminal escape), not too long."""
    if isinstance(value, str) and 0 < len(value) <= MAX_VALUE_CHARS and value.isprintable():
        return value
    return None


def save(state: Remembered) -> None:
    """Replace the state file with `state`; OSError when the data dir cannot be written. (A path with
    undecodable bytes is written escaped, and dropped by `load`.)"""
    data = {f.name: None if getattr(state, f.name) is None else str(getattr(state, f.name)) for f in fields(state)}
    paths.state_file().parent.mkdir(parents=True, exist_ok=True)
    write_atomically(paths.state_file(), json.dumps(data, indent=1) + "\n")
