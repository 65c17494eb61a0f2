"""Where a cluster run stands: SLURM's view of each array task joined with the shard's own files.

A shard is `done` once its prediction file exists, whatever SLURM still says; otherwise SLURM's
state decides, and once SLURM has forgotten the task, the exit status the job script left beside
the log. Images done, rate and ETA come from the progress file the runner keeps for its shard.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

from tui import outside_json
from tui.cluster import slurm
from tui.cluster.record import ClusterJob
from tui.runs.shards import Shard
from tui.units import human_duration, human_rate

STATES = ("pending", "running", "done", "failed")
_PENDING = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "RESIZING", "SUSPENDED",
            "RESV_DEL_HOLD", "SPECIAL_EXIT"}
_RUNNING = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"}
LOG_TAIL_LINES = 12


@dataclass(frozen=True)
class ShardProgress:
    """What the runner's progress file says about one shard."""

    done: int
    total: int
    started_at: float
    updated_at: float
    resumed_from: int = 0
    """Images already done by an earlier attempt when this one started."""

    @property
    def rate(self) -> float | None:
        """Images per second in this attempt."""
        elapsed = self.updated_at - self.started_at
        fresh = self.done - self.resumed_from
        return fresh / elapsed if elapsed > 0 and fresh > 0 else None


@dataclass(frozen=True)
class TaskStatus:
    shard: Shard
    job_id: str
    """The submission that runs this shard ('' if none did)."""
    state: str
    """pending | running | done | failed"""
    detail: str = ""
    """SLURM's state and reason, or why the shard counts as failed."""
    done: int = 0
    total: int = 0
    rate: float | None = None
    log: Path | None = None
    log_tail: tuple[str, ...] = ()
    """The log's last lines, for failed tasks only."""

    @property
    def eta_s(self) -> float | None:
        if self.state != "running" or not self.rate:
            return None
        return max(self.total - self.done, 0) / self.rate


@dataclass(frozen=True)
class JobStatus:
    job: ClusterJob
    tasks: tuple[TaskStatus, ...]
    merge_state: str | None = None
    """State of the dependent merge job, None when there is none."""

    def count(self, state: str) -> int:
        return sum(1 for t in self.tasks if t.state == state)

    @property
    def done(self) -> int:
        return sum(t.done for t in self.tasks)

    @property
    def total(self) -> int:
        return self.job.image_count

    @property
    def rate(self) -> float | None:
        rates = [t.rate for t in self.tasks if t.state == "running" and t.rate]
        return sum(rates) if rates else None

    @property
    def eta_s(self) -> float | None:
        """Images left over the running shards' summed rate (assumes as many keep running)."""
        rate = self.rate
        return max(self.total - self.done, 0) / rate if rate else None

    @property
    def finished(self) -> bool:
        return all(t.state in ("done", "failed") for t in self.tasks)

    @property
    def all_done(self) -> bool:
        return all(t.state == "done" for t in self.tasks)

    @property
    def summary(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in STATES if self.count(s))
        speed = f"; {human_rate(self.rate)}, ETA {human_duration(self.eta_s)}" if self.rate else ""
        return f"{self.done}/{self.total} images; {counts}{speed}"

    def to_json(self) -> dict:
        return {
            "job_id": self.job.job_id, "model": self.job.model, "out": str(self.job.out),
            "shards": self.job.shards, "images": self.total, "done": self.done,
            "rate": self.rate, "eta_s": self.eta_s, "merge_state": self.merge_state,
            "merged": str(self.job.merged) if self.job.merged else None,
            "tasks": [{
                "shard": t.shard.index, "job_id": t.job_id, "state": t.state, "detail": t.detail,
                "done": t.done, "total": t.total, "rate": t.rate, "eta_s": t.eta_s,
                "log": str(t.log) if t.log else None, "log_tail": list(t.log_tail),
            } for t in self.tasks],
        }


