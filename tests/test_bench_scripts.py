"""The bench/ scripts that build their own inputs work from an empty folder (docs/speed.md's figures
come from them); each is run here at a tiny size, so this checks that it works, not how fast."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

from gitrepos import commit

ROOT = Path(__file__).resolve().parents[1]


def bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_setup_real_trees_clones_into_a_folder_that_does_not_exist_yet_and_keeps_it_on_a_rerun(tmp_path):
    origin = tmp_path / "origin"
    sha = commit(origin, {"models/train.py": "print('tpu')\n"})
    setup = bench_module("setup_real_trees")
    target = tmp_path / "new" / "trees" / "tpu"
    log = tmp_path / "new" / "logs" / "tree-tpu.log"
    assert setup.set_up_tree("tpu", str(origin), sha, target, log) == []
    assert (target / "models" / "train.py").read_text() == "print('tpu')\n"
    (target / "kept.txt").write_text("a file of the first set-up")
    assert setup.set_up_tree("tpu", str(origin), sha, target, log) == []
    assert (target / "kept.txt").is_file()  # the tree at the pinned commit was kept, not cloned again


def test_bench_commands_builds_the_tiny_environment_from_an_empty_folder_and_times_it():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_commands.py"), "env"], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("the tests' tiny environment from the local channel ")
    assert re.fullmatch(r"env create tiny \(solve to ready\) +\d+\.\d\d s(, peak RSS \d+ MB)?", lines[1])
    assert re.fullmatch(r"env verify tiny +\d+\.\d\d s(, peak RSS \d+ MB)?", lines[2])


def test_bench_startup_times_help_against_a_bare_interpreter():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_startup.py"), "--rounds", "1", "--only", "help"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    first, help_line = done.stdout.splitlines()
    assert re.fullmatch(r"1 rounds, load average [\d. ]+; python -c pass \d+ ms \(median\)", first)
    assert re.fullmatch(r"help +\d+\.\d{3} s median, +\d+\.\dx python -c pass; goal <= 0\.3 s: (met|MISSED)"
                        r"  \[rounds: \d+\.\d{3}\]", help_line)
