"""Set up the real source trees, the paper's framework stacks from PyPI and random-weight checkpoints
for the opt-in test `tests/test_real_trees.py` (run it with FASHIONFAIL_TUI_REAL_TREES=DIR).

    python bench/setup_real_trees.py DIR [--git NAME=GIT_DIR ...] [--panopticapi PIP_SPEC] [--only amrcnn]

DIR (outside the repository; nothing of the trees belongs in the project) gets:
  trees/tpu, trees/FashionFormer, trees/fashionfail   git work trees at the pinned commits
  venv-amrcnn    Python 3.9: tensorflow-cpu 2.11.0, numpy<2 and the rest of the paper's pip line
  venv-fformer   Python 3.8: torch 1.9.0, torchvision 0.10.0, mmcv-full 1.3.18 built from its source
                 package, mmdet 2.18.0 and what FashionFormer and predict_fformer.py import
  wheels/        that mmcv-full wheel (its build takes long: it is built once and kept)
  checkpoints/   amrcnn-r50-fpn/model.ckpt.* and fformer-r50-fpn/fformer_r50_random.pth: random
                 weights from each tree's own model builder (bench/real_tree_checkpoint.py)
  manifest.json  where everything is, for the test
  logs/          each step's output
Every step is skipped when its result is already there, so a rerun continues where one stopped.
The trees are cloned from GitHub unless `--git NAME=GIT_DIR` names a local clone or mirror
(NAME: tpu, FashionFormer, fashionfail); blobs missing from such a copy are left out of the
checkout (sparse checkout) and listed in the manifest.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TREES = {
    "tpu": ("https://github.com/jangop/tpu.git", "85b65b648b0aefbf30cd65fe674d7607f3caf2e3"),
    "FashionFormer": ("https://github.com/xushilin1/FashionFormer.git", "0752737bb1e071ebd03315a1c5e8a62ab2573620"),
    "fashionfail": ("https://github.com/rizavelioglu/fashionfail.git", "5f9c90b089af7172de2b1bd7d3a773a86770c274"),
}
AMRCNN_PACKAGES = ["tensorflow-cpu==2.11.0", "numpy<2", "Pillow==9.5.0", "pyyaml", "opencv-python-headless",
                   "tqdm", "pycocotools", "matplotlib"]
TORCH = ["torch==1.9.0", "torchvision==0.10.0"]
MMCV = "mmcv-full==1.3.18"
# numpy<1.24 keeps the aliases (np.bool, np.int) that code of mmdet 2.18's time still uses; yapf 0.40.2
# dropped the `verify` argument mmcv 1.3's Config passes to FormatCode; OpenCV 5 postdates mmcv 1.3.
# torch is repeated next to them so that nothing replaces it. loguru and tqdm: predict_fformer.py.
FFORMER_PACKAGES = ["mmdet==2.18.0", "numpy<1.24", "yapf==0.40.1", "opencv-python<5", "scikit-learn", "scikit-image",
                    "terminaltables", "matplotlib", "pycocotools", "loguru", "tqdm"]
PANOPTICAPI = "git+https://github.com/cocodataset/panopticapi.git"
AMRCNN_CONFIG = "models/official/detection/projects/fashionpedia/configs/yaml/r50fpn_amrcnn.yaml"
FFORMER_CONFIG = "configs/fashionformer/fashionpedia/fashionformer_r50_mlvl_feat_3x.py"


class SetupFailed(Exception):
    pass


def run(argv, log: Path, cwd: Path | None = None, env: dict | None = None) -> None:
    """Run a step's command with its output appended to `log`; SetupFailed naming the log on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(map(str, argv))}\n")
        out.flush()
        done = subprocess.run([str(a) for a in argv], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                              env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise SetupFailed(f"{argv[0]} ... failed (exit {done.returncode}); see {log}")


def find_python(version: str, given: str | None) -> Path:
    """The interpreter for `version`: the one given, else pyenv's, else `pythonX.Y` on PATH."""
    if given:
        return Path(given)
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        root = ""
    for candidate in sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" + version)))[-1:]:
        return Path(candidate)
    found = shutil.which("python" + version)
    if not found:
        raise SetupFailed(f"no Python {version} found: install it (pyenv install {version}) or pass --python{version.replace('.', '')}")
    return Path(found)


def git(*args, cwd: Path, log: Path) -> None:
    run(["git", *args], log, cwd=cwd)


def missing_blobs(repo: Path, commit: str) -> list[str]:
    """Paths at `commit` whose blobs the repository lacks (some mirrors hold partial copies)."""
    listing = subprocess.run(["git", "ls-tree", "-r", "--full-tree", commit], cwd=repo, capture_output=True,
                             text=True, check=True).stdout.splitlines()
    blobs = [line.split("\t", 1) for line in listing if line.split()[1] == "blob"]
    checked = subprocess.run(["git", "cat-file", "--batch-check=%(objectname) %(objecttype)"], cwd=repo,
                             input="".join(meta.split()[2] + "\n" for meta, _ in blobs),
                             capture_output=True, text=True).stdout.splitlines()
    return [path for (_, path), answer in zip(blobs, checked) if answer.endswith(" missing")]


def set_up_tree(name: str, origin: str, commit: str, target: Path, log: Path) -> list[str]:
    """A git work tree of `origin` at `commit` in `target`; returns the paths left out for lack of blobs.

    Only a `target` that is a clone of its own, made here, is kept: a new folder has nothing to ask git
    (which would fail to start in it), and a folder inside another repository would answer for that one."""
    made_here = target / ".git" / "fashionfail-missing.json"
    if made_here.is_file():
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=target, capture_output=True, text=True)
        if head.returncode == 0 and head.stdout.strip() == commit:
            return json.loads(made_here.read_text())
    if target.exists():
        shutil.rmtree(target)
    run(["git", "clone", "--no-checkout", origin, target], log)
    missing = missing_blobs(target, commit)
    if missing:
        git("sparse-checkout", "set", "--no-cone", "/*", *("!/" + path for path in missing), cwd=target, log=log)
    git("-c", "advice.detachedHead=false", "checkout", "--detach", commit, cwd=target, log=log)
    (target / ".git" / "fashionfail-missing.json").write_text(json.dumps(missing))
    print(f"  {name} at {commit[:12]}" + (f" (left out, blobs absent: {', '.join(missing)})" if missing else ""))
    return missing


