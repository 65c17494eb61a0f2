"""A list of long tasks run one after another in a thread worker, with the current step, a
progress bar and a streamed log. Used for building environments and for fetching checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, ProgressBar, RichLog

from tui.environments import process
from tui.errors import UserError
from tui.text import markup, rich_text


class TaskReport:
    """Handed to a task running in the worker thread: each call is passed to the UI thread."""

    def __init__(self, runner: TaskRunner, label: str):
        self._runner, self._label = runner, label

    def line(self, text: str) -> None:
        self._runner.app.call_from_thread(self._runner.task_log.write, rich_text(text))

    def step(self, text: str) -> None:
        self._runner.app.call_from_thread(self._runner.task_title.update, markup(f"{self._label}: {text}"))

    def fraction(self, value: float) -> None:
        self._runner.app.call_from_thread(self._runner.task_progress.update, progress=round(value * 100, 1))


@dataclass(frozen=True)
class Task:
    key: str
    label: str
    run: Callable[[TaskReport], None]
    """Does the work in the worker thread; raises UserError with one line when it fails."""


class TaskRunner(Vertical):
    DEFAULT_CSS = """
    TaskRunner .task-title {
        text-style: bold;
    }
    TaskRunner .task-progress {
        margin-bottom: 1;
    }
    TaskRunner .task-log {
        height: 1fr;
        border: round $panel;
    }
    """

    class TaskFinished(Message):
        def __init__(self, runner: TaskRunner, key: str, error: str | None):
            super().__init__()
            self.runner, self.key, self.error = runner, key, error

    class AllFinished(Message):
        def __init__(self, runner: TaskRunner, failed: list[str]):
            super().__init__()
            self.runner, self.failed = runner, failed

    def compose(self) -> ComposeResult:
        yield Label("", classes="task-title")
        yield ProgressBar(total=100, show_eta=False, classes="task-progress")
        yield RichLog(classes="task-log", max_lines=5000, wrap=True)  # a failure's cause is read whole

    @property
    def task_title(self) -> Label:
        return self.query_one(".task-title", Label)

    @property
    def task_progress(self) -> ProgressBar:
        return self.query_one(".task-progress", ProgressBar)

    @property
    def task_log(self) -> RichLog:
        return self.query_one(".task-log", RichLog)

    _worker = None

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_running

    def on_unmount(self) -> None:
        # the app is closing, maybe mid-task (the worker already reads cancelled then): a silent
        # program would keep the process alive until it ends
        if self._worker is not None:
            process.stop_all()

    def start(self, tasks: list[Task]) -> None:
        self.task_progress.update(progress=0)
        self._worker = self._run(tasks)

    @work(thread=True, exclusive=True, group="tasks")
    def _run(self, tasks: list[Task]) -> None:
        failed = []
        for task in tasks:
            report = TaskReport(self, task.label)
            report.step("starting")
            report.fraction(0)
            try:
                task.run(report)
            except (UserError, OSError) as exc:
                report.step("failed")
                report.line(f"failed: {exc}")
                failed.append(task.key)
                self.post_message(self.TaskFinished(self, task.key, str(exc)))
            else:
                report.fraction(1)
                report.step("done")
                self.post_message(self.TaskFinished(self, task.key, None))
        self.post_message(self.AllFinished(self, failed))
