"""The amrcnn and fformer runners launched by the app (`fashionfail-tui run`) with a separate Python
interpreter: a model environment's own, never the app's site-packages.

The environments here are real virtual environments made by the test, holding only what the
model environments would (numpy, Pillow, pycocotools) plus the STAND-INS of tests/standins for
TensorFlow / mmdet, which cannot be installed here. The test writes the ready marker that a build
by the environments layer writes last (building them for real is tests/test_env_embedded.py's job).
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tui import catalog, paths
from tui.config import Config, load as load_config
from tui.environments import specs
from tui.environments.operation import MARKERS
from tui.runs.request import interpreter_for, runner_environment

ROOT = Path(__file__).resolve().parents[1]
STANDINS = ROOT / "tests" / "standins"
APP_SITE = Path(sysconfig.get_paths()["purelib"])
ENV_PACKAGES = ("numpy", "numpy.libs", "PIL", "pillow.libs", "pycocotools")


def link_tree(source: Path, target: Path) -> None:
    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    shutil.copytree(source, target, copy_function=link)


@pytest.fixture(scope="session")
def environment_template(tmp_path_factory):
    """A virtual environment with its own site-packages: a model environment's packages, linked in."""
    prefix = tmp_path_factory.mktemp("env") / "template"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    site = next(prefix.glob("lib/python*/site-packages"))
    for name in ENV_PACKAGES:
        if (APP_SITE / name).exists():
            link_tree(APP_SITE / name, site / name)
    for name in ("tensorflow", "mmdet", "mmcv", "torch"):
        link_tree(STANDINS / name, site / name)
    return prefix


def mark_ready(prefix: Path, family: str, config: Config) -> None:
    """What a finished build leaves in its prefix (tui.environments.operation)."""
    (prefix / MARKERS).mkdir()
    (prefix / MARKERS / "ready.json").write_text(json.dumps({"digest": specs.load(family, config).digest}))


@pytest.fixture
def installed(environment_template, isolated_dirs):
    """Both model environments (embedded backend), both source trees and both kinds of checkpoint."""
    paths.config_file().write_text('[environments]\nbackend = "embedded"\n')
    config = load_config()
    for family in ("amrcnn", "fformer"):
        prefix = paths.environments_dir() / family
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
        site = next(prefix.glob("lib/python*/site-packages"))
        for entry in next(environment_template.glob("lib/python*/site-packages")).iterdir():
            link_tree(entry, site / entry.name)
        mark_ready(prefix, family, config)
    shutil.copytree(STANDINS / "tpu", paths.sources_dir() / "tpu")
    shutil.copytree(STANDINS / "FashionFormer", paths.sources_dir() / "FashionFormer")
    folder = paths.checkpoints_dir() / "fashionpedia-r50-fpn"
    folder.mkdir(parents=True)
    for name in catalog.get("amrcnn-r50-fpn").weights.expected_files:
        (folder / name).write_bytes(b"stand-in")
    # a PyTorch checkpoint by structure (zip with data.pkl and version); never unpickled
    import zipfile
    with zipfile.ZipFile(paths.checkpoints_dir() / "fashionformer_r50_3x.pth", "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/version", b"3\n")
    return paths.environments_dir()