def read_progress(path: Path) -> ShardProgress | None:
    """The runner's progress file, or None while there is none (or it is mid-write)."""
    try:
        data = outside_json.read_object(path)
        return ShardProgress(int(data["done"]), int(data["total"]), float(data["started_at"]),
                             float(data["updated_at"]), int(data.get("resumed_from", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> tuple[str, ...]:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return tuple(line.rstrip("\n") for line in deque(handle, maxlen=lines))
    except OSError:
        return ()


def _exit_status(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _slurm_view(wanted: dict[str, set]) -> dict[tuple[str, int | None], slurm.TaskRecord]:
    """(job id, task) -> SLURM's record: squeue first, scontrol for the tasks squeue no longer lists."""
    view = {}
    for job_id, tasks in wanted.items():
        records = {r.task: r for r in slurm.queued_tasks(job_id)}
        if not tasks <= records.keys():
            remembered = {r.task: r for r in slurm.remembered_tasks(job_id)}
            records = {**remembered, **records}
        view.update({(job_id, task): record for task, record in records.items()})
    return view


def _classify(job: ClusterJob, shard: Shard, record: slurm.TaskRecord | None) -> tuple[str, str]:
    """(state, detail) for one submitted shard whose prediction file does not exist."""
    status = _exit_status(job.exit_file(shard))
    if status is not None:
        return "failed", f"exit {status}" if status else "exited 0 without writing its shard file"
    if record is None:
        if job.log_file(shard).exists():
            return "failed", "stopped without an exit status (cancelled or killed?); SLURM no longer lists it"
        return "failed", "never started; SLURM no longer lists it"
    reason = f" ({record.reason})" if record.reason else ""
    if record.state in _PENDING:
        return "pending", f"{record.state}{reason}"
    if record.state in _RUNNING:
        return "running", record.state
    code = f", exit {record.exit_code}" if record.exit_code else ""
    return "failed", f"{record.state}{code}{reason}"


def _older_than(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime < moment
    except OSError:
        return False


def _settled(job: ClusterJob, shard: Shard) -> bool:
    """Its files already say how the shard ended: no need to ask SLURM."""
    return job.shard_file(shard).exists() or job.exit_file(shard).exists()


def job_status(job: ClusterJob) -> JobStatus:
    """Ask SLURM once per submission and read every shard's files."""
    latest = {shard: job.latest_submission(shard) for shard in job.shard_list()}
    wanted: dict[str, set] = {}
    for shard, submission in latest.items():
        if submission and not _settled(job, shard):
            wanted.setdefault(submission.job_id, set()).add(shard.index)
    if job.merge_job_id and not job.is_merged:
        wanted[job.merge_job_id] = {None}
    view = _slurm_view(wanted)
    tasks = []
    for shard, submission in latest.items():
        progress = read_progress(job.progress_file(shard))
        expected = len(shard.select(range(job.image_count)))
        if job.shard_file(shard).exists():
            state, detail = "done", ""
        elif submission is None:
            state, detail = "failed", "never submitted"
        else:
            state, detail = _classify(job, shard, view.get((submission.job_id, shard.index)))
        done = expected if state == "done" else (progress.done if progress else 0)
        if state == "failed" and submission and _older_than(job.log_file(shard), submission.submitted_at):
            detail += "; the log is from an earlier attempt"
        tasks.append(TaskStatus(
            shard=shard, job_id=submission.job_id if submission else "", state=state, detail=detail,
            done=done, total=progress.total if progress else expected,
            rate=progress.rate if progress and state == "running" else None,
            log=job.log_file(shard), log_tail=log_tail(job.log_file(shard)) if state == "failed" else (),
        ))
    return JobStatus(job, tuple(tasks), _merge_state(job, view))


def _merge_state(job: ClusterJob, view: dict) -> str | None:
    if job.is_merged:
        return "done"
    if not job.merge_job_id:
        return None
    record = view.get((job.merge_job_id, None))
    if record is None:
        return "failed"
    if record.state in _PENDING:
        return "pending"
    return "running" if record.state in _RUNNING else ("done" if record.state == "COMPLETED" else "failed")
