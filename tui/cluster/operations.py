"""What the `cluster` command and the Cluster screen do: submit, resubmit the failed, cancel, merge."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tui import catalog
from tui.cluster import script, slurm
from tui.cluster.record import ClusterJob, Submission
from tui.cluster.status import job_status
from tui.errors import UserError
from tui.runs.merging import merge_files
from tui.units import counted


@dataclass(frozen=True)
class SubmitRequest:
    model: str
    images: Path
    out: Path
    shards: int
    model_file: Path | None = None
    device: str | None = None
    partition: str | None = None
    gpus_per_task: int | None = None
    time_limit: str | None = None
    merge: bool = False
    """Also submit a merge job that runs once every shard succeeded."""


def prepare(request: SubmitRequest, image_count: int) -> ClusterJob:
    """The job record and its scripts, written to the output folder; nothing submitted yet."""
    if request.shards < 1:
        raise UserError(f"--shards must be at least 1, not {request.shards}")
    if image_count < request.shards:
        raise UserError(f"{request.images} has {counted(image_count, 'image')}: too few for {counted(request.shards, 'shard')}")
    job = ClusterJob(
        model=catalog.get(request.model).name, images=request.images.resolve(), out=request.out.resolve(),
        shards=request.shards, image_count=image_count,
        model_file=request.model_file.resolve() if request.model_file else None, device=request.device,
        partition=request.partition, gpus_per_task=request.gpus_per_task, time_limit=request.time_limit,
    )
    earlier = ClusterJob.load(job.record_path) if job.record_path.exists() else None
    if earlier and earlier.submissions:
        raise UserError(f"{job.out} already holds a cluster run of {job.model} (job {earlier.job_id}); "
                        "use another --out, or `cluster resubmit` it")
    array_text = script.array_script(job)  # refuses hostile values before anything is written
    job.logs_dir.mkdir(parents=True, exist_ok=True)
    job.script_path.write_text(array_text, encoding="utf-8")
    if request.merge:
        job.merge_script_path.write_text(script.merge_script(job), encoding="utf-8")
    return job


def submit(job: ClusterJob, *, merge: bool) -> ClusterJob:
    """sbatch the array (and the merge job after it); the record is saved after each step."""
    job_id = slurm.submit(job.script_path)
    job.submissions.append(Submission(job_id, list(range(job.shards)), time.time()))
    job.save()
    if merge:
        _submit_merge(job, job_id)
    return job


def _submit_merge(job: ClusterJob, after: str) -> None:
    if not job.merge_script_path.exists():
        job.merge_script_path.write_text(script.merge_script(job), encoding="utf-8")
    job.merge_job_id = slurm.submit(job.merge_script_path, dependency=f"afterok:{after}")
    job.save()


def resubmit_failed(job: ClusterJob) -> list[int]:
    """Run the failed shards again (they resume) as a new array job; returns their numbers.

    A merge job waiting on the old array would never start, so it is cancelled and a new one
    made to wait on the resubmission (the other shards are done already).
    """
    failed = [t.shard.index for t in job_status(job).tasks if t.state == "failed"]
    if not failed:
        raise UserError(f"job {job.job_id} has no failed shards")
    for index in failed:  # a stale exit status would outlive the new attempt's silence
        job.exit_file(job.shard_list()[index]).unlink(missing_ok=True)
    job_id = slurm.submit(job.script_path, array=",".join(map(str, failed)))
    job.submissions.append(Submission(job_id, failed, time.time()))
    job.save()
    if job.merge_job_id:
        slurm.cancel(job.merge_job_id)
        _submit_merge(job, job_id)
    return failed


def cancel(job: ClusterJob) -> list[str]:
    """scancel every submission whose shards are not all done, and the merge job; returns the ids."""
    status = job_status(job)
    unfinished = {t.job_id for t in status.tasks if t.state in ("pending", "running")}
    if status.merge_state in ("pending", "running"):
        unfinished.add(job.merge_job_id)
    for job_id in sorted(unfinished):
        slurm.cancel(job_id)
    return sorted(unfinished)


def merge(job: ClusterJob) -> Path:
    """`cluster merge`: every shard file of a cluster run into the file a single run would write."""
    missing = [s.index for s in job.shard_list() if not job.shard_file(s).exists()]
    if missing:
        raise UserError(f"job {job.job_id}: shards {', '.join(map(str, missing))} are not done yet "
                        "(`fashionfail-tui cluster status` says why)")
    job.merged = merge_files([job.shard_file(s) for s in job.shard_list()], job.merged_path)
    job.save()
    return job.merged
