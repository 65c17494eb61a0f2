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
