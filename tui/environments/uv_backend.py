"""The uv backend: a virtual environment per spec under `venvs_dir()`, made with uv from the spec's
lock alone (the lock has PyPI's builds of what the conda part would bring). No conda needed; the
interpreter is the one given (`--python`), else one of the spec's Python version that pyenv or uv
finds, else one uv downloads where the network allows."""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

from tui import paths, processes
from tui.config import Config
from tui.environments import locks
from tui.environments.base import Action, Backend, EnvStatus, Reporter, StepContext, StepFailed, remove_tree
from tui.environments.specs import EnvSpec

_VERSION = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


def python_version_of(python: Path) -> str | None:
    """`X.Y.Z` of an interpreter; None when it does not run as a Python."""
    try:
        done = processes.run([str(python), "-c", _VERSION], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def same_minor(version: str, wanted: str) -> bool:
    return version.split(".")[:2] == wanted.split(".")[:2]


def pyenv_pythons(wanted: str) -> list[Path]:
    """pyenv's interpreters of `wanted`'s minor version, newest first ($PYENV_ROOT, else ~/.pyenv)."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    minor = ".".join(wanted.split(".")[:2])
    found = glob.glob(str(root / "versions" / f"{minor}.*" / "bin" / f"python{minor}"))
    return [Path(p) for p in sorted(found, key=lambda p: [int(x) if x.isdigit() else 0
                                                          for x in Path(p).parents[1].name.split(".")], reverse=True)]


def uv_found_python(wanted: str) -> Path | None:
    """What uv's own discovery finds for `wanted` (its managed Pythons, PATH); never downloads."""
    minor = ".".join(wanted.split(".")[:2])
    try:
        done = processes.run([locks.uv_bin(), "python", "find", "--no-project", minor], capture_output=True,
                             text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


class UvBackend(Backend):
    name = "uv"
    exact_lock = True

    def __init__(self, config: Config, python: Path | None = None):
        super().__init__(config)
        self.python = python
        """The interpreter to build with (`env create --python`); None to find one."""

    def prefix_for(self, spec: EnvSpec) -> Path:
        return paths.venvs_dir() / spec.family

    def package_steps(self, spec: EnvSpec, updating: bool) -> list[tuple[str, Action]]:
        return [(f"find a Python {spec.python_version or ''}".rstrip(), lambda context: self._find_python(spec, context)),
                ("create the virtual environment", lambda context: self._venv(spec, context)),
                self.lock_step(spec)]

    def update(self, family: str, report: Reporter | None = None) -> EnvStatus:
        """Rebuilt from the lock: with uv's cache warm that takes seconds, and it repairs anything."""
        return self.create(family, report)

    def delete(self, spec: EnvSpec, context: StepContext) -> None:
        remove_tree(self.prefix_for(spec), context)

    def _find_python(self, spec: EnvSpec, context: StepContext) -> None:
        wanted = spec.python_version
        if self.python is not None:
            version = python_version_of(self.python)
            if version is None:
                raise StepFailed(f"{self.python} does not run as a Python interpreter")
            if wanted and not same_minor(version, wanted):
                raise StepFailed(f"{self.python} is Python {version}; {spec.file.name} needs Python {wanted}")
            context.carry["python"] = str(self.python)
        elif not wanted:
            raise StepFailed(f"{spec.file.name} names no python version: give one with --python PATH")
        else:
            found = next((p for p in [*pyenv_pythons(wanted), uv_found_python(wanted)]
                          if p is not None and (v := python_version_of(p)) and same_minor(v, wanted)), None)
            if found is None:
                context.line(f"no Python {wanted} found (pyenv, uv's discovery): uv downloads one")
            context.carry["python"] = str(found) if found else ".".join(wanted.split(".")[:2])
        context.line(f"Python: {context.carry['python']}")

    def _venv(self, spec: EnvSpec, context: StepContext) -> None:
        prefix = self.prefix_for(spec)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        locks.run_uv(context, [locks.uv_bin(), "venv", "--no-project", "--python", context.carry["python"], str(prefix)])
        (prefix / ".fashionfail").mkdir(exist_ok=True)
