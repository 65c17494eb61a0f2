"""Pre-flight checks: everything the user can fix before a run starts, and what a run would replace."""

from __future__ import annotations

import os
from pathlib import Path

from tui.config import Config
from tui.downloads.sources import tree_path
from tui.downloads.state import checkpoint_file
from tui.downloads.validation import validate_model_file
from tui.errors import UserError, require_folder
from tui.predictions.formats import read_meta
from tui.runs.request import RunRequest, SetupNeeded, interpreter_for, runner_model_file
from tui.runs.runner_files import run_files
from tui.runs.shards import list_images
from tui.units import counted


def prepare_output_folder(out_dir: Path) -> None:
    """Create the output folder; UserError if it cannot be written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output folder {out_dir} is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".fashionfail-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to output folder {out_dir}: {exc.strerror or exc}") from None


def require_images(folder: Path) -> None:
    """UserError unless `folder` is a folder holding images a run would cover."""
    require_folder(folder, "image folder")
    if not list_images(folder):
        raise UserError(f"no images ({', '.join(run_files().IMAGE_SUFFIXES)}) in {folder}")


def check_request(request: RunRequest, config: Config) -> None:
    """Everything the user can fix before a run starts, as one UserError."""
    model = request.model
    require_images(request.images)
    model_file = runner_model_file(model, request.model_file or checkpoint_file(model, config))
    if request.model_file is None and not model_file.exists():
        if config.override_for(model.name).file is not None:  # fetching would not help: the config names it
            raise UserError(f"{model.name}'s model file {model_file} (the [models.{model.name}] file of "
                            f"{config.source}) does not exist", hint="fix it there or pass --model-file")
        how = f"fashionfail-tui fetch {model.name}" + (" --from FILE" if model.weights.kind == "manual" else "")
        raise SetupNeeded(f"{model.name}'s checkpoint {model_file} is missing", "models",
                          hint=f"run `{how}` or pass --model-file")
    validate_model_file(model, model_file)
    if model.source is not None and not tree_path(model.source).is_dir():
        raise SetupNeeded(f"{model.name} needs the {model.source.name} source tree", "models",
                          hint=f"run `fashionfail-tui fetch {model.name}`")
    interpreter_for(model, config)  # raises when the model's environment is not ready
    prepare_output_folder(request.out_dir)


def replaced_result(request: RunRequest, config: Config) -> str | None:
    """What this run would replace without the user having asked for it: the output file of another
    run (over other images, or with another model file), or a file that is no run's output. None
    when there is nothing there, or it is this run's own earlier result (rerunning redoes it in
    place, as an interrupted run resumes). The caller asks (the app) or refuses (the CLI)."""
    output = request.output
    if not output.exists():
        return None
    meta = read_meta(output)
    if meta is None:
        return f"{output} exists and is not a prediction file of this app's runs"
    model_file = runner_model_file(request.model, request.model_file or checkpoint_file(request.model, config))
    other = []
    if not _same_path(meta.get("image_dir"), request.images):
        other.append(f"over other images ({meta.get('image_dir')})")
    elif meta.get("image_set") not in (None, run_files().image_set(list_images(request.images))):
        other.append(f"over the images {meta.get('image_dir')} held then")
    if not _same_path(meta.get("model_file"), model_file):
        other.append(f"with another model file ({meta.get('model_file')})")
    if not other:
        return None
    images = meta.get("images")
    held = counted(images, "image") if isinstance(images, int) else "? images"
    return f"{output} holds another run's predictions for {held}: {' and '.join(other)}"


def _same_path(recorded, path: Path) -> bool:
    return isinstance(recorded, str) and os.path.realpath(recorded) == os.path.realpath(path)
