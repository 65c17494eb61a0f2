"""The four minimal cases where the app once differed from the paper's evaluation code, with the
values the paper's code gives derived by hand (tests/test_paper_oracle.py checks them, and many
more, against that code itself). Each runs with both engines."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from paper_cases import minimal_case
from tui.commands import main
from tui.evaluation.engines import ENGINES

BELOW_ONE = 1 / (1 + np.spacing(1))
"""pycocotools' precision after one true positive: tp / (tp + fp + eps) = 1 / (1 + 2.2e-16) = 0.9999999999999998."""


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main([str(a) for a in args]) == 0, err.getvalue()
    return out.getvalue(), err.getvalue()


def evaluate(tmp_path, name: str, engine: str, *extra) -> dict:
    anns, files = minimal_case(name).write(tmp_path)
    out, _ = run("eval", files["facere"], "--anns", anns, "--family", "facere", "--engine", engine, "--json", *extra)
    return {r["iou_type"]: r for r in json.loads(out)["results"]}


def counts(result: dict) -> dict[int, tuple[int, int, int]]:
    return {c["category_id"]: (c["true_positives"], c["false_positives"], c["false_negatives"])
            for c in result["per_category"] if c["true_positives"] or c["false_positives"] or c["false_negatives"]}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_category_without_annotations_has_no_false_positives(tmp_path, engine):
    # One image; a shirt (category 0) annotated and found exactly; a top (category 1), annotated
    # nowhere, detected once. COCOeval2's accumulate skips category 1 (npig == 0) before it counts,
    # so the paper's TP/FP/FN are 1/0/0, not 1/1/0; the top is listed apart as not counted.
    result = evaluate(tmp_path, "unannotated", engine)["bbox"]
    assert counts(result) == {0: (1, 0, 0)}
    top = result["per_category"][1]
    assert (top["false_positives"], top["not_counted"]) == (0, 1)
    # the shirt is the only weighted category with an image: weight 1; one true positive first, so
    # every precision cell is 1 / (1 + eps), every recall cell 1
    assert result["mAP_w"] == pytest.approx(BELOW_ONE, abs=1e-15) and result["mAR_w100"] == 1.0
    assert result["warnings"] == []
    failures, _ = run("failures", tmp_path / "facere.npz", "--anns", tmp_path / "anns.json", "--family", "facere",
                      "--engine", engine, "--min-score", "0", "--json")
    image = json.loads(failures)["false_positives"]["facere"]
    assert image == [{"image": "a.jpg", "false_positives": 0, "by_category": {},
                      "not_counted": {"top, t-shirt, sweatshirt": 1}}]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_crowd_only_weighted_category_subtracts_its_weight(tmp_path, engine):
    # A shirt (0) found exactly and a top (1) annotated only as crowd: one image each, weights 0.5
    # and 0.5. COCOeval writes -1 in every cell of category 1, and compute_map_weighted's np.nanmean
    # takes them in: mAP_w = 0.5 x 1/(1+eps) + 0.5 x (-1) = -1.1e-16, printed -0.000;
    # mAR_w top-100 = 0.5 x 1 + 0.5 x (-1) = 0. Leaving the -1 cells out gives 0.5 and 0.5.
    paper = evaluate(tmp_path, "crowd_only", engine)["bbox"]
    assert paper["mAP_w"] == pytest.approx(0.5 * BELOW_ONE - 0.5, abs=1e-15) and f"{paper['mAP_w']:.3f}" == "-0.000"
    assert paper["mAR_w100"] == 0.0 and paper["means"] == "paper"
    assert paper["warnings"] and "top, t-shirt, sweatshirt (0.500)" in paper["warnings"][0]
    corrected = evaluate(tmp_path, "crowd_only", engine, "--corrected-means")["bbox"]
    assert corrected["mAP_w"] == pytest.approx(0.5 * BELOW_ONE, abs=1e-15) and corrected["mAR_w100"] == 0.5
    assert corrected["means"] == "corrected (-1 cells left out)"
    table, warning = run("eval", tmp_path / "facere.npz", "--anns", tmp_path / "anns.json", "--family", "facere",
                         "--engine", engine, "--iou", "bbox", "--corrected-means")
    assert "CORRECTED means" in table and "not the paper's numbers" in table
    assert "warning: facere.npz (bbox): weighted categories with no annotated object" in warning


def test_boxes_are_converted_in_float32_then_rounded(tmp_path, capsys):
    # yxyx float32 [10, 23.949899673461914, 60, 328.2998962402344]: the width 328.2998962402344 -
    # 23.949899673461914 is 304.3499965667725 in float64 (304.3 once rounded) but 304.35 in float32,
    # where the paper's torch tensor subtracts (304.4 once rounded).
    anns, files = minimal_case("rounding").write(tmp_path)
    out = tmp_path / "coco.json"
    run("export", files["facere"], "--format", "coco", "--out", out, "--anns", anns, "--family", "facere")
    assert [d["bbox"] for d in json.loads(out.read_text())] == [[23.9, 10.0, 304.4, 50.0]]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_float64_file_stays_float64(tmp_path, engine):
    # amrcnn-style yxyx box [0, 0.15, 2, 2.15] in float64: x = round(0.15, 1) = 0.1 (0.15 is just
    # under in float64; float32's 0.15000000596 would round to 0.2, IoU 0.905, failing IoU .95).
    # Its score 0.5 + 1e-9 beats a false positive's 0.5 written first; cast to float32 both are 0.5
    # and the tie keeps file order: the false positive first, AP 0.5. Kept float64: the match comes
    # first, every precision cell 1/(1+eps), mAP_w about 1.0 (weight 1).
    anns, files = minimal_case("float64").write(tmp_path)
    result = evaluate(tmp_path, "float64", engine)["bbox"]
    assert result["mAP_w"] == pytest.approx(BELOW_ONE, abs=1e-15)
    out = tmp_path / "coco.json"
    run("export", files["amrcnn"], "--format", "coco", "--out", out, "--anns", anns, "--family", "amrcnn")
    exported = json.loads(out.read_text())
    assert [(d["bbox"], d["score"]) for d in exported] == [([0.1, 0.0, 2.0, 2.0], 0.5 + 1e-9),
                                                           ([300.0, 300.0, 10.0, 10.0], 0.5)]


def test_a_nan_score_is_one_line_naming_the_detection(tmp_path):
    # COCOeval cannot rank a NaN score (faster-coco-eval refuses it with a ValueError): one line, exit 2
    case = minimal_case("unannotated")
    case.detections["a.jpg"][1].score = float("nan")
    anns, files = case.write(tmp_path)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main(["eval", str(files["facere"]), "--anns", str(anns), "--family", "facere"]) == 2
    assert "a.jpg: detection 1 has a score that is not a number (NaN)" in err.getvalue()
    assert "Traceback" not in err.getvalue()
