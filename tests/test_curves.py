"""The figures' numbers: weighted PR curves whose mean is mAP_w@.50 / @.75, and the calibration bins of
the detections COCOeval2 counts as true and false positives; checked on the hand-made three-model case
(where each detection's fate is known by construction) and against the paper's own COCOeval2, run
unpatched from the FashionFail repository's mirror."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from failure_case import write_case
from tui.commands import main
from tui.evaluation.conversion import to_coco_results
from tui.evaluation.curves import calibration, scored_outcomes
from tui.evaluation.evaluator import Evaluator
from tui.evaluation.scoring import run_cocoeval
from tui.predictions import load_predictions

FASHIONFAIL_GIT = Path("/work/.mirror/rizavelioglu+fashionfail/repo")


@pytest.fixture
def case(tmp_path):
    return write_case(tmp_path)


def test_eval_json_carries_curves_whose_mean_is_the_weighted_map_at_50_and_75(case, capsys):
    annotations, files = case
    assert main(["eval", *map(str, files), "--anns", str(annotations), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert len(results) == 6
    for result in results:
        curve = result["pr_curve"]
        assert len(curve["recall"]) == len(curve["iou50"]) == len(curve["iou75"]) == 101
        assert curve["recall"][0] == 0 and curve["recall"][-1] == 1
        assert abs(np.mean(curve["iou50"]) - result["mAP_w50"]) < 1e-9
        assert abs(np.mean(curve["iou75"]) - result["mAP_w75"]) < 1e-9
        assert all(a >= b - 1e-12 for a, b in zip(curve["iou50"], curve["iou50"][1:]))  # COCOeval's interpolation
        calibrated = result["calibration"]
        assert [(b["low"], b["high"]) for b in calibrated["bins"]] == [
            (pytest.approx(i / 10), pytest.approx((i + 1) / 10)) for i in range(10)]


def bins_of(result: dict) -> dict[int, tuple[int, int]]:
    """Bin index -> (detections, true positives), non-empty bins only."""
    return {i: (b["detections"], b["true_positives"]) for i, b in enumerate(result["calibration"]["bins"])
            if b["detections"]}


def test_calibration_counts_what_the_case_was_built_with(case):
    annotations, files = case
    evaluator = Evaluator(annotations)
    facere, fformer, amrcnn = (evaluator.evaluate(f, ["bbox"])[0].as_json() for f in files)
    # (scores are float32: 0.3 is a little more, in (0.3, 0.4]; 0.7 a little less, in (0.6, 0.7]; 0.8 a little more)
    # facere: TP A1 .9, A2 .8, D1 .3; FP the duplicate shirt .7, the top on b .9, the pants on c .85
    assert bins_of(facere) == {3: (1, 1), 6: (1, 0), 8: (4, 2)}
    # fformer: TP A1 .8, B1 .95; FP pants .9 and shirt .6 on d; its shoe (no shoe is annotated) is no FP
    # in COCOeval2, and its sleeve (category 31) is not evaluated
    assert bins_of(fformer) == {6: (1, 0), 8: (2, 1), 9: (1, 1)}
    # amrcnn: TP B1 .6, D1 .7; FP the top on c .4
    assert bins_of(amrcnn) == {4: (1, 0), 6: (2, 2)}
    # ECE: the detections-weighted mean of |share of TP - mean score|
    expected = (abs(1 - 0.3) + abs(0 - 0.7) + 4 * abs(2 / 4 - (0.9 + 0.8 + 0.85 + 0.9) / 4)) / 6
    assert facere["calibration"]["ece"] == pytest.approx(expected, abs=1e-6)


def test_calibration_edges_follow_the_papers_binning():
    """np.digitize(right=True): a score of exactly 0.5 is in (0.4, 0.5]; a score of 0 is in no bin."""
    result = calibration(np.array([0.5, 1.0]), np.array([0.0, 0.05]))
    counts = [b["detections"] for b in result["bins"]]
    assert counts == [1, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert calibration(np.zeros(0), np.zeros(0))["ece"] is None


def _papers_cocoeval2():
    """The FashionFail repository's cocoeval2.py as it is, loaded from the mirror (loguru stood in for:
    it only logs)."""
    if not (FASHIONFAIL_GIT / "HEAD").exists():
        pytest.skip("no mirror of the FashionFail repository")
    source = subprocess.run(["git", "--git-dir", str(FASHIONFAIL_GIT), "show", "HEAD:src/fashionfail/models/cocoeval2.py"],
                            capture_output=True, text=True, check=True).stdout
    if "loguru" not in sys.modules:
        sys.modules["loguru"] = types.SimpleNamespace(logger=types.SimpleNamespace(
            warning=lambda *a, **k: None, info=lambda *a, **k: None))
    spec = importlib.util.spec_from_loader("papers_cocoeval2", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, "cocoeval2.py", "exec"), module.__dict__)
    return module.COCOeval2


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_scores_and_curves_equal_the_papers_cocoeval2(case, iou_type, capsys):
    COCOeval2 = _papers_cocoeval2()
    annotations, files = case
    evaluator = Evaluator(annotations)
    truth = evaluator.truth
    for file in files:
        detections = to_coco_results(load_predictions(file).images, truth, iou_type).detections
        ours = run_cocoeval(truth, detections, iou_type)
        theirs = COCOeval2(truth.coco, truth.coco.loadRes(detections), iou_type)
        theirs.params.catIds = list(range(27))
        theirs.evaluate()
        theirs.accumulate()
        capsys.readouterr()
        true_scores, false_scores = scored_outcomes(ours)
        assert sorted(true_scores) == sorted(np.concatenate(list(theirs.eval["scores_tp"].values())))
        assert sorted(false_scores) == sorted(np.concatenate(list(theirs.eval["scores_fp"].values())))
        result = {r.iou_type: r for r in evaluator.evaluate(file, [iou_type])}[iou_type]
        weights = np.array([truth.weights.get(c, 0.0) for c in range(27)])
        papers_curve = theirs.eval["precision"][0, :, :, 0, 2] @ weights
        assert result.pr_curve["iou50"] == pytest.approx(papers_curve.tolist(), abs=1e-12)
