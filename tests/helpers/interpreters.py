"""Pythons other than the app's for the tests: pyenv's 3.8 and 3.9 where the machine has them (the
runners' own environments run those), and small venvs of them made with uv, cached per session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.environments.locks import uv_bin
from tui.environments.uv_backend import pyenv_pythons

RUNNER_PACKAGES = ("numpy<2", "Pillow", "pycocotools")
"""What the runners and the stand-ins in tests/standins import besides the standard library."""


def pyenv_python(minor: str) -> Path | None:
    """pyenv's newest Python `minor` (3.8, 3.9), or None."""
    found = pyenv_pythons(minor)
    return found[0] if found else None


def runner_python_params() -> list:
    """pytest params: the app's Python, then 3.8 and 3.9 (skipped, saying why, where pyenv lacks them)."""
    params = [pytest.param("app", id="app-python")]
    for minor in ("3.8", "3.9"):
        marks = [] if pyenv_python(minor) else [pytest.mark.skip(reason=f"no Python {minor} from pyenv on this machine")]
        params.append(pytest.param(minor, id=f"python{minor}", marks=marks))
    return params


def runner_venv(minor: str, folder: Path) -> Path:
    """A venv of pyenv's Python `minor` in `folder` holding RUNNER_PACKAGES (uv's cache makes it seconds)."""
    python = folder / "bin" / "python"
    if not python.exists():
        subprocess.run([uv_bin(), "venv", "-q", "--no-project", "--python", str(pyenv_python(minor)), str(folder)],
                       check=True, timeout=300)
        subprocess.run([uv_bin(), "pip", "install", "-q", "--python", str(python), *RUNNER_PACKAGES],
                       check=True, timeout=600)
    return python


@pytest.fixture(scope="session")
def runner_pythons(tmp_path_factory):
    """`get(name)`: the interpreter for a runner_python_params name ("app" is sys.executable)."""
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name == "app":
            return Path(sys.executable)
        if name not in made:
            made[name] = runner_venv(name, tmp_path_factory.mktemp(f"python{name}") / "venv")
        return made[name]
    return get