def venv(python: Path, target: Path, log: Path) -> Path:
    if not (target / "bin" / "python").exists():
        run([python, "-m", "venv", target], log)
    return target / "bin" / "python"


def pip(python: Path, args, log: Path, env: dict | None = None) -> None:
    run([python, "-m", "pip", "install", "--disable-pip-version-check", *args], log, env=env)


def installed(python: Path, statement: str) -> bool:
    return subprocess.run([str(python), "-c", statement], capture_output=True).returncode == 0


def set_up_amrcnn(root: Path, python39: Path, logs: Path) -> Path:
    python = venv(python39, root / "venv-amrcnn", logs / "venv-amrcnn.log")
    if not installed(python, "import tensorflow, matplotlib, pycocotools, cv2, PIL"):
        print("  installing TensorFlow 2.11 (CPU) and the amrcnn packages")
        pip(python, AMRCNN_PACKAGES, logs / "venv-amrcnn.log")
    return python


def mmcv_wheel(root: Path, python: Path, logs: Path) -> Path:
    """mmcv-full 1.3.18 built from its PyPI source package, once.

    That package lacks `mmcv/ops/csrc/pytorch/cpu/`, which setup.py compiles for a CPU-only build; the
    same CPU sources ship under `mmcv/ops/csrc/parrots/*_cpu.cpp`, two of them including
    `../pytorch_cpp_helper.hpp`, a path that only resolves from the parrots folder. They are copied
    over with that include made plain (the header is on the include path). They predate mmcv's device
    registry, so the ops it dispatches (nms, roi_align, ...) still have no CPU kernel in this build
    ("nms_impl: implementation for device cpu not found"); FashionFormer's inference calls none."""
    wheels = root / "wheels"
    built = sorted(wheels.glob("mmcv_full-1.3.18-*.whl"))
    if built:
        return built[-1]
    log = logs / "mmcv-build.log"
    build = root / "build"
    build.mkdir(parents=True, exist_ok=True)
    pip(python, ["wheel", "ninja"], log)
    if not list(build.glob("mmcv-full-1.3.18.tar.gz")):
        run([python, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--no-build-isolation",
             MMCV, "-d", build], log)
    with tarfile.open(build / "mmcv-full-1.3.18.tar.gz") as archive:
        archive.extractall(build)
    source = build / "mmcv-full-1.3.18"
    cpu = source / "mmcv" / "ops" / "csrc" / "pytorch" / "cpu"
    cpu.mkdir(exist_ok=True)
    for parrots in sorted((source / "mmcv" / "ops" / "csrc" / "parrots").glob("*_cpu.cpp")):
        text = parrots.read_text().replace('#include "../pytorch_cpp_helper.hpp"', '#include "pytorch_cpp_helper.hpp"')
        (cpu / parrots.name).write_text(text)
    print("  building mmcv-full 1.3.18 with its ops from source (MAX_JOBS=2; about an hour on two busy cores)")
    run([python, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", ".", "-w", wheels], log, cwd=source,
        env={"MMCV_WITH_OPS": "1", "MAX_JOBS": os.environ.get("MAX_JOBS", "2")})
    return sorted(wheels.glob("mmcv_full-1.3.18-*.whl"))[-1]


def set_up_fformer(root: Path, python38: Path, panopticapi: str, logs: Path) -> Path:
    log = logs / "venv-fformer.log"
    python = venv(python38, root / "venv-fformer", log)
    if not installed(python, "import torch, torchvision; assert torch.__version__.startswith('1.9.0')"):
        print("  installing torch 1.9.0 and torchvision 0.10.0 from PyPI")
        pip(python, TORCH, log)
    if not installed(python, "import mmcv.ops, mmdet, panopticapi, loguru, skimage, sklearn, terminaltables"):
        wheel = mmcv_wheel(root, python, logs)
        print("  installing mmcv-full, mmdet 2.18.0 and the FashionFormer packages")
        pip(python, [wheel, *TORCH, *FFORMER_PACKAGES, panopticapi], log)
    return python


def make_checkpoint(python: Path, family: str, argv, done: Path, log: Path) -> None:
    if done.exists():
        return
    print(f"  building a random-weight {family} checkpoint with the tree's own model builder")
    run([python, BENCH / "real_tree_checkpoint.py", family, *map(str, argv)], log)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("target", type=Path, help="folder to set up (created if missing; outside the repository)")
    parser.add_argument("--git", action="append", default=[], metavar="NAME=GIT_DIR",
                        help="clone tree NAME from this local git directory instead of GitHub")
    parser.add_argument("--panopticapi", default=PANOPTICAPI, metavar="PIP_SPEC",
                        help="what pip installs panopticapi from (a git+file:// URL for a local copy)")
    parser.add_argument("--python39", help="Python 3.9 interpreter (default: pyenv's, else python3.9 on PATH)")
    parser.add_argument("--python38", help="Python 3.8 interpreter (default: pyenv's, else python3.8 on PATH)")
    parser.add_argument("--only", choices=("amrcnn", "fformer"), help="set up one family only")
    args = parser.parse_args()

    root = args.target.expanduser().resolve()
    if Path(__file__).resolve().parents[1] in (root, *root.parents):
        parser.error("the target must be outside the repository: nothing of the trees belongs in the project")
    origins = {name: url for name, (url, _) in TREES.items()}
    for item in args.git:
        name, _, path = item.partition("=")
        if name not in TREES or not path:
            parser.error(f"--git expects NAME=GIT_DIR with NAME one of {', '.join(TREES)}, not {item!r}")
        origins[name] = str(Path(path).expanduser().resolve())
    logs = root / "logs"
    manifest_file = root / "manifest.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    families = [args.only] if args.only else ["amrcnn", "fformer"]
    try:
        print("source trees")
        trees = manifest.setdefault("trees", {})
        for name, (_, commit) in TREES.items():
            missing = set_up_tree(name, origins[name], commit, root / "trees" / name, logs / f"tree-{name}.log")
            trees[name] = {"path": str(root / "trees" / name), "commit": commit, "missing": missing}
        if "amrcnn" in families:
            print("amrcnn (Python 3.9, TensorFlow 2.11)")
            python = set_up_amrcnn(root, find_python("3.9", args.python39), logs)
            checkpoint = root / "checkpoints" / "amrcnn-r50-fpn" / "model.ckpt"
            make_checkpoint(python, "amrcnn", ["--source", trees["tpu"]["path"], "--config", AMRCNN_CONFIG,
                                               "--output", checkpoint],
                            checkpoint.with_name("model.ckpt.index"), logs / "checkpoint-amrcnn.log")
            manifest["amrcnn"] = {"python": str(python), "model": "amrcnn-r50-fpn", "config": AMRCNN_CONFIG,
                                  "checkpoint": str(checkpoint)}
        if "fformer" in families:
            print("fformer (Python 3.8, torch 1.9, mmcv-full 1.3.18, mmdet 2.18)")
            python = set_up_fformer(root, find_python("3.8", args.python38), args.panopticapi, logs)
            checkpoint = root / "checkpoints" / "fformer-r50-fpn" / "fformer_r50_random.pth"
            make_checkpoint(python, "fformer", ["--source", trees["FashionFormer"]["path"], "--config",
                                                FFORMER_CONFIG, "--output", checkpoint],
                            checkpoint, logs / "checkpoint-fformer.log")
            manifest["fformer"] = {"python": str(python), "model": "fformer-r50-fpn", "config": FFORMER_CONFIG,
                                   "checkpoint": str(checkpoint)}
    except SetupFailed as exc:
        print(f"setup_real_trees: error: {exc}", file=sys.stderr)
        return 1
    finally:
        root.mkdir(parents=True, exist_ok=True)
        manifest_file.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"ready: FASHIONFAIL_TUI_REAL_TREES={root} python -m pytest tests/test_real_trees.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
