"""What every environment backend shares: states, the steps around the packages, checks.

A prefix built by this app holds `.fashionfail/ready.json` (the spec's digest, written last and
atomically, only after every step passed) or `.fashionfail/broken.json` (why, and the log file).
An operation removes the ready marker before its first step, so a prefix whose build was killed
midway has neither and reads as broken, never as ready (see operation.py).
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tui import outside_json, paths
from tui.config import Config
from tui.environments import specs
from tui.environments.operation import (MARKERS, Action, Event, Operation, Reporter, StepContext, StepFailed,
                                        one_line)
from tui.environments.specs import EnvSpec
from tui.errors import UserError

__all__ = ["Action", "Backend", "EnvStatus", "Event", "Reporter", "State", "StepContext", "StepFailed", "expand",
           "installed_files", "one_line", "remove_tree", "state_of"]


class State(str, Enum):
    MISSING = "missing"
    READY = "ready"
    BROKEN = "broken"
    OUT_OF_DATE = "out of date"


@dataclass(frozen=True)
class EnvStatus:
    family: str
    name: str
    state: State
    prefix: Path | None
    backend: str
    """embedded, conda, mamba, micromamba, or external (an interpreter the config names)."""
    detail: str = ""
    note: str = ""
    """The spec's `note`: how this environment departs from the paper's."""
    python: Path | None = None
    """An external environment's interpreter; a built one's is `prefix/bin/python`."""

    @property
    def interpreter(self) -> Path | None:
        return self.python or (self.prefix / "bin" / "python" if self.prefix else None)

    def to_json(self) -> dict:
        return {"family": self.family, "name": self.name, "state": self.state.value,
                "prefix": str(self.prefix) if self.prefix else None, "backend": self.backend, "detail": self.detail,
                "note": self.note, "python": str(self.interpreter) if self.interpreter else None}


def state_of(spec: EnvSpec, prefix: Path | None) -> tuple[State, str]:
    """The state a prefix's markers say, with a short reason."""
    if prefix is None or not prefix.is_dir():
        return State.MISSING, ""
    markers = prefix / MARKERS
    try:
        if (markers / "broken.json").is_file():
            broken = outside_json.read_object(markers / "broken.json")
            reason, log = broken.get("reason"), broken.get("log")
            return State.BROKEN, (f"{reason} (log: {log})" if isinstance(reason, str) and isinstance(log, str)
                                  else "unreadable marker broken.json")
        if not (markers / "ready.json").is_file():
            return State.BROKEN, "never finished building (interrupted, or not built by fashionfail-tui)"
        ready = outside_json.read_object(markers / "ready.json")
    except (OSError, ValueError) as exc:
        return State.BROKEN, f"unreadable marker: {str(exc)[:120]}"
    if not isinstance(ready.get("digest"), str):
        return State.BROKEN, "unreadable marker: ready.json names no digest"
    if ready.get("digest") != spec.digest:
        return State.OUT_OF_DATE, f"{spec.file.name} changed since it was built"
    return State.READY, ""


def expand(argv: Sequence[str], prefix: Path, python: Path | None = None) -> list[str]:
    """Fill the placeholders a spec's argv may use: {prefix}, {python} (`prefix/bin/python` unless
    given), {sources}, {cache}."""
    values = {"prefix": str(prefix), "python": str(python or prefix / "bin" / "python"),
              "sources": str(paths.sources_dir()), "cache": str(paths.cache_dir())}
    return [arg.format(**values) for arg in argv]


def installed_files(prefix: Path) -> list[Path]:
    """Every file the prefix's package records (conda-meta/*.json) say was installed."""
    files = []
    for record in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            files.extend(prefix / f for f in outside_json.read_object(record).get("files", []))
        except (OSError, ValueError, TypeError):
            files.append(record)  # an unreadable record counts as a missing file
    return files


