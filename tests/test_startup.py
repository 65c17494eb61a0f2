"""Start-up: `fashionfail-tui --help` loads none of the heavy libraries; a command imports what it
needs when it runs (docs/speed.md#start-up has the times)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("onnx", "onnxruntime", "textual", "pycocotools", "httpx", "numpy", "PIL", "rich", "rattler", "ml_dtypes")
"""Each costs 0.05-0.9 s to import here; together they were 1.3-1.6 s of every command's start."""


def heavy_modules_after(argv: list[str]) -> list[str]:
    """The heavy top-level packages loaded by `fashionfail-tui ARGV` (run in a fresh interpreter)."""
    code = ("import sys\nfrom tui.commands import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(%r)))" % (argv, HEAVY))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["no-such-command"]])
def test_the_top_level_loads_no_heavy_library(argv):
    assert heavy_modules_after(argv) == []


@pytest.mark.parametrize("command", ["inspect", "eval", "run", "compare", "fetch", "env", "cluster", "gpu"])
def test_a_command_s_help_loads_no_heavy_library_of_another_command(command):
    """A command's own --help may load the modules that define its options' choices (the families,
    the comparison's file names: numpy, pycocotools, PIL), but not the app, ONNX or the download client."""
    assert set(heavy_modules_after([command, "--help"])) <= {"numpy", "pycocotools", "PIL"}
