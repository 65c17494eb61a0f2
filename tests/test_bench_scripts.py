"""The bench/ scripts that build their own inputs work from an empty folder (docs/speed.md's figures
come from them); each is run here at a tiny size, so this checks that it works, not how fast."""

from __future__ import annotations

import importlib.util
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
