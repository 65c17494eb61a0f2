"""The Cluster screen: cluster runs submitted from here, their shards, and what to do about them."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from tui.cluster import operations, record
from tui.cluster.status import JobStatus, job_status
from tui.errors import UserError
from tui.screens import NavEntry
from tui.screens.browse import open_in_browser
from tui.text import notification
from tui.widgets.cluster.job_list import JobList
from tui.widgets.cluster.log_tail import LogTail
from tui.widgets.cluster.summary import JobSummary
from tui.widgets.cluster.task_table import TaskTable
from tui.widgets.confirm import Confirm
from tui.widgets.footer import AppFooter

POLL_S = 5.0


class ClusterScreen(Screen):
    NAV = NavEntry("cluster", "j", "Cluster", "Cluster runs: each shard's state, progress and failures", order=60)
    BINDINGS = [
        Binding("f", "resubmit_failed", "Resubmit failed"),
        Binding("c", "merge_job", "Combine shards"),
        Binding("o", "open_merged", "Open in browser", show=False),  # the footer is cut at 80 columns:
        Binding("x", "cancel_job", "Cancel", show=False),  # these live in ctrl+p
        Binding("u", "poll", "Update now", show=False),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.statuses: dict[str, JobStatus] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Sharded runs submitted with `fashionfail-tui cluster submit`, updated every "
                     f"{POLL_S:.0f} s from squeue, scontrol and the shards' own progress files.", classes="intro")
        with Horizontal(id="cluster-panes"):
            yield JobList(id="job-list")
            with Vertical(id="job-detail"):
                yield JobSummary(id="job-summary")
                yield TaskTable(id="task-table")
                yield LogTail(id="log-tail", classes="hidden")
        yield AppFooter()

    @property
    def job_list(self) -> JobList:
        return self.query_one(JobList)

    @property
    def task_table(self) -> TaskTable:
        return self.query_one(TaskTable)

    @property
    def summary(self) -> JobSummary:
        return self.query_one(JobSummary)

    @property
    def log_tail(self) -> LogTail:
        return self.query_one(LogTail)

    @property
    def selected(self) -> JobStatus | None:
        job_id = self.job_list.selected_job
        return self.statuses.get(job_id) if job_id else None

    def on_mount(self) -> None:
        self.poll_timer = self.set_interval(POLL_S, self.action_poll)

    def on_screen_resume(self) -> None:
        self.action_poll()
        self.poll_timer.resume()

    def on_screen_suspend(self) -> None:
        """Another area is shown: stop asking SLURM until this one is back."""
        self.poll_timer.pause()

    def action_poll(self) -> None:
        self.poll_jobs()

    @work(thread=True, exclusive=True, group="cluster-poll")
    def poll_jobs(self) -> None:
        """Every known run's status; a SLURM failure is reported once per poll, the rest still shown."""
        statuses, errors = [], []
        for job in record.known_jobs():
            try:
                statuses.append(job_status(job))
            except UserError as exc:
                errors.append(f"job {job.job_id}: {exc}")
        self.app.call_from_thread(self._show, statuses, errors)

    def _show(self, statuses: list[JobStatus], errors: list[str]) -> None:
        self.statuses = {s.job.job_id: s for s in statuses}
        self.job_list.show(statuses)
        self._show_selected()
        for error in errors:
            self.notify(notification(error), severity="error", title="cluster status", markup=False)

    def _show_selected(self) -> None:
        status = self.selected
        self.summary.show(status)
        self.task_table.show(status)
        self._show_log()

    def _show_log(self) -> None:
        status, shard = self.selected, self.task_table.selected_shard
        self.log_tail.show(status.tasks[shard] if status and shard is not None else None)

    @on(DataTable.RowHighlighted, "#job-list")
    def _job_highlighted(self) -> None:
        self._show_selected()

    @on(DataTable.RowHighlighted, "#task-table")
    def _task_highlighted(self) -> None:
        self._show_log()

    def _act_on_selected(self, action: Callable, describe: Callable, question: str, yes: str) -> None:
        status = self.selected
        if status is None:
            self.notify("no cluster run selected", severity="warning")
            return
        self.app.push_screen(Confirm(question.format(job=status.job.job_id), yes=yes, no="Not now"),
                             lambda confirmed: confirmed and self.run_operation(status, action, describe))

    @work(thread=True, group="cluster-action")
    def run_operation(self, status: JobStatus, action: Callable, describe: Callable) -> None:
        """sbatch/scancel/merge off the UI thread; the outcome as a notification, then a fresh poll."""
        try:
            outcome = action(status.job)
        except UserError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", title=f"job {status.job.job_id}")
            return
        self.app.call_from_thread(self.notify, describe(outcome), title=f"job {status.job.job_id}")
        self.app.call_from_thread(self.action_poll)

    # each asks first: a letter typed by mistake submits, cancels or merges nothing
    def action_resubmit_failed(self) -> None:
        self._act_on_selected(operations.resubmit_failed,
                              lambda shards: f"resubmitted shards {', '.join(map(str, shards))}",
                              "Resubmit the failed shards of job {job} to SLURM?", "Resubmit")

    def action_cancel_job(self) -> None:
        self._act_on_selected(operations.cancel,
                              lambda ids: f"cancelled {', '.join(ids)}" if ids else "nothing left to cancel",
                              "Cancel job {job}'s shards that are still queued or running?", "Cancel the job")

    def action_merge_job(self) -> None:
        self._act_on_selected(operations.merge, lambda path: f"merged into {path}",
                              "Combine job {job}'s shards into one prediction file?", "Combine")

    def action_open_merged(self) -> None:
        status = self.selected
        if status is None:
            self.notify("no cluster run selected", severity="warning")
            return
        if not status.job.is_merged:
            self.notify("merge the shards first (c)", severity="warning")
            return
        open_in_browser(self.app, [status.job.merged], images_dir=status.job.images)