class Backend(ABC):
    """One way to build environments. Subclasses say where a family's prefix is and how its
    conda packages are installed and removed; the post-install steps, checks and markers are shared."""

    name: str

    def __init__(self, config: Config):
        self.config = config

    @abstractmethod
    def prefix_for(self, spec: EnvSpec) -> Path | None:
        """Where the environment is (or would be); None when it does not exist and has no fixed place."""

    @abstractmethod
    def package_steps(self, spec: EnvSpec, updating: bool) -> list[tuple[str, Action]]:
        """The steps that install (or bring up to date) the conda packages and the `pip:` section."""

    @abstractmethod
    def delete(self, spec: EnvSpec, context: StepContext) -> None:
        """Remove the environment's prefix."""

    def spec(self, family: str) -> EnvSpec:
        return specs.load(family, self.config)

    def status(self, family: str) -> EnvStatus:
        spec = self.spec(family)
        prefix = self.prefix_for(spec)
        state, detail = state_of(spec, prefix)
        return EnvStatus(family, spec.name, state, prefix, self.name, detail, spec.note)

    def list(self) -> list[EnvStatus]:
        return [self.status(family) for family in specs.families(self.config)]

    def create(self, family: str, report: Reporter | None = None) -> EnvStatus:
        """Build from scratch: an existing prefix (half-built, stale, broken) is removed first."""
        spec = self.spec(family)
        steps = []
        old = self.prefix_for(spec)
        if old and old.exists():
            steps.append(("remove the old environment", lambda context: self.delete(spec, context)))
        steps += self.package_steps(spec, updating=False) + self._post_steps(spec) + self._check_steps(spec)
        Operation("create", spec, lambda: self.prefix_for(spec), report).run(steps)
        return self.status(family)

    def update(self, family: str, report: Reporter | None = None) -> EnvStatus:
        """Bring an existing environment in line with its spec, repairing missing files; creates a missing one."""
        spec = self.spec(family)
        prefix = self.prefix_for(spec)
        if prefix is None or not prefix.exists():
            return self.create(family, report)
        steps = self.package_steps(spec, updating=True) + self._post_steps(spec) + self._check_steps(spec)
        Operation("update", spec, lambda: self.prefix_for(spec), report).run(steps)
        return self.status(family)

    def remove(self, family: str, report: Reporter | None = None) -> EnvStatus:
        spec = self.spec(family)
        prefix = self.prefix_for(spec)
        if prefix is None or not prefix.exists():
            return self.status(family)
        Operation("remove", spec, lambda: None, report).run(
            [("remove the environment", lambda context: self.delete(spec, context))], marks=False)
        return self.status(family)

    def verify(self, family: str, report: Reporter | None = None) -> EnvStatus:
        """Check every installed file, the spec's files and its check command; a failure marks the env broken."""
        spec = self.spec(family)
        prefix = self.prefix_for(spec)
        if prefix is None or not prefix.exists():
            raise UserError(f"environment '{family}' does not exist: run fashionfail-tui env create {family}")
        was_ready = state_of(spec, prefix)[0] is State.READY
        Operation("verify", spec, lambda: prefix, report).run(self._check_steps(spec), marks=was_ready)
        return self.status(family)

    def _check_steps(self, spec: EnvSpec) -> list[tuple[str, Action]]:
        """Every build ends with what `verify` checks: an environment is only ready once they pass."""
        steps = [("check installed files", lambda context: self._check_files(spec, self.prefix_for(spec), context))]
        if spec.verify_run:
            steps.append(("run the check command",
                          lambda context: context.run(expand(spec.verify_run, self.prefix_for(spec)))))
        return steps

    def _check_files(self, spec: EnvSpec, prefix: Path, context: StepContext) -> None:
        expected = installed_files(prefix) + [prefix / f for f in spec.verify_files]
        missing = [f for f in expected if not f.exists() and not f.is_symlink()]
        context.line(f"{len(expected) - len(missing)} of {len(expected)} files present")
        for file in missing[:20]:
            context.line(f"missing: {file.relative_to(prefix)}")
        if missing:
            raise StepFailed(f"{len(missing)} installed file(s) missing, e.g. {missing[0].relative_to(prefix)}"
                             f" (run fashionfail-tui env update {spec.family})")

    def _post_steps(self, spec: EnvSpec) -> list[tuple[str, Action]]:
        def step_action(step):
            def action(context: StepContext) -> None:
                prefix = self.prefix_for(spec)
                if step.pip:
                    context.run([str(prefix / "bin" / "python"), "-m", "pip", "install", *step.pip])
                else:
                    context.run(expand(step.run, prefix))
            return action
        return [(step.name, step_action(step)) for step in spec.steps]


def remove_tree(prefix: Path, context: StepContext) -> None:
    context.line(f"removing {prefix}")
    shutil.rmtree(prefix)
