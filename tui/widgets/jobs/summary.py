"""A run at a glance: model, folders, totals, rate, ETA, and the merged file once there is one."""

from __future__ import annotations

from textual.widgets import Static

from tui.cluster.status import JobStatus


class JobSummary(Static):
    def show(self, status: JobStatus | None) -> None:
        self.set_class(status is not None and any(t.state == "failed" for t in status.tasks), "-failed")
        if status is None:
            self.update("No cluster runs yet: `fashionfail-tui cluster submit MODEL --images DIR --out DIR --shards N`.")
            return
        job = status.job
        merged = job.merged if job.merged and job.merged.exists() else None
        lines = [
            f"[b]job {job.job_id}[/b]  {job.model} on {job.shards} shards  ->  {job.out}",
            status.summary,
            f"merged: {merged}  (o opens it in the browser)" if merged
            else f"merge job: {status.merge_state}" if status.merge_state else "not merged yet (m merges once all are done)",
        ]
        self.update("\n".join(lines))
