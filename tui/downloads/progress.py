"""Progress events: what every long step (download, copy, unpack, clone) reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from tui.units import human_duration, human_size


@dataclass(frozen=True)
class Progress:
    stage: str
    """download | wait | restart | verify | copy | unpack | clone"""
    name: str
    """The file or source tree it is about."""
    done: int = 0
    total: int | None = None
    """None when the server does not say how much is coming."""
    rate: float | None = None
    """Bytes (or objects, for clones) per second."""
    eta: float | None = None
    """Seconds left at the current rate."""
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None

    def as_event(self) -> dict:
        return {"event": "progress", **asdict(self)}


ProgressCallback = Callable[[Progress], None]


def ignore(_: Progress) -> None:
    """The callback used when the caller passes none."""


class Meter:
    """Turns a running count into throttled Progress events with a smoothed rate and an ETA."""

    def __init__(self, stage: str, name: str, on_progress: ProgressCallback, total: int | None = None,
                 start: int = 0, interval: float = 0.2, clock: Callable[[], float] = time.monotonic):
        self.stage, self.name, self.total = stage, name, total
        self._emit, self._interval, self._clock = on_progress, interval, clock
        self.done = start
        self._started_at, self._started_from = clock(), start
        self._last_emit = float("-inf")

    def advance(self, amount: int) -> None:
        self.update(self.done + amount)

    def update(self, done: int, force: bool = False) -> None:
        self.done = done
        now = self._clock()
        if force or now - self._last_emit >= self._interval or (self.total is not None and done >= self.total):
            self._last_emit = now
            self._emit(self.snapshot(now))

    def snapshot(self, now: float | None = None) -> Progress:
        elapsed = (now if now is not None else self._clock()) - self._started_at
        rate = (self.done - self._started_from) / elapsed if elapsed > 0 else None
        eta = (self.total - self.done) / rate if rate and self.total is not None else None
        return Progress(self.stage, self.name, self.done, self.total, rate, eta)


def describe(event: Progress) -> str:
    """One line for people: 'downloading facere_base.onnx: 45.2 MB of 185.0 MB (24%), 12.3 MB/s, 11 s left'."""
    if event.message and not event.done:
        return f"{event.name}: {event.message}"
    verb = {"download": "downloading", "verify": "verifying", "copy": "copying", "unpack": "unpacking",
            "clone": "cloning"}.get(event.stage, event.stage)
    if event.stage in ("unpack", "clone"):
        amount = f"{event.done} of {event.total}" if event.total else str(event.done)
        what = f" ({event.message})" if event.message else ""
        return f"{verb} {event.name}{what}: {amount}"
    parts = [human_size(event.done) + (f" of {human_size(event.total)}" if event.total else "")]
    if event.fraction is not None:
        parts[0] += f" ({event.fraction:.0%})"
    if event.rate:
        parts.append(f"{human_size(event.rate)}/s")
    if event.eta is not None and event.done != event.total:
        parts.append(f"{human_duration(event.eta)} left")
    return f"{verb} {event.name}: " + ", ".join(parts)
