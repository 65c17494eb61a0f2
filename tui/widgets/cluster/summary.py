"""A run at a glance: model, folders, totals, rate, ETA, and the merged file once there is one."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.cluster.status import JobStatus
from tui.text import rich_text, visible

EMPTY = "No cluster runs yet: `fashionfail-tui cluster submit MODEL --images DIR --out DIR --shards N`."


class JobSummary(Static):
    DEFAULT_CSS = """
    JobSummary {
        height: auto;
        padding: 0 1;
        border-bottom: hkey $primary;
    }
    JobSummary.-failed {
        border-bottom: hkey $error;
    }
    """

    def show(self, status: JobStatus | None) -> None:
        self.set_class(status is not None and any(t.state == "failed" for t in status.tasks), "-failed")
        if status is None:
            self.update(EMPTY)
            return
        job = status.job
        if status.merge_state == "done":
            merge = f"merged: {job.merged}  (o opens it in the browser)"
        elif status.merge_state == "failed":
            merge = f"merge job failed: see {job.merge_log}"
        elif status.merge_state:
            merge = f"merge job: {status.merge_state}"
        else:
            merge = "not merged yet (c combines the shards once every one is done)"
        heading = rich_text(f"job {job.job_id}", style="bold")
        self.update(Text("\n").join([heading + visible(f"  {job.model} on {job.shards} shards  ->  {job.out}"),
                                      rich_text(status.summary), rich_text(merge)]))
