"""One run's array tasks: a row per shard with its state, images, rate and ETA."""

from __future__ import annotations

from rich.text import Text

from tui.cluster.status import JobStatus, TaskStatus
from tui.units import human_duration, human_rate
from tui.widgets.fitted_table import FittedTable

STATE_STYLES = {"pending": "yellow", "running": "cyan", "done": "green", "failed": "bold red"}


class TaskTable(FittedTable):
    """Rows keyed by shard number."""

    DEFAULT_CSS = """
    TaskTable {
        height: 1fr;
    }
    """

    COLUMNS = [(key, key) for key in ("shard", "job", "state", "images", "rate", "ETA", "detail")]

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.show(None)

    def show(self, status: JobStatus | None) -> None:
        self._status = status
        selected = self.selected_shard
        rows = {str(task.shard.index): self._cells(task) for task in (status.tasks if status else ())}
        self.set_columns(self.COLUMNS, list(rows.values()), text_column="detail")
        for key, cells in rows.items():
            self.add_row(*cells, key=key)
        if status and selected is not None and selected < len(status.tasks):
            self.move_cursor(row=selected)

    def on_fitted_table_width_changed(self) -> None:
        self.show(self._status)

    @staticmethod
    def _cells(task: TaskStatus) -> tuple:
        return (str(task.shard.index), task.job_id, Text(task.state, style=STATE_STYLES[task.state]),
                f"{task.done}/{task.total}", human_rate(task.rate), human_duration(task.eta_s), task.detail)

    @property
    def selected_shard(self) -> int | None:
        if not self.row_count:
            return None
        return int(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
