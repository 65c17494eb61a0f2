"""The sbatch scripts a cluster run submits: meant to be read, and run by hand if need be.

Every value that reaches a script is shell-quoted on command lines and sbatch-quoted on
`#SBATCH` lines; a value with a control character (a newline would end a comment or directive
line and start a command) is refused before any script is written.
"""

from __future__ import annotations

import os
import shlex
import site
import sys
import unicodedata
from pathlib import Path

import tui
from tui import catalog, paths
from tui.cluster.record import ClusterJob
from tui.errors import UserError
from tui.runs.shards import Shard

_SETTINGS_ENV = (paths.CACHE_ENV, paths.CONFIG_ENV, paths.DATA_ENV)


def _q(value) -> str:
    return shlex.quote(str(value))


def _directive(value) -> str:
    """A value for an `#SBATCH` line, which sbatch splits itself: at spaces, and at an unquoted `#`
    (a comment); it knows double quotes and backslash escapes, not single quotes."""
    text = str(value)
    if not any(c.isspace() or c in '"\\#' for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _refuse_control_characters(job: ClusterJob) -> None:
    """UserError naming the first value that holds a control character (newline, tab, escape...)."""
    values = {"the image folder": job.images, "the output folder": job.out, "--model-file": job.model_file,
              "--partition": job.partition, "--time": job.time_limit}
    for what, value in values.items():
        text = str(value) if value is not None else ""
        bad = next((c for c in text if unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            raise UserError(f"{what} {text!r} contains a control character ({bad!r}); "
                            "it cannot go into a job script safely")


def _app_command() -> str:
    """How a compute node starts this very installation's command line."""
    return f"{_q(sys.executable)} -m tui"


def _environment_lines() -> list[str]:
    """Exports that make the tasks use the submitter's settings, cache and checkout."""
    lines = [f"export {name}={_q(os.environ[name])}" for name in _SETTINGS_ENV if os.environ.get(name)]
    package_parent = Path(tui.__file__).resolve().parent.parent
    installed = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
    if package_parent not in installed:  # a source checkout: the interpreter alone would not find `tui`
        lines.append(f'export PYTHONPATH={_q(package_parent)}"${{PYTHONPATH:+:$PYTHONPATH}}"')
    return lines


def _where_it_runs(model_name: str) -> str:
    model = catalog.get(model_name)
    if model.environment is None:
        return f"{model.name} runs in the app's own interpreter, {sys.executable}"
    return f"{model.name} runs in its environment {paths.environments_dir() / model.environment}"


def array_script(job: ClusterJob) -> str:
    """One array task per shard: task I runs `run --shard I/N` and leaves its exit status beside its log."""
    _refuse_control_characters(job)
    last = job.shards - 1
    width = Shard(0, job.shards).width
    header = [
        "#!/bin/bash",
        f"# fashionfail-tui cluster run: {job.model} over {job.image_count} images in {job.images},",
        f"# split into {job.shards} shards. Array task I (0..{last}) runs shard I/{job.shards} and writes",
        f"# {job.out}/{job.model}.shard-III-of-NNN.npz. `fashionfail-tui run` starts the model's runner:",
        f"# {_where_it_runs(job.model)}.",
        "# A shard that is run again resumes where it stopped.",
        f"#SBATCH --job-name={_directive(f'ff-{job.model}')}",
        f"#SBATCH --chdir={_directive(job.out)}",  # `python -m` looks in the working directory first
        f"#SBATCH --array=0-{last}",
        "#SBATCH --ntasks=1",  # one process per array task; --gpus-per-task needs it said
        f"#SBATCH --output={_directive(f'{job.logs_dir}/{job.model}.shard-%{width}a.log')}",
    ]
    if job.partition:
        header.append(f"#SBATCH --partition={_directive(job.partition)}")
    if job.gpus_per_task:
        header.append(f"#SBATCH --gpus-per-task={job.gpus_per_task}")
    if job.time_limit:
        header.append(f"#SBATCH --time={_directive(job.time_limit)}")
    run = [f"{_app_command()} run {_q(job.model)}", f"--images {_q(job.images)}", f"--out {_q(job.out)}",
           f'--shard "$SLURM_ARRAY_TASK_ID/{job.shards}"']
    if job.model_file:
        run.append(f"--model-file {_q(job.model_file)}")
    if job.device:
        run.append(f"--device {_q(job.device)}")
    body = [
        "",
        *_environment_lines(),
        'echo "shard $SLURM_ARRAY_TASK_ID/' + f'{job.shards} of job $SLURM_ARRAY_JOB_ID on $(hostname)"',
        " \\\n    ".join(run),
        "status=$?",
        f'echo "$status" > {_q(job.logs_dir)}/{_q(job.model)}.shard-"$(printf %0{width}d "$SLURM_ARRAY_TASK_ID")".exit',
        'exit "$status"',
    ]
    return "\n".join(header + body) + "\n"


def merge_script(job: ClusterJob) -> str:
    """Runs `cluster merge` once every shard succeeded (submitted with --dependency=afterok)."""
    _refuse_control_characters(job)
    header = [
        "#!/bin/bash",
        f"# fashionfail-tui cluster run: joins the {job.shards} shards of {job.model} into {job.merged_path}.",
        f"#SBATCH --job-name={_directive(f'ff-{job.model}-merge')}",
        f"#SBATCH --chdir={_directive(job.out)}",
        f"#SBATCH --output={_directive(job.merge_log)}",
    ]
    if job.partition:
        header.append(f"#SBATCH --partition={_directive(job.partition)}")
    return "\n".join(header + ["", *_environment_lines(),
                               f"{_app_command()} cluster merge {_q(job.record_path)}"]) + "\n"
