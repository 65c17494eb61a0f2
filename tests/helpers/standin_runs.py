"""Running the amrcnn and fformer runners directly against tests/standins (see its README)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tui import catalog

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "tests" / "standins"


def standin_tree(name: str, into: Path) -> Path:
    """A fresh copy of a stand-in source tree (`tpu` or `FashionFormer`) the test may break."""
    return Path(shutil.copytree(STANDINS / name, into / name))


def run_standin_runner(model_name: str, model_file: Path, images: Path, output: Path, tree: Path,
                       *extra: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                       python: Path | None = None) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """The model's runner as the job layer starts it, with the stand-ins importable; its events.
    Paths go as given (relative ones are relative to `cwd`); `env` adds environment variables;
    `python` runs it (default: the app's interpreter)."""
    model = catalog.get(model_name)
    runner_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    runner_env.update(env or {})
    runner_env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "runners"), str(STANDINS)])
    argv = [str(python or sys.executable), "-u", str(ROOT / "runners" / model.runner), "--model", model.name,
            "--family", model.family, "--box-format", model.box_format, "--class-ids", model.class_ids.name,
            "--model-file", str(model_file), "--images", str(images), "--output", str(output),
            "--source", str(tree), "--config", model.config, *extra]
    result = subprocess.run(argv, capture_output=True, text=True, env=runner_env, cwd=cwd, timeout=120)
    return result, [json.loads(line) for line in result.stdout.splitlines()]


def break_input(missing: str, tree: Path, config: str, weights: Path) -> None:
    """Take away one input a runner needs: its source `tree`, its `config`, or its weights `checkpoint`."""
    if missing == "tree":
        shutil.rmtree(tree)
    elif missing == "config":
        (tree / config).unlink()
    else:
        weights.unlink()


def assert_one_error_event(result: subprocess.CompletedProcess, events: list[dict], message: str,
                           output: Path) -> None:
    """The runner ended with exit 1 and one `error` event saying `message`: no traceback, no output."""
    assert result.returncode == 1
    assert events[-1]["event"] == "error" and message in events[-1]["message"]
    assert "Traceback" not in result.stderr
    assert not output.exists()
