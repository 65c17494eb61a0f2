"""A run's process and its lifecycle: starting the runner, reading its two streams, cancelling it.

    job = Job.start(RunRequest(model, images, out_dir), config)
    for event in job.events():      # ends with exactly one Finished or Failed
        ...
    job.cancel()                    # from any thread: SIGINT, then SIGTERM, then SIGKILL

The runner runs in its own process group (so a terminal's Ctrl+C reaches only us, and cancelling
reaches everything it started) with a sanitized environment. A runner that dies without a `done`
or `error` event becomes a Failed event saying how it ended.
"""

from __future__ import annotations

import atexit
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tui import paths
from tui.config import Config
from tui.errors import UserError
from tui.runs.events import Event, Failed, Finished, LogLine, failed, parse_line
from tui.runs.request import RunRequest, runner_argv, runner_environment

SIGINT_GRACE = 30.0
"""Seconds a runner gets to finish its image in flight after SIGINT before SIGTERM."""
SIGTERM_GRACE = 5.0
"""Seconds after SIGTERM before SIGKILL."""
STDERR_TAIL = 20


_active: set[Job] = set()
_active_lock = threading.Lock()


@dataclass(eq=False)
class Job:
    request: RunRequest
    process: subprocess.Popen
    stderr_tail: list[str] = field(default_factory=list)
    _queue: queue.Queue = field(default_factory=queue.Queue)
    _cancel_requested: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, request: RunRequest, config: Config) -> Job:
        argv = runner_argv(request, config)
        if not Path(argv[0]).exists():
            raise UserError(f"{request.model.name} needs the Python at {argv[0]}, which does not exist")
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=runner_environment(Path(argv[0])), cwd=str(paths.runners_dir()),
                text=True, encoding="utf-8", errors="replace", bufsize=1, start_new_session=True,
            )
        except OSError as exc:
            raise UserError(f"cannot start the {request.model.name} runner: {exc}") from None
        job = cls(request, process)
        with _active_lock:
            _active.add(job)
        threading.Thread(target=job._read_stdout, name=f"runner-stdout-{process.pid}", daemon=True).start()
        threading.Thread(target=job._read_stderr, name=f"runner-stderr-{process.pid}", daemon=True).start()
        return job

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self._queue.put(parse_line(line))
        self._queue.put(_STDOUT_CLOSED)

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            text = line.rstrip("\r\n")
            self.stderr_tail[:] = (self.stderr_tail + [text])[-STDERR_TAIL:]
            self._queue.put(LogLine({"event": "log", "message": text}, text, "stderr"))
        self._queue.put(_STDERR_CLOSED)

    def events(self) -> Iterator[Event]:
        """Every event as it comes; the last one is the single Finished or Failed of the run."""
        open_streams = 2
        ending: Event | None = None
        while open_streams:
            event = self._queue.get()
            if event is _STDOUT_CLOSED or event is _STDERR_CLOSED:
                open_streams -= 1
            elif isinstance(event, (Finished, Failed)):
                ending = ending or event
            else:
                yield event
        returncode = self.process.wait()
        with _active_lock:
            _active.discard(self)
        yield self._ending(ending, returncode)

    def _ending(self, ending: Event | None, returncode: int) -> Event:
        cancelled = self._cancel_requested.is_set()
        if isinstance(ending, Finished) and returncode == 0:
            return ending
        if isinstance(ending, Failed):
            return Failed(ending.raw, ending.message, returncode, cancelled or returncode == 130)
        if cancelled:
            return failed("cancelled; rerun the same command to resume", returncode, cancelled=True)
        if returncode < 0:
            how = f"was killed by {signal.Signals(-returncode).name}"
        else:
            how = f"exited with code {returncode}"
        last = next((line for line in reversed(self.stderr_tail) if line.strip()), "")
        return failed(f"the {self.request.model.name} runner {how} without finishing"
                      + (f" (last output: {last.strip()})" if last else ""), returncode)

    def cancel(self) -> None:
        """Ask the runner to stop after the image in flight; escalate if it does not. Non-blocking."""
        if self._cancel_requested.is_set():
            self._signal(signal.SIGKILL if self._alive_after(0) else None)
            return
        self._cancel_requested.set()
        self._signal(signal.SIGINT)
        threading.Thread(target=self._escalate, name=f"runner-cancel-{self.pid}", daemon=True).start()

    def stop(self, sigint_grace: float = 2.0, sigterm_grace: float = 2.0) -> None:
        """Cancel and wait until the process is gone (for quitting)."""
        self._cancel_requested.set()
        self._signal(signal.SIGINT)
        self._escalate(sigint_grace, sigterm_grace)

    def _escalate(self, sigint_grace: float = SIGINT_GRACE, sigterm_grace: float = SIGTERM_GRACE) -> None:
        if self._alive_after(sigint_grace):
            self._signal(signal.SIGTERM)
            if self._alive_after(sigterm_grace):
                self._signal(signal.SIGKILL)
                self.process.wait()

    def _alive_after(self, seconds: float) -> bool:
        try:
            self.process.wait(timeout=seconds)
            return False
        except subprocess.TimeoutExpired:
            return True

    def _signal(self, number: signal.Signals | None) -> None:
        """Signal the runner's whole process group."""
        if number is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass


_STDOUT_CLOSED = object()
_STDERR_CLOSED = object()


def active_jobs() -> list[Job]:
    with _active_lock:
        return list(_active)


def stop_all(grace: float = 2.0) -> None:
    """Stop every runner this process started and wait until they are gone (app quit, CLI exit)."""
    jobs = active_jobs()
    threads = [threading.Thread(target=job.stop, args=(grace, grace)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


atexit.register(stop_all)
