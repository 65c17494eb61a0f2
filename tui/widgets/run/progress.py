"""Live progress of a run: the bar with its ETA, images/s, the current image."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from tui.runs.events import Progress, Started


class RunProgress(Vertical):
    DEFAULT_CSS = """
    RunProgress {
        height: auto;
        margin: 1 0 0 0;
    }
    RunProgress #run-status {
        color: $text-muted;
    }
    """

    _first: tuple[float, int] | None = None
    """When this session's first image event came, and how many were done then (for images/s)."""

    def compose(self) -> ComposeResult:
        yield ProgressBar(show_eta=True, id="run-bar")
        yield Static("No run yet.", id="run-status")

    @property
    def bar(self) -> ProgressBar:
        return self.query_one("#run-bar", ProgressBar)

    @property
    def status(self) -> Static:
        return self.query_one("#run-status", Static)

    def begin(self, model: str) -> None:
        self.bar.update(total=None, progress=0)
        self.status.update(f"Starting {model}...")
        self._first = None

    def stopped(self) -> None:
        """The run ended; one that never started must not look busy."""
        if self._first is None:
            self.bar.update(total=1, progress=0)
            self.status.update("Not started.")

    def started(self, event: Started) -> None:
        self.bar.update(total=event.total, progress=event.resumed)
        self._first = (time.monotonic(), event.resumed)
        resumed = f", resuming after {event.resumed} done" if event.resumed else ""
        self.status.update(f"{event.model} on {', '.join(event.providers) or 'default device'}{resumed}")

    def advanced(self, event: Progress) -> None:
        self.bar.update(total=event.total, progress=event.done)
        rate = ""
        if self._first is not None:
            since, done_then = self._first
            elapsed = time.monotonic() - since
            if elapsed > 0 and event.done > done_then:
                rate = f"{(event.done - done_then) / elapsed:.2f} images/s · "
        self.status.update(f"{event.done}/{event.total} · {rate}{event.image} ({event.detections} detections)")
