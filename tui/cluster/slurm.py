"""The SLURM commands we drive (sbatch, squeue, scontrol, scancel) and parsers for what they print.

Accounting (`sacct`) is often disabled on small clusters, so nothing here needs it: live tasks come
from `squeue` (its `--json` output where the installed SLURM has it, text otherwise) and finished
ones from `scontrol show job`, which remembers them for the cluster's MinJobAge.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tui import outside_json, processes
from tui.errors import UserError

TIMEOUT_S = 30
TEXT_FORMAT = "%K|%T|%r|%S"
"""squeue -o fields: array task id, state, reason, start time."""
_NO_START = ("N/A", "Unknown", "None", "")


@dataclass(frozen=True)
class TaskRecord:
    """What SLURM says about one array task."""

    task: int | None
    """The array task id; None for a job that is not an array (the merge job)."""
    state: str
    """SLURM's own state name: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT..."""
    reason: str = ""
    exit_code: int | None = None
    start_time: str = ""
    """As SLURM printed it (ISO-like local time or seconds since the epoch); empty if not started."""


def _run(command: list[str]) -> subprocess.CompletedProcess:
    try:
        return processes.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    except FileNotFoundError:
        raise UserError(f"'{command[0]}' is not installed here: run this on a SLURM login node") from None
    except subprocess.TimeoutExpired:
        raise UserError(f"'{command[0]}' did not answer in {TIMEOUT_S} s: is slurmctld up?") from None


def _last_line(text: str) -> str:
    """The last line a SLURM command printed, without its `sbatch: error: ` prefix."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return re.sub(r"^\w+: (error|fatal): ", "", lines[-1]) if lines else "no output"


def _unknown_job(result: subprocess.CompletedProcess) -> bool:
    return result.returncode != 0 and "Invalid job id" in result.stderr


def expand_task_ids(text: str) -> list[int]:
    """`0-3,7,9-11:2%4` -> [0, 1, 2, 3, 7, 9, 11]: SLURM's array task list, throttle and steps."""
    text = text.strip().strip("[]").split("%")[0]
    ids: list[int] = []
    for part in filter(None, text.split(",")):
        match = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", part)
        if not match:
            raise ValueError(f"not an array task list: {text!r}")
        first, last, step = match.groups()
        ids.extend(range(int(first), int(last or first) + 1, int(step or 1)))
    return ids


def _number(value) -> int | None:
    """Newer SLURM JSON wraps numbers as {"set": bool, "number": n}; 22.05 gives them bare or null."""
    if isinstance(value, dict):
        return int(value["number"]) if value.get("set") else None
    return None if value is None else int(value)


def _state(value) -> str:
    """22.05 gives "RUNNING"; later releases a list of flags, the first being the base state."""
    if isinstance(value, list):
        return str(value[0]) if value else "UNKNOWN"
    return str(value)


def _exit_status(value) -> int | None:
    if isinstance(value, dict):  # 23.02+: {"status": [...], "return_code": {...}}
        return _number(value.get("return_code"))
    number = _number(value)
    return None if number is None else number >> 8  # a wait status: the exit code is the high byte


def _reason(value) -> str:
    return "" if value in (None, "", "None") else str(value)


def parse_squeue_json(text: str, job_id: str) -> list[TaskRecord]:
    """Tasks of array job `job_id` in `squeue --json`; a pending range comes as one entry."""
    records = []
    for job in outside_json.parse(text).get("jobs", []):
        if str(_number(job.get("array_job_id"))) != job_id and str(_number(job.get("job_id"))) != job_id:
            continue
        task = _number(job.get("array_task_id"))
        pending_range = job.get("array_task_string") or ""
        tasks = [task] if task is not None or not pending_range else expand_task_ids(pending_range)
        start = _number(job.get("start_time"))
        for number in tasks:
            records.append(TaskRecord(
                task=number, state=_state(job.get("job_state")), reason=_reason(job.get("state_reason")),
                exit_code=_exit_status(job.get("exit_code")), start_time=str(start) if start else "",
            ))
    return records


