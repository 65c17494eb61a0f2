"""A cluster run's record: what was submitted, kept beside its output so `status` works later.

The record is `<out>/<model>.cluster.json`; `paths.data_dir()/jobs/<job id>.json` points at it for
every job id it owns (the array, each resubmission, the merge job), so a job can be named by id.
The output folder is on the cluster's shared file system; the index is per user.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tui import outside_json, paths
from tui.errors import UserError
from tui.files import json_text, write_atomically
from tui.runs.shards import Shard, all_shards

RECORD_SUFFIX = ".cluster.json"
PATH_FIELDS = ("images", "out", "model_file", "merged")


@dataclass
class Submission:
    job_id: str
    tasks: list[int]
    """The array task ids (= shard numbers) this submission runs."""
    submitted_at: float


@dataclass
class ClusterJob:
    model: str
    images: Path
    out: Path
    shards: int
    image_count: int
    model_file: Path | None = None
    """A weights file other than the catalog's (`run --model-file`)."""
    device: str | None = None
    partition: str | None = None
    gpus_per_task: int | None = None
    time_limit: str | None = None
    submissions: list[Submission] = field(default_factory=list)
    merge_job_id: str | None = None
    merged: Path | None = None
    """The merged prediction file, once `cluster merge` wrote it."""

    @property
    def job_id(self) -> str:
        """The first array job's id: the name this run goes by."""
        return self.submissions[0].job_id if self.submissions else "(not submitted)"

    @property
    def record_path(self) -> Path:
        return self.out / f"{self.model}{RECORD_SUFFIX}"

    @property
    def script_path(self) -> Path:
        return self.out / f"{self.model}.sbatch"

    @property
    def merge_script_path(self) -> Path:
        return self.out / f"{self.model}.merge.sbatch"

    @property
    def logs_dir(self) -> Path:
        return self.out / "logs"

    @property
    def merge_log(self) -> Path:
        return self.logs_dir / f"{self.model}.merge.log"

    @property
    def is_merged(self) -> bool:
        return self.merged is not None and self.merged.exists()

    @property
    def merged_path(self) -> Path:
        """Where `cluster merge` writes: the file a single run over all images would write."""
        return self.out / f"{self.model}.npz"

    def shard_list(self) -> list[Shard]:
        return all_shards(self.shards)

    def shard_file(self, shard: Shard) -> Path:
        return self.out / shard.file_name(self.model)

    def progress_file(self, shard: Shard) -> Path:
        """Kept up to date by the runner while it works through the shard."""
        return self.out / shard.file_name(self.model, ".npz.progress.json")

    def log_file(self, shard: Shard) -> Path:
        return self.logs_dir / f"{self.model}.shard-{shard.index:0{shard.width}d}.log"

    def exit_file(self, shard: Shard) -> Path:
        """Written by the job script with the task's exit status when the run ends."""
        return self.log_file(shard).with_suffix(".exit")

    def latest_submission(self, shard: Shard) -> Submission | None:
        owners = [s for s in self.submissions if shard.index in s.tasks]
        return owners[-1] if owners else None

    def job_ids(self) -> list[str]:
        return [s.job_id for s in self.submissions] + ([self.merge_job_id] if self.merge_job_id else [])

    def save(self) -> None:
        """Write the record atomically, and index every job id it owns."""
        self.out.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        for key in PATH_FIELDS:
            data[key] = str(data[key]) if data[key] is not None else None
        write_atomically(self.record_path, json_text(data, indent=2) + "\n")
        index = jobs_index_dir()
        index.mkdir(parents=True, exist_ok=True)
        for job_id in self.job_ids():
            write_atomically(index / f"{job_id}.json", json_text({"record": str(self.record_path)}) + "\n")

    @classmethod
    def load(cls, path: Path) -> ClusterJob:
        try:
            data = outside_json.read_object(path)
            data["submissions"] = [Submission(**s) for s in data.get("submissions", [])]
            for key in PATH_FIELDS:
                data[key] = Path(data[key]) if data.get(key) else None
            return cls(**data)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise UserError(f"cannot read the cluster job record {path}: {exc}") from None


def jobs_index_dir() -> Path:
    return paths.data_dir() / "jobs"


def find(name: str) -> ClusterJob:
    """A job by id (any id it owns), by its output folder, or by its record file."""
    candidate = Path(name).expanduser()
    if candidate.is_file() and candidate.name.endswith(RECORD_SUFFIX):
        return ClusterJob.load(candidate)
    if candidate.is_dir():
        records = sorted(candidate.glob(f"*{RECORD_SUFFIX}"))
        if len(records) == 1:
            return ClusterJob.load(records[0])
        if records:
            raise UserError(f"{candidate} holds {len(records)} cluster runs; name one of: "
                            + ", ".join(r.name for r in records))
        raise UserError(f"{candidate} holds no cluster run (no *{RECORD_SUFFIX})")
    pointer = jobs_index_dir() / f"{name}.json"
    if not name.isdigit() or not pointer.is_file():
        raise UserError(f"no cluster job '{name}' submitted from here; `fashionfail-tui cluster status` lists them")
    try:
        record = Path(outside_json.read_object(pointer)["record"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(f"the job index entry {pointer} is unreadable; name the job's output folder instead") from None
    if not record.is_file():
        raise UserError(f"job {name}'s record {record} is gone; was its output folder moved?")
    return ClusterJob.load(record)


def known_jobs() -> list[ClusterJob]:
    """Every cluster run submitted from here, newest first (once each, whatever ids it owns)."""
    seen: dict[Path, ClusterJob] = {}
    index = jobs_index_dir()
    for pointer in sorted(index.glob("*.json")) if index.is_dir() else []:
        try:
            record = Path(outside_json.read_object(pointer)["record"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if record not in seen and record.is_file():
            try:
                seen[record] = ClusterJob.load(record)
            except UserError:
                continue
    jobs = list(seen.values())
    return sorted(jobs, key=lambda j: j.submissions[0].submitted_at if j.submissions else time.time(), reverse=True)
