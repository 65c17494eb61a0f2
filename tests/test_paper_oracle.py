"""`eval`, `failures` and `export` against the FashionFail repository's own evaluation code, run
unpatched in its own interpreter (opt-in: a venv with torch to set up once, about a minute to run).

    python bench/setup_paper_oracle.py DIR --git /path/to/fashionfail.git     # once
    FASHIONFAIL_TUI_PAPER_ORACLE=DIR python -m pytest tests/test_paper_oracle.py -v -s

Without FASHIONFAIL_TUI_PAPER_ORACLE every test here is skipped, saying so. The cases
(tests/paper_cases.py: the issue's four minimal cases and FASHIONFAIL_TUI_PAPER_ORACLE_CASES
generated ones, 40 by default) are written in all four upstream formats (amrcnn .npy, facere,
facere_plus and fformer .npz); tests/helpers/paper_oracle_driver.py runs the paper's
`convert_preds_to_coco`, `get_cocoeval` (COCOeval2), `print_per_class_metrics`,
`print_tp_fp_fn_counts` and `compute_map_weighted` on each. For both IoU types and both engines,
these must be equal, exactly: every weighted metric (and its printed three decimals), AP per
category, TP/FP/FN per category and in total (from `eval` and from `failures --min-score 0`), the
scores of the true and false positives per category (COCOeval2's scores_tp / scores_fp), and the
COCO results JSON of `export` (the paper's, on categories 0..26).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from paper_cases import FORMATS, MINIMAL, generated_case, minimal_case
from tui.catalog import CATEGORIES
from tui.commands import main
from tui.evaluation import engines
from tui.evaluation.engines import ENGINES

ORACLE_ENV = "FASHIONFAIL_TUI_PAPER_ORACLE"
CASES = int(os.environ.get("FASHIONFAIL_TUI_PAPER_ORACLE_CASES", "40"))
DRIVER = Path(__file__).parent / "helpers" / "paper_oracle_driver.py"
KEYS = ("mAP_w", "mAP_w50", "mAP_w75", "mAR_w1", "mAR_w100")

pytestmark = [
    pytest.mark.skipif(not os.environ.get(ORACLE_ENV),
                       reason=f"opt-in: set {ORACLE_ENV} to a folder made by bench/setup_paper_oracle.py"),
    pytest.mark.timeout(3600),
]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    """[(case, model_name, annotation file, prediction file, the paper's results)] for every case and format."""
    root = Path(os.environ[ORACLE_ENV]).expanduser()
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        pytest.fail(f"{ORACLE_ENV}={root} has no readable manifest.json ({exc}): run bench/setup_paper_oracle.py {root}")
    folder = tmp_path_factory.mktemp("paper-oracle")
    home = folder / "home"
    (home / ".cache" / "fashionpedia").mkdir(parents=True)
    (home / ".cache" / "fashionpedia" / "instances_attributes_val2020.json").write_text(json.dumps(
        {"categories": [{"id": i, "name": name, "supercategory": "", "level": 2, "taxonomy_id": ""}
                        for i, name in enumerate(CATEGORIES)]}))
    cases = [minimal_case(name) for name in MINIMAL] + [generated_case(seed) for seed in range(CASES)]
    written, jobs = [], []
    for case in cases:
        anns, files = case.write(folder / f"case-{case.seed}")
        for name, path in files.items():
            written.append((case, name, anns, path))
            jobs.append({"preds": str(path), "anns": str(anns), "model_name": name})
    (folder / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run([manifest["python"], str(DRIVER), manifest["tree"], str(folder / "jobs.json"),
                           str(folder / "paper.json")], env={**os.environ, "HOME": str(home)},
                          capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, done.stderr[-3000:]
    paper = json.loads((folder / "paper.json").read_text())
    return [(*entry, result) for entry, result in zip(written, paper)]


def cli_json(*args) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in args])
    assert code == 0
    return json.loads(out.getvalue())


def cli(*args) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([str(a) for a in args]) == 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("model_name", list(FORMATS))
def test_eval_failures_and_export_equal_the_papers(oracle, model_name, engine, tmp_path):
    checked = 0
    for case, name, anns, path, paper in oracle:
        if name != model_name:
            continue
        family = FORMATS[name][0]
        common = ("--anns", anns, "--family", family, "--engine", engine)
        ours = {r["iou_type"]: r for r in cli_json("eval", path, *common, "--json")["results"]}
        for iou_type in ("bbox", "segm"):
            where = f"case {case.seed}, {name}, {iou_type}, {engine}"
            mine, theirs = ours[iou_type], paper["iou"][iou_type]
            for key in KEYS:
                assert mine[key] == theirs["weighted"][key], (where, key)
                assert f"{mine[key]:.3f}" == theirs["printed"][key], (where, key)
            assert [c["ap"] if c["ap"] is not None else -1 for c in mine["per_category"]] == theirs["ap"], where
            counts = {c["category_id"]: [c["true_positives"], c["false_positives"], c["false_negatives"]]
                      for c in mine["per_category"]}
            assert counts == {int(k): v for k, v in theirs["counts"].items()}, where
            assert [sum(v[i] for v in counts.values()) for i in range(3)] == theirs["total"], where

            failures = cli_json("failures", path, *common, "--iou", iou_type, "--min-score", "0", "--json")
            label = failures["models"][0]["name"]
            rows = {c["category_id"]: c for c in failures["per_category"].values()}
            for category_id, (tp, fp, fn) in counts.items():
                row = rows.get(category_id)
                found, false, objects = (row["found"][label], row["false_positives"][label], row["objects"]) \
                    if row else (0, 0, 0)
                assert (found, false, objects - found) == (tp, fp, fn), (where, "failures", category_id)

            truth = _truth(anns)
            run = engines.run_engine(truth.coco, _ours_results(path, family, truth, iou_type), iou_type, engine)
            split = engines.scores_tp_fp(run)
            assert {c: list(v) for c, v in split.items()} == \
                {int(c): [theirs["scores_tp"][c], theirs["scores_fp"][c]] for c in theirs["scores_tp"]
                 if theirs["scores_tp"][c] or theirs["scores_fp"][c] or int(c) in split}, where

        out = tmp_path / f"{case.seed}-{name}.json"
        cli("export", path, "--format", "coco", "--out", out, "--anns", anns, "--family", family)
        expected = [d for d in paper["coco"] if 0 <= d["category_id"] <= 26]
        assert json.loads(out.read_text()) == expected, f"case {case.seed}, {name}: export"
        checked += 1
    print(f"\n{model_name} ({engine}): {checked} cases x 2 IoU types equal to the paper's code")
    assert checked == len(MINIMAL) + CASES


def _truth(anns: Path):
    from tui.evaluation.ground_truth import load_ground_truth

    return load_ground_truth(anns)


def _ours_results(path: Path, family: str, truth, iou_type: str) -> list[dict]:
    from tui.evaluation.conversion import to_coco_results
    from tui.predictions import load_predictions

    return to_coco_results(load_predictions(path, family=family).images, truth, iou_type).detections
