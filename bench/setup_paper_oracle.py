"""Set up the paper's own evaluation code as an oracle for the opt-in test `tests/test_paper_oracle.py`
(run it with FASHIONFAIL_TUI_PAPER_ORACLE=DIR).

    python bench/setup_paper_oracle.py DIR [--git GIT_DIR] [--python PYTHON] [--torch SPEC]

DIR (outside the repository: nothing of the tree belongs in the project) gets:
  trees/fashionfail   the FashionFail repository at the commit bench/setup_real_trees.py pins
  venv/               Python 3.11 with what its evaluate.py imports: numpy 1.26, pandas, pycocotools
                      2.0.11, torch and torchvision (CPU), loguru, IPython; and the tree itself
                      (editable, no dependencies: its __init__ asks for its own version)
  manifest.json       where both are, for the test
  logs/               each step's output
Each step is skipped when its result is already there. The tree is cloned from GitHub unless
`--git GIT_DIR` names a local clone or mirror. `--torch` is the torch requirement (default
torch==2.13.0, a CPU build that pip finds on this machine's wheel folder; elsewhere name one PyPI has).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from setup_real_trees import TREES, SetupFailed, installed, pip, set_up_tree, venv

PACKAGES = ["numpy==1.26.4", "pandas<2.3", "pycocotools==2.0.11", "torchvision==0.28.0", "loguru", "ipython"]
CHECK = "import numpy, pandas, pycocotools, torch, loguru, IPython, importlib.util as u; assert u.find_spec('torchvision')"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("target", type=Path, help="folder to set up (created if missing; outside the repository)")
    parser.add_argument("--git", metavar="GIT_DIR", help="clone the FashionFail repository from this local git directory")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the venv (default: this one)")
    parser.add_argument("--torch", default="torch==2.13.0", metavar="SPEC", help="the torch requirement")
    args = parser.parse_args()

    root = args.target.expanduser().resolve()
    if Path(__file__).resolve().parents[1] in (root, *root.parents):
        parser.error("the target must be outside the repository: nothing of the tree belongs in the project")
    origin, commit = TREES["fashionfail"]
    if args.git:
        origin = str(Path(args.git).expanduser().resolve())
    logs = root / "logs"
    try:
        root.mkdir(parents=True, exist_ok=True)
        tree = root / "trees" / "fashionfail"
        set_up_tree("fashionfail", origin, commit, tree, logs / "tree-fashionfail.log")
        python = venv(Path(args.python), root / "venv", logs / "venv.log")
        if not installed(python, CHECK):
            print("venv: numpy 1.26, pandas, pycocotools, torch, torchvision, loguru, IPython")
            pip(python, [args.torch, *PACKAGES], logs / "venv.log")
        if not installed(python, "import importlib.metadata as m; m.version('fashionfail')"):
            print("venv: the fashionfail package itself (its __init__ reads its own version), without its dependencies")
            pip(python, ["--no-deps", "-e", tree], logs / "venv.log")
    except SetupFailed as exc:
        print(f"setup_paper_oracle: error: {exc}", file=sys.stderr)
        return 1
    (root / "manifest.json").write_text(json.dumps({"python": str(python), "tree": str(tree), "commit": commit},
                                                   indent=2) + "\n")
    print(f"ready: FASHIONFAIL_TUI_PAPER_ORACLE={root} python -m pytest tests/test_paper_oracle.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
