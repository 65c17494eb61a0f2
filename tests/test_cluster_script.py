"""Hostile values on their way into the sbatch script: `cluster submit --dry-run` through the CLI.

A newline in a folder name or an option value would end an `#SBATCH` or comment line and start a
command; quotes and `$(...)` must stay inside their quoting. The marker file says whether a
command ran: when bash runs the written script, and when the submit itself runs.
"""

import os
import subprocess

import pytest

from tests.helpers.images import write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tests.helpers.runs import cli
from tui import paths


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return build_maskrcnn_like(tmp_path_factory.mktemp("model") / "facere.onnx", detections=2)


def _images(folder):
    for index in range(3):
        write_image(folder / f"img{index}.jpg", seed=index)
    return folder


def _submit(model_file, images, out, *extra):
    return cli("cluster", "submit", "facere", "--images", images, "--out", out, "--shards", 3,
               "--model-file", model_file, "--dry-run", *extra, check=False)


def _run_the_script(script, cwd):
    """bash runs it as array task 0; its `run` fails at once on a config broken after submitting."""
    paths.config_file().write_text("this is not toml\n")
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_JOB_ID": "7"}
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=120, cwd=cwd)


@pytest.mark.parametrize("where", ["images", "out", "--partition", "--time", "--model-file"])
def test_a_value_with_a_newline_is_refused_in_one_line_and_nothing_is_written(tmp_path, model_file, where):
    hostile = "x\ntouch pwned\n#"
    images, out, extra = tmp_path / "images", tmp_path / "out", []
    if where == "images":
        images = tmp_path / f"images{hostile}"
    elif where == "out":
        out = tmp_path / f"out{hostile}"
    elif where == "--model-file":
        renamed = tmp_path / f"m{hostile}.onnx"
        renamed.write_bytes(model_file.read_bytes())
        model_file = renamed
    else:
        extra = [where, hostile]
    _images(images)
    result = _submit(model_file, images, out, *extra)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("fashionfail-tui: error: ") and "control character" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("*.sbatch")) and not list(tmp_path.rglob("pwned"))


def test_quotes_and_substitutions_stay_inside_their_quoting(tmp_path, model_file):
    sneaky = """a'b"c$(touch pwned)`touch pwned`;touch pwned;#"""
    images = _images(tmp_path / f"images {sneaky}")
    out = tmp_path / f"out {sneaky}"
    result = _submit(model_file, images, out, "--partition", f'gpu"{sneaky}', "--time", f"1:00'{sneaky}")
    assert result.returncode == 0, result.stderr
    script = out / "facere.sbatch"
    ran = _run_the_script(script, cwd=tmp_path)
    assert ran.returncode == 2 and "config file" in ran.stderr, ran.stderr
    assert (out / "logs" / "facere.shard-000.exit").read_text().strip() == "2"
    assert not list(tmp_path.rglob("pwned"))
    directives = [line for line in script.read_text().splitlines() if line.startswith("#SBATCH --partition")]
    assert directives == ['#SBATCH --partition="gpu\\"' + sneaky.replace('"', '\\"') + '"']
