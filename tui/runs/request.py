"""What to run: the request, the runner's argv and the interpreter and environment it runs under."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tui import paths
from tui.catalog import Model
from tui.config import Config
from tui.downloads.sources import tree_path
from tui.downloads.state import checkpoint_file
from tui.environments import external, note_for, python_for, status_for
from tui.environments.process import python_environment
from tui.errors import UserError
from tui.runs.shards import Shard


@dataclass(frozen=True)
class RunRequest:
    model: Model
    images: Path
    out_dir: Path
    model_file: Path | None = None
    """None: the catalog's checkpoint (or the config's local file)."""
    device: str = "auto"
    score_threshold: float | None = None
    """None: the catalog's default for the model."""
    shard: Shard | None = None
    """Only this part of the sorted image list, into its own file (`run --shard I/N`)."""
    original_masks: bool = False
    """Facere: keep the graph's own mask pasting even where `tui.runs.facere_fast` can cut it out."""

    @property
    def output(self) -> Path:
        if self.shard:
            return self.out_dir / self.shard.file_name(self.model.name)
        return self.out_dir / f"{self.model.name}.npz"


class SetupNeeded(UserError):
    """What a run lacks that the app's Setup (an environment) or Models (a checkpoint, a source
    tree) screen provides; `area` names which: "setup" or "models"."""

    def __init__(self, message: str, area: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.area = area


def runner_script(model: Model) -> Path:
    return paths.runners_dir() / model.runner


def interpreter_for(model: Model, config: Config) -> Path:
    """The Python that runs a model's runner: its environment's (built, or the external one the config
    names) when that is ready, the app's own for Facere without its optional environment; UserError
    naming the fix otherwise."""
    python = python_for(model, config)
    if python is not None:
        return python
    if model.environment is None:
        return Path(sys.executable)
    status = status_for(model, config)
    if status and status.backend == external.BACKEND:
        raise SetupNeeded(f"{model.name} runs in {status.python} (the config's [envs.{status.family}] python), which "
                          f"cannot run it: {status.detail}", "setup",
                          hint=f"after fixing that environment, check it again with "
                               f"`fashionfail-tui env use {status.family} {status.python}`")
    name = status.family if status else model.environment
    raise SetupNeeded(f"{model.name} needs the '{name}' environment", "setup",
                      hint=f"run `fashionfail-tui env create {name}`")


def runner_environment(interpreter: Path) -> dict[str, str]:
    """The app's environment minus what would leak its Python setup into a model environment.

    PYTHONPATH is the runners dir only. A model environment's interpreter also ignores the user's
    site-packages; the app's own interpreter keeps them (the app may be installed there)."""
    env = python_environment(user_site=Path(interpreter) == Path(sys.executable))
    env["PYTHONPATH"] = str(paths.runners_dir())
    env["PYTHONUNBUFFERED"] = "1"
    return env


def runner_model_file(model: Model, model_file: Path) -> Path:
    """The file a runner is given and a run checks for. A TensorFlow checkpoint is named by its
    prefix (`.../model.ckpt`): its `.index` file stands for it."""
    if model.weights.kind == "tar" and model_file.suffix != ".index":
        return model_file.with_name(model_file.name + ".index")
    return model_file


def runner_argv(request: RunRequest, config: Config) -> list[str]:
    model = request.model
    threshold = model.score_threshold if request.score_threshold is None else request.score_threshold
    model_file = runner_model_file(model, request.model_file or checkpoint_file(model, config)).absolute()
    argv = [
        str(interpreter_for(model, config)), "-u", str(runner_script(model)),
        "--model", model.name, "--family", model.family, "--box-format", model.box_format,
        "--class-ids", model.class_ids.name, "--model-file", str(model_file),
        "--images", str(request.images.absolute()), "--output", str(request.output.absolute()),
        "--score-threshold", repr(float(threshold)),
    ]
    if model.source is not None:
        argv += ["--source", str(tree_path(model.source)), "--config", model.config]
    if model.family in ("facere", "fformer"):
        argv += ["--device", request.device]
    if request.shard:
        argv += ["--shard", str(request.shard)]
    note = note_for(model, config) if model.environment else ""
    if note:  # e.g. a variant environment with another TensorFlow: the output's meta says so
        argv += ["--environment-note", note]
    if model.family == "facere":
        from tui.runs import facere_fast  # onnx: loaded only when a Facere run starts

        argv += facere_fast.runner_arguments(model_file, request.original_masks)
    return argv
