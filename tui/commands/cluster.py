"""`fashionfail-tui cluster submit|status|cancel|merge|resubmit`: sharded runs as a SLURM job array."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tui import catalog
from tui.cluster import record
from tui.cluster.status import JobStatus, job_status
from tui.commands import output_console
from tui.files import json_text
from tui.text import markup, rich_text, visible
from tui.units import counted, human_duration, human_rate

if TYPE_CHECKING:
    from rich.table import Table

COMMAND = "cluster"
HELP = "run a model over a SLURM cluster as a job array of shards, and watch, cancel or merge it"
ORDER = 60
_STATE_STYLE = {"pending": "yellow", "running": "cyan", "done": "green", "failed": "red"}


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)

    submit = actions.add_parser("submit", help="write the sbatch job-array script into --out and submit it")
    submit.add_argument("model", metavar="MODEL")
    submit.add_argument("--images", type=Path, required=True, help="folder of images, on the shared file system")
    submit.add_argument("--out", type=Path, required=True, help="output folder, on the shared file system")
    submit.add_argument("--shards", type=int, required=True, help="number of array tasks (shards 0..N-1)")
    submit.add_argument("--model-file", type=Path, help="weights file to use instead of the catalog's")
    submit.add_argument("--device", choices=("auto", "cpu", "cuda"), help="passed to each task's run")
    submit.add_argument("--partition", help="sbatch --partition")
    submit.add_argument("--gpus-per-task", type=int, help="sbatch --gpus-per-task")
    submit.add_argument("--time", dest="time_limit", help="sbatch --time, e.g. 02:00:00")
    submit.add_argument("--dry-run", action="store_true", help="only write the script")
    submit.add_argument("--merge", action="store_true",
                        help="also submit a merge job that runs once every shard succeeded (afterok)")
    submit.add_argument("--json", action="store_true", help="print the job as one JSON object")

    status = actions.add_parser("status", help="each shard's state and progress; every job without JOB")
    status.add_argument("job", nargs="?", metavar="JOB", help="job id or output folder")
    status.add_argument("--json", action="store_true", help="one JSON object")

    for name, text in (("cancel", "scancel the job's unfinished tasks and its merge job"),
                       ("resubmit", "run the failed shards again (each resumes)"),
                       ("merge", "join the finished shards into one prediction file")):
        action = actions.add_parser(name, help=text)
        action.add_argument("job", metavar="JOB", help="job id, output folder or record file")
        action.add_argument("--json", action="store_true", help="one JSON object")


def _print(args, data: dict, text: str) -> None:
    print(json_text(data) if args.json else visible(text))


def _submit(args) -> int:
    from tui.cluster import operations
    from tui.environments import load_config
    from tui.runs.checks import check_request
    from tui.runs.request import RunRequest
    from tui.runs.shards import list_images

    request = operations.SubmitRequest(
        model=args.model, images=args.images, out=args.out, shards=args.shards, model_file=args.model_file,
        device=args.device, partition=args.partition, gpus_per_task=args.gpus_per_task,
        time_limit=args.time_limit, merge=args.merge,
    )
    settings = load_config()
    check_request(RunRequest(catalog.get(args.model), args.images, args.out, args.model_file), settings)
    job = operations.prepare(request, len(list_images(args.images)))
    if args.dry_run:
        _print(args, {"script": str(job.script_path), "submitted": False},
               f"wrote {job.script_path} (not submitted)")
        return 0
    operations.submit(job, merge=args.merge)
    merge = f"; merge job {job.merge_job_id} runs when all succeed" if job.merge_job_id else ""
    _print(args, {"job_id": job.job_id, "merge_job_id": job.merge_job_id, "script": str(job.script_path),
                  "out": str(job.out), "shards": job.shards, "submitted": True},
           f"submitted job {job.job_id}: {counted(job.shards, 'shard')} of {job.model} over {counted(job.image_count, 'image')} "
           f"({job.script_path}){merge}")
    return 0


def _status_table(status: JobStatus) -> Table:
    from rich.table import Table

    table = Table("shard", "job", "state", "images", "rate", "ETA", "detail",
                  title=markup(f"job {status.job.job_id}: {status.job.model} -> {status.job.out}"), title_justify="left")
    for task in status.tasks:
        style = _STATE_STYLE[task.state]
        table.add_row(str(task.shard.index), rich_text(task.job_id), f"[{style}]{markup(task.state)}[/]",
                      f"{task.done}/{task.total}", human_rate(task.rate), human_duration(task.eta_s), rich_text(task.detail))
    merge = f"; merge job {status.merge_state}" if status.merge_state else ""
    table.caption = rich_text(status.summary + merge)
    return table


def _status(args) -> int:
    from rich.table import Table

    console = output_console()
    if args.job is None:
        statuses = [job_status(job) for job in record.known_jobs()]
        if args.json:
            print(json_text({"jobs": [s.to_json() for s in statuses]}))
            return 0
        table = Table("job", "model", "shards", "progress", "merged", "out")
        for status in statuses:
            merged = str(status.job.merged) if status.merge_state == "done" else status.merge_state or "-"
            table.add_row(*map(rich_text, (status.job.job_id, status.job.model, str(status.job.shards), status.summary,
                                           merged, str(status.job.out))))
        console.print(table if statuses else "no cluster jobs submitted from here")
        return 0
    status = job_status(record.find(args.job))
    if args.json:
        print(json_text(status.to_json()))
        return 0
    console.print(_status_table(status))
    for task in status.tasks:
        if task.state == "failed" and task.log_tail:
            console.print(f"\n[red]shard {task.shard.index} failed[/] ({markup(task.detail)}); end of {markup(task.log)}:",
                          soft_wrap=True)
            console.print("\n".join(map(visible, task.log_tail)), markup=False, highlight=False, soft_wrap=True)
    return 0


def _cancel(args) -> int:
    from tui.cluster import operations

    job = record.find(args.job)
    cancelled = operations.cancel(job)
    _print(args, {"job_id": job.job_id, "cancelled": cancelled},
           f"cancelled {', '.join(cancelled)}" if cancelled else f"job {job.job_id} has nothing left to cancel")
    return 0


def _resubmit(args) -> int:
    from tui.cluster import operations

    job = record.find(args.job)
    shards = operations.resubmit_failed(job)
    _print(args, {"job_id": job.submissions[-1].job_id, "shards": shards},
           f"resubmitted shards {', '.join(map(str, shards))} as job {job.submissions[-1].job_id}")
    return 0


def _merge(args) -> int:
    from tui.cluster import operations

    job = record.find(args.job)
    merged = operations.merge(job)
    _print(args, {"job_id": job.job_id, "merged": str(merged)}, f"merged {counted(job.shards, 'shard')} into {merged}")
    return 0


_ACTIONS = {"submit": _submit, "status": _status, "cancel": _cancel, "resubmit": _resubmit, "merge": _merge}


def execute(args: argparse.Namespace) -> int:
    return _ACTIONS[args.cluster_command](args)
