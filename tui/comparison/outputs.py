"""Whether a model's output in the comparison folder is a finished run over the same images with the
same model file and threshold, so the comparison can use it instead of running the model again."""

from __future__ import annotations

import os

from tui.config import Config
from tui.downloads.state import checkpoint_file
from tui.predictions.formats import read_meta
from tui.runs.request import RunRequest, runner_model_file
from tui.runs.runner_files import run_files
from tui.runs.shards import list_images


def expected_meta(request: RunRequest, config: Config) -> dict:
    """What a finished run of `request` records in its meta, for the fields that make two runs the same."""
    model = request.model
    threshold = model.score_threshold if request.score_threshold is None else request.score_threshold
    model_file = runner_model_file(model, request.model_file or checkpoint_file(model, config))
    return {
        "model": model.name,
        "model_file": os.path.abspath(model_file),
        "image_dir": os.path.abspath(request.images),
        "image_set": run_files().image_set(list_images(request.images)),
        "score_threshold": float(threshold),
    }


def finished_output(request: RunRequest, config: Config) -> bool:
    """Whether request.output is a whole (not sharded) finished run that matches `expected_meta`."""
    meta = read_meta(request.output)
    if meta is None or meta.get("shard") or "finished" not in meta:
        return False
    return all(meta.get(key) == value for key, value in expected_meta(request, config).items())
