"""The CLI as a user runs it (a subprocess of this checkout) and prediction files compared record by record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, check: bool = True) -> subprocess.CompletedProcess:
    """`fashionfail-tui ARGS...`; with `check`, a non-zero exit fails the test with its stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}  # rich tables on one line per row
    result = subprocess.run([sys.executable, "-m", "tui", *map(str, args)], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def load_predictions(path: Path) -> tuple[list[dict], dict]:
    """As the original evaluation code reads a prediction file (pickle is fine for our own test files)."""
    with np.load(path, allow_pickle=True) as archive:
        return list(archive["data"]), json.loads(str(archive["meta"]))


def assert_same_records(ours: list[dict], theirs: list[dict]) -> None:
    """Same images in the same order, bit-identical arrays (dtype included) and masks."""
    assert [r["image_file"] for r in ours] == [r["image_file"] for r in theirs]
    for mine, other in zip(ours, theirs):
        assert mine.keys() == other.keys()
        for key in ("boxes", "classes", "scores"):
            assert mine[key].dtype == other[key].dtype and np.array_equal(mine[key], other[key])
        assert mine["masks"] == other["masks"]


def single_run_workload(root: Path, images: int, detections: int) -> Path:
    """`root/model.onnx` (Facere-shaped), `root/images/img00.jpg...` and the single run over them in
    `root/single/facere.npz`: what sharded runs are compared with."""
    from tests.helpers.images import write_image
    from tests.helpers.onnx_models import build_maskrcnn_like

    model = build_maskrcnn_like(root / "model.onnx", detections=detections)
    for index in range(images):
        write_image(root / "images" / f"img{index:02}.jpg", size=(64, 48), seed=index)
    cli("run", "facere", "--images", root / "images", "--out", root / "single", "--model-file", model)
    return root
