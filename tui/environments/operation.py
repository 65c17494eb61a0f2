"""Running an environment operation as named steps: each step's lines and progress go to a
callback and to a log file under logs_dir(); a failure marks the prefix broken and the ready
marker is written last, atomically, only when every step passed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui import paths
from tui.environments import process
from tui.environments.specs import EnvSpec
from tui.errors import UserError
from tui.files import json_text, write_atomically

MARKERS = ".fashionfail"


@dataclass(frozen=True)
class Event:
    """One report from a running operation: a step began (`started`), printed a `line`, or moved on (`fraction`)."""

    step: str
    index: int
    """0-based number of the current step."""
    total: int
    fraction: float | None = None
    """How far the current step is, 0..1, when it knows."""
    line: str | None = None
    started: bool = False


Reporter = Callable[[Event], None]


class StepFailed(Exception):
    """A step's program failed; the message is one line for the user."""


class StepContext:
    """Handed to each step: where to report lines and progress, and what earlier steps left."""

    def __init__(self, operation: Operation, step: str, index: int):
        self._operation, self.step, self.index = operation, step, index
        self.carry: dict = operation.carry
        self.last_lines: list[str] = []

    def line(self, text: str) -> None:
        self.last_lines = (self.last_lines + [text])[-20:]
        self._operation.log.write(text + "\n")
        self._operation.log.flush()
        self._operation.report(Event(self.step, self.index, self._operation.total, None, text))

    def progress(self, fraction: float) -> None:
        self._operation.report(Event(self.step, self.index, self._operation.total, max(0.0, min(1.0, fraction))))

    def run(self, argv: Sequence[str], *, terminal: bool = False, on_line: Callable[[str], None] | None = None,
            cwd: Path | None = None) -> None:
        """Run a program, streaming its lines; StepFailed naming its last line when it exits non-zero."""
        self.line("$ " + " ".join(argv))
        try:
            status = process.stream(argv, on_line or self.line, terminal=terminal, cwd=cwd)
        except OSError as exc:
            raise StepFailed(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        if status != 0:
            last = next((text for text in reversed(self.last_lines) if not text.startswith("$ ")), "")
            raise StepFailed(f"{Path(argv[0]).name} exited with status {status}" + (f": {last}" if last else ""))


Action = Callable[[StepContext], None]


class Operation:
    """Runs named steps in order for one environment, logging every line to a file under logs_dir()."""

    def __init__(self, verb: str, spec: EnvSpec, prefix: Callable[[], Path | None], report: Reporter | None):
        self.verb, self.spec, self._prefix = verb, spec, prefix
        self.report = report or (lambda event: None)
        self.carry: dict = {}
        self.total = 0
        paths.logs_dir().mkdir(parents=True, exist_ok=True)
        self.log_file = paths.logs_dir() / f"{spec.family}-{verb}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        self.log = None

    def run(self, steps: Sequence[tuple[str, Action]], *, marks: bool = True) -> None:
        """Run every step; on failure mark the prefix broken (when `marks`) and raise a UserError."""
        self.total = len(steps)
        with open(self.log_file, "w", encoding="utf-8") as self.log:
            self.log.write(f"# {self.verb} {self.spec.family} ({self.spec.file})\n")
            if marks:
                self._clear_ready()
            for index, (name, action) in enumerate(steps):
                context = StepContext(self, name, index)
                self.log.write(f"\n## step {index + 1}/{self.total}: {name}\n")
                self.report(Event(name, index, self.total, 0.0, started=True))
                try:
                    action(context)
                except (StepFailed, OSError, RuntimeError, ValueError) as exc:
                    reason = one_line(exc)
                    self.log.write(f"\nFAILED: {reason}\n")
                    self.log.flush()
                    if marks:
                        self._mark_broken(name, reason)
                    raise UserError(f"{self.verb} {self.spec.family}: step '{name}' failed: {reason} "
                                    f"(log: {self.log_file})") from None
                self.report(Event(name, index, self.total, 1.0))
            if marks:
                self._mark_ready()

    def _marker_dir(self) -> Path | None:
        prefix = self._prefix()
        return prefix / MARKERS if prefix and prefix.is_dir() else None

    def _clear_ready(self) -> None:
        markers = self._marker_dir()
        if markers:
            (markers / "ready.json").unlink(missing_ok=True)

    def _mark_broken(self, step: str, reason: str) -> None:
        markers = self._marker_dir()
        if markers:
            _write_json(markers / "broken.json", {"step": step, "reason": reason, "log": str(self.log_file)})

    def _mark_ready(self) -> None:
        markers = self._marker_dir()
        if markers is None:
            raise UserError(f"{self.verb} {self.spec.family}: the environment's folder was not created")
        (markers / "broken.json").unlink(missing_ok=True)
        _write_json(markers / "ready.json", {"digest": self.spec.digest, "built": time.strftime("%Y-%m-%dT%H:%M:%S")})


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json_text(data))


def one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines)[:400] or type(exc).__name__
