"""The queue as rows a screen shows: one per model with its state, images done, images/s and ETA,
updated from the queue's events. No Textual here; the Compare screen renders the rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tui.comparison.plan import Plan
from tui.comparison.queue import ModelEvent, QueueEnded, QueueEvent, Reused
from tui.runs.events import Failed, Finished, Progress, Started

STATES = ("queued", "running", "done", "reused", "failed", "cancelled", "not run", "skipped")


@dataclass
class ModelRow:
    model: str
    state: str
    """One of STATES."""
    done: int = 0
    total: int | None = None
    note: str = ""
    """The output written, the error, or why the model was skipped."""
    rate: float | None = None
    """Images per second in this session (resumed images do not count)."""
    _first: tuple[float, int] | None = None
    """When the first image event of this session came, and how many were done then."""

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate; None before a rate is known or once not running."""
        if self.state != "running" or not self.rate or self.total is None:
            return None
        return (self.total - self.done) / self.rate


class QueueRows:
    """Rows in queue order (skipped models last), changed by `apply`."""

    def __init__(self, plan: Plan, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.rows: dict[str, ModelRow] = {
            request.model.name: ModelRow(request.model.name, "queued", note=str(request.output))
            for request in plan.requests}
        for skipped in plan.skipped:
            self.rows[skipped.model] = ModelRow(skipped.model, "skipped", note=skipped.reason())

    def apply(self, event: QueueEvent) -> list[ModelRow]:
        """Update the rows for one event; returns the rows it changed."""
        if isinstance(event, Reused):
            row = self.rows[event.model]
            row.state, row.note = "reused", f"finished earlier: {event.output}"
            return [row]
        if isinstance(event, QueueEnded):
            changed = [self.rows[name] for name in event.not_run if self.rows[name].state in ("queued", "running")]
            for row in changed:
                row.state = "not run"
            return changed
        return [self._apply_run_event(self.rows[event.model], event)] if isinstance(event, ModelEvent) else []

    def _apply_run_event(self, row: ModelRow, model_event: ModelEvent) -> ModelRow:
        event = model_event.event
        if isinstance(event, Started):
            row.state, row.total, row.done = "running", event.total, event.resumed
            row._first = (self.clock(), event.resumed)
        elif isinstance(event, Progress):
            row.state, row.total, row.done = "running", event.total, event.done
            if row._first is not None:
                since, done_then = row._first
                elapsed = self.clock() - since
                if elapsed > 0 and event.done > done_then:
                    row.rate = (event.done - done_then) / elapsed
        elif isinstance(event, Finished):
            row.state, row.note = "done", str(event.output)
            row.done = row.total = row.total if row.total is not None else event.images
        elif isinstance(event, Failed):
            row.state = "cancelled" if event.cancelled else "failed"
            row.note = event.message
        return row
