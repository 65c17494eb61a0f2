"""One row per cluster run submitted from here, newest first."""

from __future__ import annotations

from textual.widgets import DataTable

from tui.cluster.status import JobStatus
from tui.text import rich_text


class JobList(DataTable):
    """Rows keyed by the run's first job id."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_column("job", key="job")
        self.add_column("model", key="model")
        self.add_column("progress", key="progress")

    def show(self, statuses: list[JobStatus]) -> None:
        """Redraw, keeping the cursor on the same run when it is still listed."""
        selected = self.selected_job
        self.clear()
        ids = [s.job.job_id for s in statuses]
        for status in statuses:
            finished = status.count("done")
            self.add_row(rich_text(status.job.job_id), rich_text(status.job.model),
                         f"{finished}/{status.job.shards} shards, {status.done}/{status.total} img",
                         key=status.job.job_id)
        if selected in ids:
            self.move_cursor(row=ids.index(selected))

    @property
    def selected_job(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
