"""amrcnn and fformer through `fashionfail-tui run` against the ORIGINAL procedure, on the real source
trees with the paper's frameworks from PyPI (opt-in: hours to set up, minutes to run).

    python bench/setup_real_trees.py DIR        # once: trees, venvs, random-weight checkpoints
    FASHIONFAIL_TUI_REAL_TREES=DIR python -m pytest tests/test_real_trees.py -v

Without FASHIONFAIL_TUI_REAL_TREES every test here is skipped, saying so. A family that DIR's
manifest lacks (its setup did not finish) is skipped the same way.

Five test images, made here: JPEG, grayscale PNG, RGBA PNG, palette BMP and WebP. For each family
the original runs as the paper's instructions run it, and the app runs the same checkpoint with
the family's environment made in one of two ways; each image's records (boxes, classes, scores,
attributes, RLE bytes) must be identical:
- `env use`: the set-up venv's interpreter set in the app's config (`[envs.<family>] python`);
- `uv`: `fashionfail-tui env create FAMILY --backend uv --python <the family's Python>` builds the
  environment from the family's hash lock (envs/<family>.lock) in the app's data dir, as a user
  without conda does (fformer: mmcv-full 1.3.18 is built from its source package; uv's cache keeps
  the build). Its build time is recorded.
Each family and way writes what it found (build time, per-image result) to DIR/results/.
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
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.images import write_image
from tests.helpers.interpreters import pyenv_python
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

def app_home(home: Path, trees: dict[str, Path]) -> dict[str, str]:
    """Cache, data and config dirs for the app, the trees linked in as its source trees. Returns the
    environment variables that point the app there."""
    from tui import paths

    sources = home / "cache" / "sources"
    sources.mkdir(parents=True)
    for name in ("tpu", "FashionFormer"):
        (sources / name).symlink_to(trees[name], target_is_directory=True)
    return {paths.CACHE_ENV: str(home / "cache"), paths.DATA_ENV: str(home / "data"),
            paths.CONFIG_ENV: str(home / "config.toml")}


def build_with_uv(setup: dict, family: str, env: dict[str, str], log: Path) -> float:
    """`fashionfail-tui env create FAMILY --backend uv --python PY`; its seconds. A panopticapi taken from
    a local copy at set-up (`--panopticapi git+file://...`) stands in for GitHub through git's own
    url.<base>.insteadOf, so the spec's git step runs unchanged."""
    base = setup.get("base_python") or pyenv_python({"amrcnn": "3.9", "fformer": "3.8"}[family])
    if base is None:
        pytest.skip(f"no Python for the uv build of {family}: rerun bench/setup_real_trees.py")
    git = {}
    local = setup.get("panopticapi", "")
    if local.startswith("git+file://"):
        git = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{local[len('git+'):]}.insteadOf",
               "GIT_CONFIG_VALUE_0": "https://github.com/cocodataset/panopticapi.git"}
    started = time.monotonic()
    checked_run([sys.executable, "-m", "tui", "env", "create", family, "--backend", "uv", "--python", str(base)], log,
                env={**os.environ, **env, **git, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    return time.monotonic() - started


def use_interpreter(family: str, python: str, env: dict[str, str]) -> None:
    """`fashionfail-tui env use FAMILY PYTHON`, as a user with the paper's environment would do: it runs
    the family's verify step in that interpreter and writes `[envs.<family>] python` to the config."""
    done = subprocess.run([sys.executable, "-m", "tui", "env", "use", family, python], capture_output=True,
                          text=True, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr


def run_app(setup: dict, family: str, images: Path, work: Path, way: str) -> tuple[dict[str, dict], list[dict], dict]:
    """The family's environment made `way` (`env use` or `uv`), then `fashionfail-tui run MODEL --images ...
    --model-file ... --json`: records by image name (none when the run failed), the run's events (its
    warnings say why an image was skipped, `error` why the run failed), and what the build took."""
    work.mkdir(parents=True)
    home = app_home(work / "home", setup["trees"])
    built = {}
    if way == "uv":
        built["env_create_seconds"] = round(build_with_uv(setup, family, home, work / "env-create.log"), 1)
    else:
        use_interpreter(family, setup["python"], home)
    env = {**os.environ, **home, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tui", "run", setup["model"], "--images", str(images),
                           "--out", str(work / "out"), "--model-file", setup["checkpoint"], "--device", "cpu",
                           "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=RUN_TIMEOUT)
    (work / "app.log").write_text(done.stdout + done.stderr)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    output = work / "out" / f"{setup['model']}.npz"
    if done.returncode != 0 or not output.exists():
        if not any(event.get("event") == "error" for event in events):
            events.append({"event": "error", "message": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]})
        return {}, events, built
    records, _ = load_predictions(output)
    return {record["image_file"]: record for record in records}, events, built


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


def compare(name: str, original: dict[str, dict], app: tuple[dict[str, dict], list[dict], dict]) -> list[str]:
    """What differs for one image (empty: identical); a failure when either side has no record of it."""
    ours, events, _ = app
    assert name in original, f"the original procedure produced no record for {name}"
    if name not in ours:
        said = [e["message"] for e in events
                if e.get("event") == "error" or e.get("event") == "warning" and name in json.dumps(e)]
        pytest.fail(f"fashionfail-tui run produced no record for {name}: {said or 'no warning or error about it'}")
    return differences(original[name], ours[name])


def record_result(family: str, way: str, built: dict, name: str, found: list[str], detections: int) -> None:
    """Add one image's outcome (and the build's time) to DIR/results/<family>-<way>.json for the report."""
    folder = Path(os.environ[REAL_TREES_ENV]).expanduser() / "results"
    folder.mkdir(exist_ok=True)
    file = folder / f"{family}-{way.replace(' ', '-')}.json"
    result = json.loads(file.read_text()) if file.exists() else {}
    result.update(built)
    result.setdefault("images", {})[name] = {"identical": not found, "detections": detections, "differences": found}
    file.write_text(json.dumps(result, indent=2) + "\n")


# ---- the test ---------------------------------------------------------------------------------

ORIGINALS = {"amrcnn": run_amrcnn_original, "fformer": run_fformer_original}


WAYS = ("env use", "uv")


@pytest.fixture(scope="module", params=[(family, way) for family in ORIGINALS for way in WAYS],
                ids=lambda param: f"{param[0]}-{param[1].replace(' ', '-')}")
def runs(request, images, tmp_path_factory):
    """One family's original run and app run over the images, its environment made one way (once per
    family and way: module scope)."""
    family, way = request.param
    setup = family_setup(family)
    work = tmp_path_factory.mktemp(f"{family}-{way.replace(' ', '-')}")
    return family, way, ORIGINALS[family](setup, images, work / "original"), run_app(setup, family, images, work / "app", way)


@pytest.mark.parametrize("name", IMAGES)
def test_run_matches_the_original(runs, name):
    family, way, original, app = runs
    found = compare(name, original, app)
    record_result(family, way, app[2], name, found, len(original[name]["scores"]))
    assert not found, f"{name}: " + "; ".join(found)
