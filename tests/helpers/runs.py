"""The CLI as a user runs it (in this process, or a subprocess of this checkout) and prediction files
compared record by record."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.helpers.cli import cli_in_process

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE_LIMIT = 3 << 30
"""What `confined_cli` lets the CLI map: a hostile file that would need more fails instead of swapping."""


def cli(*args, check: bool = True, confined: bool = False, timeout: float = 120,
        in_process: bool = True) -> subprocess.CompletedProcess:
    """`fashionfail-tui ARGS...`; with `check`, a non-zero exit fails the test with its stderr. It runs
    in this process (tests/helpers/cli.py) unless `in_process` is false or it is `confined`: then as a
    subprocess, under a 3 GiB address-space limit (RLIMIT_AS) when `confined`, killed after `timeout`."""
    if in_process and not confined:
        result = cli_in_process(*args)
        if check:
            assert result.returncode == 0, result.stderr
        return result
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}  # rich tables on one line per row
    result = subprocess.run([sys.executable, "-m", "tui", *map(str, args)], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=timeout, preexec_fn=confine_address_space if confined else None)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def confine_address_space() -> None:
    """For preexec_fn: the 3 GiB address-space limit."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def confined_cli(*args, timeout: float = 60) -> subprocess.CompletedProcess:
    """The CLI under the 3 GiB limit, its result whatever it is (a crash shows as a negative return code)."""
    return cli(*args, check=False, confined=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, pattern: str = "") -> str:
    """Exit 2 and exactly one `fashionfail-tui: error: ...` line on stderr matching `pattern`: no
    traceback, no crash. Returns the line."""
    assert result.returncode == 2, f"exit {result.returncode}: {result.stderr[-3000:]}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fashionfail-tui: error: "), result.stderr[-3000:]
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


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