def parse_squeue_text(text: str) -> list[TaskRecord]:
    """`squeue -h -r -o TEXT_FORMAT` lines: one per task (-r expands pending ranges)."""
    records = []
    for line in text.splitlines():
        fields = line.strip().split("|")
        if len(fields) != 4:
            continue
        task, state, reason, start = (f.strip() for f in fields)
        records.append(TaskRecord(int(task) if task.isdigit() else None, state, _reason(reason),
                                  start_time="" if start in _NO_START else start))
    return records


def parse_scontrol(text: str) -> list[TaskRecord]:
    """`scontrol -o show job ID`: one line per array task, `Key=Value` separated by spaces."""
    records = []
    for line in text.splitlines():
        fields = dict(re.findall(r"(\w[\w/:]*)=(\S*)", line))
        if "JobState" not in fields:
            continue
        code = fields.get("ExitCode", "")
        exit_code = int(code.split(":")[0]) if re.fullmatch(r"\d+:\d+", code) else None
        start = fields.get("StartTime", "")
        tasks = expand_task_ids(fields["ArrayTaskId"]) if "ArrayTaskId" in fields else [None]
        for task in tasks:
            records.append(TaskRecord(
                task, fields["JobState"], _reason(fields.get("Reason")),
                exit_code, "" if start in _NO_START else start,
            ))
    return records


def submit(script: Path, *, array: str | None = None, dependency: str | None = None) -> str:
    """`sbatch --parsable`; returns the job id. `array` overrides the script's task list."""
    command = ["sbatch", "--parsable"]
    if array:
        command.append(f"--array={array}")
    if dependency:
        command.append(f"--dependency={dependency}")
    result = _run([*command, str(script)])
    if result.returncode != 0:
        raise UserError(f"sbatch refused {script.name}: {_last_line(result.stderr)}")
    job_id = result.stdout.strip().split(";")[0]  # "ID" or "ID;cluster"
    if not job_id.isdigit():
        raise UserError(f"sbatch answered something that is not a job id: {_last_line(result.stdout)}")
    return job_id


_json_squeue: bool | None = None
"""Whether the installed squeue has --json (learned on first use)."""


def queued_tasks(job_id: str) -> list[TaskRecord]:
    """What squeue knows about an array job's tasks; [] once SLURM has forgotten the job."""
    global _json_squeue
    if _json_squeue is not False:
        result = _run(["squeue", "--json", f"--jobs={job_id}"])
        if _unknown_job(result):
            return []
        if result.returncode == 0 and result.stdout.lstrip().startswith("{"):
            _json_squeue = True
            return parse_squeue_json(result.stdout, job_id)
        _json_squeue = False  # no --json here (or no serializer plugin): the text form says the same
    result = _run(["squeue", "-h", "-r", f"--jobs={job_id}", "-o", TEXT_FORMAT])
    if _unknown_job(result):
        return []
    if result.returncode != 0:
        raise UserError(f"squeue failed: {_last_line(result.stderr)}")
    return parse_squeue_text(result.stdout)


def remembered_tasks(job_id: str) -> list[TaskRecord]:
    """`scontrol show job`: also the tasks that already finished, for as long as SLURM keeps them."""
    result = _run(["scontrol", "-o", "show", "job", job_id])
    if _unknown_job(result):
        return []
    if result.returncode != 0:
        raise UserError(f"scontrol failed: {_last_line(result.stderr)}")
    return parse_scontrol(result.stdout)


def cancel(job_id: str, tasks: list[int] | None = None) -> None:
    """`scancel` the whole array job, or only some of its tasks."""
    target = f"{job_id}_[{','.join(map(str, tasks))}]" if tasks else job_id
    result = _run(["scancel", target])
    if result.returncode != 0:
        raise UserError(f"scancel {target} failed: {_last_line(result.stderr)}")
