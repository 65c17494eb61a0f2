"""One run's array tasks: a row per shard with its state, images, rate and ETA."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui.cluster.status import JobStatus, TaskStatus
from tui.units import human_duration, human_rate

STATE_STYLES = {"pending": "yellow", "running": "cyan", "done": "green", "failed": "bold red"}


class TaskTable(DataTable):
    """Rows keyed by shard number."""

    DEFAULT_CSS = """
    TaskTable {
        height: 1fr;
    }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key in ("shard", "job", "state", "images", "rate", "ETA", "detail"):
            self.add_column(key, key=key)

    def show(self, status: JobStatus | None) -> None:
        selected = self.selected_shard
        self.clear()
        for task in status.tasks if status else ():
            self.add_row(*self._cells(task), key=str(task.shard.index))
        if status and selected is not None and selected < len(status.tasks):
            self.move_cursor(row=selected)

    @staticmethod
    def _cells(task: TaskStatus) -> tuple:
        return (str(task.shard.index), task.job_id, Text(task.state, style=STATE_STYLES[task.state]),
                f"{task.done}/{task.total}", human_rate(task.rate), human_duration(task.eta_s), task.detail)

    @property
    def selected_shard(self) -> int | None:
        if not self.row_count:
            return None
        return int(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