def images(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.RandomState(3)
    for index in range(3):
        Image.fromarray(rng.randint(0, 255, (48, 64, 3), np.uint8)).save(folder / f"{index}.jpg")
    return folder


@pytest.mark.parametrize("model, expected_keys", [
    ("amrcnn-r50-fpn", {"image_file", "boxes", "classes", "scores", "attributes", "masks"}),
    ("fformer-r50-fpn", {"image_file", "boxes", "classes", "scores", "masks"}),
])
def test_run_command_launches_the_environments_interpreter(installed, tmp_path, model, expected_keys):
    result = subprocess.run(
        [sys.executable, "-m", "tui", "run", model, "--images", str(images(tmp_path / "images")),
         "--out", str(tmp_path / "out"), "--device", "cpu", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stderr
    assert events[-1]["event"] == "done" and events[-1]["images"] == 3
    with np.load(tmp_path / "out" / f"{model}.npz", allow_pickle=True) as stored:  # our own output
        meta = json.loads(str(stored["meta"]))
        assert set(stored["data"][0]) == expected_keys
    family = catalog.get(model).environment
    assert Path(meta["interpreter"]).parent == installed / family / "bin"


def test_the_runner_sees_nothing_of_the_apps_site_packages(installed):
    interpreter = interpreter_for(catalog.get("amrcnn-spine"), load_config())
    probe = "import sys, importlib.util; print(importlib.util.find_spec('textual') is None, sys.path)"
    result = subprocess.run([str(interpreter), "-c", probe], env=runner_environment(interpreter),
                            capture_output=True, text=True, check=True)
    hidden, path = result.stdout.split(" ", 1)
    assert hidden == "True", "the app's textual is importable from the model environment"
    assert str(APP_SITE) not in path and str(paths.runners_dir()) in path


def test_an_environment_that_is_not_ready_is_named_with_its_fix(installed, tmp_path):
    (installed / "fformer" / MARKERS / "ready.json").unlink()  # as after a build that was killed midway
    result = subprocess.run(
        [sys.executable, "-m", "tui", "run", "fformer-r50-fpn", "--images", str(images(tmp_path / "images")),
         "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs the 'fformer' environment; run `fashionfail-tui env create fformer`" in result.stderr


def test_missing_pieces_are_named_with_the_command_that_fixes_them(installed, tmp_path):
    shutil.rmtree(paths.sources_dir() / "tpu")
    result = subprocess.run(
        [sys.executable, "-m", "tui", "run", "amrcnn-r50-fpn", "--images", str(images(tmp_path / "images")),
         "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "needs the tpu source tree; run `fashionfail-tui fetch amrcnn-r50-fpn`" in result.stderr
    assert "Traceback" not in result.stderr


def test_relative_paths_and_a_relative_cache_dir_reach_the_runner_as_absolute_ones(installed, tmp_path):
    """The runner starts in the runners folder and changes into its source tree: --images, --out and
    FASHIONFAIL_TUI_CACHE_DIR / _DATA_DIR given relative to where the user is must still work."""
    images(tmp_path / "images")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({"PYTHONPATH": str(ROOT), paths.CACHE_ENV: os.path.relpath(paths.cache_dir(), tmp_path),
                paths.DATA_ENV: os.path.relpath(paths.data_dir(), tmp_path)})
    result = subprocess.run(
        [sys.executable, "-m", "tui", "run", "amrcnn-r50-fpn", "--images", "images", "--out", "out", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["event"] == "done" and events[-1]["images"] == 3
    assert events[-1]["output"] == str(tmp_path / "out" / "amrcnn-r50-fpn.npz")


def run_amrcnn(tmp_path: Path) -> dict:
    """`fashionfail-tui run amrcnn-r50-fpn` over three images; the output's meta."""
    result = subprocess.run(
        [sys.executable, "-m", "tui", "run", "amrcnn-r50-fpn", "--images", str(images(tmp_path / "images")),
         "--out", str(tmp_path / "out"), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "out" / "amrcnn-r50-fpn.npz", allow_pickle=True) as stored:  # our own output
        return json.loads(str(stored["meta"]))


def test_a_family_runs_in_the_external_interpreter_the_config_names(installed, environment_template, tmp_path):
    """The user's own environment (here: a venv with the stand-ins), checked by `env use`; the built
    amrcnn environment is gone, so nothing else could run it."""
    shutil.rmtree(installed / "amrcnn")
    specs_dir = tmp_path / "specs"  # the bundled specs, with a check the stand-in environment passes
    shutil.copytree(paths.envs_specs_dir(), specs_dir)
    (specs_dir / "amrcnn.post.toml").write_text('[verify]\nrun = ["{python}", "-c", "import tensorflow, PIL, pycocotools"]\n')
    paths.config_file().write_text(f'[environments]\nbackend = "embedded"\nspecs = "{specs_dir}"\n')
    python = environment_template / "bin" / "python"
    use = subprocess.run([sys.executable, "-m", "tui", "env", "use", "amrcnn", str(python)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert use.returncode == 0, use.stderr
    meta = run_amrcnn(tmp_path)
    assert meta["interpreter"] == str(python) and "environment_note" not in meta


def test_a_variant_environment_is_marked_in_each_outputs_meta(installed, tmp_path):
    (installed / "amrcnn").rename(installed / "amrcnn-tf215")
    paths.config_file().write_text('[environments]\nbackend = "embedded"\n[envs.amrcnn]\nspec = "amrcnn-tf215"\n')
    shutil.rmtree(installed / "amrcnn-tf215" / MARKERS)
    mark_ready(installed / "amrcnn-tf215", "amrcnn-tf215", load_config())
    meta = run_amrcnn(tmp_path)
    assert Path(meta["interpreter"]).parent == installed / "amrcnn-tf215" / "bin"
    assert meta["environment_note"] == specs.load("amrcnn-tf215", load_config()).note
    assert "not the paper's TensorFlow" in meta["environment_note"]
