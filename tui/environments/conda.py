"""The user's conda, mamba or micromamba, driven through its `--json` output.

Environments are named ones (`conda activate fashionfail-amrcnn` works), found through
`env list --json`, of which only the `envs` list is read: its other keys change between versions.
conda prints its download progress only to a terminal, so its commands run under a
pseudo-terminal; with `--json` each progress record is a JSON object on its own line (ended by a
NUL), and the final result (or error) is one JSON object, pretty-printed over several lines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tui import outside_json, processes
from tui.config import Config
from tui.environments.base import Action, Backend, EnvStatus, Reporter, State, StepContext, StepFailed, state_of
from tui.environments.specs import EnvSpec
from tui.errors import UserError

FLAVOURS = ("conda", "mamba", "micromamba")


def flavour_of(executable: Path) -> str:
    name = executable.name.lower()
    return "micromamba" if "micromamba" in name else "mamba" if "mamba" in name else "conda"


def find_executable(config: Config, flavour: str | None = None) -> Path | None:
    """The conda-like program to drive: the config's `executable`, then $CONDA_EXE, $MAMBA_EXE, then
    PATH. With a flavour, only a program of that flavour."""
    names = [flavour] if flavour else list(FLAVOURS)
    candidates = [config.executable, *(os.environ.get(v) for v in ("CONDA_EXE", "MAMBA_EXE")),
                  *(shutil.which(name) for name in names)]
    for candidate in (Path(c) for c in candidates if c):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            if flavour is None or flavour_of(candidate) == flavour:
                return candidate
    return None


class CondaBackend(Backend):
    """conda, mamba or micromamba (`name`), at `executable`."""

    def __init__(self, config: Config, executable: Path, flavour: str | None = None):
        super().__init__(config)
        self.executable = executable
        self.name = flavour or flavour_of(executable)

    def environments(self) -> list[Path]:
        """Every environment the program knows, from `env list --json`'s `envs` list only."""
        try:
            out = processes.run([str(self.executable), "env", "list", "--json"], capture_output=True,
                                 text=True, timeout=120, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UserError(f"cannot run {self.executable} env list: {exc}") from None
        try:
            envs = outside_json.parse(out.stdout)["envs"]
        except (ValueError, KeyError, TypeError):
            raise UserError(f"{self.executable} env list --json printed no `envs` list "
                            f"(exit status {out.returncode}): {out.stderr.strip()[:200]}") from None
        return [Path(e) for e in envs if isinstance(e, str)]

    def prefix_for(self, spec: EnvSpec) -> Path | None:
        return next((p for p in self.environments() if p.name == spec.name), None)

    def _program(self, *args: str) -> list[str]:
        yes = ["--yes"] if self.name != "conda" else []
        return [str(self.executable), *args, "--json", *yes]

    def package_steps(self, spec: EnvSpec, updating: bool) -> list[tuple[str, Action]]:
        if not updating:
            command = self._program("create", "--file", str(spec.file), "--name", spec.name) \
                if self.name == "micromamba" else self._program("env", "create", "--file", str(spec.file), "--name", spec.name)
        elif self.name == "micromamba":
            command = self._program("install", "--file", str(spec.file), "--name", spec.name)
        else:
            command = self._program("env", "update", "--file", str(spec.file), "--name", spec.name, "--prune")
        verb = "update" if updating else "create"
        return [(f"{self.name} {verb}: conda and pip packages", lambda context: self._run_json(command, context))]

    def update(self, family: str, report: Reporter | None = None) -> EnvStatus:
        """conda's update does not bring back deleted files: a broken environment is rebuilt instead."""
        spec = self.spec(family)
        if state_of(spec, self.prefix_for(spec))[0] is State.BROKEN:
            return self.create(family, report)
        return super().update(family, report)

    def delete(self, spec: EnvSpec, context: StepContext) -> None:
        if self.name == "micromamba":
            self._run_json(self._program("env", "remove", "--name", spec.name), context)
        else:
            self._run_json(self._program("remove", "--name", spec.name, "--all"), context)

    def _run_json(self, argv: list[str], context: StepContext) -> None:
        """Run under a terminal; progress records move the bar, the final JSON says how it went."""
        tail: list[str] = []

        def on_line(text: str) -> None:
            record = _json_object(text)
            if record is not None and "progress" in record:
                fraction = float(record.get("progress") or 0)
                context.progress(fraction)
                if record.get("finished") or fraction in (0.0, 1.0):
                    context.line(f"{record.get('fetch', 'download')}: {fraction:.0%}")
                return
            context.line(text)
            tail.append(text)

        try:
            context.run(argv, terminal=True, on_line=on_line)
        except StepFailed as exc:
            result = _final_json(tail)
            message = result.get("message") or result.get("error") if result else None
            raise StepFailed(" ".join(str(message).split())[:400] if message else str(exc)) from None
        result = _final_json(tail)
        if result is not None and result.get("success") is False:
            raise StepFailed(str(result.get("message") or result.get("error") or "reported success: false"))


def _json_object(text: str) -> dict | None:
    try:
        value = outside_json.parse(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _final_json(lines: list[str]) -> dict | None:
    """The last JSON object printed, which may span several lines."""
    for start in range(len(lines) - 1, -1, -1):
        if lines[start].lstrip().startswith("{"):
            value = _json_object("\n".join(lines[start:]))
            if value is not None:
                return value
    return None
