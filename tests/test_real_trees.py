"""amrcnn and fformer through `fashionfail-tui run` against the ORIGINAL procedure, on the real source
trees with the paper's frameworks from PyPI (opt-in: hours to set up, minutes to run).

    python bench/setup_real_trees.py DIR        # once: trees, venvs, random-weight checkpoints
    FASHIONFAIL_TUI_REAL_TREES=DIR python -m pytest tests/test_real_trees.py -v

Without FASHIONFAIL_TUI_REAL_TREES every test here is skipped, saying so. A family that DIR's
manifest lacks (its setup did not finish) is skipped the same way.

Five test images, made here: JPEG, grayscale PNG, RGBA PNG, palette BMP and WebP. For each family
the original runs as the paper's instructions run it, and the app runs the same checkpoint with
the family's interpreter set in its config (`[envs.<family>] python`); each image's records
(boxes, classes, scores, attributes, RLE bytes) must be identical.
- amrcnn: `inference_fashion.py` over a tar of the images (`images/test/NAME` members, as
  `tar -cvf ff_test.tar images/test/*` makes them), from `models/official/detection`.
- fformer: FashionFail's `predict_fformer.py` with the FashionFormer root on PYTHONPATH. It globs
  `*.jpg` only, so the other images are handed to it under an added `.jpg` suffix (mmcv reads an
  image by its content, not its name), and on a CPU it is given a two-line config that takes the
  r50 config and replaces its SyncBN with BN (torch 1.9's SyncBN refuses CPU tensors; the runner
  does the same replacement).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.images import write_image
from tests.helpers.runs import ROOT, load_predictions

REAL_TREES_ENV = "FASHIONFAIL_TUI_REAL_TREES"
RUN_TIMEOUT = 3600
IMAGES = {  # name: (PIL mode, (width, height))
    "jpeg.jpg": ("RGB", (320, 240)),
    "gray.png": ("L", (240, 320)),
    "rgba.png": ("RGBA", (300, 200)),
    "palette.bmp": ("P", (256, 192)),
    "lossy.webp": ("RGB", (280, 210)),
}

pytestmark = [
    pytest.mark.skipif(not os.environ.get(REAL_TREES_ENV),
                       reason=f"opt-in: set {REAL_TREES_ENV} to a folder made by bench/setup_real_trees.py"),
    pytest.mark.timeout(2 * RUN_TIMEOUT),
]


# ---- setup --------------------------------------------------------------------------------------

def family_setup(family: str) -> dict:
    """The manifest's entries for one family (its python, model, config, checkpoint) plus the trees."""
    root = Path(os.environ[REAL_TREES_ENV]).expanduser()
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        pytest.fail(f"{REAL_TREES_ENV}={root} has no readable manifest.json ({exc}): run bench/setup_real_trees.py {root}")
    if family not in manifest:
        pytest.skip(f"{family} is not set up in {root}: run bench/setup_real_trees.py {root}")
    return {**manifest[family], "trees": {name: Path(tree["path"]) for name, tree in manifest["trees"].items()}}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    for seed, (name, (mode, size)) in enumerate(IMAGES.items()):
        write_image(folder / name, size=size, mode=mode, seed=seed)
    return folder


def checked_run(argv, log: Path, **kwargs) -> None:
    """Run a program, its output into `log`; fail the test with the log's end if it fails."""
    with log.open("w") as out:
        done = subprocess.run([str(a) for a in argv], stdout=out, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT,
                              **kwargs)
    if done.returncode != 0:
        pytest.fail(f"{Path(argv[1]).name} failed (exit {done.returncode}):\n{log.read_text()[-3000:]}")


# ---- the app ------------------------------------------------------------------------------------

def app_home(home: Path, family: str, python: str, trees: dict[str, Path]) -> dict[str, str]:
    """Cache, data and config dirs for the app: the trees linked in as its source trees, the family's
    interpreter set in the config. Returns the environment variables that point the app there."""
    from tui import paths

    sources = home / "cache" / "sources"
    sources.mkdir(parents=True)
    for name in ("tpu", "FashionFormer"):
        (sources / name).symlink_to(trees[name], target_is_directory=True)
    env = {paths.CACHE_ENV: str(home / "cache"), paths.DATA_ENV: str(home / "data"),
           paths.CONFIG_ENV: str(home / "config.toml")}
    use_interpreter(family, python, env)
    return env


