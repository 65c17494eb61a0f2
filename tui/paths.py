"""The only module that decides where things live on disk."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from tui.errors import UserError

APP_NAME = "fashionfail"
CACHE_ENV = "FASHIONFAIL_TUI_CACHE_DIR"
CONFIG_ENV = "FASHIONFAIL_TUI_CONFIG"
DATA_ENV = "FASHIONFAIL_TUI_DATA_DIR"

_PACKAGE_DIR = Path(__file__).resolve().parent


def _folder(variable: str, default: str) -> Path:
    """The folder `variable` names, else `default`, made absolute against the current folder:
    runners and tools run elsewhere and must find the same folder."""
    override = os.environ.get(variable)
    return (Path(override).expanduser() if override else Path(default)).absolute()


def cache_dir() -> Path:
    """Checkpoints, source trees, indexes. On Linux `~/.cache/fashionfail`, where the
    original code keeps the FashionFail dataset."""
    return _folder(CACHE_ENV, platformdirs.user_cache_dir(APP_NAME))


def config_file() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def data_dir() -> Path:
    """Conda environments built by the embedded backend, wizard state, logs."""
    return _folder(DATA_ENV, platformdirs.user_data_dir(APP_NAME))


def check_folder_overrides() -> None:
    """UserError when FASHIONFAIL_TUI_CACHE_DIR or _DATA_DIR names a file: every folder below it would fail."""
    for name in (CACHE_ENV, DATA_ENV):
        value = os.environ.get(name)
        if value and Path(value).expanduser().exists() and not Path(value).expanduser().is_dir():
            raise UserError(f"{name}={value} is a file, not a folder")


def checkpoints_dir() -> Path:
    return cache_dir() / "checkpoints"


def sources_dir() -> Path:
    return cache_dir() / "sources"


def indexes_dir() -> Path:
    return cache_dir() / "indexes"


def environments_dir() -> Path:
    return data_dir() / "envs"


def venvs_dir() -> Path:
    """The uv backend's virtual environments, one per environment spec."""
    return data_dir() / "venvs"


def logs_dir() -> Path:
    return data_dir() / "logs"


def state_file() -> Path:
    """What the app remembers between starts (the last folders, the theme); not the config."""
    return data_dir() / "state.json"


def fashionfail_dir() -> Path:
    """FashionFail's annotation files and `images/{train,val,test}/`, as the original code lays them out."""
    return cache_dir()


def fashionfail_annotations(split: str) -> Path:
    """`ff_<split>.json`, where `eval` looks for it by default."""
    return fashionfail_dir() / f"ff_{split}.json"


def fashionfail_images(split: str) -> Path:
    """`images/<split>/`: only images that decoded and had the annotation's size are moved here."""
    return fashionfail_dir() / "images" / split


def dataset_work_dir() -> Path:
    """Unfinished dataset downloads and the record of which images were verified."""
    return cache_dir() / "dataset"


def install_dir() -> Path:
    """The folder holding the `tui` package: a checkout, or site-packages. Its paths stay out of messages."""
    return _PACKAGE_DIR.parent


def _bundled(name: str) -> Path:
    """`runners/` and `envs/` sit beside `tui/` in a checkout and inside it in a wheel."""
    inside = _PACKAGE_DIR / "_bundled" / name
    return inside if inside.is_dir() else _PACKAGE_DIR.parent / name


def runners_dir() -> Path:
    return _bundled("runners")


def envs_specs_dir() -> Path:
    return _bundled("envs")
