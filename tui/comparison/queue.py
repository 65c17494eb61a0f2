"""The models of a plan run one after another (they share the GPU), as one stream of events.

Each run is the same resumable runner `fashionfail-tui run` starts; a model whose finished output is
already there is reused. A run that fails does not stop the queue; cancelling stops the run in flight
(its finished images stay in its journal) and the models after it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tui.comparison.plan import Plan
from tui.config import Config
from tui.errors import UserError
from tui.runs.events import EXIT_FAILED, Event, Finished, failed
from tui.runs.process import Job
from tui.runs.request import RunRequest


@dataclass(frozen=True)
class ModelEvent:
    """One runner event of one model's run."""

    model: str
    event: Event

    def as_json(self) -> dict:
        return {**self.event.raw, "model": self.model}


@dataclass(frozen=True)
class Reused:
    """The model's finished output was already there; nothing ran."""

    model: str
    output: Path

    def as_json(self) -> dict:
        return {"event": "reused", "model": self.model, "output": str(self.output)}


@dataclass(frozen=True)
class QueueEnded:
    finished: tuple[tuple[str, Path], ...]
    """(model, output) of every model that finished or was reused, in queue order."""
    failed: tuple[tuple[str, str], ...]
    """(model, message) of every run that ended in an error."""
    cancelled: bool
    not_run: tuple[str, ...] = ()
    """Models the queue did not reach because it was cancelled."""
    failed_statuses: tuple[int, ...] = ()
    """The exit status of each failed run (`Failed.exit_status`), in `failed`'s order."""

    @property
    def exit_status(self) -> int:
        """For failed runs: the status they all share (2 when each found the input unusable), else 1."""
        statuses = set(self.failed_statuses)
        return statuses.pop() if len(statuses) == 1 else EXIT_FAILED

    def as_json(self) -> dict:
        return {"event": "queue_end", "finished": [{"model": m, "output": str(o)} for m, o in self.finished],
                "failed": [{"model": m, "message": text} for m, text in self.failed],
                "cancelled": self.cancelled, "not_run": list(self.not_run)}


QueueEvent = ModelEvent | Reused | QueueEnded


@dataclass(eq=False)
class CompareQueue:
    plan: Plan
    config: Config
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _job: Job | None = None
    _cancelled: bool = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop the run in flight after its current image and start no other; non-blocking, any thread.
        A second call escalates as `Job.cancel` does."""
        job = self._cancelled_job()
        if job is not None:
            job.cancel()

    def events(self) -> Iterator[QueueEvent]:
        """Every model's events in turn; the last event is the one QueueEnded."""
        finished, failed, statuses = [], [], []
        requests = list(self.plan.requests)
        while requests and not self._cancelled:
            request = requests.pop(0)
            name = request.model.name
            if name in self.plan.reused:
                finished.append((name, request.output))
                yield Reused(name, request.output)
                continue
            ending = None
            for ending in self._run(request):
                yield ModelEvent(name, ending)
            if isinstance(ending, Finished):
                finished.append((name, request.output))  # as the user named it, like a reused one
            elif ending.cancelled or self._cancelled:
                self._cancelled = True
                requests.insert(0, request)
            else:
                failed.append((name, ending.message))
                statuses.append(ending.exit_status)
        yield QueueEnded(tuple(finished), tuple(failed), self._cancelled, tuple(r.model.name for r in requests),
                         tuple(statuses))

    def stop(self) -> None:
        """Cancel and wait until the run in flight is gone (quitting the app)."""
        job = self._cancelled_job()
        if job is not None:
            job.stop()

    def _cancelled_job(self) -> Job | None:
        """Mark the queue cancelled (no run starts after this) and return the run in flight, if any."""
        with self._lock:
            self._cancelled = True
            return self._job

    @property
    def running_pid(self) -> int | None:
        """The runner process of the model in flight (the GPU pane highlights it)."""
        job = self._job
        return job.pid if job is not None else None

    def _run(self, request: RunRequest) -> Iterator[Event]:
        ending = None
        with self._lock:
            if self._cancelled:
                ending = failed("cancelled before it started", cancelled=True)
            else:
                try:
                    self._job = Job.start(request, self.config)
                except UserError as exc:
                    ending = failed(str(exc))
        if ending is not None:
            yield ending
            return
        try:
            yield from self._job.events()
        finally:
            with self._lock:
                self._job = None