def use_interpreter(family: str, python: str, env: dict[str, str]) -> None:
    """`fashionfail-tui env use FAMILY PYTHON`, as a user with the paper's environment would do: it runs
    the family's verify step in that interpreter and writes `[envs.<family>] python` to the config."""
    done = subprocess.run([sys.executable, "-m", "tui", "env", "use", family, python], capture_output=True,
                          text=True, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr


def run_app(setup: dict, family: str, images: Path, work: Path) -> tuple[dict[str, dict], list[dict]]:
    """`fashionfail-tui run MODEL --images ... --model-file ... --json`: records by image name (none when
    the run failed), and the run's events (its warnings say why an image was skipped, `error` why the
    run failed), so that each image's test can say what happened to it."""
    work.mkdir(parents=True)
    env = {**os.environ, **app_home(work / "home", family, setup["python"], setup["trees"]),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tui", "run", setup["model"], "--images", str(images),
                           "--out", str(work / "out"), "--model-file", setup["checkpoint"], "--device", "cpu",
                           "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=RUN_TIMEOUT)
    (work / "app.log").write_text(done.stdout + done.stderr)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    output = work / "out" / f"{setup['model']}.npz"
    if done.returncode != 0 or not output.exists():
        if not any(event.get("event") == "error" for event in events):
            events.append({"event": "error", "message": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]})
        return {}, events
    records, _ = load_predictions(output)
    return {record["image_file"]: record for record in records}, events


# ---- the originals ------------------------------------------------------------------------------

def run_amrcnn_original(setup: dict, images: Path, work: Path) -> dict[str, dict]:
    """The paper's README: a tar of `images/test/*`, then inference_fashion.py from the detection dir."""
    work.mkdir(parents=True)
    tree = setup["trees"]["tpu"]
    detection = tree / "models" / "official" / "detection"
    archive = work / "ff_test.tar"
    with tarfile.open(archive, "w") as tar:
        for image in sorted(images.iterdir()):
            tar.add(image, arcname=f"images/test/{image.name}")
    output = work / "original.npy"
    checked_run([setup["python"], "inference_fashion.py", "--model=attribute_mask_rcnn",
                 f"--config_file={tree / setup['config']}", f"--checkpoint_path={setup['checkpoint']}",
                 "--label_map_file=projects/fashionpedia/dataset/fashionpedia_label_map.csv",
                 f"--output_html={work / 'out.html'}", "--max_boxes_to_draw=8", "--min_score_threshold=0.01",
                 "--image_size=640", f"--image_file_pattern={archive}", f"--output_file={output}"],
                work / "original.log", cwd=detection)
    records = np.load(output, allow_pickle=True)  # our own file
    return {Path(record["image_file"]).name: record for record in records}


def run_fformer_original(setup: dict, images: Path, work: Path) -> dict[str, dict]:
    """FashionFail's predict_fformer.py as its README runs it, on a CPU-able config (see the module doc)."""
    fashionformer = setup["trees"]["FashionFormer"]
    fashionfail = setup["trees"]["fashionfail"]
    as_jpg = work / "images"
    as_jpg.mkdir(parents=True)
    given_as = {image.name if image.suffix == ".jpg" else image.name + ".jpg": image.name for image in images.iterdir()}
    for jpg_name, name in given_as.items():
        shutil.copyfile(images / name, as_jpg / jpg_name)
    config = work / "fformer_cpu.py"
    config.write_text(f"_base_ = [{str(fashionformer / setup['config'])!r}]\n"
                      "model = dict(backbone=dict(norm_cfg=dict(type='BN', requires_grad=True)))\n")
    checked_run([setup["python"], "src/fashionfail/models/predict_fformer.py", "--model_path", setup["checkpoint"],
                 "--config_path", config, "--out_dir", work, "--image_dir", as_jpg, "--dataset_name", "ff_test",
                 "--score_threshold", "0.05"],
                work / "original.log", cwd=fashionfail, env={**os.environ, "PYTHONPATH": str(fashionformer)})
    with np.load(work / f"{Path(setup['checkpoint']).stem}-ff_test.npz", allow_pickle=True) as archive:
        records = archive["data"]  # our own file
    return {given_as[record["image_file"]]: record for record in records}


# ---- comparing ----------------------------------------------------------------------------------

def differences(original: dict, ours: dict) -> list[str]:
    """What differs between two records of one image; empty when they are identical (dtypes included)."""
    found = []
    for key in ("boxes", "classes", "scores", "attributes"):
        if key not in original and key not in ours:
            continue
        theirs, mine = np.asarray(original[key]), np.asarray(ours[key])
        if theirs.dtype != mine.dtype or theirs.shape != mine.shape:
            found.append(f"{key}: {theirs.dtype}{list(theirs.shape)} vs ours {mine.dtype}{list(mine.shape)}")
        elif not np.array_equal(theirs, mine):
            unequal = theirs != mine
            gap = np.abs(theirs.astype(np.float64) - mine.astype(np.float64)).max()
            found.append(f"{key}: {int(unequal.any(axis=tuple(range(1, unequal.ndim))).sum())} of {len(theirs)} "
                         f"detections differ, by up to {gap:.3g}")
    theirs = [(list(m["size"]), m["counts"]) for m in original["masks"]]
    mine = [(list(m["size"]), m["counts"]) for m in ours["masks"]]
    if theirs != mine:
        same = sum(a == b for a, b in zip(theirs, mine))
        found.append(f"masks: {len(theirs) - same} of {len(theirs)} RLEs differ (ours has {len(mine)})")
    return found


def compare(name: str, original: dict[str, dict], app: tuple[dict[str, dict], list[dict]]) -> None:
    ours, events = app
    assert name in original, f"the original procedure produced no record for {name}"
    if name not in ours:
        said = [e["message"] for e in events
                if e.get("event") == "error" or e.get("event") == "warning" and name in json.dumps(e)]
        pytest.fail(f"fashionfail-tui run produced no record for {name}: {said or 'no warning or error about it'}")
    found = differences(original[name], ours[name])
    assert not found, f"{name}: " + "; ".join(found)


# ---- the test ---------------------------------------------------------------------------------

ORIGINALS = {"amrcnn": run_amrcnn_original, "fformer": run_fformer_original}


@pytest.fixture(scope="module", params=ORIGINALS)
def runs(request, images, tmp_path_factory):
    """One family's original run and app run over the images (once per family: module scope)."""
    family = request.param
    setup = family_setup(family)
    work = tmp_path_factory.mktemp(family)
    return ORIGINALS[family](setup, images, work / "original"), run_app(setup, family, images, work / "app")


@pytest.mark.parametrize("name", IMAGES)
def test_run_matches_the_original(runs, name):
    original, app = runs
    compare(name, original, app)
