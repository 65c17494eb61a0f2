"""A run's events: what a runner's JSON lines on stdout (runners/protocol.py) become in the app.

`parse_line` turns one stdout line into a typed event; anything that is not a protocol event is a
LogLine. `Job.events()` (process.py) yields them and ends with exactly one Finished or Failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui import outside_json


@dataclass(frozen=True)
class Event:
    raw: dict
    """The event as a protocol line (what `--json` prints)."""


@dataclass(frozen=True)
class Started(Event):
    model: str
    total: int
    providers: tuple[str, ...]
    resumed: int


@dataclass(frozen=True)
class Progress(Event):
    done: int
    total: int
    image: str
    detections: int
    seconds: float


@dataclass(frozen=True)
class LogLine(Event):
    message: str
    source: str
    """runner: a `log` event; stdout: a non-JSON stdout line; stderr: the runner's human-readable text."""


@dataclass(frozen=True)
class Warned(Event):
    message: str
    image: str | None


@dataclass(frozen=True)
class Finished(Event):
    output: Path
    images: int
    detections: int
    skipped: int
    seconds: float


EXIT_FAILED = 1
EXIT_INPUT = 2
"""A runner's exit status for input the user can fix: no images, none readable (runners/protocol.py)."""
EXIT_BUSY = 75
"""A runner's exit status while another run writes the same output (runners/protocol.py)."""
EXIT_CANCELLED = 130


@dataclass(frozen=True)
class Failed(Event):
    message: str
    returncode: int | None = None
    cancelled: bool = False

    @property
    def exit_status(self) -> int:
        """What the command line exits with: 130 when cancelled, the runner's own 2 (input to fix) or
        75 (output busy), else 1."""
        if self.cancelled:
            return EXIT_CANCELLED
        return self.returncode if self.returncode in (EXIT_INPUT, EXIT_BUSY) else EXIT_FAILED


def parse_line(line: str) -> Event:
    """One stdout line as an event; anything that is not a protocol event becomes a LogLine."""
    text = line.rstrip("\r\n")
    try:
        raw = outside_json.parse(text)
    except ValueError:
        raw = None
    try:
        return _typed(raw)
    except (KeyError, TypeError, ValueError, AttributeError):
        return LogLine({"event": "log", "message": text}, text, "stdout")


def _typed(raw) -> Event:
    kind = raw["event"]
    if kind == "start":
        return Started(raw, str(raw["model"]), int(raw["total"]), tuple(raw.get("providers") or ()),
                       int(raw.get("resumed", 0)))
    if kind == "progress":
        return Progress(raw, int(raw["done"]), int(raw["total"]), str(raw.get("image", "")),
                        int(raw.get("detections", 0)), float(raw.get("seconds", 0.0)))
    if kind == "log":
        return LogLine(raw, str(raw["message"]), "runner")
    if kind == "warning":
        return Warned(raw, str(raw["message"]), raw.get("image"))
    if kind == "done":
        return Finished(raw, Path(raw["output"]), int(raw["images"]), int(raw["detections"]),
                        int(raw.get("skipped", 0)), float(raw.get("seconds", 0.0)))
    if kind == "error":
        return Failed(raw, str(raw["message"]))
    raise ValueError(kind)


def failed(message: str, returncode: int | None = None, cancelled: bool = False) -> Failed:
    return Failed({"event": "error", "message": message}, message, returncode, cancelled)
